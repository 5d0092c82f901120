#pragma once
// The amax values of a Q/DQ ONNX file (io/onnx_import.h: amax = scale x bound, reference §3.7)
// applied to a model's QuantConfig, so that `qdq import-onnx-amax` / File > Import scales can
// write them into a calibrated checkpoint (calibration.h writeQuantizedCheckpoint).

#include "qdq/checkpoint.h"
#include "qdq/io/onnx_import.h"
#include "qdq/quant/quant_config.h"
#include "qdq/quantizer_site.h"

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace qdq {

// One row of the mapping report.
struct OnnxAmaxMapping {
    QuantizerSite site;
    std::string node;                 // DequantizeLinear node; empty when the site has no Q/DQ
    std::string mappedBy;             // as OnnxSiteAmax::mappedBy
    std::optional<double> amaxBefore; // largest amax in the config before (nullopt: dynamic)
    std::optional<double> amaxAfter;  // largest amax from the file (nullopt: not in the file)
    std::size_t channels = 1;
    // "set" (from the file), "kept" (no Q/DQ in the file, left as it was) or "disabled" (no Q/DQ
    // in the file and disableMissing: as TensorRT runs that op, without quantization)
    std::string status;
};

struct OnnxAmaxApplied {
    std::vector<OnnxAmaxMapping> mappings; // the config's site order
    int set = 0, kept = 0, disabled = 0;
};

// Sets every site of `imported` in `config`. Throws ShapeError naming the ONNX file and node when
// a site is not a quantizer of this model or a per-channel amax does not have one value per row
// of the checkpoint's weight.
[[nodiscard]] OnnxAmaxApplied applyOnnxAmax(const Checkpoint &checkpoint, const OnnxAmaxImport &imported,
                                            QuantConfig &config, bool disableMissing = false);

} // namespace qdq

#pragma once
// Reading the quantizer scales of a Q/DQ ONNX model back (reference §3.7): every
// QuantizeLinear -> DequantizeLinear pair (or DequantizeLinear of an int8 weight initializer) is
// mapped to its quantizer site and its scale turned into amax = scale x B (B = 127 for an int8
// zero point, 255 for uint8), per channel for weights. For the GUI's Compare view and
// `qdq onnx-amax`.
//
// Mapping, in order (nothing is guessed; what does not map is reported):
//  1. the node name or the scale initializer's name holds a site's module path: this tool's
//     "bert.encoder.layer.0.attention.self.query._input_quantizer/QuantizeLinear", torch.onnx's
//     scoped "/bert/encoder/layer.0/attention/self/query/_input_quantizer/QuantizeLinear";
//  2. the quantized tensor is a weight initializer "<...>.query.weight" -> that linear's
//     weight quantizer;
//  3. the dequantized tensor feeds a MatMul / Gemm whose other operand is such a weight -> that
//     linear's input quantizer.

#include "qdq/checkpoint.h"
#include "qdq/quantizer_site.h"
#include "qdq/tensor.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace qdq {

// One quantizer site found in the ONNX file.
struct OnnxSiteAmax {
    QuantizerSite site;
    std::string node;         // the DequantizeLinear node's name (or its output when unnamed)
    std::string mappedBy;     // "name", "weight-initializer" or "matmul-operand"
    std::vector<float> scale; // one per tensor, or one per channel along `axis`
    std::vector<float> amax;  // fl(scale x B), same size
    Shape amaxShape;          // [] per tensor, [channels, 1] per channel (as the checkpoint stores it)
    int axis = -1;            // channel axis; -1 per tensor
    bool unsignedRange = false;
    bool int8Weights = false; // DequantizeLinear of an int8 initializer (no QuantizeLinear)
};

// A QuantizeLinear / DequantizeLinear that could not be mapped to a site, or is malformed.
struct OnnxUnmappedQdq {
    std::string node;
    std::string opType;
    std::string reason;
};

struct OnnxAmaxImport {
    std::filesystem::path source;
    std::string producer; // producer_name + " " + producer_version
    std::int64_t opset = 0;
    std::vector<OnnxSiteAmax> sites; // sorted by site (layer, then dataflow order)
    std::vector<OnnxUnmappedQdq> unmapped;

    // nullptr when the file has no Q/DQ for `site`.
    [[nodiscard]] const OnnxSiteAmax *find(const QuantizerSite &site) const;
};

struct OnnxImportOptions {
    // false: any unmapped Q/DQ is a FormatError listing them; true: they are returned in
    // OnnxAmaxImport::unmapped.
    bool allowUnmapped = false;
};

// Throws IoError when the file cannot be read, FormatError naming the file for an invalid or
// truncated protobuf, a model without QuantizeLinear / DequantizeLinear nodes, a scale that is
// not a float constant, a non-zero zero point, two pairs for one site, or (unless allowed)
// Q/DQ nodes at places that map to no quantizer site.
[[nodiscard]] OnnxAmaxImport importOnnxAmax(const std::filesystem::path &path, const OnnxImportOptions &options = {});
// The same from serialized bytes; `name` is used in messages.
[[nodiscard]] OnnxAmaxImport importOnnxAmaxFromBytes(const std::string &bytes, const std::string &name,
                                                     const OnnxImportOptions &options = {});

// `base` with the `_amax` buffer of every quantizer site replaced by the ONNX file's (a site
// without a Q/DQ pair in the file loses its buffer: it was disabled or not exported), so that
// compareCheckpoints(base, checkpointWithOnnxAmax(base, onnx)) is the Compare view's A/B of a
// checkpoint against an ONNX file. The weights are shared with `base`, not copied.
[[nodiscard]] Checkpoint checkpointWithOnnxAmax(const Checkpoint &base, const OnnxAmaxImport &onnx);

} // namespace qdq

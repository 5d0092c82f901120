#pragma once
// Q/DQ ONNX export for TensorRT (docs/qdqbert-reference.md §3.7): the model of a checkpoint and head
// with a QuantizeLinear -> DequantizeLinear pair at every enabled quantizer site of its
// QuantConfig (§1.2), opset 13, dynamic batch and sequence axes. The graph mirrors the engine's
// forward (§5: embeddings, finfo.min additive mask, attention, exact-erf GELU, LayerNorm eps).
//
//   OnnxExportOptions o;  o.task = Task::QuestionAnswering;
//   OnnxExportSummary s = exportOnnx(checkpoint, QuantConfig::fromCheckpoint(checkpoint), o, "model.onnx");
//
// Scales: scale = fl(amax / B) in float32 (B = 127 signed, 255 unsigned; amax after scale_amax;
// a zero scale is replaced by 1 as pytorch-quantization 2.2's exporter does), zero point 0
// (int8, uint8 when unsigned). Activations per tensor (scalar scale); weights with a per-row amax
// per channel (axis 0, scale vector [out]). The ONNX arithmetic is rne(x / s) clamped to
// [-128, 127] times s (onnxFakeQuant), not the pytorch-quantization form (§3.7 table).
//
// Node names: "<site module path>/QuantizeLinear" and "/DequantizeLinear"; scale and zero point
// initializers "<site module path>.scale" / ".zero_point"; the integer codes of an activation
// site are the tensor "<site module path>.codes". importOnnxAmax() maps them back.
//
// Built with the ONNX protobuf library and checked with onnx::checker before it is written
// (atomically: temporary file + rename). No ONNX or protobuf type appears in this header.

#include "qdq/checkpoint.h"
#include "qdq/model.h"
#include "qdq/quant/quant_config.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace qdq {

// How quantized weights are stored (reference §3.7).
enum class OnnxWeightForm : std::uint8_t {
    Int8,    // int8 initializer (the codes) -> DequantizeLinear: what TensorRT expects (default)
    Fp32QDQ, // f32 initializer -> QuantizeLinear -> DequantizeLinear (what torch.onnx.export emits)
};
[[nodiscard]] std::string_view onnxWeightFormName(OnnxWeightForm form) noexcept; // "int8", "fp32"

struct OnnxExportOptions {
    Task task = Task::Base;
    OnnxWeightForm weights = OnnxWeightForm::Int8;
    MaskConstant maskConstant = MaskConstant::FinfoMin; // reference §5.2
};

struct OnnxExportSummary {
    std::int64_t opset = 13;
    std::int64_t nodes = 0;
    std::int64_t initializers = 0;
    std::int64_t quantizeNodes = 0;            // QuantizeLinear
    std::int64_t dequantizeNodes = 0;          // DequantizeLinear = exported sites
    std::vector<QuantizerSite> sites;          // the sites with Q/DQ, in graph order
    std::vector<std::string> inputs;           // input_ids, attention_mask, token_type_ids
    std::vector<std::string> outputs;          // the head's outputs (logits, start_logits, ...)
    std::vector<std::string> initializerNames; // in graph order
    std::uint64_t bytes = 0;                   // serialized size
};

// The serialized ModelProto (deterministic: the same inputs give the same bytes). Throws
// UnsupportedError for what cannot be exported: a site with dynamic amax (calibrate first or
// disable it; reference §3.7), num_bits != 8, cross-attention or relative position models, an
// activation ONNX opset 13 lacks; FormatError when the checkpoint lacks the head; Error when
// onnx::checker rejects the model. Decoders (causal-lm) get the causal mask and no KV cache
// inputs / outputs; multiple-choice takes [batch_size, num_choices, seq_len] inputs.
[[nodiscard]] std::string exportOnnxBytes(const Checkpoint &checkpoint, const QuantConfig &quant,
                                          const OnnxExportOptions &options, OnnxExportSummary *summary = nullptr);
// exportOnnxBytes() written atomically to `path` (IoError naming it when that fails). With a
// Progress, it reports "exporting ONNX" once the graph is built and per MiB written, and a cancel
// before the final rename throws CancelledError with `path` untouched and no temporary file left.
OnnxExportSummary exportOnnx(const Checkpoint &checkpoint, const QuantConfig &quant, const OnnxExportOptions &options,
                             const std::filesystem::path &path, Progress *progress = nullptr);

// Site hooks that compute what the exported graph computes at each enabled quantizer: the ONNX
// Q/DQ arithmetic clamp(rne(x / fl(a/B)), -B-1, B) * fl(a/B) (onnxFakeQuant, reference §3.7)
// instead of pytorch-quantization's. For ONNX Runtime / TensorRT parity checks and what-if
// views: model.setSiteHooks(makeOnnxQdqSiteHooks(config)). Dynamic-amax sites use max|x|.
[[nodiscard]] std::shared_ptr<SiteHooks> makeOnnxQdqSiteHooks(const QuantConfig &config);

} // namespace qdq

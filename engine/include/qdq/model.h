#pragma once
// QDQBertModel: the BERT / QDQBERT encoder (optionally a decoder with cross-attention and a KV
// cache), its pooler and the eight task heads, with the forward() semantics of the reference
// (docs/qdqbert-reference.md §1, §5). All arithmetic goes through one Backend chosen when the model
// is created (CPU / oneDNN now; CUDA later); the model code never touches a kernel.
//
// Two extension points, both off the hot path when unused:
//  - SiteHooks: every one of the 20 (34 with cross-attention) quantizer sites of a layer
//    (reference §1.2) passes through SiteHooks::apply. The default returns the tensor unchanged
//    (FP32 numerics); fake quant / INT8 plug in here. Weight sites are applied once per weight
//    when the model prepares its weights (cached until the hooks change); input sites per call.
//  - TensorObserver: sees every named intermediate (embeddings, layer outputs, attention
//    probabilities, every quantizer site, the final outputs) without changing the model.

#include "qdq/checkpoint.h"
#include "qdq/config.h"
#include "qdq/device.h"
#include "qdq/kernel_types.h"
#include "qdq/quant/fake_quant.h"
#include "qdq/quant/quant_config.h"
#include "qdq/quantizer_site.h"
#include "qdq/tensor.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace qdq {

enum class Task : std::uint8_t {
    Base,                   // QDQBertModel: last_hidden_state + pooler_output
    MaskedLm,               // QDQBertForMaskedLM
    CausalLm,               // QDQBertLMHeadModel
    SequenceClassification, // QDQBertForSequenceClassification
    TokenClassification,    // QDQBertForTokenClassification
    QuestionAnswering,      // QDQBertForQuestionAnswering
    NextSentence,           // QDQBertForNextSentencePrediction
    MultipleChoice,         // QDQBertForMultipleChoice
};
// CLI names: "base", "masked-lm", "causal-lm", "sequence-classification", "token-classification",
// "question-answering", "next-sentence", "multiple-choice".
[[nodiscard]] std::string_view taskName(Task task) noexcept;
[[nodiscard]] std::optional<Task> taskFromName(std::string_view name) noexcept;
[[nodiscard]] const std::vector<Task> &allTasks();

// Additive attention-mask constant (reference §5.2): finfo(f32).min after HF PR #17306 (the
// default, what transformers 4.37 computes); Legacy is QDQBERT's first releases: -10000 for the
// self-attention mask, -1e9 for the f32 cross-attention mask.
enum class MaskConstant : std::uint8_t { FinfoMin, Legacy };

// A tap on named intermediate tensors. The tensor is only valid during the call (copy it to keep it).
class TensorObserver {
public:
    virtual ~TensorObserver() = default;
    virtual void observe(std::string_view name, const Tensor &tensor) = 0;
};

// The single point every quantizer site passes through (reference §1.2). The default
// implementation notifies the observer (if any, under site.modulePath()) and returns x unchanged.
// For a weight site, apply() is called once per weight while the model prepares its weights,
// with observer == nullptr; the model then reports the cached result to the observer on each
// forward. For every other site it is called once per forward, with the forward's observer.
//
// Integer execution (precision int8): before a linear or an attention matmul the model asks
// integerWeight() (once, at weight preparation) and integerInput() (per forward) for each
// operand's quantizer. When both operands answer, the op runs on the backend's s8 kernels with
// those codes and apply() is not called for them (except to show the site to an observer);
// otherwise the model falls back to apply() + the f32 op. The defaults answer nothing.
class SiteHooks {
public:
    virtual ~SiteHooks() = default;
    virtual Tensor apply(const QuantizerSite &site, Tensor x, TensorObserver *observer);
    // Quantization of an activation operand for the s8 kernels (its amax: stored or max|x|).
    virtual std::optional<IntegerQuant> integerInput(const QuantizerSite &site, const Tensor &x);
    // s8 codes and per-row scales of a weight (reference §3.3 with axis 0).
    virtual std::optional<QuantizedTensor> integerWeight(const QuantizerSite &site, const Tensor &weight);
};

// Arguments of forward(), named and shaped as the Python forward() (design.md, CLI contract).
// Undefined tensors are absent arguments.
struct ForwardInputs {
    Tensor inputIds;             // int64/int32 [B,L] ([B,C,L] for multiple-choice)
    Tensor attentionMask;        // [B,S] (S = past + L) or [B,L,S]; any numeric dtype, used linearly
    Tensor tokenTypeIds;         // [B,L]
    Tensor positionIds;          // [B,L] or [1,L]
    Tensor headMask;             // [heads] or [layers, heads]
    Tensor inputsEmbeds;         // f32 [B,L,H] instead of inputIds
    Tensor encoderHiddenStates;  // f32 [B,Se,H] (cross-attention)
    Tensor encoderAttentionMask; // [B,Se] or [B,L,Se]
    Tensor labels;               // task-specific (reference §1.4)
    Tensor startPositions;       // question-answering
    Tensor endPositions;
    // past_key_values.{i}.{j}: per layer 2 tensors (self K, V) or 4 (+ cross K, V), [B,h,S,d].
    std::vector<std::vector<Tensor>> pastKeyValues;
    std::optional<bool> useCache; // default: config.use_cache for decoders, false otherwise
    bool outputAttentions = false;
    bool outputHiddenStates = false;

    // From tensors named as in the CLI contract (input_ids, ..., past_key_values.i.j, use_cache).
    // Throws FormatError for an unknown name or a malformed past_key_values name.
    static ForwardInputs fromNamed(std::map<std::string, Tensor> tensors);
};

// Results of forward(); undefined tensors / empty vectors are outputs the reference does not return.
struct ForwardOutputs {
    Tensor loss; // f32 0-dim
    Tensor logits;
    Tensor startLogits;
    Tensor endLogits;
    Tensor lastHiddenState;
    Tensor poolerOutput;
    std::vector<Tensor> hiddenStates; // embeddings output, then one per layer
    std::vector<Tensor> attentions;
    std::vector<Tensor> crossAttentions;
    std::vector<std::vector<Tensor>> pastKeyValues; // per layer 2 or 4
    double milliseconds = 0.0;                      // wall time of the forward

    // Every defined output under its CLI-contract name (loss, logits, ..., past_key_values.i.j).
    [[nodiscard]] std::vector<std::pair<std::string, const Tensor *>> named() const;
};

struct ModelOptions {
    Task task = Task::Base;
    MaskConstant maskConstant = MaskConstant::FinfoMin;
    // Where the model computes: the CPU, or a CUDA device (UnsupportedError where this build or
    // machine has no backend for it).
    Device device = {};
    // fp32: every quantizer disabled; qdq: fake quant (bit-exact with pytorch-quantization);
    // int8: s8 GEMMs where the sites allow, fake quant elsewhere (see executionPlan()).
    Precision precision = Precision::Fp32;
    // The quantizers; nullopt = QuantConfig::fromCheckpoint(checkpoint) (default profile).
    std::optional<QuantConfig> quant = std::nullopt;
};

struct GenerateOptions {
    int maxNewTokens = 20;
    int topK = 1; // 1 = greedy; > 1 samples from the k most likely tokens
    std::uint64_t seed = 0;
    std::optional<std::int64_t> eosTokenId; // stop early when generated
    bool useCache = true;
};

// One forward() at a time per model (the backend's buffers and caches are per model); use one
// model per worker thread for parallel runs.
class QDQBertModel {
public:
    // Builds the model for `options.task` over the checkpoint's tensors (state-dict names with
    // the "bert." prefix, or the bare BertModel form). f32 weights are used zero-copy; f16/bf16
    // are converted to f32 once here. Throws FormatError naming the tensor when a weight is
    // absent or misshapen, e.g. "checkpoint has no question-answering head; use --task base".
    QDQBertModel(const Checkpoint &checkpoint, ModelOptions options = {});
    ~QDQBertModel();
    QDQBertModel(QDQBertModel &&) noexcept;
    QDQBertModel &operator=(QDQBertModel &&) noexcept;
    QDQBertModel(const QDQBertModel &) = delete;
    QDQBertModel &operator=(const QDQBertModel &) = delete;

    [[nodiscard]] const BertConfig &config() const noexcept;
    [[nodiscard]] Task task() const noexcept;
    [[nodiscard]] const ModelOptions &options() const noexcept;
    [[nodiscard]] std::string backendName() const;
    // "bert." or "" (the state-dict prefix found in the checkpoint).
    [[nodiscard]] const std::string &prefix() const noexcept;

    // nullptr restores the FP32 default. Weight sites are re-applied at the next forward.
    void setSiteHooks(std::shared_ptr<SiteHooks> hooks);

    // Precision and quantizers (chosen at creation). setQuantConfig() replaces the quantizers
    // for later forwards (what-if, sensitivity); weights are re-quantized at the next forward.
    // The checkpoint is never modified.
    [[nodiscard]] Precision precision() const noexcept;
    [[nodiscard]] const QuantConfig &quantConfig() const noexcept;
    void setQuantConfig(QuantConfig config);
    // How each quantizer site runs under this model's precision (INT8 GEMM, fake quant with
    // the reason, or disabled): what `qdq info` / `qdq amax` and the GUI show.
    [[nodiscard]] std::vector<SiteExecution> executionPlan() const;
    // nullptr: no observer (no cost beyond a null check).
    void setObserver(TensorObserver *observer) noexcept;

    // Throws ShapeError / FormatError with a clear message for inconsistent inputs.
    ForwardOutputs forward(const ForwardInputs &inputs);

    // causal-lm: appends up to maxNewTokens tokens to `inputIds` ([1,L] or [L]) greedily or by
    // top-k sampling, with the KV cache (or re-running the whole prefix when useCache is false).
    std::vector<std::int64_t> generate(const Tensor &inputIds, const GenerateOptions &options);

    // The GEMM-only bound of `qdq bench --roofline`: the encoder's six linears per layer and its
    // two attention batched matmuls (Q·Kᵀ, P·V) with exactly the shapes a forward over
    // [batch, seq] runs, alone on the backend with fixed inputs, in this call. `gemms` picks the
    // kernels: Int8 the s8 ones (weights quantized per row for this purpose, once, when the model
    // does not hold s8 weights), otherwise f32. Wall times in milliseconds.
    struct GemmTiming {
        double linearsMs = 0.0;
        double attentionMs = 0.0;
        [[nodiscard]] double totalMs() const noexcept { return linearsMs + attentionMs; }
    };
    GemmTiming timeGemmsOnly(std::int64_t batch, std::int64_t seq, Precision gemms);

    // The weight tensors this head needs (state-dict names with prefix) that the checkpoint lacks.
    [[nodiscard]] static std::vector<std::string> missingHeadWeights(const Checkpoint &checkpoint, Task task);

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

// A checkpoint with deterministic random weights (normal(0, 0.02), LayerNorm 1/0) for `config`
// and `task`, held in memory. For benchmarks and tests (`qdq bench --synthetic bert-base`).
[[nodiscard]] Checkpoint randomCheckpoint(const BertConfig &config, Task task, std::uint64_t seed = 0);

} // namespace qdq

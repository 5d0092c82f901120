#pragma once
// The eight task heads on top of the encoder (reference §1.4, §5.5), one file each under
// model/heads/, chosen by Task in headFor() (heads/head.cpp). A head names the tensors it needs,
// loads them, and turns the encoder's last hidden state into its outputs and, given labels, its
// loss. Engine-internal (model layer).

#include "model/weights.h"
#include "qdq/config.h"
#include "qdq/model.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace qdq::model {

// The weights of every head (only those of the model's task are loaded), packed with the
// encoder's linears.
struct HeadWeights {
    std::optional<Linear> pooler; // dense + tanh over the first token
    std::optional<Linear> lmTransform, lmDecoder, classifier, qaOutputs, seqRelationship;
    Tensor lmLnGamma, lmLnBeta;
};

// What a head loads from (state-dict names of heads carry no "bert." prefix).
struct HeadLoad {
    const WeightReader &reader;
    const BertConfig &config;
    Task task;
    kernels::Activation activation; // hidden_act: the LM transform's activation
    const Tensor &wordEmbeddings;   // the LM decoder's tied weight
};

// One forward through a head: the encoder's output and the forward() arguments.
struct HeadPass {
    const BertConfig &config;
    kernels::Backend &backend;
    const HeadWeights &weights;
    const ForwardInputs &inputs;
    const Tensor &hidden;     // last hidden state [B, L, H] (multiple-choice: B * choices rows)
    std::int64_t batch = 0;   // B (multiple-choice: B * choices)
    std::int64_t length = 0;  // L
    std::int64_t choices = 0; // multiple-choice: choices per example, else 0

    [[nodiscard]] Tensor run(const Linear &l, const Tensor &x) const { return backend.linear(x, *l.packed); }
    // The pooler over the first token of every sequence.
    [[nodiscard]] Tensor pooled() const;
};

// How a head uses the pooler.
enum class PoolerUse : std::uint8_t { None, IfPresent, Required };

class Head {
public:
    virtual ~Head() = default;
    // The state-dict tensors this head needs beyond the encoder (QDQBertModel::missingHeadWeights);
    // the pooler heads name the pooler too (keys are normalised with the "bert." prefix).
    [[nodiscard]] virtual std::vector<std::string> requiredTensors() const = 0;
    [[nodiscard]] virtual PoolerUse pooler() const { return PoolerUse::None; }
    // Whether the reference returns past_key_values and cross_attentions for this head.
    [[nodiscard]] virtual bool returnsCache() const { return false; }
    virtual void load(const HeadLoad &from, HeadWeights &into) const = 0;
    // Sets the head's outputs in `out` (logits, ..., loss when labels are given).
    virtual void forward(const HeadPass &pass, ForwardOutputs &out) const = 0;
};

[[nodiscard]] const Head &headFor(Task task);

const Head &baseHead();
const Head &maskedLmHead();
const Head &causalLmHead();
const Head &sequenceClassificationHead();
const Head &tokenClassificationHead();
const Head &questionAnsweringHead();
const Head &nextSentenceHead();
const Head &multipleChoiceHead();

// --- shared by the heads ---------------------------------------------------------------------
// The LM prediction head of masked-lm and causal-lm (heads/lm_prediction.cpp): transform,
// LayerNorm, decoder tied to the word embeddings.
std::vector<std::string> lmPredictionTensors();
void loadLmPrediction(const HeadLoad &from, HeadWeights &into);
[[nodiscard]] Tensor lmPredictionLogits(const HeadPass &pass); // [B, L, V]

// ShapeError unless `t` holds `count` values of the kind the loss needs (integer class indices,
// or floating point).
void checkLabels(const Tensor &t, const char *name, std::int64_t count, bool integer);
[[nodiscard]] std::span<const float> values(const Tensor &t); // a contiguous f32 tensor's values
[[nodiscard]] Tensor scalarTensor(double v);                  // f32 0-dim

} // namespace qdq::model

#pragma once
// QDQBertModel's private state and the pieces of its forward, shared by the files of model/
// (engine-internal):
//   weights.cpp         loading from a Checkpoint, weight sites applied and packed (prepare)
//   encoder.cpp         embeddings, self- / cross-attention, feed-forward: the quantizer sites
//   forward.cpp         forward(): argument checks, masks, KV cache, the layers, then the head
//   heads/*.cpp         the eight task heads with their losses (heads/head.h)
//   model.cpp           the public class; generate.cpp, gemm_timing.cpp, random_checkpoint.cpp
// Every quantizer site of reference §1.2 goes through site() / linearAt() / matmulAt() -> SiteHooks.

#include "kernels/backend.h"
#include "model/heads/head.h"
#include "model/weights.h"
#include "qdq/model.h"
#include "qdq/quant/quant_config.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace qdq {

namespace model {
// forward() argument checks shared by the parts (forward.cpp)
[[nodiscard]] std::vector<std::int64_t> indexValues(const Tensor &t, const char *name);
} // namespace model

struct QDQBertModel::Impl {
    BertConfig config;
    ModelOptions options;
    std::string prefix;
    std::string source;
    std::unique_ptr<kernels::Backend> backend;
    std::shared_ptr<SiteHooks> hooks;
    QuantConfig quant;
    TensorObserver *observer = nullptr;
    bool prepared = false;

    Tensor wordEmbeddings, positionEmbeddings, tokenTypeEmbeddings, embLnGamma, embLnBeta;
    std::vector<model::Layer> layers;
    model::HeadWeights head; // the pooler and the task head's linears
    // timeGemmsOnly(): linears packed in the other kind of kernel than the model's own
    std::map<const model::Linear *, std::unique_ptr<kernels::PackedLinear>> rooflineS8, rooflineF32;

    // --- weights.cpp ------------------------------------------------------------------------
    void load(const Checkpoint &checkpoint);
    // weight sites applied once, then packed; again after the quantizers change
    void pack(model::Linear &l);
    void prepare();

    // --- encoder.cpp: the two extension points ---------------------------------------------
    Tensor site(int layer, SiteId id, bool cross, Tensor x);
    void observe(std::string_view name, const Tensor &t) const
    {
        if (observer)
            observer->observe(name, t);
    }
    // A linear behind its input site (reference §1.2: QuantLinear = input and weight quantizer,
    // bias unquantized). The observer sees each quantizer's input (the weight as loaded).
    Tensor linearAt(int layer, SiteId inputId, bool cross, const model::Linear &l, const Tensor &x);
    // a · b behind the sites of its two operands (reference §1.2 rows 7/8 and 9/10).
    Tensor matmulAt(int layer, bool cross, SiteId aId, const Tensor &a, SiteId bId, const Tensor &b);

    // --- forward pieces ---------------------------------------------------------------------
    struct Step {
        std::int64_t batch = 0, length = 0, past = 0;
        Tensor selfMask;                          // f32 [B, L, S] additive
        Tensor crossMask;                         // f32 [B, L, Se] additive
        std::vector<std::vector<float>> headMask; // [layers][heads], empty = none
        bool hasPast = false;
    };

    // encoder.cpp
    Tensor embeddings(const Tensor &ids, const Tensor &embeds, const Tensor &tokenTypes, const Tensor &positions,
                      const Step &st);
    // Self- or cross-attention block with its output dense + residual LayerNorm (reference §1.2 rows 1-14).
    Tensor attentionBlock(int li, bool cross, model::AttentionBlock &a, const Tensor &x, const Tensor &mask,
                          const std::vector<float> *headMask, const Tensor *encoder, const Tensor *pastK,
                          const Tensor *pastV, Tensor *presentK, Tensor *presentV, Tensor *probsOut);
    // reference §5.3: relative_key[_query] terms from the unquantized query (and key).
    void addRelativeScores(Tensor &scores, const Tensor &q, const Tensor &k, const Tensor &distance,
                           bool hasPast) const;
    Tensor feedForward(int li, model::Layer &layer, const Tensor &a);

    // forward.cpp: extended additive masks (reference §5.2), then the whole forward
    Tensor selfMask(const Tensor &mask, const Step &st) const;
    Tensor crossMask(const Tensor &mask, const Step &st, std::int64_t se) const;
    ForwardOutputs forward(const ForwardInputs &in);
};

} // namespace qdq

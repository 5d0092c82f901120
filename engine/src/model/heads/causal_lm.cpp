// causal-lm (BertLMHeadModel, reference §1.4): the LM prediction head of a decoder; the loss
// shifts by one (scores[:, :-1] against labels[:, 1:]). Returns the KV cache.
#include "model/heads/head.h"

#include "ops/losses.h"

namespace qdq::model {
namespace {

class CausalLmHead final : public Head {
public:
    [[nodiscard]] std::vector<std::string> requiredTensors() const override { return lmPredictionTensors(); }
    [[nodiscard]] bool returnsCache() const override { return true; }
    void load(const HeadLoad &from, HeadWeights &into) const override { loadLmPrediction(from, into); }
    void forward(const HeadPass &pass, ForwardOutputs &out) const override
    {
        out.logits = lmPredictionLogits(pass); // [B,L,V]
        if (!pass.inputs.labels.defined())
            return;
        const std::int64_t b = pass.batch;
        const std::int64_t l = pass.length;
        const std::int64_t vocab = pass.config.vocabSize;
        checkLabels(pass.inputs.labels, "labels", b * l, true);
        const auto lab = pass.inputs.labels.toInt64Vector();
        std::vector<float> logits;
        std::vector<std::int64_t> targets;
        const float *lp = out.logits.data<float>();
        for (std::int64_t bi = 0; bi < b; ++bi)
            for (std::int64_t i = 0; i + 1 < l; ++i) {
                logits.insert(logits.end(), lp + (bi * l + i) * vocab, lp + (bi * l + i + 1) * vocab);
                targets.push_back(lab[static_cast<std::size_t>(bi * l + i + 1)]);
            }
        out.loss = scalarTensor(ops::crossEntropy(logits, vocab, targets));
    }
};

} // namespace

const Head &causalLmHead()
{
    static const CausalLmHead head;
    return head;
}

} // namespace qdq::model

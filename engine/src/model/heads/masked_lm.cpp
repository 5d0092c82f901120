// masked-lm (BertForMaskedLM, reference §1.4): vocabulary logits at every position; loss is the
// cross entropy against labels (-100 ignored).
#include "model/heads/head.h"

#include "ops/losses.h"

namespace qdq::model {
namespace {

class MaskedLmHead final : public Head {
public:
    [[nodiscard]] std::vector<std::string> requiredTensors() const override { return lmPredictionTensors(); }
    void load(const HeadLoad &from, HeadWeights &into) const override { loadLmPrediction(from, into); }
    void forward(const HeadPass &pass, ForwardOutputs &out) const override
    {
        out.logits = lmPredictionLogits(pass); // [B,L,V]
        const Tensor &labels = pass.inputs.labels;
        if (!labels.defined())
            return;
        checkLabels(labels, "labels", pass.batch * pass.length, true);
        out.loss = scalarTensor(ops::crossEntropy(values(out.logits), pass.config.vocabSize, labels.toInt64Vector()));
    }
};

} // namespace

const Head &maskedLmHead()
{
    static const MaskedLmHead head;
    return head;
}

} // namespace qdq::model

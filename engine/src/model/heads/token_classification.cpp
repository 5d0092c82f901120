// token-classification (BertForTokenClassification, reference §1.4): classifier at every
// position; loss is the cross entropy against per-token labels (-100 ignored).
#include "model/heads/head.h"

#include "ops/losses.h"

namespace qdq::model {
namespace {

class TokenClassificationHead final : public Head {
public:
    [[nodiscard]] std::vector<std::string> requiredTensors() const override
    {
        return {"classifier.weight", "classifier.bias"};
    }
    void load(const HeadLoad &from, HeadWeights &into) const override
    {
        into.classifier = from.reader.linear("classifier", from.reader.checkpoint().get("classifier.weight").size(0),
                                             from.config.hiddenSize, kernels::Activation::None);
    }
    void forward(const HeadPass &pass, ForwardOutputs &out) const override
    {
        out.logits = pass.run(*pass.weights.classifier, pass.hidden); // [B, L, n]
        const Tensor &labels = pass.inputs.labels;
        if (!labels.defined())
            return;
        checkLabels(labels, "labels", pass.batch * pass.length, true);
        out.loss = scalarTensor(ops::crossEntropy(values(out.logits), out.logits.size(2), labels.toInt64Vector()));
    }
};

} // namespace

const Head &tokenClassificationHead()
{
    static const TokenClassificationHead head;
    return head;
}

} // namespace qdq::model

// multiple-choice (BertForMultipleChoice, reference §1.4): one score per choice from the pooler
// output of each (batch, choice) sequence, viewed as [B, choices]; loss is the cross entropy
// against the right choice. forward() has flattened the inputs to B * choices sequences.
#include "model/heads/head.h"

#include "ops/losses.h"
#include "qdq/errors.h"

namespace qdq::model {
namespace {

class MultipleChoiceHead final : public Head {
public:
    [[nodiscard]] std::vector<std::string> requiredTensors() const override
    {
        return {"classifier.weight", "classifier.bias", "bert.pooler.dense.weight", "bert.pooler.dense.bias"};
    }
    [[nodiscard]] PoolerUse pooler() const override { return PoolerUse::Required; }
    void load(const HeadLoad &from, HeadWeights &into) const override
    {
        into.classifier = from.reader.linear("classifier", 1, from.config.hiddenSize, kernels::Activation::None);
    }
    void forward(const HeadPass &pass, ForwardOutputs &out) const override
    {
        const std::int64_t choices = pass.choices;
        if (choices <= 0)
            throw ShapeError("multiple-choice expects input_ids (batch, choices, length)", {{}, "input_ids", {}});
        out.logits = pass.run(*pass.weights.classifier, pass.pooled()).view({-1, choices}); // [B, C]
        const Tensor &labels = pass.inputs.labels;
        if (!labels.defined())
            return;
        checkLabels(labels, "labels", out.logits.size(0), true);
        out.loss = scalarTensor(ops::crossEntropy(values(out.logits), choices, labels.toInt64Vector()));
    }
};

} // namespace

const Head &multipleChoiceHead()
{
    static const MultipleChoiceHead head;
    return head;
}

} // namespace qdq::model

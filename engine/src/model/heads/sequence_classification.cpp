// sequence-classification (BertForSequenceClassification, reference §1.4): classifier over the
// pooler output. The loss follows config problem_type, or when unset the labels: regression
// (one label, MSE), single-label (integer labels, cross entropy) or multi-label (float labels,
// BCE with logits).
#include "model/heads/head.h"

#include "ops/losses.h"
#include "qdq/errors.h"

namespace qdq::model {
namespace {

class SequenceClassificationHead final : public Head {
public:
    [[nodiscard]] std::vector<std::string> requiredTensors() const override
    {
        return {"classifier.weight", "classifier.bias", "bert.pooler.dense.weight", "bert.pooler.dense.bias"};
    }
    [[nodiscard]] PoolerUse pooler() const override { return PoolerUse::Required; }
    void load(const HeadLoad &from, HeadWeights &into) const override
    {
        into.classifier = from.reader.linear("classifier", from.reader.checkpoint().get("classifier.weight").size(0),
                                             from.config.hiddenSize, kernels::Activation::None);
    }
    void forward(const HeadPass &pass, ForwardOutputs &out) const override
    {
        out.logits = pass.run(*pass.weights.classifier, pass.pooled()); // [B, n]
        const Tensor &labels = pass.inputs.labels;
        if (!labels.defined())
            return;
        const std::int64_t b = pass.batch;
        const std::int64_t n = out.logits.size(1);
        std::string problem = pass.config.problemType;
        if (problem.empty()) {
            const bool integer = !isFloatingPoint(labels.dtype()) && labels.dtype() != DType::Bool;
            problem = n == 1 ? "regression" : (integer ? "single_label_classification" : "multi_label_classification");
        }
        if (problem == "regression") {
            checkLabels(labels, "labels", b * n, false);
            const Tensor lab = labels.to(DType::F32);
            out.loss = scalarTensor(ops::meanSquaredError(values(out.logits), values(lab)));
        } else if (problem == "single_label_classification") {
            checkLabels(labels, "labels", b, true);
            out.loss = scalarTensor(ops::crossEntropy(values(out.logits), n, labels.toInt64Vector()));
        } else {
            checkLabels(labels, "labels", b * n, false);
            if (labels.shape() != out.logits.shape())
                throw ShapeError("labels has shape " + shapeString(labels.shape()) + ", expected " +
                                     shapeString(out.logits.shape()) + " (multi-label)",
                                 {{}, "labels", {}});
            const Tensor lab = labels.to(DType::F32);
            out.loss = scalarTensor(ops::bceWithLogits(values(out.logits), values(lab)));
        }
    }
};

} // namespace

const Head &sequenceClassificationHead()
{
    static const SequenceClassificationHead head;
    return head;
}

} // namespace qdq::model

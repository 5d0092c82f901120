// next-sentence (BertForNextSentencePrediction, reference §1.4): two logits over the pooler
// output (is next / is random); loss is the cross entropy against labels.
#include "model/heads/head.h"

#include "ops/losses.h"

namespace qdq::model {
namespace {

class NextSentenceHead final : public Head {
public:
    [[nodiscard]] std::vector<std::string> requiredTensors() const override
    {
        return {"cls.seq_relationship.weight", "cls.seq_relationship.bias", "bert.pooler.dense.weight",
                "bert.pooler.dense.bias"};
    }
    [[nodiscard]] PoolerUse pooler() const override { return PoolerUse::Required; }
    void load(const HeadLoad &from, HeadWeights &into) const override
    {
        into.seqRelationship =
            from.reader.linear("cls.seq_relationship", 2, from.config.hiddenSize, kernels::Activation::None);
    }
    void forward(const HeadPass &pass, ForwardOutputs &out) const override
    {
        out.logits = pass.run(*pass.weights.seqRelationship, pass.pooled()); // [B, 2]
        const Tensor &labels = pass.inputs.labels;
        if (!labels.defined())
            return;
        checkLabels(labels, "labels", pass.batch, true);
        out.loss = scalarTensor(ops::crossEntropy(values(out.logits), 2, labels.toInt64Vector()));
    }
};

} // namespace

const Head &nextSentenceHead()
{
    static const NextSentenceHead head;
    return head;
}

} // namespace qdq::model

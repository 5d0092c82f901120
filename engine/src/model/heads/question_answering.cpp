// question-answering (BertForQuestionAnswering, reference §1.4): start and end logits per
// position; loss is the mean of the two cross entropies against start_positions / end_positions.
#include "model/heads/head.h"

#include "ops/losses.h"
#include "qdq/errors.h"

#include <algorithm>
#include <tuple>

namespace qdq::model {
namespace {

class QuestionAnsweringHead final : public Head {
public:
    [[nodiscard]] std::vector<std::string> requiredTensors() const override
    {
        return {"qa_outputs.weight", "qa_outputs.bias"};
    }
    void load(const HeadLoad &from, HeadWeights &into) const override
    {
        into.qaOutputs = from.reader.linear("qa_outputs", 2, from.config.hiddenSize, kernels::Activation::None);
    }
    void forward(const HeadPass &pass, ForwardOutputs &out) const override
    {
        const ForwardInputs &in = pass.inputs;
        const Tensor logits = pass.run(*pass.weights.qaOutputs, pass.hidden); // [B, L, 2]
        out.startLogits = logits.select(2, 0).contiguous();
        out.endLogits = logits.select(2, 1).contiguous();
        if (in.startPositions.defined() != in.endPositions.defined())
            throw ShapeError("give both start_positions and end_positions");
        if (!in.startPositions.defined())
            return;
        // reference §1.4: positions clamped to [0, L]; L is the ignore index
        const std::int64_t l = pass.length;
        double total = 0.0;
        for (const auto &[t, name, logit] : {std::tuple{&in.startPositions, "start_positions", &out.startLogits},
                                             std::tuple{&in.endPositions, "end_positions", &out.endLogits}}) {
            checkLabels(*t, name, pass.batch, true);
            auto positions = t->toInt64Vector();
            for (auto &p : positions)
                p = std::clamp<std::int64_t>(p, 0, l);
            total += ops::crossEntropy(values(*logit), l, positions, l);
        }
        out.loss = scalarTensor(total / 2.0);
    }
};

} // namespace

const Head &questionAnsweringHead()
{
    static const QuestionAnsweringHead head;
    return head;
}

} // namespace qdq::model

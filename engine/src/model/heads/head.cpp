// The dispatch from Task to its head, and what the heads share: the pooler, label checks.
#include "model/heads/head.h"

#include "qdq/errors.h"

namespace qdq::model {

const Head &headFor(Task task)
{
    switch (task) {
    case Task::Base:
        return baseHead();
    case Task::MaskedLm:
        return maskedLmHead();
    case Task::CausalLm:
        return causalLmHead();
    case Task::SequenceClassification:
        return sequenceClassificationHead();
    case Task::TokenClassification:
        return tokenClassificationHead();
    case Task::QuestionAnswering:
        return questionAnsweringHead();
    case Task::NextSentence:
        return nextSentenceHead();
    case Task::MultipleChoice:
        return multipleChoiceHead();
    }
    throw UnsupportedError("unknown task");
}

Tensor HeadPass::pooled() const
{
    return run(*weights.pooler, hidden.select(1, 0).contiguous());
}

void checkLabels(const Tensor &t, const char *name, std::int64_t count, bool integer)
{
    if (t.numel() != count)
        throw ShapeError(std::string(name) + " has shape " + shapeString(t.shape()) + "; expected " +
                             std::to_string(count) + " values",
                         {{}, name, {}});
    if (integer && (isFloatingPoint(t.dtype()) || t.dtype() == DType::Bool))
        throw ShapeError(std::string(name) + " must be an integer (class index) tensor, got " + t.describe(),
                         {{}, name, {}});
    if (!integer && !isFloatingPoint(t.dtype()))
        throw ShapeError(std::string(name) + " must be a floating-point tensor for this problem type, got " +
                             t.describe(),
                         {{}, name, {}});
}

std::span<const float> values(const Tensor &t)
{
    return {t.data<float>(), static_cast<std::size_t>(t.numel())};
}

Tensor scalarTensor(double v)
{
    Tensor t = Tensor::empty(DType::F32, {});
    *t.mutableData<float>() = static_cast<float>(v);
    return t;
}

} // namespace qdq::model

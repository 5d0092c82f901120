// base (BertModel): the last hidden state and, when the checkpoint has one, the pooler output
// (reference §1.4). No loss.
#include "model/heads/head.h"

namespace qdq::model {
namespace {

class BaseHead final : public Head {
public:
    [[nodiscard]] std::vector<std::string> requiredTensors() const override { return {}; }
    [[nodiscard]] PoolerUse pooler() const override { return PoolerUse::IfPresent; }
    [[nodiscard]] bool returnsCache() const override { return true; }
    void load(const HeadLoad & /*from*/, HeadWeights & /*into*/) const override {}
    void forward(const HeadPass &pass, ForwardOutputs &out) const override
    {
        out.lastHiddenState = pass.hidden.alias();
        if (pass.weights.pooler)
            out.poolerOutput = pass.pooled();
    }
};

} // namespace

const Head &baseHead()
{
    static const BaseHead head;
    return head;
}

} // namespace qdq::model

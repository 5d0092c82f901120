// QDQBertModel::generate: greedy or top-k sampled continuation of a causal-lm prompt, with the
// KV cache (reference §5.6) or by re-running the whole prefix.
#include "model/model_impl.h"

#include "qdq/errors.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace qdq {

std::vector<std::int64_t> QDQBertModel::generate(const Tensor &inputIds, const GenerateOptions &opt)
{
    if (task() != Task::CausalLm || !config().isDecoder)
        throw UnsupportedError("generation needs a causal-lm model with is_decoder = true");
    if (config().addCrossAttention)
        throw UnsupportedError("generation with cross-attention needs encoder states; not supported here");
    std::vector<std::int64_t> tokens = model::indexValues(inputIds, "input_ids");
    if (tokens.empty())
        throw ShapeError("generation needs at least one prompt token", {{}, "input_ids", {}});
    std::mt19937_64 rng(opt.seed);
    std::vector<std::vector<Tensor>> cache;
    std::size_t cached = 0;
    for (int step = 0; step < opt.maxNewTokens; ++step) {
        ForwardInputs in;
        const std::size_t from = opt.useCache ? cached : 0;
        const auto count = static_cast<std::int64_t>(tokens.size() - from);
        in.inputIds = Tensor::fromValues<std::int64_t>(
            {1, count}, std::span<const std::int64_t>(tokens.data() + from, static_cast<std::size_t>(count)));
        in.useCache = opt.useCache;
        if (opt.useCache && !cache.empty())
            in.pastKeyValues = std::move(cache);
        ForwardOutputs out = forward(in);
        if (opt.useCache) {
            cache = std::move(out.pastKeyValues);
            cached = tokens.size();
        }
        const std::int64_t vocab = out.logits.size(2);
        const float *last = out.logits.data<float>() + (count - 1) * vocab;
        std::int64_t next = 0;
        if (opt.topK <= 1) {
            next = std::max_element(last, last + vocab) - last;
        } else {
            std::vector<std::int64_t> order(static_cast<std::size_t>(vocab));
            for (std::int64_t i = 0; i < vocab; ++i)
                order[static_cast<std::size_t>(i)] = i;
            const auto k = static_cast<std::size_t>(std::min<std::int64_t>(opt.topK, vocab));
            std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
                              [&](std::int64_t a, std::int64_t bb) { return last[a] > last[bb]; });
            std::vector<double> weights(k);
            for (std::size_t i = 0; i < k; ++i)
                weights[i] = std::exp(static_cast<double>(last[order[i]] - last[order[0]]));
            std::discrete_distribution<std::size_t> pick(weights.begin(), weights.end());
            next = order[pick(rng)];
        }
        tokens.push_back(next);
        if (opt.eosTokenId && next == *opt.eosTokenId)
            break;
        if (static_cast<std::int64_t>(tokens.size()) >= config().maxPositionEmbeddings &&
            config().positionEmbeddingType == "absolute")
            break;
    }
    return tokens;
}

} // namespace qdq

// QDQBertModel::forward (reference §1.4, §5): the forward() arguments checked against the
// config (multiple-choice flattened, the KV cache, encoder states), the extended masks, the
// encoder layers, then the task's head (model/heads/).
#include "model/model_impl.h"

#include "qdq/errors.h"
#include "qdq/threading.h"

#include <algorithm>
#include <chrono>
#include <limits>

namespace qdq {

using model::Layer;

namespace model {

std::vector<std::int64_t> indexValues(const Tensor &t, const char *name)
{
    if (isFloatingPoint(t.dtype()) || t.dtype() == DType::Bool)
        throw ShapeError(std::string(name) + " must be an integer tensor, got " + t.describe(), {{}, name, {}});
    return t.toInt64Vector();
}

} // namespace model

namespace {

std::vector<float> floatValues(const Tensor &t)
{
    return t.toFloatVector();
}

Tensor toF32(const Tensor &t, const char *name)
{
    if (!isFloatingPoint(t.dtype()))
        throw ShapeError(std::string(name) + " must be a floating-point tensor, got " + t.describe(), {{}, name, {}});
    if (t.dtype() == DType::F32)
        return t.contiguous();
    return t.to(DType::F32);
}

} // namespace

Tensor QDQBertModel::Impl::selfMask(const Tensor &mask, const Step &st) const
{
    const std::int64_t b = st.batch;
    const std::int64_t l = st.length;
    const std::int64_t s = st.past + l;
    const float constant =
        options.maskConstant == MaskConstant::Legacy ? -10000.0f : std::numeric_limits<float>::lowest();
    Tensor out = Tensor::empty(DType::F32, {b, l, s});
    float *o = out.mutableData<float>();
    std::vector<float> m;
    if (mask.defined()) {
        m = floatValues(mask);
        if (mask.dim() == 3) {
            if (mask.shape() != Shape{b, l, s})
                throw ShapeError("attention_mask has shape " + shapeString(mask.shape()) + ", expected " +
                                     shapeString({b, l, s}),
                                 {{}, "attention_mask", {}});
            for (std::size_t i = 0; i < m.size(); ++i)
                o[i] = (1.0f - m[i]) * constant;
            return out;
        }
        if (mask.dim() != 2 || mask.shape() != Shape{b, s})
            throw ShapeError("attention_mask has shape " + shapeString(mask.shape()) + ", expected " +
                                 shapeString({b, s}) + " (batch, past + length) or " + shapeString({b, l, s}),
                             {{}, "attention_mask", {}});
    } else {
        m.assign(static_cast<std::size_t>(b * s), 1.0f);
    }
    for (std::int64_t bi = 0; bi < b; ++bi)
        for (std::int64_t i = 0; i < l; ++i)
            for (std::int64_t j = 0; j < s; ++j) {
                float v = m[static_cast<std::size_t>(bi * s + j)];
                // decoders: causal over the new block, ones over the past (reference §5.2)
                if (config.isDecoder && j - st.past > i)
                    v = 0.0f;
                o[(bi * l + i) * s + j] = (1.0f - v) * constant;
            }
    return out;
}

Tensor QDQBertModel::Impl::crossMask(const Tensor &mask, const Step &st, std::int64_t se) const
{
    const std::int64_t b = st.batch;
    const std::int64_t l = st.length;
    const float constant = options.maskConstant == MaskConstant::Legacy ? -1e9f : std::numeric_limits<float>::lowest();
    Tensor out = Tensor::empty(DType::F32, {b, l, se});
    float *o = out.mutableData<float>();
    if (!mask.defined()) {
        std::fill(o, o + out.numel(), (1.0f - 1.0f) * constant);
        return out;
    }
    const auto m = floatValues(mask);
    if (mask.dim() == 3 && mask.shape() == Shape{b, l, se}) {
        for (std::size_t i = 0; i < m.size(); ++i)
            o[i] = (1.0f - m[i]) * constant;
        return out;
    }
    if (mask.dim() != 2 || mask.shape() != Shape{b, se})
        throw ShapeError("encoder_attention_mask has shape " + shapeString(mask.shape()) + ", expected " +
                             shapeString({b, se}) + " or " + shapeString({b, l, se}),
                         {{}, "encoder_attention_mask", {}});
    for (std::int64_t bi = 0; bi < b; ++bi)
        for (std::int64_t i = 0; i < l; ++i)
            for (std::int64_t j = 0; j < se; ++j)
                o[(bi * l + i) * se + j] = (1.0f - m[static_cast<std::size_t>(bi * se + j)]) * constant;
    return out;
}

ForwardOutputs QDQBertModel::Impl::forward(const ForwardInputs &in)
{
    applyNumThreads();
    prepare(); // one-time weight preparation is not part of the forward's time
    const auto start = std::chrono::steady_clock::now();
    const BertConfig &c = config;
    const Task task = options.task;
    const std::int64_t hidden = c.hiddenSize;
    const std::int64_t heads = c.numAttentionHeads;

    // --- inputs: shapes (multiple-choice flattens [B,C,L] to [B*C,L], reference §1.4) ------------
    if (in.inputIds.defined() == in.inputsEmbeds.defined())
        throw ShapeError(in.inputIds.defined() ? "give input_ids or inputs_embeds, not both"
                                               : "forward() needs input_ids or inputs_embeds");
    std::int64_t choices = 0;
    const auto flat = [&](const Tensor &t, const char *name, int keep) -> Tensor {
        if (!t.defined() || task != Task::MultipleChoice)
            return t.defined() ? t.alias() : Tensor();
        if (t.dim() != keep + 1)
            throw ShapeError(std::string(name) + " has shape " + shapeString(t.shape()) +
                                 "; multiple-choice expects one more dimension (batch, choices, ...)",
                             {{}, name, {}});
        Shape s(t.shape().begin() + 1, t.shape().end());
        s[0] = -1;
        return t.reshape(s);
    };
    if (task == Task::MultipleChoice)
        choices = in.inputIds.defined() ? (in.inputIds.dim() == 3 ? in.inputIds.size(1) : 0)
                                        : (in.inputsEmbeds.dim() == 4 ? in.inputsEmbeds.size(1) : 0);
    const Tensor ids = flat(in.inputIds, "input_ids", 2);
    const Tensor embedsIn = flat(in.inputsEmbeds, "inputs_embeds", 3);
    const Tensor attnMask = flat(in.attentionMask, "attention_mask", in.attentionMask.dim() == 4 ? 3 : 2);
    const Tensor tokenTypes = flat(in.tokenTypeIds, "token_type_ids", 2);
    const Tensor positions = flat(in.positionIds, "position_ids", 2);
    Tensor embeds;
    Step st;
    if (ids.defined()) {
        if (ids.dim() != 2)
            throw ShapeError("input_ids has shape " + shapeString(ids.shape()) + ", expected (batch, length)",
                             {{}, "input_ids", {}});
        st.batch = ids.size(0);
        st.length = ids.size(1);
    } else {
        if (embedsIn.dim() != 3 || embedsIn.size(2) != hidden)
            throw ShapeError("inputs_embeds has shape " + shapeString(embedsIn.shape()) +
                                 ", expected (batch, length, " + std::to_string(hidden) + ")",
                             {{}, "inputs_embeds", {}});
        embeds = toF32(embedsIn, "inputs_embeds");
        st.batch = embeds.size(0);
        st.length = embeds.size(1);
    }
    if (st.batch == 0 || st.length == 0)
        throw ShapeError("empty input: batch and length must be positive");
    const std::int64_t b = st.batch;
    const std::int64_t l = st.length;

    // --- cache, encoder states ------------------------------------------------------------
    const bool hasCross = c.addCrossAttention;
    Tensor encoder;
    if (in.encoderHiddenStates.defined()) {
        if (!hasCross)
            throw ShapeError("encoder_hidden_states given but the model has no cross-attention "
                             "(config add_cross_attention / is_decoder)",
                             {{}, "encoder_hidden_states", {}});
        encoder = toF32(in.encoderHiddenStates, "encoder_hidden_states");
        if (encoder.dim() != 3 || encoder.size(0) != b || encoder.size(2) != hidden)
            throw ShapeError("encoder_hidden_states has shape " + shapeString(encoder.shape()) + ", expected (" +
                                 std::to_string(b) + ", length, " + std::to_string(hidden) + ")",
                             {{}, "encoder_hidden_states", {}});
    }
    const bool runCross = hasCross && encoder.defined(); // HF runs cross-attention only with encoder states
    const auto &past = in.pastKeyValues;
    if (!past.empty()) {
        if (past.size() != layers.size())
            throw ShapeError("past_key_values has " + std::to_string(past.size()) + " layers; the model has " +
                                 std::to_string(layers.size()),
                             {{}, "past_key_values", {}});
        st.hasPast = true;
        for (std::size_t i = 0; i < past.size(); ++i) {
            const std::size_t need = runCross ? 4 : 2;
            if (past[i].size() < need)
                throw ShapeError("past_key_values." + std::to_string(i) + " has " + std::to_string(past[i].size()) +
                                     " tensors; expected " + std::to_string(need) +
                                     (runCross ? " (self key, value, cross key, value)" : " (key, value)"),
                                 {{}, "past_key_values", {}});
            for (std::size_t j = 0; j < need; ++j) {
                const Tensor &t = past[i][j];
                const std::int64_t expectS = j < 2 ? past[0][0].size(2) : (encoder.defined() ? encoder.size(1) : -1);
                if (t.dim() != 4 || t.size(0) != b || t.size(1) != heads || t.size(3) != c.headSize() ||
                    (j < 2 && t.size(2) != expectS) || !isFloatingPoint(t.dtype()))
                    throw ShapeError("past_key_values." + std::to_string(i) + "." + std::to_string(j) + " has shape " +
                                         shapeString(t.shape()) + ", expected (" + std::to_string(b) + ", " +
                                         std::to_string(heads) + ", past length, " + std::to_string(c.headSize()) + ")",
                                     {{}, "past_key_values", {}});
            }
        }
        st.past = past[0][0].size(2);
    }
    bool useCache = c.isDecoder && in.useCache.value_or(c.useCache);
    if (task == Task::CausalLm && in.labels.defined())
        useCache = false; // reference §1.4

    // --- masks -----------------------------------------------------------------------------
    st.selfMask = selfMask(attnMask, st);
    if (runCross)
        st.crossMask = crossMask(flat(in.encoderAttentionMask, "encoder_attention_mask", 2), st, encoder.size(1));
    if (in.headMask.defined()) {
        const auto hm = floatValues(in.headMask);
        const auto nl = static_cast<std::int64_t>(layers.size());
        if (in.headMask.dim() == 1 && in.headMask.size(0) == heads) {
            st.headMask.assign(layers.size(), hm);
        } else if (in.headMask.dim() == 2 && in.headMask.size(0) == nl && in.headMask.size(1) == heads) {
            for (std::int64_t i = 0; i < nl; ++i)
                st.headMask.emplace_back(hm.begin() + i * heads, hm.begin() + (i + 1) * heads);
        } else {
            throw ShapeError("head_mask has shape " + shapeString(in.headMask.shape()) + ", expected (" +
                                 std::to_string(heads) + ") or (" + std::to_string(nl) + ", " + std::to_string(heads) +
                                 ")",
                             {{}, "head_mask", {}});
        }
    }

    // --- encoder -----------------------------------------------------------------------------
    ForwardOutputs out;
    Tensor x = embeddings(ids, embeds, tokenTypes, positions, st);
    observe("hidden_states.0", x);
    if (in.outputHiddenStates)
        out.hiddenStates.push_back(x.alias());
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const int li = static_cast<int>(i);
        Layer &layer = layers[i];
        const std::vector<float> *hm = st.headMask.empty() ? nullptr : &st.headMask[i];
        std::vector<Tensor> present;
        Tensor pk, pv, probs;
        Tensor a =
            attentionBlock(li, false, layer.self, x, st.selfMask, hm, nullptr, st.hasPast ? &past[i][0] : nullptr,
                           st.hasPast ? &past[i][1] : nullptr, useCache ? &pk : nullptr, useCache ? &pv : nullptr,
                           in.outputAttentions ? &probs : nullptr);
        if (useCache) {
            present.push_back(std::move(pk));
            present.push_back(std::move(pv));
        }
        if (in.outputAttentions)
            out.attentions.push_back(std::move(probs));
        if (runCross) {
            Tensor crossK, crossV, cprobs;
            const bool cached = st.hasPast && past[i].size() >= 4;
            a = attentionBlock(li, true, *layer.cross, a, st.crossMask, hm, &encoder, cached ? &past[i][2] : nullptr,
                               cached ? &past[i][3] : nullptr, useCache ? &crossK : nullptr,
                               useCache ? &crossV : nullptr, in.outputAttentions ? &cprobs : nullptr);
            if (useCache) {
                present.push_back(std::move(crossK));
                present.push_back(std::move(crossV));
            }
            if (in.outputAttentions)
                out.crossAttentions.push_back(std::move(cprobs));
        }
        x = feedForward(li, layer, a);
        if (observer)
            observer->observe("hidden_states." + std::to_string(i + 1), x);
        if (in.outputHiddenStates)
            out.hiddenStates.push_back(x.alias());
        if (useCache)
            out.pastKeyValues.push_back(std::move(present));
    }

    // --- the head (reference §1.4, §5.5) -------------------------------------------------------
    const model::Head &taskHead = model::headFor(task);
    taskHead.forward(model::HeadPass{c, *backend, head, in, x, b, l, choices}, out);
    // outputs the reference returns for this head
    if (!taskHead.returnsCache()) {
        out.pastKeyValues.clear();
        out.crossAttentions.clear();
    }
    if (observer)
        for (const auto &[name, t] : out.named())
            observer->observe(name, *t);
    out.milliseconds = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return out;
}

} // namespace qdq

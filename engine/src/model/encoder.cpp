// The encoder of QDQBertModel (reference §1.2, §5.1-§5.4): embeddings, self- and cross-attention
// with the KV cache, feed-forward. Every quantizer site goes through site(), linearAt() or
// matmulAt() -> SiteHooks; the TensorObserver sees each quantizer's input.
#include "model/model_impl.h"

#include "qdq/errors.h"

#include <cmath>

namespace qdq {

using model::AttentionBlock;
using model::indexValues;
using model::Layer;
using model::Linear;

namespace {

// Concatenation along dim 2 of two [B,h,S,d] tensors.
Tensor concatKeys(const Tensor &a, const Tensor &b)
{
    Shape shape = a.shape();
    shape[2] = a.size(2) + b.size(2);
    Tensor out = Tensor::empty(DType::F32, shape);
    out.slice(2, 0, a.size(2)).copyFrom(a);
    out.slice(2, a.size(2), shape[2]).copyFrom(b);
    return out;
}

} // namespace

Tensor QDQBertModel::Impl::site(int layer, SiteId id, bool cross, Tensor x)
{
    return hooks->apply(QuantizerSite{layer, id, cross}, std::move(x), observer);
}

Tensor QDQBertModel::Impl::linearAt(int layer, SiteId inputId, bool cross, const Linear &l, const Tensor &x)
{
    const QuantizerSite inSite{layer, inputId, cross};
    if (observer && l.weightSite)
        observer->observe(l.weightSite->modulePath(), l.weight);
    if (l.integer) {
        const std::optional<IntegerQuant> q = hooks->integerInput(inSite, x);
        if (!q)
            throw UnsupportedError("s8 weights of " + l.weightSite->modulePath() + " without an s8 input");
        if (observer)
            observer->observe(inSite.modulePath(), x);
        return backend->quantizedLinear(x, *q, *l.packed);
    }
    return backend->linear(hooks->apply(inSite, x.alias(), observer), *l.packed);
}

Tensor QDQBertModel::Impl::matmulAt(int layer, bool cross, SiteId aId, const Tensor &a, SiteId bId, const Tensor &b)
{
    const QuantizerSite aSite{layer, aId, cross};
    const QuantizerSite bSite{layer, bId, cross};
    if (const std::optional<IntegerQuant> qa = hooks->integerInput(aSite, a)) {
        const std::optional<IntegerQuant> qb = hooks->integerInput(bSite, b);
        if (!qb)
            throw UnsupportedError("s8 operand " + aSite.modulePath() + " without an s8 partner");
        if (observer) {
            observer->observe(aSite.modulePath(), a);
            observer->observe(bSite.modulePath(), b);
        }
        return backend->quantizedMatmul(a, *qa, b, *qb);
    }
    const Tensor as = hooks->apply(aSite, a.alias(), observer);
    const Tensor bs = hooks->apply(bSite, b.alias(), observer);
    return backend->matmul(as, bs);
}

Tensor QDQBertModel::Impl::embeddings(const Tensor &ids, const Tensor &embeds, const Tensor &tokenTypes,
                                      const Tensor &positions, const Step &st)
{
    // reference §5.1
    const BertConfig &c = config;
    const std::int64_t b = st.batch;
    const std::int64_t l = st.length;
    const std::int64_t h = c.hiddenSize;
    std::vector<std::int64_t> idv;
    if (ids.defined()) {
        idv = indexValues(ids, "input_ids");
        for (std::int64_t v : idv)
            if (v < 0 || v >= c.vocabSize)
                throw ShapeError("input_ids contains token id " + std::to_string(v) + " outside the vocabulary [0, " +
                                     std::to_string(c.vocabSize) + ")",
                                 {{}, "input_ids", {}});
    }
    std::vector<std::int64_t> ttv(static_cast<std::size_t>(b * l), 0);
    if (tokenTypes.defined()) {
        if (tokenTypes.shape() != Shape{b, l})
            throw ShapeError("token_type_ids has shape " + shapeString(tokenTypes.shape()) + ", expected " +
                                 shapeString({b, l}),
                             {{}, "token_type_ids", {}});
        ttv = indexValues(tokenTypes, "token_type_ids");
        for (std::int64_t v : ttv)
            if (v < 0 || v >= c.typeVocabSize)
                throw ShapeError("token_type_ids contains " + std::to_string(v) + " outside [0, " +
                                     std::to_string(c.typeVocabSize) + ")",
                                 {{}, "token_type_ids", {}});
    }
    const bool absolute = c.positionEmbeddingType == "absolute";
    std::vector<std::int64_t> pos(static_cast<std::size_t>(b * l));
    if (positions.defined()) {
        if (positions.dim() != 2 || (positions.size(0) != b && positions.size(0) != 1) || positions.size(1) != l)
            throw ShapeError("position_ids has shape " + shapeString(positions.shape()) + ", expected " +
                                 shapeString({b, l}) + " or " + shapeString({1, l}),
                             {{}, "position_ids", {}});
        const auto pv = indexValues(positions, "position_ids");
        for (std::int64_t i = 0; i < b; ++i)
            for (std::int64_t j = 0; j < l; ++j)
                pos[static_cast<std::size_t>(i * l + j)] =
                    pv[static_cast<std::size_t>((positions.size(0) == 1 ? 0 : i) * l + j)];
        if (absolute)
            for (std::int64_t v : pos)
                if (v < 0 || v >= c.maxPositionEmbeddings)
                    throw ShapeError("position_ids contains " + std::to_string(v) + " outside [0, " +
                                         std::to_string(c.maxPositionEmbeddings) + ") (max_position_embeddings)",
                                     {{}, "position_ids", {}});
    } else {
        if (absolute && st.past + l > c.maxPositionEmbeddings)
            throw ShapeError("sequence of " + std::to_string(st.past + l) +
                                 " positions is longer than max_position_embeddings " +
                                 std::to_string(c.maxPositionEmbeddings),
                             {{}, ids.defined() ? "input_ids" : "inputs_embeds", {}});
        for (std::int64_t i = 0; i < b; ++i)
            for (std::int64_t j = 0; j < l; ++j)
                pos[static_cast<std::size_t>(i * l + j)] = st.past + j;
    }
    Tensor e = Tensor::empty(DType::F32, {b, l, h});
    float *out = e.mutableData<float>();
    const float *word = wordEmbeddings.data<float>();
    const float *type = tokenTypeEmbeddings.data<float>();
    const float *position = positionEmbeddings.data<float>();
    const float *emb = embeds.defined() ? embeds.data<float>() : nullptr;
#pragma omp parallel for schedule(static)
    for (std::int64_t r = 0; r < b * l; ++r) {
        const auto ri = static_cast<std::size_t>(r);
        const float *w = emb ? emb + r * h : word + idv[ri] * h;
        const float *t = type + ttv[ri] * h;
        const float *p = position + pos[ri] * h;
        float *o = out + r * h;
        // reference §5.1: (word + type) + position
        for (std::int64_t j = 0; j < h; ++j)
            o[j] = w[j] + t[j];
        if (absolute)
            for (std::int64_t j = 0; j < h; ++j)
                o[j] += p[j];
    }
    return backend->addLayerNorm(e, Tensor(), embLnGamma, embLnBeta, static_cast<float>(c.layerNormEps));
}

Tensor QDQBertModel::Impl::attentionBlock(int li, bool cross, AttentionBlock &a, const Tensor &x, const Tensor &mask,
                                          const std::vector<float> *headMask, const Tensor *encoder,
                                          const Tensor *pastK, const Tensor *pastV, Tensor *presentK, Tensor *presentV,
                                          Tensor *probsOut)
{
    const BertConfig &c = config;
    const std::int64_t heads = c.numAttentionHeads;
    const std::int64_t d = c.headSize();
    const Tensor qLin = linearAt(li, SiteId::QueryInput, cross, a.query, x);
    Tensor k;
    Tensor v;
    if (cross && pastK) {
        k = pastK->alias(); // cached cross K/V are reused (reference §5.6)
        v = pastV->alias();
    } else {
        const Tensor &src = cross ? *encoder : x;
        k = backend->splitHeads(linearAt(li, SiteId::KeyInput, cross, a.key, src), heads);
        v = backend->splitHeads(linearAt(li, SiteId::ValueInput, cross, a.value, src), heads);
        if (pastK) {
            k = concatKeys(*pastK, k);
            v = concatKeys(*pastV, v);
        }
    }
    const Tensor q = backend->splitHeads(qLin, heads);
    if (presentK) {
        *presentK = k.alias(); // unquantized K/V are cached (reference §5.6)
        *presentV = v.alias();
    }
    Tensor scores = matmulAt(li, cross, SiteId::MatmulQ, q, SiteId::MatmulK, k.transpose(2, 3)); // [B,h,L,S]
    if (a.distance.defined())
        addRelativeScores(scores, q, k, a.distance, pastK != nullptr);
    backend->scaledMaskedSoftmax(scores, static_cast<float>(std::sqrt(static_cast<double>(d))), mask);
    if (headMask) {
        // reference §5.3: head_mask multiplies the probabilities before quantizer 9
        float *p = scores.mutableData<float>();
        const std::int64_t b = scores.size(0);
        const std::int64_t per = scores.size(2) * scores.size(3);
        for (std::int64_t bi = 0; bi < b; ++bi)
            for (std::int64_t hi = 0; hi < heads; ++hi) {
                const float f = (*headMask)[static_cast<std::size_t>(hi)];
                float *blk = p + (bi * heads + hi) * per;
                for (std::int64_t i = 0; i < per; ++i)
                    blk[i] *= f;
            }
    }
    if (observer)
        observer->observe(std::string(cross ? "cross_attentions." : "attentions.") + std::to_string(li), scores);
    const Tensor ctx = backend->mergeHeads(matmulAt(li, cross, SiteId::MatmulA, scores, SiteId::MatmulV, v));
    if (probsOut)
        *probsOut = std::move(scores);
    const Tensor dense = linearAt(li, SiteId::AttnOutputInput, cross, a.output, ctx);
    const Tensor local = site(li, SiteId::AttnOutputLocal, cross, dense.alias());
    const Tensor residual = site(li, SiteId::AttnOutputResidual, cross, x.alias());
    return backend->addLayerNorm(local, residual, a.lnGamma, a.lnBeta, static_cast<float>(c.layerNormEps));
}

void QDQBertModel::Impl::addRelativeScores(Tensor &scores, const Tensor &q, const Tensor &k, const Tensor &distance,
                                           bool hasPast) const
{
    const std::int64_t b = scores.size(0);
    const std::int64_t h = scores.size(1);
    const std::int64_t l = scores.size(2);
    const std::int64_t s = scores.size(3);
    const std::int64_t d = q.size(3);
    const std::int64_t maxPos = config.maxPositionEmbeddings;
    const bool keyQuery = config.positionEmbeddingType == "relative_key_query";
    // HF: with a cache the query position is key_length - 1 for every query row
    for (std::int64_t i = 0; i < l; ++i)
        for (std::int64_t j = 0; j < s; ++j) {
            const std::int64_t idx = (hasPast ? s - 1 : i) - j + maxPos - 1;
            if (idx < 0 || idx >= 2 * maxPos - 1)
                throw ShapeError("relative position distance " + std::to_string(idx - maxPos + 1) +
                                 " is beyond max_position_embeddings " + std::to_string(maxPos));
        }
    float *sp = scores.mutableData<float>();
    const float *qp = q.data<float>();
    const float *kp = k.data<float>();
    const float *ep = distance.data<float>();
#pragma omp parallel for collapse(2) schedule(static)
    for (std::int64_t bi = 0; bi < b; ++bi)
        for (std::int64_t hi = 0; hi < h; ++hi)
            for (std::int64_t i = 0; i < l; ++i)
                for (std::int64_t j = 0; j < s; ++j) {
                    const float *e = ep + ((hasPast ? s - 1 : i) - j + maxPos - 1) * d;
                    const float *qr = qp + ((bi * h + hi) * l + i) * d;
                    float rq = 0.0f;
                    for (std::int64_t t = 0; t < d; ++t)
                        rq += qr[t] * e[t];
                    float &out = sp[((bi * h + hi) * l + i) * s + j];
                    out = out + rq;
                    if (keyQuery) {
                        const float *kr = kp + ((bi * h + hi) * s + j) * d;
                        float rk = 0.0f;
                        for (std::int64_t t = 0; t < d; ++t)
                            rk += kr[t] * e[t];
                        out = out + rk;
                    }
                }
}

Tensor QDQBertModel::Impl::feedForward(int li, Layer &layer, const Tensor &a)
{
    // reference §1.2 rows 15-20
    const Tensor hid = linearAt(li, SiteId::IntermediateInput, false, layer.intermediate, a);
    const Tensor y = linearAt(li, SiteId::OutputInput, false, layer.output, hid);
    const Tensor local = site(li, SiteId::OutputLocal, false, y.alias());
    const Tensor residual = site(li, SiteId::OutputResidual, false, a.alias());
    return backend->addLayerNorm(local, residual, layer.lnGamma, layer.lnBeta, static_cast<float>(config.layerNormEps));
}

} // namespace qdq

// QDQBertModel: embeddings, encoder / decoder layers, pooler and the eight heads on a Backend
// (docs/qdqbert-reference.md §1, §5). Every quantizer site of §1.2 goes through site() -> SiteHooks.
#include "qdq/model.h"

#include "kernels/backend.h"
#include "ops/losses.h"
#include "qdq/errors.h"
#include "qdq/half.h"
#include "qdq/quant/quant_hooks.h"
#include "qdq/threading.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <random>

namespace qdq {

using kernels::Activation;

namespace {

Activation activationOf(const std::string &act, const std::string &file)
{
    // HF ACT2FN names (reference §5.4): "gelu" is the exact erf form.
    if (act == "gelu")
        return Activation::GeluErf;
    if (act == "gelu_new" || act == "gelu_pytorch_tanh" || act == "gelu_fast")
        return Activation::GeluTanh;
    if (act == "relu")
        return Activation::Relu;
    if (act == "silu" || act == "swish")
        return Activation::Silu;
    if (act == "tanh")
        return Activation::Tanh;
    throw UnsupportedError("hidden_act \"" + act + "\" is not supported", {file, {}, "hidden_act"});
}

struct Linear {
    Tensor weight; // f32 [out, in] as loaded
    Tensor bias;   // f32 [out] or undefined
    Activation activation = Activation::None;
    std::optional<QuantizerSite> weightSite;       // encoder linears only (reference §1.2 rows 2, 4, 6, 12, 16, 18)
    std::unique_ptr<kernels::PackedLinear> packed; // f32 (after the weight site) or s8 codes
    bool integer = false;                          // packed as s8 codes for the INT8 kernels
};

struct AttentionBlock {
    Linear query, key, value, output;
    Tensor lnGamma, lnBeta;
    Tensor distance; // [2 * max_pos - 1, d] for relative_key[_query]
};

struct Layer {
    AttentionBlock self;
    std::optional<AttentionBlock> cross;
    Linear intermediate, output;
    Tensor lnGamma, lnBeta;
};

std::vector<std::string> requiredHeadTensors(Task task)
{
    switch (task) {
    case Task::Base:
        return {};
    case Task::MaskedLm:
    case Task::CausalLm:
        return {"cls.predictions.transform.dense.weight", "cls.predictions.transform.dense.bias",
                "cls.predictions.transform.LayerNorm.weight", "cls.predictions.transform.LayerNorm.bias"};
    // the pooler heads also need the pooler (keys are normalised with the "bert." prefix)
    case Task::SequenceClassification:
    case Task::MultipleChoice:
        return {"classifier.weight", "classifier.bias", "bert.pooler.dense.weight", "bert.pooler.dense.bias"};
    case Task::TokenClassification:
        return {"classifier.weight", "classifier.bias"};
    case Task::QuestionAnswering:
        return {"qa_outputs.weight", "qa_outputs.bias"};
    case Task::NextSentence:
        return {"cls.seq_relationship.weight", "cls.seq_relationship.bias", "bert.pooler.dense.weight",
                "bert.pooler.dense.bias"};
    }
    return {};
}

bool needsPooler(Task task)
{
    return task == Task::SequenceClassification || task == Task::MultipleChoice || task == Task::NextSentence;
}

std::string detectPrefix(const Checkpoint &ck)
{
    if (ck.has("bert.embeddings.word_embeddings.weight"))
        return "bert.";
    if (ck.has("embeddings.word_embeddings.weight"))
        return "";
    throw FormatError("checkpoint has no BERT embeddings (bert.embeddings.word_embeddings.weight)",
                      {ck.source.string(), "bert.embeddings.word_embeddings.weight", {}});
}

std::vector<std::int64_t> indexValues(const Tensor &t, const char *name)
{
    if (isFloatingPoint(t.dtype()) || t.dtype() == DType::Bool)
        throw ShapeError(std::string(name) + " must be an integer tensor, got " + t.describe(), {{}, name, {}});
    return t.toInt64Vector();
}

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

Tensor scalarTensor(double v)
{
    Tensor t = Tensor::empty(DType::F32, {});
    *t.mutableData<float>() = static_cast<float>(v);
    return t;
}

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

struct QDQBertModel::Impl {
    BertConfig config;
    ModelOptions options;
    std::string prefix;
    std::string source;
    std::unique_ptr<kernels::Backend> backend;
    std::shared_ptr<SiteHooks> hooks;
    QuantConfig quant;
    TensorObserver *observer = nullptr;
    bool prepared = false;

    Tensor wordEmbeddings, positionEmbeddings, tokenTypeEmbeddings, embLnGamma, embLnBeta;
    std::vector<Layer> layers;
    std::optional<Linear> pooler;
    // heads
    std::optional<Linear> lmTransform, lmDecoder, classifier, qaOutputs, seqRelationship;
    Tensor lmLnGamma, lmLnBeta;
    // timeGemmsOnly(): linears packed in the other kind of kernel than the model's own
    std::map<const Linear *, std::unique_ptr<kernels::PackedLinear>> rooflineS8, rooflineF32;

    // --- loading ---------------------------------------------------------------------------
    const Checkpoint *ck = nullptr;

    Tensor weight(const std::string &name, const Shape &shape) const
    {
        const auto it = ck->tensors.find(name);
        if (it == ck->tensors.end())
            throw FormatError("checkpoint has no tensor of this name", {source, name, {}});
        const Tensor &t = it->second;
        if (t.shape() != shape)
            throw FormatError("tensor has shape " + shapeString(t.shape()) + ", expected " + shapeString(shape),
                              {source, name, {}});
        if (t.dtype() == DType::F32)
            return t.contiguous(); // zero-copy for mapped, contiguous f32
        if (t.dtype() == DType::F16 || t.dtype() == DType::BF16)
            return t.to(DType::F32); // converted once, here
        throw FormatError("weights must be f32, f16 or bf16, got " + std::string(dtypeName(t.dtype())),
                          {source, name, {}});
    }

    Linear linear(const std::string &name, std::int64_t out, std::int64_t in, Activation act,
                  std::optional<QuantizerSite> site = std::nullopt, bool withBias = true) const
    {
        Linear l;
        l.weight = weight(name + ".weight", {out, in});
        if (withBias)
            l.bias = weight(name + ".bias", {out});
        l.activation = act;
        l.weightSite = site;
        return l;
    }

    AttentionBlock attention(const std::string &base, int layer, bool cross) const
    {
        const std::int64_t hidden = config.hiddenSize;
        const auto site = [&](SiteId id) { return QuantizerSite{layer, id, cross}; };
        AttentionBlock a;
        a.query = linear(base + "self.query", hidden, hidden, Activation::None, site(SiteId::QueryWeight));
        a.key = linear(base + "self.key", hidden, hidden, Activation::None, site(SiteId::KeyWeight));
        a.value = linear(base + "self.value", hidden, hidden, Activation::None, site(SiteId::ValueWeight));
        a.output = linear(base + "output.dense", hidden, hidden, Activation::None, site(SiteId::AttnOutputWeight));
        a.lnGamma = weight(base + "output.LayerNorm.weight", {hidden});
        a.lnBeta = weight(base + "output.LayerNorm.bias", {hidden});
        // reference §5.3: cross-attention is always "absolute" (HF builds it so)
        if (!cross && config.positionEmbeddingType != "absolute")
            a.distance = weight(base + "self.distance_embedding.weight",
                                {2 * config.maxPositionEmbeddings - 1, config.headSize()});
        return a;
    }

    void load(const Checkpoint &checkpoint)
    {
        ck = &checkpoint;
        source = checkpoint.source.string();
        prefix = detectPrefix(checkpoint);
        const BertConfig &c = config;
        if (c.addCrossAttention && !c.isDecoder)
            throw FormatError("add_cross_attention needs is_decoder", {source + "/config.json", {}, "is_decoder"});
        if (c.positionEmbeddingType != "absolute" && c.positionEmbeddingType != "relative_key" &&
            c.positionEmbeddingType != "relative_key_query")
            throw UnsupportedError("position_embedding_type \"" + c.positionEmbeddingType + "\" is not supported",
                                   {source, {}, "position_embedding_type"});
        const Activation act = activationOf(c.hiddenAct, source);
        const std::int64_t hidden = c.hiddenSize;
        const std::string e = prefix + "embeddings.";
        wordEmbeddings = weight(e + "word_embeddings.weight", {c.vocabSize, hidden});
        positionEmbeddings = weight(e + "position_embeddings.weight", {c.maxPositionEmbeddings, hidden});
        tokenTypeEmbeddings = weight(e + "token_type_embeddings.weight", {c.typeVocabSize, hidden});
        embLnGamma = weight(e + "LayerNorm.weight", {hidden});
        embLnBeta = weight(e + "LayerNorm.bias", {hidden});
        for (int i = 0; i < static_cast<int>(c.numHiddenLayers); ++i) {
            const std::string base = prefix + "encoder.layer." + std::to_string(i) + ".";
            Layer layer;
            layer.self = attention(base + "attention.", i, false);
            if (c.addCrossAttention)
                layer.cross = attention(base + "crossattention.", i, true);
            layer.intermediate = linear(base + "intermediate.dense", c.intermediateSize, hidden, act,
                                        QuantizerSite{i, SiteId::IntermediateWeight, false});
            layer.output = linear(base + "output.dense", hidden, c.intermediateSize, Activation::None,
                                  QuantizerSite{i, SiteId::OutputWeight, false});
            layer.lnGamma = weight(base + "output.LayerNorm.weight", {hidden});
            layer.lnBeta = weight(base + "output.LayerNorm.bias", {hidden});
            layers.push_back(std::move(layer));
        }
        const Task task = options.task;
        const auto missing = missingHeadWeights(checkpoint, task);
        if (!missing.empty())
            throw FormatError("checkpoint has no " + std::string(taskName(task)) + " head; use --task base",
                              {source, missing.front(), {}});
        if (checkpoint.has(prefix + "pooler.dense.weight") && (task == Task::Base || needsPooler(task)))
            pooler = linear(prefix + "pooler.dense", hidden, hidden, Activation::Tanh);
        switch (task) {
        case Task::Base:
            break;
        case Task::MaskedLm:
        case Task::CausalLm: {
            lmTransform = linear("cls.predictions.transform.dense", hidden, hidden, act);
            lmLnGamma = weight("cls.predictions.transform.LayerNorm.weight", {hidden});
            lmLnBeta = weight("cls.predictions.transform.LayerNorm.bias", {hidden});
            // reference §1.4 / §2.1: decoder weight tied to the word embeddings, bias = cls.predictions.bias;
            // safetensors files drop the tied copies
            Linear dec;
            dec.weight = checkpoint.has("cls.predictions.decoder.weight")
                             ? weight("cls.predictions.decoder.weight", {c.vocabSize, hidden})
                             : wordEmbeddings.alias();
            if (checkpoint.has("cls.predictions.bias"))
                dec.bias = weight("cls.predictions.bias", {c.vocabSize});
            else if (checkpoint.has("cls.predictions.decoder.bias"))
                dec.bias = weight("cls.predictions.decoder.bias", {c.vocabSize});
            else
                throw FormatError("checkpoint has no " + std::string(taskName(task)) + " head; use --task base",
                                  {source, "cls.predictions.bias", {}});
            lmDecoder = std::move(dec);
            break;
        }
        case Task::SequenceClassification:
        case Task::TokenClassification:
            classifier = linear("classifier", checkpoint.get("classifier.weight").size(0), hidden, Activation::None);
            break;
        case Task::MultipleChoice:
            classifier = linear("classifier", 1, hidden, Activation::None);
            break;
        case Task::QuestionAnswering:
            qaOutputs = linear("qa_outputs", 2, hidden, Activation::None);
            break;
        case Task::NextSentence:
            seqRelationship = linear("cls.seq_relationship", 2, hidden, Activation::None);
            break;
        }
        if (needsPooler(task) && !pooler)
            throw FormatError("checkpoint has no pooler, which the " + std::string(taskName(task)) + " head needs",
                              {source, prefix + "pooler.dense.weight", {}});
        ck = nullptr;
    }

    // --- weight preparation (weight sites applied once, then packed) -------------------------
    void pack(Linear &l)
    {
        l.integer = false;
        if (l.weightSite) {
            // The forward reads the quantized copy, not the checkpoint's weight: its mapped pages
            // leave the resident set (read again from the page cache by an observer, a roofline
            // or the next change of the quantizers).
            if (auto codes = hooks->integerWeight(*l.weightSite, l.weight)) {
                l.integer = true;
                l.packed = backend->packQuantizedLinear(*codes, l.bias, l.activation);
                releaseMappedPages(l.weight);
                return;
            }
            l.packed =
                backend->packLinear(hooks->apply(*l.weightSite, l.weight.alias(), nullptr), l.bias, l.activation);
            releaseMappedPages(l.weight);
            return;
        }
        l.packed = backend->packLinear(l.weight, l.bias, l.activation);
    }

    void prepare()
    {
        if (prepared)
            return;
        for (Layer &layer : layers) {
            for (AttentionBlock *a : {&layer.self, layer.cross ? &*layer.cross : nullptr}) {
                if (!a)
                    continue;
                pack(a->query);
                pack(a->key);
                pack(a->value);
                pack(a->output);
            }
            pack(layer.intermediate);
            pack(layer.output);
        }
        for (std::optional<Linear> *l : {&pooler, &lmTransform, &lmDecoder, &classifier, &qaOutputs, &seqRelationship})
            if (*l)
                pack(**l);
        prepared = true;
    }

    // --- the two extension points ---------------------------------------------------------
    Tensor site(int layer, SiteId id, bool cross, Tensor x)
    {
        return hooks->apply(QuantizerSite{layer, id, cross}, std::move(x), observer);
    }
    void observe(std::string_view name, const Tensor &t) const
    {
        if (observer)
            observer->observe(name, t);
    }
    // A linear behind its input site (reference §1.2: QuantLinear = input and weight quantizer,
    // bias unquantized). The observer sees each quantizer's input (the weight as loaded).
    Tensor linearAt(int layer, SiteId inputId, bool cross, const Linear &l, const Tensor &x)
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
    Tensor run(const Linear &l, const Tensor &x) { return backend->linear(x, *l.packed); }

    // a · b behind the sites of its two operands (reference §1.2 rows 7/8 and 9/10).
    Tensor matmulAt(int layer, bool cross, SiteId aId, const Tensor &a, SiteId bId, const Tensor &b)
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

    // --- forward pieces -------------------------------------------------------------------
    struct Step {
        std::int64_t batch = 0, length = 0, past = 0;
        Tensor selfMask;                          // f32 [B, L, S] additive
        Tensor crossMask;                         // f32 [B, L, Se] additive
        std::vector<std::vector<float>> headMask; // [layers][heads], empty = none
        bool hasPast = false;
    };

    Tensor embeddings(const Tensor &ids, const Tensor &embeds, const Tensor &tokenTypes, const Tensor &positions,
                      const Step &st)
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
                    throw ShapeError("input_ids contains token id " + std::to_string(v) +
                                         " outside the vocabulary [0, " + std::to_string(c.vocabSize) + ")",
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

    // Extended additive masks (reference §5.2).
    Tensor selfMask(const Tensor &mask, const Step &st) const
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

    Tensor crossMask(const Tensor &mask, const Step &st, std::int64_t se) const
    {
        const std::int64_t b = st.batch;
        const std::int64_t l = st.length;
        const float constant =
            options.maskConstant == MaskConstant::Legacy ? -1e9f : std::numeric_limits<float>::lowest();
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

    // Self- or cross-attention block with its output dense + residual LayerNorm (reference §1.2 rows 1-14).
    Tensor attentionBlock(int li, bool cross, AttentionBlock &a, const Tensor &x, const Tensor &mask,
                          const std::vector<float> *headMask, const Tensor *encoder, const Tensor *pastK,
                          const Tensor *pastV, Tensor *presentK, Tensor *presentV, Tensor *probsOut)
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

    // reference §5.3: relative_key[_query] terms from the unquantized query (and key).
    void addRelativeScores(Tensor &scores, const Tensor &q, const Tensor &k, const Tensor &distance, bool hasPast) const
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

    Tensor feedForward(int li, Layer &layer, const Tensor &a)
    {
        // reference §1.2 rows 15-20
        const Tensor hid = linearAt(li, SiteId::IntermediateInput, false, layer.intermediate, a);
        const Tensor y = linearAt(li, SiteId::OutputInput, false, layer.output, hid);
        const Tensor local = site(li, SiteId::OutputLocal, false, y.alias());
        const Tensor residual = site(li, SiteId::OutputResidual, false, a.alias());
        return backend->addLayerNorm(local, residual, layer.lnGamma, layer.lnBeta,
                                     static_cast<float>(config.layerNormEps));
    }

    ForwardOutputs forward(const ForwardInputs &in);
    Tensor firstTokens(const Tensor &x) const
    {
        return x.select(1, 0).contiguous();
    }
};

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

    // --- heads (reference §1.4, §5.5) -------------------------------------------------------
    const auto pooled = [&]() { return run(*pooler, firstTokens(x)); };
    const auto needLabels = [&](const Tensor &t, const char *name, std::int64_t count, bool integer) {
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
    };
    const auto span = [](const Tensor &t) {
        return std::span<const float>(t.data<float>(), static_cast<std::size_t>(t.numel()));
    };
    switch (task) {
    case Task::Base:
        out.lastHiddenState = x.alias();
        if (pooler)
            out.poolerOutput = pooled();
        break;
    case Task::MaskedLm:
    case Task::CausalLm: {
        const Tensor t = run(*lmTransform, x);
        const Tensor n = backend->addLayerNorm(t, Tensor(), lmLnGamma, lmLnBeta, static_cast<float>(c.layerNormEps));
        out.logits = run(*lmDecoder, n); // [B,L,V]
        if (in.labels.defined()) {
            needLabels(in.labels, "labels", b * l, true);
            const auto lab = in.labels.toInt64Vector();
            if (task == Task::MaskedLm) {
                out.loss = scalarTensor(ops::crossEntropy(span(out.logits), c.vocabSize, lab));
            } else {
                // shifted: scores[:, :-1] against labels[:, 1:]
                std::vector<float> logits;
                std::vector<std::int64_t> targets;
                const float *lp = out.logits.data<float>();
                for (std::int64_t bi = 0; bi < b; ++bi)
                    for (std::int64_t i = 0; i + 1 < l; ++i) {
                        logits.insert(logits.end(), lp + (bi * l + i) * c.vocabSize,
                                      lp + (bi * l + i + 1) * c.vocabSize);
                        targets.push_back(lab[static_cast<std::size_t>(bi * l + i + 1)]);
                    }
                out.loss = scalarTensor(ops::crossEntropy(logits, c.vocabSize, targets));
            }
        }
        break;
    }
    case Task::SequenceClassification: {
        out.logits = run(*classifier, pooled()); // [B, n]
        const std::int64_t n = out.logits.size(1);
        if (in.labels.defined()) {
            std::string problem = c.problemType;
            if (problem.empty()) {
                const bool integer = !isFloatingPoint(in.labels.dtype()) && in.labels.dtype() != DType::Bool;
                problem =
                    n == 1 ? "regression" : (integer ? "single_label_classification" : "multi_label_classification");
            }
            if (problem == "regression") {
                needLabels(in.labels, "labels", b * n, false);
                const Tensor lab = in.labels.to(DType::F32);
                out.loss = scalarTensor(ops::meanSquaredError(span(out.logits), span(lab)));
            } else if (problem == "single_label_classification") {
                needLabels(in.labels, "labels", b, true);
                out.loss = scalarTensor(ops::crossEntropy(span(out.logits), n, in.labels.toInt64Vector()));
            } else {
                needLabels(in.labels, "labels", b * n, false);
                if (in.labels.shape() != out.logits.shape())
                    throw ShapeError("labels has shape " + shapeString(in.labels.shape()) + ", expected " +
                                         shapeString(out.logits.shape()) + " (multi-label)",
                                     {{}, "labels", {}});
                const Tensor lab = in.labels.to(DType::F32);
                out.loss = scalarTensor(ops::bceWithLogits(span(out.logits), span(lab)));
            }
        }
        break;
    }
    case Task::TokenClassification: {
        out.logits = run(*classifier, x); // [B, L, n]
        if (in.labels.defined()) {
            needLabels(in.labels, "labels", b * l, true);
            out.loss = scalarTensor(ops::crossEntropy(span(out.logits), out.logits.size(2), in.labels.toInt64Vector()));
        }
        break;
    }
    case Task::QuestionAnswering: {
        const Tensor logits = run(*qaOutputs, x); // [B, L, 2]
        out.startLogits = logits.select(2, 0).contiguous();
        out.endLogits = logits.select(2, 1).contiguous();
        if (in.startPositions.defined() != in.endPositions.defined())
            throw ShapeError("give both start_positions and end_positions");
        if (in.startPositions.defined()) {
            // reference §1.4: positions clamped to [0, L]; L is the ignore index
            double total = 0.0;
            for (const auto &[t, name, logit] : {std::tuple{&in.startPositions, "start_positions", &out.startLogits},
                                                 std::tuple{&in.endPositions, "end_positions", &out.endLogits}}) {
                needLabels(*t, name, b, true);
                auto positionsV = t->toInt64Vector();
                for (auto &p : positionsV)
                    p = std::clamp<std::int64_t>(p, 0, l);
                total += ops::crossEntropy(span(*logit), l, positionsV, l);
            }
            out.loss = scalarTensor(total / 2.0);
        }
        break;
    }
    case Task::NextSentence: {
        out.logits = run(*seqRelationship, pooled()); // [B, 2]
        if (in.labels.defined()) {
            needLabels(in.labels, "labels", b, true);
            out.loss = scalarTensor(ops::crossEntropy(span(out.logits), 2, in.labels.toInt64Vector()));
        }
        break;
    }
    case Task::MultipleChoice: {
        if (choices <= 0)
            throw ShapeError("multiple-choice expects input_ids (batch, choices, length)", {{}, "input_ids", {}});
        out.logits = run(*classifier, pooled()).view({-1, choices}); // [B, C]
        if (in.labels.defined()) {
            needLabels(in.labels, "labels", out.logits.size(0), true);
            out.loss = scalarTensor(ops::crossEntropy(span(out.logits), choices, in.labels.toInt64Vector()));
        }
        break;
    }
    }
    // outputs the reference returns for this head
    if (task != Task::Base && task != Task::CausalLm) {
        out.pastKeyValues.clear();
        out.crossAttentions.clear();
    }
    if (observer)
        for (const auto &[name, t] : out.named())
            observer->observe(name, *t);
    out.milliseconds = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return out;
}

// --- QDQBertModel ---------------------------------------------------------------------------

QDQBertModel::QDQBertModel(const Checkpoint &checkpoint, ModelOptions options) : m_impl(std::make_unique<Impl>())
{
    m_impl->config = checkpoint.config;
    m_impl->config.validate(checkpoint.source.string());
    m_impl->backend = kernels::createBackend(options.backend);
    m_impl->quant = options.quant ? *options.quant : QuantConfig::fromCheckpoint(checkpoint);
    options.quant.reset(); // kept once, in m_impl->quant
    m_impl->options = std::move(options);
    m_impl->hooks = siteHooksFor(m_impl->quant, m_impl->options.precision);
    if (!m_impl->hooks)
        m_impl->hooks = std::make_shared<SiteHooks>();
    m_impl->load(checkpoint);
}

Precision QDQBertModel::precision() const noexcept
{
    return m_impl->options.precision;
}

const QuantConfig &QDQBertModel::quantConfig() const noexcept
{
    return m_impl->quant;
}

void QDQBertModel::setQuantConfig(QuantConfig config)
{
    m_impl->quant = std::move(config);
    setSiteHooks(siteHooksFor(m_impl->quant, m_impl->options.precision));
}

std::vector<SiteExecution> QDQBertModel::executionPlan() const
{
    return m_impl->quant.executionPlan(m_impl->options.precision);
}

QDQBertModel::~QDQBertModel() = default;
QDQBertModel::QDQBertModel(QDQBertModel &&) noexcept = default;
QDQBertModel &QDQBertModel::operator=(QDQBertModel &&) noexcept = default;

const BertConfig &QDQBertModel::config() const noexcept
{
    return m_impl->config;
}
Task QDQBertModel::task() const noexcept
{
    return m_impl->options.task;
}
const ModelOptions &QDQBertModel::options() const noexcept
{
    return m_impl->options;
}
std::string QDQBertModel::backendName() const
{
    return m_impl->backend->name();
}
const std::string &QDQBertModel::prefix() const noexcept
{
    return m_impl->prefix;
}

void QDQBertModel::setSiteHooks(std::shared_ptr<SiteHooks> hooks)
{
    m_impl->hooks = hooks ? std::move(hooks) : std::make_shared<SiteHooks>();
    m_impl->prepared = false;
}

void QDQBertModel::setObserver(TensorObserver *observer) noexcept
{
    m_impl->observer = observer;
}

ForwardOutputs QDQBertModel::forward(const ForwardInputs &inputs)
{
    return m_impl->forward(inputs);
}

std::vector<std::string> QDQBertModel::missingHeadWeights(const Checkpoint &checkpoint, Task task)
{
    std::vector<std::string> missing;
    for (const std::string &name : requiredHeadTensors(task))
        if (!checkpoint.has(name))
            missing.push_back(name);
    return missing;
}

std::vector<std::int64_t> QDQBertModel::generate(const Tensor &inputIds, const GenerateOptions &opt)
{
    if (task() != Task::CausalLm || !config().isDecoder)
        throw UnsupportedError("generation needs a causal-lm model with is_decoder = true");
    if (config().addCrossAttention)
        throw UnsupportedError("generation with cross-attention needs encoder states; not supported here");
    std::vector<std::int64_t> tokens = indexValues(inputIds, "input_ids");
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

QDQBertModel::GemmTiming QDQBertModel::timeGemmsOnly(std::int64_t batch, std::int64_t seq, Precision gemms)
{
    applyNumThreads();
    Impl &m = *m_impl;
    m.prepare();
    const bool integer = gemms == Precision::Int8;
    const BertConfig &c = m.config;
    const std::int64_t rows = batch * seq;
    const std::int64_t heads = c.numAttentionHeads;
    const std::int64_t d = c.headSize();
    // The six linears of every layer in the kernels asked for: the model's own packed weights when
    // they already are of that kind, else packed once here (s8 codes per row by max|w|, reference
    // §3.3 with axis 0; or the f32 weights) and kept for the next call.
    auto &extra = integer ? m.rooflineS8 : m.rooflineF32;
    const auto packedOf = [&](const Linear &l) -> const kernels::PackedLinear & {
        if (l.integer == integer)
            return *l.packed;
        auto &slot = extra[&l];
        if (!slot) {
            if (integer) {
                const std::int64_t n = l.weight.size(0);
                const std::int64_t k = l.weight.size(1);
                std::vector<float> amax(static_cast<std::size_t>(n));
                const float *w = l.weight.data<float>();
                for (std::int64_t r = 0; r < n; ++r) {
                    float a = 0.0F;
                    for (std::int64_t j = 0; j < k; ++j)
                        a = std::max(a, std::abs(w[r * k + j]));
                    amax[static_cast<std::size_t>(r)] = a;
                }
                slot = m.backend->packQuantizedLinear(quantizeToInt(l.weight, AmaxView{amax, 0}, QuantRange{}), l.bias,
                                                      l.activation);
            } else {
                slot = m.backend->packLinear(l.weight, l.bias, l.activation);
            }
        }
        return *slot;
    };
    const auto fill = [](Tensor &t) {
        float *p = t.mutableData<float>();
        for (std::int64_t i = 0; i < t.numel(); ++i)
            p[i] = static_cast<float>((i * 7919) % 1000) * 1e-3f - 0.5f;
    };
    Tensor x(DType::F32, {rows, c.hiddenSize});
    fill(x);
    Tensor qh(DType::F32, {batch, heads, seq, d});
    Tensor kh(DType::F32, {batch, heads, seq, d});
    Tensor vh(DType::F32, {batch, heads, seq, d});
    Tensor probs(DType::F32, {batch, heads, seq, seq});
    for (Tensor *t : {&qh, &kh, &vh, &probs})
        fill(*t);
    // int8: the s8 GEMMs with a fixed activation scale (quantize + GEMM + rescale, no amax pass),
    // a stored amax as a calibrated checkpoint has (the rescale built into the linears' kernels)
    const IntegerQuant q8{16.0F, -128.0F, 127.0F, true};
    const IntegerQuant p8{127.0F, -128.0F, 127.0F, true};
    const auto lin = [&](const Tensor &in, const Linear &l) {
        const kernels::PackedLinear &p = packedOf(l);
        return integer ? m.backend->quantizedLinear(in, q8, p) : m.backend->linear(in, p);
    };
    GemmTiming timing;
    using Clock = std::chrono::steady_clock;
    const auto ms = [](Clock::time_point from) {
        return std::chrono::duration<double, std::milli>(Clock::now() - from).count();
    };
    for (Layer &layer : m.layers) {
        auto t0 = Clock::now();
        const Tensor q = lin(x, layer.self.query);
        const Tensor k = lin(x, layer.self.key);
        const Tensor v = lin(x, layer.self.value);
        timing.linearsMs += ms(t0);
        // attention: scores [B,h,L,S] = Q · Kᵀ, context = P · V (reference §5.3), the layouts of forward()
        t0 = Clock::now();
        const Tensor kt = kh.transpose(2, 3);
        const Tensor scores = integer ? m.backend->quantizedMatmul(qh, q8, kt, q8) : m.backend->matmul(qh, kt);
        const Tensor ctx = integer ? m.backend->quantizedMatmul(probs, p8, vh, q8) : m.backend->matmul(probs, vh);
        timing.attentionMs += ms(t0);
        t0 = Clock::now();
        const Tensor o = lin(q, layer.self.output);
        const Tensor h = lin(o, layer.intermediate);
        x = lin(h, layer.output);
        timing.linearsMs += ms(t0);
    }
    return timing;
}

// --- synthetic checkpoints --------------------------------------------------------------------

Checkpoint randomCheckpoint(const BertConfig &config, Task task, std::uint64_t seed)
{
    Checkpoint ck;
    ck.config = config;
    ck.configFromFile = false;
    ck.format = "synthetic";
    ck.source = "synthetic";
    std::uint64_t state = seed * 0x9E3779B97F4A7C15ULL + 0x2545F4914F6CDD1DULL;
    const auto add = [&](const std::string &name, Shape shape, float constant, bool random) {
        Tensor t = Tensor::empty(DType::F32, std::move(shape));
        float *p = t.mutableData<float>();
        for (std::int64_t i = 0; i < t.numel(); ++i) {
            if (!random) {
                p[i] = constant;
                continue;
            }
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // uniform on [-a, a] with a = 0.02 * sqrt(3): standard deviation 0.02, like BERT's init
            const double u = static_cast<double>(state >> 11) * (1.0 / 9007199254740992.0);
            p[i] = static_cast<float>((2.0 * u - 1.0) * 0.0346410161513775);
        }
        ck.tensors.emplace(name, std::move(t));
    };
    const std::int64_t h = config.hiddenSize;
    const std::int64_t in = config.intermediateSize;
    const auto linear = [&](const std::string &name, std::int64_t out, std::int64_t inF) {
        add(name + ".weight", {out, inF}, 0.0f, true);
        add(name + ".bias", {out}, 0.0f, true);
    };
    const auto layerNorm = [&](const std::string &name) {
        add(name + ".weight", {h}, 1.0f, false);
        add(name + ".bias", {h}, 0.0f, false);
    };
    add("bert.embeddings.word_embeddings.weight", {config.vocabSize, h}, 0.0f, true);
    add("bert.embeddings.position_embeddings.weight", {config.maxPositionEmbeddings, h}, 0.0f, true);
    add("bert.embeddings.token_type_embeddings.weight", {config.typeVocabSize, h}, 0.0f, true);
    layerNorm("bert.embeddings.LayerNorm");
    for (std::int64_t i = 0; i < config.numHiddenLayers; ++i) {
        const std::string base = "bert.encoder.layer." + std::to_string(i) + ".";
        for (const char *block : {"attention.", "crossattention."}) {
            if (std::string(block) == "crossattention." && !config.addCrossAttention)
                continue;
            linear(base + block + "self.query", h, h);
            linear(base + block + "self.key", h, h);
            linear(base + block + "self.value", h, h);
            linear(base + block + "output.dense", h, h);
            layerNorm(base + block + "output.LayerNorm");
            if (std::string(block) == "attention." && config.positionEmbeddingType != "absolute")
                add(base + block + "self.distance_embedding.weight",
                    {2 * config.maxPositionEmbeddings - 1, config.headSize()}, 0.0f, true);
        }
        linear(base + "intermediate.dense", in, h);
        linear(base + "output.dense", h, in);
        layerNorm(base + "output.LayerNorm");
    }
    linear("bert.pooler.dense", h, h);
    switch (task) {
    case Task::Base:
        break;
    case Task::MaskedLm:
    case Task::CausalLm:
        linear("cls.predictions.transform.dense", h, h);
        layerNorm("cls.predictions.transform.LayerNorm");
        add("cls.predictions.bias", {config.vocabSize}, 0.0f, true);
        break;
    case Task::SequenceClassification:
    case Task::TokenClassification:
        linear("classifier", config.numLabels, h);
        break;
    case Task::MultipleChoice:
        linear("classifier", 1, h);
        break;
    case Task::QuestionAnswering:
        linear("qa_outputs", 2, h);
        break;
    case Task::NextSentence:
        linear("cls.seq_relationship", 2, h);
        break;
    }
    return ck;
}

} // namespace qdq

// Loading a QDQBertModel's weights from a Checkpoint (reference §1.2, §5): embeddings, encoder
// layers, the pooler and the task head; then, before a forward, the weight quantizer sites
// applied once and every linear packed for the backend.
#include "model/model_impl.h"

#include "qdq/errors.h"

namespace qdq {

using kernels::Activation;
using model::AttentionBlock;
using model::Layer;
using model::Linear;
using model::WeightReader;

namespace model {

Tensor WeightReader::weight(const std::string &name, const Shape &shape) const
{
    const auto it = m_checkpoint.tensors.find(name);
    if (it == m_checkpoint.tensors.end())
        throw FormatError("checkpoint has no tensor of this name", {m_source, name, {}});
    const Tensor &t = it->second;
    if (t.shape() != shape)
        throw FormatError("tensor has shape " + shapeString(t.shape()) + ", expected " + shapeString(shape),
                          {m_source, name, {}});
    if (t.dtype() == DType::F32)
        return t.contiguous(); // zero-copy for mapped, contiguous f32
    if (t.dtype() == DType::F16 || t.dtype() == DType::BF16)
        return t.to(DType::F32); // converted once, here
    throw FormatError("weights must be f32, f16 or bf16, got " + std::string(dtypeName(t.dtype())),
                      {m_source, name, {}});
}

Linear WeightReader::linear(const std::string &name, std::int64_t out, std::int64_t in, Activation activation,
                            std::optional<QuantizerSite> site, bool withBias) const
{
    Linear l;
    l.weight = weight(name + ".weight", {out, in});
    if (withBias)
        l.bias = weight(name + ".bias", {out});
    l.activation = activation;
    l.weightSite = site;
    return l;
}

} // namespace model

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

std::string detectPrefix(const Checkpoint &ck)
{
    if (ck.has("bert.embeddings.word_embeddings.weight"))
        return "bert.";
    if (ck.has("embeddings.word_embeddings.weight"))
        return "";
    throw FormatError("checkpoint has no BERT embeddings (bert.embeddings.word_embeddings.weight)",
                      {ck.source.string(), "bert.embeddings.word_embeddings.weight", {}});
}

AttentionBlock attention(const WeightReader &r, const BertConfig &config, const std::string &base, int layer,
                         bool cross)
{
    const std::int64_t hidden = config.hiddenSize;
    const auto site = [&](SiteId id) { return QuantizerSite{layer, id, cross}; };
    AttentionBlock a;
    a.query = r.linear(base + "self.query", hidden, hidden, Activation::None, site(SiteId::QueryWeight));
    a.key = r.linear(base + "self.key", hidden, hidden, Activation::None, site(SiteId::KeyWeight));
    a.value = r.linear(base + "self.value", hidden, hidden, Activation::None, site(SiteId::ValueWeight));
    a.output = r.linear(base + "output.dense", hidden, hidden, Activation::None, site(SiteId::AttnOutputWeight));
    a.lnGamma = r.weight(base + "output.LayerNorm.weight", {hidden});
    a.lnBeta = r.weight(base + "output.LayerNorm.bias", {hidden});
    // reference §5.3: cross-attention is always "absolute" (HF builds it so)
    if (!cross && config.positionEmbeddingType != "absolute")
        a.distance = r.weight(base + "self.distance_embedding.weight",
                              {2 * config.maxPositionEmbeddings - 1, config.headSize()});
    return a;
}

} // namespace

void QDQBertModel::Impl::load(const Checkpoint &checkpoint)
{
    source = checkpoint.source.string();
    prefix = detectPrefix(checkpoint);
    const WeightReader r(checkpoint, source);
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
    wordEmbeddings = r.weight(e + "word_embeddings.weight", {c.vocabSize, hidden});
    positionEmbeddings = r.weight(e + "position_embeddings.weight", {c.maxPositionEmbeddings, hidden});
    tokenTypeEmbeddings = r.weight(e + "token_type_embeddings.weight", {c.typeVocabSize, hidden});
    embLnGamma = r.weight(e + "LayerNorm.weight", {hidden});
    embLnBeta = r.weight(e + "LayerNorm.bias", {hidden});
    for (int i = 0; i < static_cast<int>(c.numHiddenLayers); ++i) {
        const std::string base = prefix + "encoder.layer." + std::to_string(i) + ".";
        Layer layer;
        layer.self = attention(r, c, base + "attention.", i, false);
        if (c.addCrossAttention)
            layer.cross = attention(r, c, base + "crossattention.", i, true);
        layer.intermediate = r.linear(base + "intermediate.dense", c.intermediateSize, hidden, act,
                                      QuantizerSite{i, SiteId::IntermediateWeight, false});
        layer.output = r.linear(base + "output.dense", hidden, c.intermediateSize, Activation::None,
                                QuantizerSite{i, SiteId::OutputWeight, false});
        layer.lnGamma = r.weight(base + "output.LayerNorm.weight", {hidden});
        layer.lnBeta = r.weight(base + "output.LayerNorm.bias", {hidden});
        layers.push_back(std::move(layer));
    }
    const Task task = options.task;
    const model::Head &taskHead = model::headFor(task);
    const auto missing = missingHeadWeights(checkpoint, task);
    if (!missing.empty())
        throw FormatError("checkpoint has no " + std::string(taskName(task)) + " head; use --task base",
                          {source, missing.front(), {}});
    if (checkpoint.has(prefix + "pooler.dense.weight") && taskHead.pooler() != model::PoolerUse::None)
        head.pooler = r.linear(prefix + "pooler.dense", hidden, hidden, Activation::Tanh);
    taskHead.load(model::HeadLoad{r, c, task, act, wordEmbeddings}, head);
    if (taskHead.pooler() == model::PoolerUse::Required && !head.pooler)
        throw FormatError("checkpoint has no pooler, which the " + std::string(taskName(task)) + " head needs",
                          {source, prefix + "pooler.dense.weight", {}});
}

void QDQBertModel::Impl::pack(Linear &l)
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
        l.packed = backend->packLinear(hooks->apply(*l.weightSite, l.weight.alias(), nullptr), l.bias, l.activation);
        releaseMappedPages(l.weight);
        return;
    }
    l.packed = backend->packLinear(l.weight, l.bias, l.activation);
}

void QDQBertModel::Impl::prepare()
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
    for (std::optional<Linear> *l :
         {&head.pooler, &head.lmTransform, &head.lmDecoder, &head.classifier, &head.qaOutputs, &head.seqRelationship})
        if (*l)
            pack(**l);
    prepared = true;
}

} // namespace qdq

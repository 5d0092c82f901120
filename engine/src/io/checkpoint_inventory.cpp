#include "io/checkpoint_inventory.h"

#include "qdq/errors.h"
#include "qdq/limits.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <optional>
#include <set>

namespace qdq {

namespace {

bool startsWith(std::string_view s, std::string_view p)
{
    return s.substr(0, p.size()) == p;
}
bool endsWith(std::string_view s, std::string_view p)
{
    return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

constexpr std::string_view kBert = "bert.";
constexpr std::string_view kWordEmbeddings = "bert.embeddings.word_embeddings.weight";
constexpr std::string_view kDecoderWeight = "cls.predictions.decoder.weight";
constexpr std::string_view kDecoderBias = "cls.predictions.decoder.bias";
constexpr std::string_view kPredictionsBias = "cls.predictions.bias";

// The six QuantLinears and two LayerNorms of an encoder layer (reference §1.1) with their
// [out, in] in units of the config: 'H' hidden, 'I' intermediate.
struct LayerParam {
    std::string_view path;
    char out;
    char in;        // 0 for LayerNorm
    bool attention; // lives under attention. / crossattention.
};
constexpr LayerParam kLayerParams[] = {
    {"self.query", 'H', 'H', true},    {"self.key", 'H', 'H', true},        {"self.value", 'H', 'H', true},
    {"output.dense", 'H', 'H', true},  {"output.LayerNorm", 'H', 0, true},  {"intermediate.dense", 'I', 'H', false},
    {"output.dense", 'H', 'I', false}, {"output.LayerNorm", 'H', 0, false},
};

// "bert.encoder.layer.<i>.<rest>" -> (i, rest)
std::optional<std::pair<std::int64_t, std::string_view>> splitLayerKey(std::string_view key)
{
    constexpr std::string_view prefix = "bert.encoder.layer.";
    if (!startsWith(key, prefix))
        return std::nullopt;
    std::string_view rest = key.substr(prefix.size());
    std::int64_t layer = -1;
    const auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), layer);
    if (ec != std::errc() || ptr == rest.data() + rest.size() || *ptr != '.')
        return std::nullopt;
    return std::make_pair(layer, rest.substr(static_cast<std::size_t>(ptr - rest.data()) + 1));
}

class Inventory {
public:
    Inventory(Checkpoint &ckpt, const LoadOptions &options) : m_ckpt(ckpt), m_options(options) {}

    void run(io::NamedTensors raw)
    {
        normalise(std::move(raw));
        checkFinite();
        detectHeads();
        if (!m_ckpt.configFromFile)
            inferConfig();
        tieWeights();
        checkShapesAndKeys();
        quantizerInventory();
    }

private:
    [[nodiscard]] std::string file() const { return m_ckpt.source.string(); }
    [[nodiscard]] const Tensor *find(std::string_view name) const
    {
        const auto it = m_ckpt.tensors.find(std::string(name));
        return it == m_ckpt.tensors.end() ? nullptr : &it->second;
    }
    [[nodiscard]] bool hasPrefix(std::string_view prefix) const
    {
        const auto it = m_ckpt.tensors.lower_bound(std::string(prefix));
        return it != m_ckpt.tensors.end() && startsWith(it->first, prefix);
    }
    void warn(std::string w) { m_ckpt.warnings.push_back(std::move(w)); }

    void normalise(io::NamedTensors raw)
    {
        std::map<std::string, std::string> origin; // normalised -> stored
        std::size_t renamed = 0;
        for (auto &[stored, tensor] : raw) {
            std::string key = normaliseKey(stored);
            if (const auto it = origin.find(key); it != origin.end())
                throw FormatError("keys '" + it->second + "' and '" + stored + "' both name '" + key + "'",
                                  {file(), stored, {}});
            renamed += key != stored ? 1 : 0;
            origin.emplace(key, stored);
            m_ckpt.tensors.emplace(std::move(key), std::move(tensor));
        }
        if (renamed > 0)
            warn(std::to_string(renamed) + " keys renamed to their normalised form (\"bert.\" prefix, "
                                           "LayerNorm.gamma/beta -> weight/bias)");
    }

    void detectHeads()
    {
        std::vector<std::string> &heads = m_ckpt.heads;
        if (hasPrefix("bert.pooler."))
            heads.emplace_back("pooler");
        if (hasPrefix("cls.predictions."))
            heads.emplace_back("masked-lm");
        if (hasPrefix("cls.seq_relationship."))
            heads.emplace_back("next-sentence");
        if (hasPrefix("classifier."))
            heads.emplace_back("classifier");
        if (hasPrefix("qa_outputs."))
            heads.emplace_back("question-answering");
    }

    // Weights and amax values must be finite: a NaN or infinity stored in a checkpoint is damage
    // (or a hostile file) and would silently poison every result computed from it. Read in place
    // through the view's strides (no copy: memory stays what the files take), and the loaders
    // refuse views with more elements than their storage, so the work is bounded by the input.
    void checkFinite() const
    {
        for (const auto &[key, t] : m_ckpt.tensors) {
            if (!isFloatingPoint(t.dtype()) || t.numel() == 0)
                continue;
            const auto *base = static_cast<const unsigned char *>(t.rawData());
            const std::size_t elem = dtypeSize(t.dtype());
            const Shape &shape = t.shape();
            const Shape &strides = t.strides();
            const std::size_t rank = shape.size();
            const std::int64_t n = t.numel();
            const std::int64_t inner = rank == 0 ? 1 : shape[rank - 1];
            const std::int64_t innerStride = rank == 0 ? 0 : strides[rank - 1];
            std::vector<std::int64_t> index(rank, 0);
            for (std::int64_t row = 0; row * inner < n; ++row) {
                std::int64_t offset = 0; // elements, of the row's first element
                for (std::size_t d = 0; d + 1 < rank; ++d)
                    offset += index[d] * strides[d];
                for (std::int64_t k = 0; k < inner; ++k) {
                    const unsigned char *p = base + static_cast<std::size_t>(offset + k * innerStride) * elem;
                    if (const char *what = nonFinite(t.dtype(), p))
                        throw FormatError(std::string("tensor holds ") + what + " at element " +
                                              std::to_string(row * inner + k) + " of " + std::to_string(n) + " (" +
                                              std::string(dtypeName(t.dtype())) + shapeString(shape) +
                                              "); weights and amax must be finite",
                                          {file(), key, {}});
                }
                for (std::size_t d = rank == 0 ? 0 : rank - 1; d-- > 0;) { // next row: odometer over the outer dims
                    if (++index[d] < shape[d])
                        break;
                    index[d] = 0;
                }
            }
        }
    }

    // "NaN" or "an infinity" for a non-finite f32 / f16 / bf16 element, nullptr otherwise.
    static const char *nonFinite(DType dtype, const unsigned char *p)
    {
        bool nan = false;
        bool inf = false;
        if (dtype == DType::F32) {
            std::uint32_t b = 0;
            std::memcpy(&b, p, 4);
            nan = (b & 0x7f800000U) == 0x7f800000U && (b & 0x007fffffU) != 0;
            inf = (b & 0x7fffffffU) == 0x7f800000U;
        } else {
            std::uint16_t b = 0;
            std::memcpy(&b, p, 2);
            // f16: 5 exponent bits; bf16: 8 (the top half of an f32)
            const std::uint16_t exp = dtype == DType::F16 ? 0x7c00U : 0x7f80U;
            nan = (b & exp) == exp && (b & static_cast<std::uint16_t>(~exp & 0x7fffU)) != 0;
            inf = (b & 0x7fffU) == exp;
        }
        return nan ? "NaN" : inf ? "an infinity" : nullptr;
    }

    // reference §1.5 defaults, overwritten by what the shapes say; heads = hidden / 64 unless told.
    void inferConfig()
    {
        BertConfig &c = m_ckpt.config;
        const Tensor *word = find(kWordEmbeddings);
        if (!word || word->dim() != 2)
            throw FormatError("no config.json and no 2-D " + std::string(kWordEmbeddings) +
                                  " to infer the configuration from",
                              {file(), {}, {}});
        c.vocabSize = word->size(0);
        c.hiddenSize = word->size(1);
        if (const Tensor *t = find("bert.embeddings.position_embeddings.weight"); t && t->dim() == 2)
            c.maxPositionEmbeddings = t->size(0);
        if (const Tensor *t = find("bert.embeddings.token_type_embeddings.weight"); t && t->dim() == 2)
            c.typeVocabSize = t->size(0);
        std::int64_t layers = 0;
        bool cross = false;
        std::int64_t distanceHeadSize = 0;
        for (const auto &[key, t] : m_ckpt.tensors) {
            if (const auto split = splitLayerKey(key)) {
                if (split->first >= limits::kMaxLayers)
                    throw FormatError("layer index " + std::to_string(split->first) + " is above the limit of " +
                                          std::to_string(limits::kMaxLayers) + " layers",
                                      {file(), key, {}});
                layers = std::max(layers, split->first + 1);
                cross = cross || startsWith(split->second, "crossattention.");
                if (split->second == "attention.self.distance_embedding.weight" && t.dim() == 2)
                    distanceHeadSize = t.size(1);
            }
        }
        if (layers == 0)
            throw FormatError("no config.json and no encoder layers to infer the configuration from", {file(), {}, {}});
        c.numHiddenLayers = layers;
        if (const Tensor *t = find("bert.encoder.layer.0.intermediate.dense.weight"); t && t->dim() == 2)
            c.intermediateSize = t->size(0);
        std::string headsNote;
        if (m_options.numAttentionHeads > 0) {
            c.numAttentionHeads = m_options.numAttentionHeads;
            headsNote = "as given";
        } else if (distanceHeadSize > 0 && c.hiddenSize % distanceHeadSize == 0) {
            c.numAttentionHeads = c.hiddenSize / distanceHeadSize;
            headsNote = "from the distance embedding";
        } else if (c.hiddenSize >= 64 && c.hiddenSize % 64 == 0) {
            c.numAttentionHeads = c.hiddenSize / 64;
            headsNote = "hidden / 64";
        } else {
            c.numAttentionHeads = 1;
            headsNote = "hidden < 64 or not a multiple of 64: assumed 1, give the head count to override";
        }
        if (distanceHeadSize > 0) {
            c.positionEmbeddingType = "relative_key";
            warn("relative position embeddings found: assumed relative_key (relative_key_query cannot be told "
                 "apart from the shapes)");
        }
        c.isDecoder = cross;
        c.addCrossAttention = cross;
        for (const char *head : {"classifier.weight", "qa_outputs.weight"})
            if (const Tensor *t = find(head); t && t->dim() == 2 && t->size(0) > 1)
                c.numLabels = t->size(0);
        if (hasHead("masked-lm"))
            c.architectures = {"QDQBertForMaskedLM"};
        else if (hasHead("question-answering"))
            c.architectures = {"QDQBertForQuestionAnswering"};
        c.validate(file());
        warn("no config.json: configuration inferred from tensor shapes (layers " + std::to_string(c.numHiddenLayers) +
             ", hidden " + std::to_string(c.hiddenSize) + ", heads " + std::to_string(c.numAttentionHeads) + " (" +
             headsNote + "), intermediate " + std::to_string(c.intermediateSize) + ", vocab " +
             std::to_string(c.vocabSize) + "); other fields are QDQBertConfig defaults");
    }

    [[nodiscard]] bool hasHead(std::string_view head) const
    {
        return std::find(m_ckpt.heads.begin(), m_ckpt.heads.end(), head) != m_ckpt.heads.end();
    }

    // reference §1.4/§2.1: the decoder weight is the word embedding matrix, the decoder bias is
    // cls.predictions.bias; writers that drop tied tensors (safetensors) store only one of each.
    void tieWeights()
    {
        if (!hasHead("masked-lm"))
            return;
        auto alias = [this](std::string_view target, std::string_view from) {
            if (find(target) || !find(from))
                return;
            m_ckpt.tensors.emplace(std::string(target), find(from)->alias());
            m_ckpt.tiedKeys.emplace_back(target);
        };
        alias(kDecoderWeight, kWordEmbeddings);
        alias(kDecoderBias, kPredictionsBias);
        alias(kPredictionsBias, kDecoderBias);
    }

    void expectShape(const std::string &key, const Shape &expected, bool required)
    {
        m_known.insert(key);
        const Tensor *t = find(key);
        if (!t) {
            if (required)
                m_ckpt.missingKeys.push_back(key);
            return;
        }
        if (t->shape() != expected)
            throw ShapeError("shape " + shapeString(t->shape()) + " disagrees with the config, which implies " +
                                 shapeString(expected),
                             {file(), key, {}});
    }
    void expectLinear(const std::string &module, std::int64_t out, std::int64_t in, bool required)
    {
        expectShape(module + ".weight", {out, in}, required);
        expectShape(module + ".bias", {out}, required);
    }
    void expectLayerNorm(const std::string &module, bool required)
    {
        const std::int64_t h = m_ckpt.config.hiddenSize;
        expectShape(module + ".weight", {h}, required);
        expectShape(module + ".bias", {h}, required);
    }

    // Rows of a head whose width is fixed but whose row count is the task's (labels, choices).
    void expectHeadRows(const std::string &module)
    {
        const Tensor *w = find(module + ".weight");
        if (!w)
            return;
        const std::int64_t rows = w->dim() == 2 ? w->size(0) : -1;
        expectLinear(module, rows, m_ckpt.config.hiddenSize, true);
    }

    void checkShapesAndKeys()
    {
        const BertConfig &c = m_ckpt.config;
        const std::int64_t h = c.hiddenSize;
        const std::int64_t v = c.vocabSize;
        expectShape(std::string(kWordEmbeddings), {v, h}, true);
        expectShape("bert.embeddings.position_embeddings.weight", {c.maxPositionEmbeddings, h},
                    c.positionEmbeddingType == "absolute");
        expectShape("bert.embeddings.token_type_embeddings.weight", {c.typeVocabSize, h}, true);
        expectLayerNorm("bert.embeddings.LayerNorm", true);
        m_known.insert("bert.embeddings.position_ids");
        m_known.insert("bert.embeddings.token_type_ids");
        for (std::int64_t i = 0; i < c.numHiddenLayers; ++i) {
            const std::string layer = "bert.encoder.layer." + std::to_string(i) + ".";
            for (const bool cross : {false, true}) {
                if (cross && !c.addCrossAttention)
                    continue;
                for (const LayerParam &p : kLayerParams) {
                    if (cross && !p.attention)
                        continue;
                    const std::string module =
                        layer + (p.attention ? (cross ? "crossattention." : "attention.") : "") + std::string(p.path);
                    const std::int64_t out = p.out == 'H' ? h : c.intermediateSize;
                    if (p.in == 0)
                        expectLayerNorm(module, true);
                    else
                        expectLinear(module, out, p.in == 'H' ? h : c.intermediateSize, true);
                }
                if (c.positionEmbeddingType != "absolute")
                    expectShape(layer + (cross ? "crossattention" : "attention") + ".self.distance_embedding.weight",
                                {2 * c.maxPositionEmbeddings - 1, c.headSize()}, true);
            }
        }
        expectLinear("bert.pooler.dense", h, h, false);
        expectLinear("cls.predictions.transform.dense", h, h, hasHead("masked-lm"));
        expectLayerNorm("cls.predictions.transform.LayerNorm", hasHead("masked-lm"));
        expectShape(std::string(kPredictionsBias), {v}, hasHead("masked-lm"));
        expectLinear("cls.predictions.decoder", v, h, hasHead("masked-lm"));
        expectLinear("cls.seq_relationship", 2, h, false);
        expectHeadRows("classifier");
        expectHeadRows("qa_outputs");

        for (const auto &[key, t] : m_ckpt.tensors) {
            if (m_known.count(key) || isQuantizerKey(key))
                continue;
            m_ckpt.unexpectedKeys.push_back(key);
        }
        if (!m_ckpt.missingKeys.empty())
            warn(std::to_string(m_ckpt.missingKeys.size()) +
                 " expected tensors are missing, first: " + m_ckpt.missingKeys.front());
        if (!m_ckpt.unexpectedKeys.empty())
            warn(std::to_string(m_ckpt.unexpectedKeys.size()) +
                 " tensors have no place in the configured model, "
                 "first: " +
                 m_ckpt.unexpectedKeys.front());
    }

    // `_amax` buffers of known sites and the optional extras of §2.1 (learned clip range,
    // pre-quant scale). Keys of sites the config has no room for are left to unexpectedKeys.
    [[nodiscard]] bool isQuantizerKey(const std::string &key)
    {
        static constexpr std::string_view kSuffixes[] = {"._amax", ".clip.clip_value_min", ".clip.clip_value_max",
                                                         "._pre_quant_scale"};
        for (const std::string_view suffix : kSuffixes) {
            if (!endsWith(key, suffix))
                continue;
            const std::string_view module = std::string_view(key).substr(0, key.size() - suffix.size());
            std::string prefix;
            const auto site = QuantizerSite::fromKey(module, &prefix);
            if (!site || prefix != kBert || site->modulePath(kBert) != module ||
                site->layer >= m_ckpt.config.numHiddenLayers ||
                (site->crossAttention && !m_ckpt.config.addCrossAttention))
                return false;
            if (suffix != "._amax")
                m_extras.push_back(key);
            return true;
        }
        return false;
    }

    void quantizerInventory()
    {
        const BertConfig &c = m_ckpt.config;
        for (int layer = 0; layer < c.numHiddenLayers; ++layer) {
            for (const bool cross : {false, true}) {
                if (cross && !c.addCrossAttention)
                    continue;
                const int count = cross ? kCrossAttentionSites : kSitesPerLayer;
                for (int id = 0; id < count; ++id) {
                    QuantizerInfo q;
                    q.site = QuantizerSite{layer, static_cast<SiteId>(id), cross};
                    q.amaxKey = q.site.amaxKey(kBert);
                    if (const Tensor *amax = find(q.amaxKey)) {
                        q.calibrated = true;
                        q.amaxShape = amax->shape();
                        q.amaxDType = amax->dtype();
                        q.perChannel = amax->numel() > 1;
                        checkAmax(q, *amax);
                    }
                    m_ckpt.quantizers.push_back(std::move(q));
                }
            }
        }
        const int calibrated = m_ckpt.calibratedQuantizers();
        const auto total = static_cast<int>(m_ckpt.quantizers.size());
        if (calibrated == 0)
            warn("no _amax buffers: every quantizer is dynamic (amax from each input, reference §2.4)");
        else if (calibrated < total)
            warn(std::to_string(total - calibrated) + " of " + std::to_string(total) +
                 " quantizers have no _amax and are dynamic (reference §2.4)");
        std::vector<std::string> clips;
        std::vector<std::string> preScales;
        for (const std::string &key : m_extras)
            (endsWith(key, "._pre_quant_scale") ? preScales : clips).push_back(key);
        if (!clips.empty())
            warn(std::to_string(clips.size()) +
                 " learned clip ranges (clip.clip_value_min/max) present and not used (quantizers use _amax), first: " +
                 clips.front());
        if (!preScales.empty())
            warn(std::to_string(preScales.size()) +
                 " _pre_quant_scale buffers (pytorch-quantization 2.2.x): applied under the pq-2.2 profiles, "
                 "ignored under pq-2.1.x as that release does, first: " +
                 preScales.front());
    }

    // reference §2.1: per-tensor amax is 0-dim, per-row weight amax [out, 1] (or any shape with
    // one element per output row).
    void checkAmax(const QuantizerInfo &q, const Tensor &amax)
    {
        if (!isFloatingPoint(amax.dtype()))
            throw ShapeError("amax must be floating point, got " + std::string(dtypeName(amax.dtype())),
                             {file(), q.amaxKey, {}});
        if (amax.numel() == 1)
            return;
        if (!siteIsWeight(q.site.id)) {
            warn("per-channel amax " + shapeString(amax.shape()) + " on activation quantizer " + q.amaxKey);
            return;
        }
        const std::string weightKey = q.site.modulePath(kBert);
        const std::string weight = weightKey.substr(0, weightKey.rfind("._weight_quantizer")) + ".weight";
        const Tensor *w = find(weight);
        const std::int64_t rows = w && w->dim() == 2 ? w->size(0) : -1;
        if (amax.numel() != rows || amax.size(0) != rows)
            throw ShapeError("per-channel amax " + shapeString(amax.shape()) + " does not match the " +
                                 std::to_string(rows) + " output rows of " + weight,
                             {file(), q.amaxKey, {}});
    }

    Checkpoint &m_ckpt;
    const LoadOptions &m_options;
    std::set<std::string> m_known;
    std::vector<std::string> m_extras;
};

} // namespace

std::string normaliseKey(std::string_view key)
{
    std::string k(key);
    if (startsWith(k, "module."))
        k.erase(0, 7);
    for (const char *top : {"embeddings.", "encoder.", "pooler."})
        if (startsWith(k, top)) {
            k.insert(0, kBert);
            break;
        }
    if (endsWith(k, "LayerNorm.gamma"))
        k.replace(k.size() - 5, 5, "weight");
    else if (endsWith(k, "LayerNorm.beta"))
        k.replace(k.size() - 4, 4, "bias");
    return k;
}

namespace io {

void finishCheckpoint(Checkpoint &ckpt, NamedTensors raw, const LoadOptions &options)
{
    Inventory(ckpt, options).run(std::move(raw));
    // config.json "qdq_disabled_quantizers" (a repaired checkpoint, config.h): every name must be a
    // quantizer of this model, checked here so that a bad name fails the load, naming the field
    for (const std::string &name : ckpt.config.disabledQuantizers) {
        const std::optional<QuantizerSite> site = QuantizerSite::fromKey(name);
        if (!site || ckpt.quantizer(*site) == nullptr)
            throw FormatError("\"" + name + "\" is not a quantizer of this model",
                              {(ckpt.source / "config.json").string(), {}, "qdq_disabled_quantizers"});
    }
}

} // namespace io

} // namespace qdq

// Calibrator: collectors per quantizer site, the calibration pass and every method's amax
// (calibration.h; reference §4).
#include "qdq/calibration.h"

#include "qdq/calibration_hooks.h"
#include "qdq/errors.h"
#include "qdq/limits.h"

#include <algorithm>

namespace qdq {
namespace {

HistogramOptions histogramOptions(const CalibrationOptions &o)
{
    HistogramOptions h = HistogramOptions::forProfile(o.profile);
    h.numBins = o.numBins;
    return h;
}

ForwardInputs batchInputs(const std::vector<Encoding> &encodings)
{
    const auto batch = static_cast<std::int64_t>(encodings.size());
    const auto seq = static_cast<std::int64_t>(encodings.front().size());
    std::vector<std::int64_t> ids;
    std::vector<std::int64_t> types;
    std::vector<std::int64_t> mask;
    ids.reserve(static_cast<std::size_t>(batch * seq));
    types.reserve(ids.capacity());
    mask.reserve(ids.capacity());
    for (const Encoding &e : encodings) {
        ids.insert(ids.end(), e.ids.begin(), e.ids.end());
        types.insert(types.end(), e.typeIds.begin(), e.typeIds.end());
        mask.insert(mask.end(), e.attentionMask.begin(), e.attentionMask.end());
    }
    ForwardInputs in;
    in.inputIds = Tensor::fromValues<std::int64_t>({batch, seq}, ids);
    in.tokenTypeIds = Tensor::fromValues<std::int64_t>({batch, seq}, types);
    in.attentionMask = Tensor::fromValues<std::int64_t>({batch, seq}, mask);
    return in;
}

} // namespace

Calibrator::Calibrator(const Checkpoint &checkpoint, CalibrationOptions options)
    : m_checkpoint(&checkpoint), m_options(options)
{
    if (options.batchSize < 1)
        throw UnsupportedError("calibration batch size must be at least 1, got " + std::to_string(options.batchSize));
    if (options.maxLength < 2)
        throw UnsupportedError("calibration max length must be at least 2, got " + std::to_string(options.maxLength));
    // SECURITY.md "Limits": checked before any batch is tokenized or allocated
    if (options.batchSize > limits::kMaxBatchSize)
        throw UnsupportedError("calibration batch size must be at most " + std::to_string(limits::kMaxBatchSize) +
                               ", got " + std::to_string(options.batchSize));
    if (options.maxLength > static_cast<std::int64_t>(limits::kMaxSequenceLength))
        throw UnsupportedError("calibration max length must be at most " + std::to_string(limits::kMaxSequenceLength) +
                               ", got " + std::to_string(options.maxLength));
    const HistogramOptions hist = histogramOptions(options);
    // The checkpoint's inventory; an in-memory checkpoint (randomCheckpoint) has none, then
    // every site of the configured model (reference §1.2: 20 per layer, +14 with cross-attention).
    std::vector<QuantizerSite> sites;
    for (const QuantizerInfo &q : checkpoint.quantizers)
        sites.push_back(q.site);
    if (sites.empty()) {
        const BertConfig &c = checkpoint.config;
        for (int layer = 0; layer < static_cast<int>(c.numHiddenLayers); ++layer) {
            for (int id = 0; id < kSitesPerLayer; ++id)
                sites.push_back({layer, static_cast<SiteId>(id), false});
            if (c.isDecoder && c.addCrossAttention)
                for (int id = 0; id < kCrossAttentionSites; ++id)
                    sites.push_back({layer, static_cast<SiteId>(id), true});
        }
    }
    // 2.2.x `_pre_quant_scale` (reference §3.1): the calibrator sees x * scale
    const QuantConfig quant = QuantConfig::fromCheckpoint(checkpoint, options.profile);
    m_sites.reserve(sites.size());
    for (const QuantizerSite &site : sites) {
        SiteStatistics s;
        s.site = site;
        s.name = site.modulePath("bert.");
        s.isWeight = siteIsWeight(site.id);
        if (const SiteQuantConfig *q = quant.find(site); q && quant.preQuantScaleApplies(*q))
            m_preScale.emplace(site, quant.quantizer(site));
        if (s.isWeight) {
            s.max = MaxCalibrator(0); // §1.3: per row (axis 0)
            const std::string weightKey =
                s.name.substr(0, s.name.size() - std::string("._weight_quantizer").size()) + ".weight";
            if (checkpoint.has(weightKey))
                s.weight = checkpoint.get(weightKey).alias();
        } else if (options.histograms) {
            s.histogram.emplace(options.numBits, options.isUnsigned, hist);
        }
        m_index.emplace(s.site, m_sites.size());
        m_sites.push_back(std::move(s));
    }
}

Calibrator::~Calibrator() = default;

const SiteStatistics *Calibrator::find(const QuantizerSite &site) const
{
    const auto it = m_index.find(site);
    return it == m_index.end() ? nullptr : &m_sites[it->second];
}

void Calibrator::collect(const QuantizerSite &site, const Tensor &x)
{
    const auto it = m_index.find(site);
    if (it == m_index.end())
        return;
    SiteStatistics &s = m_sites[it->second];
    if (s.histogram)
        s.histogram->collect(x); // keeps the running max too (§4.2 per tensor)
    else
        s.max.collect(x.dtype() == DType::F32 ? x.alias() : x.to(DType::F32));
}

Tensor Calibrator::preScaled(const QuantizerSite &site, Tensor x) const
{
    const auto it = m_preScale.find(site);
    if (it == m_preScale.end())
        return x;
    return it->second.preScaled(x);
}

std::shared_ptr<SiteHooks> Calibrator::hooks()
{
    return std::make_shared<CalibrationHooks>(*this);
}

std::size_t Calibrator::memoryBytes() const noexcept
{
    std::size_t bytes = 0;
    for (const SiteStatistics &s : m_sites) {
        bytes += s.max.amax().capacity() * sizeof(float);
        if (s.histogram)
            bytes += s.histogram->memoryBytes();
    }
    return bytes;
}

void Calibrator::run(const std::vector<CalibrationExample> &examples, const Tokenizer &tokenizer, Progress *progress)
{
    ModelOptions modelOptions;
    modelOptions.device = m_options.device;
    QDQBertModel model(*m_checkpoint, modelOptions);
    run(model, examples, tokenizer, progress);
}

void Calibrator::run(QDQBertModel &model, const std::vector<CalibrationExample> &examples, const Tokenizer &tokenizer,
                     Progress *progress)
{
    if (examples.empty())
        throw FormatError("no calibration examples");
    EncodeOptions enc;
    enc.truncation = TruncationStrategy::LongestFirst;
    enc.maxLength = static_cast<std::size_t>(m_options.maxLength);
    enc.padding = PaddingStrategy::Longest;

    struct RestoreHooks {
        QDQBertModel &model;
        ~RestoreHooks() { model.setSiteHooks(nullptr); }
    } restore{model};
    model.setSiteHooks(hooks());

    const auto total = static_cast<std::int64_t>(examples.size());
    reportProgress(progress, "calibrating", 0, total);
    for (std::int64_t start = 0; start < total; start += m_options.batchSize) {
        const std::int64_t end = std::min(total, start + m_options.batchSize);
        std::vector<std::string> texts;
        std::vector<std::string> pairs;
        const bool hasPairs = examples[static_cast<std::size_t>(start)].pair.has_value();
        for (std::int64_t i = start; i < end; ++i) {
            const CalibrationExample &ex = examples[static_cast<std::size_t>(i)];
            if (ex.pair.has_value() != hasPairs)
                throw FormatError("calibration examples mix single texts and pairs (example " + std::to_string(i + 1) +
                                  ")");
            texts.push_back(ex.text);
            if (hasPairs)
                pairs.push_back(*ex.pair);
        }
        const std::vector<Encoding> encodings = tokenizer.encodeBatch(texts, pairs, enc);
        (void)model.forward(batchInputs(encodings));
        m_samples += end - start;
        ++m_batches;
        reportProgress(progress, "calibrating", end, total); // checks for cancellation
    }
}

// --- amax --------------------------------------------------------------------------------------

Tensor Calibrator::amax(const SiteStatistics &site, CalibMethod method, const AmaxOptions &options) const
{
    if (site.isWeight) {
        if (method == CalibMethod::Max) {
            if (site.max.empty())
                throw UnsupportedError("weight site collected nothing", {{}, site.name, {}});
            Tensor t = site.max.amaxTensor();
            if (t.dim() == 0 || t.numel() == 1)
                return t.reshape({});
            return t;
        }
        if (method == CalibMethod::Entropy)
            throw UnsupportedError("entropy is not a weight calibration method (reference §4.7: max, percentile, mse)",
                                   {{}, site.name, {}});
        if (!site.weight.defined())
            throw UnsupportedError("weight tensor not found", {{}, site.name, {}});
        // §4.7 calibrate_weights: per output row, numpy.histogram of |w_row| with num_bins (2.1.x:
        // over [min, max]; 2.2.x: range=(0, max)), then the method. 2.2.x's mse moves the
        // histogram to the GPU (`.cuda()`); it is computed here on the CPU with torch's CPU sum
        // under both 2.2 profiles (docs/numerics.md, known differences).
        const Tensor w = preScaled(site.site, site.weight.dtype() == DType::F32 ? site.weight.contiguous()
                                                                                : site.weight.to(DType::F32));
        const std::int64_t rows = w.size(0);
        HistogramOptions hist = histogramOptions(m_options);
        hist.collection =
            usesTorchHistogram(m_options.profile) ? HistogramCollection::NumPyFromZero : HistogramCollection::NumPy;
        std::vector<float> out(static_cast<std::size_t>(rows));
        for (std::int64_t r = 0; r < rows; ++r) {
            HistogramCalibrator h(m_options.numBits, m_options.isUnsigned, hist);
            h.collect(w.select(0, r));
            const std::optional<float> a = h.computeAmax(method, options);
            out[static_cast<std::size_t>(r)] = a.value_or(0.0F);
        }
        Shape shape{rows};
        for (int d = 1; d < w.dim(); ++d)
            shape.push_back(1);
        if (rows == 1)
            shape = {};
        return Tensor::fromValues<float>(shape, std::span<const float>(out));
    }
    std::optional<float> a;
    if (site.histogram) {
        a = site.histogram->computeAmax(method, options);
    } else {
        if (method != CalibMethod::Max)
            throw UnsupportedError("histograms were not collected; only max is available", {{}, site.name, {}});
        if (!site.max.empty())
            a = site.max.amax().front();
    }
    if (!a)
        throw UnsupportedError("quantizer site saw no data during calibration", {{}, site.name, {}});
    return Tensor::fromValues<float>({}, {*a}); // §2.1: 0-dim f32
}

SiteAmax Calibrator::amaxAll(const SiteStatistics &site, const AmaxOptions &options) const
{
    SiteAmax out;
    for (const CalibMethod m : {CalibMethod::Max, CalibMethod::Percentile, CalibMethod::Mse, CalibMethod::Entropy}) {
        const auto i = static_cast<std::size_t>(m);
        if (site.isWeight && m != CalibMethod::Max) {
            out.errors[i] = "computed on demand for weights";
            continue;
        }
        try {
            out.byMethod[i] = amax(site, m, options);
        } catch (const Error &e) {
            out.errors[i] = e.message();
        }
    }
    return out;
}

std::map<std::string, Tensor> Calibrator::amaxTensors(CalibMethod method, const AmaxOptions &options,
                                                      CalibMethod weightMethod) const
{
    std::map<std::string, Tensor> out;
    for (const SiteStatistics &s : m_sites)
        out.emplace(s.name + "._amax", amax(s, s.isWeight ? weightMethod : method, options));
    return out;
}

} // namespace qdq

// Quantization analysis (issue 10): site statistics, per-layer divergence, task agreement,
// attention divergence and sensitivity sweeps. See qdq/analysis.h for the passes and rules.
#include "qdq/analysis.h"

#include "qdq/errors.h"
#include "qdq/limits.h"
#include "qdq/quant/quant_hooks.h"
#include "qdq/text_task.h"
#include "task_agreement.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <unordered_map>
#include <utility>

namespace qdq {
namespace {

using detail::addTaskOutputs;
using detail::AgreementAccumulator;

std::optional<double> sqnr(double signal, double noise)
{
    if (noise <= 0.0)
        return std::nullopt;
    if (signal <= 0.0)
        return -std::numeric_limits<double>::infinity();
    return 10.0 * std::log10(signal / noise);
}

// Per-token accumulation of ||x||^2, ||x-y||^2, cos(x, y) and max |x-y| over the rows of the
// last dimension, optionally only the rows whose token mask is set.
struct DivergenceAccumulator {
    double signal = 0.0, noise = 0.0, cosineSum = 0.0, maxAbs = 0.0;
    std::int64_t rows = 0;

    // x, y: [..., H] with the same shape; tokenMask: one flag per row (empty = all rows).
    void add(const Tensor &xIn, const Tensor &yIn, const std::vector<std::int64_t> &tokenMask)
    {
        if (xIn.shape() != yIn.shape())
            throw ShapeError("divergence of tensors with shapes " + shapeString(xIn.shape()) + " and " +
                             shapeString(yIn.shape()));
        const Tensor x = xIn.contiguous();
        const Tensor y = yIn.contiguous();
        const std::int64_t h = x.dim() > 0 ? x.size(x.dim() - 1) : 1;
        const std::int64_t n = h > 0 ? x.numel() / h : 0;
        const float *px = x.data<float>();
        const float *py = y.data<float>();
        for (std::int64_t r = 0; r < n; ++r) {
            if (!tokenMask.empty() && r < static_cast<std::int64_t>(tokenMask.size()) &&
                tokenMask[static_cast<std::size_t>(r)] == 0)
                continue;
            double xx = 0.0, yy = 0.0, xy = 0.0, ee = 0.0;
            const float *a = px + r * h;
            const float *b = py + r * h;
            for (std::int64_t k = 0; k < h; ++k) {
                const double xv = a[k];
                const double yv = b[k];
                const double e = xv - yv;
                xx += xv * xv;
                yy += yv * yv;
                xy += xv * yv;
                ee += e * e;
                maxAbs = std::max(maxAbs, std::abs(e));
            }
            signal += xx;
            noise += ee;
            cosineSum += (xx > 0.0 && yy > 0.0) ? xy / std::sqrt(xx * yy) : (ee == 0.0 ? 1.0 : 0.0);
            ++rows;
        }
    }
    [[nodiscard]] Divergence result() const
    {
        Divergence d;
        d.sqnrDb = sqnr(signal, noise);
        d.cosine = rows > 0 ? cosineSum / static_cast<double>(rows) : 1.0;
        d.relativeL2 = signal > 0.0 ? std::sqrt(noise / signal) : 0.0;
        d.maxAbsError = maxAbs;
        return d;
    }
};

// Per (layer, head): JS divergence and entropies of attention probability rows [B,h,L,S].
struct AttentionAccumulator {
    std::vector<double> js, entA, entB;
    std::vector<std::int64_t> rows;
    int heads = 0;

    void add(int layer, const Tensor &aIn, const Tensor &bIn, const std::vector<std::int64_t> &tokenMask)
    {
        const Tensor a = aIn.contiguous();
        const Tensor b = bIn.contiguous();
        const std::int64_t bs = a.size(0), h = a.size(1), l = a.size(2), s = a.size(3);
        heads = static_cast<int>(h);
        const std::size_t need = static_cast<std::size_t>((layer + 1) * h);
        if (js.size() < need) {
            js.resize(need, 0.0);
            entA.resize(need, 0.0);
            entB.resize(need, 0.0);
            rows.resize(need, 0);
        }
        const float *pa = a.data<float>();
        const float *pb = b.data<float>();
        // one head per iteration: each writes only its own slot
#pragma omp parallel for schedule(static)
        for (std::int64_t hi = 0; hi < h; ++hi)
            for (std::int64_t bi = 0; bi < bs; ++bi) {
                const std::size_t slot = static_cast<std::size_t>(layer * h + hi);
                for (std::int64_t q = 0; q < l; ++q) {
                    if (!tokenMask.empty() && tokenMask[static_cast<std::size_t>(bi * l + q)] == 0)
                        continue; // padded query rows carry no meaning
                    const float *ra = pa + ((bi * h + hi) * l + q) * s;
                    const float *rb = pb + ((bi * h + hi) * l + q) * s;
                    double d = 0.0, ea = 0.0, eb = 0.0;
                    for (std::int64_t k = 0; k < s; ++k) {
                        const double p = std::max(static_cast<double>(ra[k]), 0.0);
                        const double r = std::max(static_cast<double>(rb[k]), 0.0);
                        const double m = 0.5 * (p + r);
                        if (p > 0.0) {
                            d += 0.5 * p * std::log(p / m);
                            ea -= p * std::log(p);
                        }
                        if (r > 0.0) {
                            d += 0.5 * r * std::log(r / m);
                            eb -= r * std::log(r);
                        }
                    }
                    js[slot] += std::max(d, 0.0);
                    entA[slot] += ea;
                    entB[slot] += eb;
                    ++rows[slot];
                }
            }
    }
    void results(Precision precision, std::vector<HeadAttention> &out) const
    {
        for (std::size_t i = 0; i < js.size(); ++i) {
            HeadAttention ha;
            ha.layer = static_cast<int>(i) / heads;
            ha.head = static_cast<int>(i) % heads;
            ha.precision = precision;
            const double n = rows[i] > 0 ? static_cast<double>(rows[i]) : 1.0;
            ha.jsDivergence = js[i] / n;
            ha.entropyFp32 = entA[i] / n;
            ha.entropyQuantized = entB[i] / n;
            out.push_back(ha);
        }
    }
};

// Pass 1's observer: every quantizer site's raw input into its accumulator (reference §1.2).
class SiteStatsObserver final : public TensorObserver {
public:
    SiteStatsObserver(const QuantConfig &config, const AnalysisOptions &options)
    {
        HistogramOptions h = HistogramOptions::forProfile(config.profile());
        h.numBins = options.numBins;
        for (const SiteQuantConfig &s : config.sites()) {
            m_index.emplace(s.site.modulePath(), m_sites.size());
            m_sites.emplace_back(s.site, s.quantizer(config.profile()), siteIsWeight(s.site.id), true, h);
            m_seen.push_back(false);
            m_isWeight.push_back(siteIsWeight(s.site.id));
        }
    }
    void observe(std::string_view name, const Tensor &tensor) override
    {
        const auto it = m_index.find(std::string(name));
        if (it == m_index.end())
            return;
        const std::size_t i = it->second;
        if (m_isWeight[i] && m_seen[i])
            return; // weights are constant: one look is enough
        m_seen[i] = true;
        const auto t0 = std::chrono::steady_clock::now();
        m_sites[i].add(tensor);
        m_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    [[nodiscard]] const std::vector<SiteStatsAccumulator> &sites() const { return m_sites; }
    [[nodiscard]] double seconds() const noexcept { return m_seconds; }

private:
    std::unordered_map<std::string, std::size_t> m_index;
    std::vector<SiteStatsAccumulator> m_sites;
    std::vector<bool> m_seen;
    std::vector<bool> m_isWeight;
    double m_seconds = 0.0;
};

// Pass 4's hooks: quantization as configured, but the layer input X replaced by the FP32 run's
// hidden_states.i at the four sites that read it (reference §1.2 rows 1, 3, 5, 14), so layer i
// runs on FP32 input and its output carries only its own quantization error.
class LocalInputHooks final : public SiteHooks {
public:
    explicit LocalInputHooks(std::shared_ptr<SiteHooks> inner) : m_inner(std::move(inner)) {}
    void setInputs(const std::vector<Tensor> *fp32Hidden) noexcept { m_hidden = fp32Hidden; }

    Tensor apply(const QuantizerSite &site, Tensor x, TensorObserver *observer) override
    {
        if (m_hidden && !site.crossAttention && readsLayerInput(site.id) &&
            site.layer < static_cast<int>(m_hidden->size()))
            x = (*m_hidden)[static_cast<std::size_t>(site.layer)].alias();
        return m_inner->apply(site, std::move(x), observer);
    }
    std::optional<IntegerQuant> integerInput(const QuantizerSite &site, const Tensor &x) override
    {
        return m_inner->integerInput(site, x);
    }
    std::optional<QuantizedTensor> integerWeight(const QuantizerSite &site, const Tensor &weight) override
    {
        return m_inner->integerWeight(site, weight);
    }

private:
    static bool readsLayerInput(SiteId id)
    {
        return id == SiteId::QueryInput || id == SiteId::KeyInput || id == SiteId::ValueInput ||
               id == SiteId::AttnOutputResidual;
    }
    std::shared_ptr<SiteHooks> m_inner;
    const std::vector<Tensor> *m_hidden = nullptr;
};

double median(std::vector<double> v)
{
    if (v.empty())
        return 0.0;
    std::sort(v.begin(), v.end());
    const std::size_t m = v.size() / 2;
    return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

constexpr double kLosslessDb = 200.0; // stands for an infinite SQNR (identical tensors) in the rules

double dbOrCap(const std::optional<double> &db)
{
    return db ? std::min(*db, kLosslessDb) : kLosslessDb;
}

} // namespace

// --- SiteStatsAccumulator ------------------------------------------------------------------------

SiteStatsAccumulator::SiteStatsAccumulator(QuantizerSite site, const TensorQuantizer &quantizer, bool isWeight,
                                           bool histogram, HistogramOptions histogramOptions)
    : m_site(site), m_quantizer(quantizer), m_isWeight(isWeight)
{
    m_quantizer.setEnabled(true);
    if (histogram && !isWeight)
        m_histogram.emplace(quantizer.descriptor().numBits, quantizer.descriptor().isUnsigned, histogramOptions);
}

void SiteStatsAccumulator::add(const Tensor &xIn)
{
    const Tensor x = xIn.contiguous();
    if (x.dtype() != DType::F32)
        throw UnsupportedError("site statistics need f32 tensors, got " + x.describe());
    const std::int64_t n = x.numel();
    if (n == 0)
        return;
    const std::vector<float> amax = m_quantizer.effectiveAmax(x);
    const Tensor y = m_quantizer.apply(x);
    const float *px = x.data<float>();
    const float *py = y.data<float>();
    // Channel of element i for a per-channel amax along the descriptor's axis (weights: rows).
    const int axis = m_quantizer.descriptor().axis.value_or(0);
    std::int64_t inner = 1, channels = 1;
    if (amax.size() > 1) {
        channels = x.size(axis);
        for (int d = axis + 1; d < x.dim(); ++d)
            inner *= x.size(d);
    }
    const QuantRange &range = m_quantizer.range();
    if (m_n == 0) {
        m_min = px[0];
        m_max = px[0];
    }
    for (float a : amax)
        if (!m_quantizer.hasAmax())
            m_dynamicAmax = std::max(m_dynamicAmax, static_cast<double>(a));
    const bool perChannel = amax.size() > 1;
    const float *pa = amax.data();
    const float maxLevel = range.maxLevel;
    const float minLevel = range.minLevel;
    double sum = 0.0, sumSq = 0.0, errSq = 0.0, lo = m_min, hi = m_max;
    std::int64_t clipped = 0, zeros = 0, saturated = 0;
#pragma omp parallel for reduction(+ : sum, sumSq, errSq, clipped, zeros, saturated) reduction(min : lo) \
    reduction(max : hi) schedule(static)
    for (std::int64_t i = 0; i < n; ++i) {
        const double v = px[i];
        const double q = py[i];
        sum += v;
        sumSq += v * v;
        lo = std::min(lo, v);
        hi = std::max(hi, v);
        const double e = v - q;
        errSq += e * e;
        const float a = perChannel ? pa[(i / inner) % channels] : pa[0];
        clipped += std::abs(px[i]) > a ? 1 : 0;
        zeros += q == 0.0 ? 1 : 0;
        // reference §3.3: code = clamp(rne(x * s), m, B) with s = B / amax; y = code / s.
        const float s = maxLevel / a;
        if (std::isfinite(s) && s > 0.0F) {
            const float code = py[i] * s;
            saturated += (code >= maxLevel - 0.5F || code <= minLevel + 0.5F) ? 1 : 0;
        }
    }
    m_sum += sum;
    m_sumSq += sumSq;
    m_errSq += errSq;
    m_min = lo;
    m_max = hi;
    m_clipped += clipped;
    m_zeros += zeros;
    m_saturated += saturated;
    m_n += n;
    if (m_histogram)
        m_histogram->collect(x);
}

SiteAnalysis SiteStatsAccumulator::finish(const AmaxOptions &amaxOptions) const
{
    SiteAnalysis s;
    s.site = m_site;
    s.name = m_site.modulePath();
    s.isWeight = m_isWeight;
    s.enabled = m_quantizer.enabled();
    s.dynamic = !m_quantizer.hasAmax();
    s.elements = m_n;
    if (m_n == 0)
        return s;
    const double n = static_cast<double>(m_n);
    s.min = m_min;
    s.max = m_max;
    s.mean = m_sum / n;
    s.stddev = std::sqrt(std::max(m_sumSq / n - s.mean * s.mean, 0.0));
    if (s.dynamic) {
        s.amax = m_dynamicAmax;
    } else {
        const std::vector<float> &a = m_quantizer.amaxValues();
        s.amax = *std::max_element(a.begin(), a.end());
        s.amaxChannels = static_cast<std::int64_t>(a.size());
    }
    s.clipFraction = static_cast<double>(m_clipped) / n;
    s.saturated = m_saturated;
    s.zeroFraction = static_cast<double>(m_zeros) / n;
    s.mse = m_errSq / n;
    s.sqnrDb = sqnr(m_sumSq, m_errSq);
    if (m_isWeight) {
        s.candidateAmax[static_cast<std::size_t>(CalibMethod::Max)] = std::max(std::abs(m_min), std::abs(m_max));
    } else if (m_histogram && !m_histogram->empty()) {
        for (CalibMethod m : {CalibMethod::Max, CalibMethod::Percentile, CalibMethod::Mse, CalibMethod::Entropy}) {
            try {
                if (const auto a = m_histogram->computeAmax(m, amaxOptions))
                    s.candidateAmax[static_cast<std::size_t>(m)] = *a;
            } catch (const Error &) {
                // too few bins for this method (reference §4.5): the candidate stays absent
            }
        }
        s.histogram = HistogramData{m_histogram->counts(), m_histogram->edges()};
    }
    return s;
}

// --- free functions ------------------------------------------------------------------------------

std::string_view sweepKindName(SweepKind kind) noexcept
{
    switch (kind) {
    case SweepKind::OnlyLayer:
        return "only-layer";
    case SweepKind::DisableLayer:
        return "disable-layer";
    case SweepKind::DisableKind:
        return "disable-kind";
    case SweepKind::OnlyKind:
        return "only-kind";
    }
    return "?";
}

Divergence tensorDivergence(const Tensor &x, const Tensor &y)
{
    DivergenceAccumulator acc;
    acc.add(x, y, {});
    return acc.result();
}

FirstDivergence findFirstDivergence(const std::vector<LayerAnalysis> &layers, double jumpDb)
{
    FirstDivergence f;
    const auto cumulativeOf = [](const LayerAnalysis &l) {
        return l.qdqCumulative ? l.qdqCumulative : l.int8Cumulative;
    };
    std::vector<double> local;
    for (const LayerAnalysis &l : layers)
        if (l.qdqLocal)
            local.push_back(dbOrCap(l.qdqLocal->sqnrDb));
    if (local.size() == layers.size() && !local.empty()) {
        const double med = median(local);
        for (std::size_t i = 0; i < local.size(); ++i)
            if (local[i] < med - jumpDb) {
                f.layer = layers[i].layer;
                f.rule = "local";
                char buf[160];
                std::snprintf(buf, sizeof buf, "local SQNR %.1f dB is %.1f dB below the median local SQNR (%.1f dB)",
                              local[i], med - local[i], med);
                f.reason = buf;
                return f;
            }
    }
    std::vector<double> cum;
    for (const LayerAnalysis &l : layers) {
        const auto c = cumulativeOf(l);
        if (!c)
            return f;
        cum.push_back(dbOrCap(c->sqnrDb));
    }
    if (cum.empty())
        return f;
    const double med = median(cum);
    for (std::size_t i = 0; i < cum.size(); ++i) {
        const double previous = i == 0 ? med : cum[i - 1];
        if (cum[i] < previous - jumpDb) {
            f.layer = layers[i].layer;
            f.rule = "cumulative";
            char buf[160];
            std::snprintf(buf, sizeof buf, "cumulative SQNR drops by %.1f dB to %.1f dB", previous - cum[i], cum[i]);
            f.reason = buf;
            return f;
        }
    }
    return f;
}

std::vector<ForwardInputs> tokenizeExamples(const Checkpoint &checkpoint,
                                            const std::vector<CalibrationExample> &examples, const Tokenizer &tokenizer,
                                            Task task, std::int64_t batchSize, std::int64_t maxLength)
{
    if (examples.empty())
        throw FormatError("analysis needs at least one example");
    // SECURITY.md "Limits": checked before any batch is tokenized or allocated
    if (batchSize > limits::kMaxBatchSize)
        throw UnsupportedError("analysis batch size must be at most " + std::to_string(limits::kMaxBatchSize) +
                               ", got " + std::to_string(batchSize));
    if (maxLength > static_cast<std::int64_t>(limits::kMaxSequenceLength))
        throw UnsupportedError("analysis max length must be at most " + std::to_string(limits::kMaxSequenceLength) +
                               ", got " + std::to_string(maxLength));
    // Token ids only (the activations are made batch by batch inside the analysis).
    std::vector<ForwardInputs> batches;
    const std::int64_t total = static_cast<std::int64_t>(examples.size());
    const std::int64_t batch = std::max<std::int64_t>(1, batchSize);
    for (std::int64_t b0 = 0; b0 < total; b0 += batch) {
        std::vector<TextExample> texts;
        for (std::int64_t i = b0; i < std::min(total, b0 + batch); ++i) {
            const CalibrationExample &e = examples[static_cast<std::size_t>(i)];
            texts.push_back({e.text, e.pair});
        }
        batches.push_back(
            encodeForTask(tokenizer, checkpoint.config, task, texts, static_cast<std::size_t>(maxLength)).inputs);
    }
    return batches;
}

AnalysisReport analyzeQuantization(const Checkpoint &checkpoint, const std::vector<CalibrationExample> &examples,
                                   const Tokenizer &tokenizer, const AnalysisOptions &options, Progress *progress)
{
    return analyzeQuantization(
        checkpoint,
        tokenizeExamples(checkpoint, examples, tokenizer, options.task, options.batchSize, options.maxLength), options,
        progress);
}

AnalysisReport analyzeQuantization(const Checkpoint &checkpoint, const std::vector<ForwardInputs> &batches,
                                   const AnalysisOptions &options, Progress *progress)
{
    const auto start = std::chrono::steady_clock::now();
    if (batches.empty())
        throw FormatError("analysis needs at least one batch");
    if (!options.runQdq && !options.runInt8)
        throw UnsupportedError("analysis needs the qdq or the int8 precision (or both)");
    const QuantConfig config = options.quant ? *options.quant : QuantConfig::fromCheckpoint(checkpoint);

    const auto makeModel = [&](Precision p) {
        ModelOptions mo;
        mo.task = options.task;
        mo.precision = p;
        mo.quant = config;
        mo.device = options.device;
        return QDQBertModel(checkpoint, mo);
    };
    QDQBertModel fp32 = makeModel(Precision::Fp32);
    std::optional<QDQBertModel> qdqModel, int8Model, localModel, sensModel;
    std::shared_ptr<LocalInputHooks> localHooks;
    if (options.runQdq)
        qdqModel.emplace(makeModel(Precision::Qdq));
    if (options.runInt8)
        int8Model.emplace(makeModel(Precision::Int8));
    if (options.runQdq && options.local) {
        localModel.emplace(makeModel(Precision::Qdq));
        localHooks = std::make_shared<LocalInputHooks>(makeQuantSiteHooks(config, Precision::Qdq));
        localModel->setSiteHooks(localHooks);
    }
    const Precision sensPrecision = options.runQdq ? Precision::Qdq : Precision::Int8;
    const int numLayers = static_cast<int>(fp32.config().numHiddenLayers);

    // Sensitivity variants (QuantConfig edits; the checkpoint is untouched).
    struct Variant {
        SweepKind kind;
        std::string selector;
        QuantConfig config;
        AgreementAccumulator acc;
    };
    std::vector<Variant> variants;
    AgreementAccumulator fullSens;
    if (options.sensitivity) {
        sensModel.emplace(makeModel(sensPrecision));
        for (int i = 0; i < numLayers; ++i) {
            QuantConfig only = config;
            for (int j = 0; j < numLayers; ++j)
                if (j != i) {
                    SiteSelector sel;
                    sel.layer = j;
                    only.setEnabled(sel, false);
                }
            variants.push_back({SweepKind::OnlyLayer, "layer:" + std::to_string(i), std::move(only), {}});
        }
        for (int i = 0; i < numLayers; ++i) {
            QuantConfig off = config;
            SiteSelector sel;
            sel.layer = i;
            off.setEnabled(sel, false);
            variants.push_back({SweepKind::DisableLayer, "layer:" + std::to_string(i), std::move(off), {}});
        }
        for (SiteKind k : {SiteKind::Input, SiteKind::Weight, SiteKind::Matmul, SiteKind::Residual}) {
            QuantConfig off = config;
            SiteSelector sel;
            sel.kind = k;
            off.setEnabled(sel, false);
            variants.push_back({SweepKind::DisableKind, "kind:" + std::string(siteKindName(k)), std::move(off), {}});
        }
        for (SiteKind k : {SiteKind::Input, SiteKind::Weight, SiteKind::Matmul, SiteKind::Residual}) {
            QuantConfig only = config;
            for (SiteKind other : {SiteKind::Input, SiteKind::Weight, SiteKind::Matmul, SiteKind::Residual})
                if (other != k) {
                    SiteSelector sel;
                    sel.kind = other;
                    only.setEnabled(sel, false);
                }
            variants.push_back({SweepKind::OnlyKind, "kind:" + std::string(siteKindName(k)), std::move(only), {}});
        }
    }

    SiteStatsObserver stats(config, options);
    std::vector<DivergenceAccumulator> qdqCum(static_cast<std::size_t>(numLayers)),
        qdqLocal(static_cast<std::size_t>(numLayers)), int8Cum(static_cast<std::size_t>(numLayers)),
        gap(static_cast<std::size_t>(numLayers));
    AgreementAccumulator qdqTask, int8Task;
    AttentionAccumulator qdqAttention, int8Attention;

    const std::int64_t passesPerBatch = 1 + (qdqModel ? 1 : 0) + (int8Model ? 1 : 0) + (localModel ? 1 : 0) +
                                        static_cast<std::int64_t>(variants.size()) + (options.sensitivity ? 1 : 0);
    const std::int64_t totalPasses = passesPerBatch * static_cast<std::int64_t>(batches.size());
    std::int64_t passes = 0;
    AnalysisReport report;
    AnalysisTimings &timings = report.timings;
    const auto pass = [&](QDQBertModel &model, const ForwardInputs &in, double &seconds) {
        reportProgress(progress, "analyzing", passes, totalPasses);
        checkCancelled(progress);
        const auto t0 = std::chrono::steady_clock::now();
        ForwardOutputs out = model.forward(in);
        seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        ++passes;
        return out;
    };

    std::int64_t row = 0; // index of the batch's first example (for options.labels)
    for (const ForwardInputs &batchInputs : batches) {
        ForwardInputs in;
        in.inputIds = batchInputs.inputIds.alias();
        in.attentionMask = batchInputs.attentionMask.alias();
        in.tokenTypeIds = batchInputs.tokenTypeIds.alias();
        in.outputHiddenStates = true;
        in.outputAttentions = options.attention;
        const std::int64_t rows = in.inputIds.size(0);
        std::vector<std::int64_t> labels;
        for (std::int64_t i = row; i < row + rows && i < static_cast<std::int64_t>(options.labels.size()); ++i)
            labels.push_back(options.labels[static_cast<std::size_t>(i)]);
        row += rows;
        if (!in.attentionMask.defined()) {
            std::vector<std::int64_t> ones(static_cast<std::size_t>(in.inputIds.numel()), 1);
            in.attentionMask = Tensor::fromValues<std::int64_t>(in.inputIds.shape(), ones);
        }
        const std::vector<std::int64_t> tokenMask = in.attentionMask.toInt64Vector();
        for (std::int64_t m : tokenMask)
            report.tokens += m != 0 ? 1 : 0;

        fp32.setObserver(&stats);
        const ForwardOutputs ref = pass(fp32, in, timings.fp32Forward);
        fp32.setObserver(nullptr);

        std::optional<ForwardOutputs> qdqOut;
        if (qdqModel) {
            qdqOut.emplace(pass(*qdqModel, in, timings.qdqForward));
            for (int l = 0; l < numLayers; ++l) {
                const auto li = static_cast<std::size_t>(l);
                qdqCum[li].add(ref.hiddenStates[li + 1], qdqOut->hiddenStates[li + 1], tokenMask);
                if (options.attention)
                    qdqAttention.add(l, ref.attentions[li], qdqOut->attentions[li], tokenMask);
            }
            addTaskOutputs(options.task, ref, *qdqOut, tokenMask, labels, qdqTask);
        }
        if (int8Model) {
            const ForwardOutputs out = pass(*int8Model, in, timings.int8Forward);
            for (int l = 0; l < numLayers; ++l) {
                const auto li = static_cast<std::size_t>(l);
                int8Cum[li].add(ref.hiddenStates[li + 1], out.hiddenStates[li + 1], tokenMask);
                if (qdqOut)
                    gap[li].add(qdqOut->hiddenStates[li + 1], out.hiddenStates[li + 1], tokenMask);
                if (options.attention)
                    int8Attention.add(l, ref.attentions[li], out.attentions[li], tokenMask);
            }
            addTaskOutputs(options.task, ref, out, tokenMask, labels, int8Task);
        }
        if (localModel) {
            ForwardInputs localIn = ForwardInputs{};
            localIn.inputIds = in.inputIds.alias();
            localIn.attentionMask = in.attentionMask.alias();
            localIn.tokenTypeIds = in.tokenTypeIds.alias();
            localIn.outputHiddenStates = true;
            localHooks->setInputs(&ref.hiddenStates);
            const ForwardOutputs out = pass(*localModel, localIn, timings.localForward);
            localHooks->setInputs(nullptr);
            for (int l = 0; l < numLayers; ++l) {
                const auto li = static_cast<std::size_t>(l);
                qdqLocal[li].add(ref.hiddenStates[li + 1], out.hiddenStates[li + 1], tokenMask);
            }
        }
        if (options.sensitivity) {
            ForwardInputs sIn = ForwardInputs{};
            sIn.inputIds = in.inputIds.alias();
            sIn.attentionMask = in.attentionMask.alias();
            sIn.tokenTypeIds = in.tokenTypeIds.alias();
            sensModel->setQuantConfig(config);
            addTaskOutputs(options.task, ref, pass(*sensModel, sIn, timings.sensitivityForwards), tokenMask, {},
                           fullSens);
            for (Variant &v : variants) {
                sensModel->setQuantConfig(v.config);
                addTaskOutputs(options.task, ref, pass(*sensModel, sIn, timings.sensitivityForwards), tokenMask, {},
                               v.acc);
            }
        }
        report.samples += rows;
        ++report.batches;
    }
    reportProgress(progress, "analyzing", passes, totalPasses);

    // --- results -----------------------------------------------------------------------------
    report.task = std::string(taskName(options.task));
    report.forwardPasses = passes;
    timings.siteStatistics = stats.seconds();
    const auto summariesStart = std::chrono::steady_clock::now();
    // The amax searches (mse, entropy: reference §4.5, §4.6) cost a fixed time per site: in parallel.
    const std::vector<SiteStatsAccumulator> &accumulators = stats.sites();
    report.sites.resize(accumulators.size());
#pragma omp parallel for schedule(dynamic)
    for (std::size_t i = 0; i < accumulators.size(); ++i) {
        report.sites[i] = accumulators[i].finish(options.amax);
        if (const SiteQuantConfig *c = config.find(report.sites[i].site))
            report.sites[i].enabled = c->enabled;
    }
    timings.summaries = std::chrono::duration<double>(std::chrono::steady_clock::now() - summariesStart).count();
    for (int l = 0; l < numLayers; ++l) {
        const auto li = static_cast<std::size_t>(l);
        LayerAnalysis la;
        la.layer = l;
        if (qdqModel)
            la.qdqCumulative = qdqCum[li].result();
        if (localModel)
            la.qdqLocal = qdqLocal[li].result();
        if (int8Model)
            la.int8Cumulative = int8Cum[li].result();
        if (qdqModel && int8Model)
            la.qdqVsInt8 = gap[li].result();
        report.layers.push_back(la);
    }
    report.firstDivergence = findFirstDivergence(report.layers, options.divergenceJumpDb);
    if (qdqModel) {
        report.taskAgreement.push_back(qdqTask.result(Precision::Qdq));
        if (options.attention)
            qdqAttention.results(Precision::Qdq, report.attention);
    }
    if (int8Model) {
        report.taskAgreement.push_back(int8Task.result(Precision::Int8));
        if (options.attention)
            int8Attention.results(Precision::Int8, report.attention);
    }
    if (options.sensitivity) {
        // impact: mean output KL (distribution heads) or output MSE (regression, base models)
        const auto impact = [](const AgreementAccumulator &a) {
            const TaskAgreement t = a.result(Precision::Qdq);
            return t.meanKl ? *t.meanKl : t.outputMse.value_or(0.0);
        };
        SensitivityReport sr;
        sr.precision = sensPrecision;
        sr.fullImpact = impact(fullSens);
        std::vector<SensitivityEntry> only, disLayer, onlyKind, disKind;
        for (const Variant &v : variants) {
            SensitivityEntry e;
            e.kind = v.kind;
            e.selector = v.selector;
            e.impact = impact(v.acc);
            e.top1Agreement = v.acc.result(sensPrecision).top1Agreement;
            switch (v.kind) {
            case SweepKind::OnlyLayer:
                only.push_back(e);
                break;
            case SweepKind::DisableLayer:
                disLayer.push_back(e);
                break;
            case SweepKind::OnlyKind:
                onlyKind.push_back(e);
                break;
            case SweepKind::DisableKind:
                disKind.push_back(e);
                break;
            }
        }
        const auto byImpactDesc = [](const SensitivityEntry &a, const SensitivityEntry &b) {
            return a.impact > b.impact;
        };
        const auto byImpactAsc = [](const SensitivityEntry &a, const SensitivityEntry &b) {
            return a.impact < b.impact;
        };
        std::stable_sort(only.begin(), only.end(), byImpactDesc);
        std::stable_sort(disLayer.begin(), disLayer.end(), byImpactAsc);
        std::stable_sort(onlyKind.begin(), onlyKind.end(), byImpactDesc);
        std::stable_sort(disKind.begin(), disKind.end(), byImpactAsc);
        // Budget: the layers whose disabling relieves the output most (greedy on the one-at-a-time
        // sweep; interactions between layers are not re-measured).
        for (const SensitivityEntry &e : disLayer)
            if (static_cast<int>(sr.keepFp32.size()) < options.keepFp32Budget && e.impact < sr.fullImpact)
                sr.keepFp32.push_back(e.selector);
        for (auto *v : {&only, &disLayer, &onlyKind, &disKind})
            sr.entries.insert(sr.entries.end(), v->begin(), v->end());
        if (options.quantizerSensitivity) {
            // the layer sweep is the fast first pass: the quantizers of its most harmful layers
            QuantizerSensitivityOptions qo;
            qo.task = options.task;
            qo.precision = sensPrecision;
            qo.quant = config;
            qo.targetAgreement = options.targetAgreement;
            qo.maxKeepFp32 = options.keepFp32Budget;
            qo.labels = options.labels;
            qo.device = options.device;
            if (options.quantizerLayers > 0)
                for (const SensitivityEntry &e : disLayer)
                    if (static_cast<int>(qo.layers.size()) < options.quantizerLayers)
                        qo.layers.push_back(std::stoi(e.selector.substr(std::string_view("layer:").size())));
            const auto t0 = std::chrono::steady_clock::now();
            sr.quantizers = quantizerSensitivity(checkpoint, batches, qo, progress);
            timings.sensitivityForwards += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            report.forwardPasses += sr.quantizers->forwardPasses;
        }
        report.sensitivity = std::move(sr);
    }
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
}

} // namespace qdq

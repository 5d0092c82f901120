// The report model, its metrics and thresholds, and the JSON / CSV renderers (report.h).
#include "qdq/report.h"

#include "qdq/errors.h"
#include "qdq/quant/quant_descriptor.h"
#include "qdq/text_task.h"
#include "qdq/threading.h"
#include "qdq/version.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <ctime>
#include <limits>
#include <sstream>

namespace qdq {
namespace {

using nlohmann::json;

constexpr double kInf = std::numeric_limits<double>::infinity();

std::string utcNow()
{
    const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

bool endsWith(std::string_view s, std::string_view suffix)
{
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The largest JS divergence head of a precision; nullopt when the analysis has no attention.
const HeadAttention *worstHead(const AnalysisReport &a, Precision precision)
{
    const HeadAttention *worst = nullptr;
    for (const HeadAttention &h : a.attention)
        if (h.precision == precision && (!worst || h.jsDivergence > worst->jsDivergence))
            worst = &h;
    return worst;
}

const TaskAgreement *agreement(const AnalysisReport &a, Precision precision)
{
    for (const TaskAgreement &t : a.taskAgreement)
        if (t.precision == precision)
            return &t;
    return nullptr;
}

// Minimum SQNR / cosine over the layers of one divergence series; nullopt when the series is absent.
template <class Get>
void layerMinima(const AnalysisReport &a, Get get, const std::string &suffix, std::map<std::string, double> &m)
{
    bool any = false;
    double sqnr = kInf;
    double cosine = kInf;
    for (const LayerAnalysis &l : a.layers) {
        const std::optional<Divergence> &d = get(l);
        if (!d)
            continue;
        any = true;
        sqnr = std::min(sqnr, d->sqnrDb.value_or(kInf)); // nullopt = identical (lossless)
        cosine = std::min(cosine, d->cosine);
    }
    if (!any)
        return;
    m["min_layer_sqnr_db" + suffix] = sqnr;
    m["min_layer_cosine" + suffix] = cosine;
    const std::optional<Divergence> &last = get(a.layers.back());
    if (last)
        m["final_layer_sqnr_db" + suffix] = last->sqnrDb.value_or(kInf);
}

void taskMetrics(const AnalysisReport &a, Precision precision, const std::string &suffix,
                 std::map<std::string, double> &m)
{
    const TaskAgreement *t = agreement(a, precision);
    if (!t)
        return;
    if (t->top1Agreement)
        m["top1_agreement" + suffix] = *t->top1Agreement;
    if (t->meanKl)
        m["mean_kl" + suffix] = *t->meanKl;
    if (t->outputMse)
        m["output_mse" + suffix] = *t->outputMse;
    if (t->accuracyFp32 && t->accuracyQuantized) {
        m["accuracy_fp32"] = *t->accuracyFp32;
        m["accuracy" + suffix] = *t->accuracyQuantized;
        m["accuracy_drop" + suffix] = *t->accuracyFp32 - *t->accuracyQuantized;
    }
    if (const HeadAttention *h = worstHead(a, precision))
        m["max_attention_js" + suffix] = h->jsDivergence;
}

// JSON has no infinity: a lossless SQNR is written as null (documented).
json finiteOrNull(double v)
{
    return std::isfinite(v) ? json(v) : json(nullptr);
}

std::string csvField(const std::string &s)
{
    if (s.find_first_of(",\"\r\n") == std::string::npos)
        return s;
    std::string out = "\"";
    for (char c : s) {
        if (c == '"')
            out += '"';
        out += c;
    }
    out += '"';
    return out;
}

std::string csvNumber(double v)
{
    if (!std::isfinite(v))
        return v > 0 ? "inf" : (v < 0 ? "-inf" : "nan");
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

std::string csvOptional(const std::optional<double> &v)
{
    return v ? csvNumber(*v) : std::string();
}

void csvRow(std::string &out, const std::vector<std::string> &fields)
{
    for (std::size_t i = 0; i < fields.size(); ++i) {
        if (i)
            out += ',';
        out += csvField(fields[i]);
    }
    out += "\r\n";
}

} // namespace

double ReportAttentionMap::maxAbsDifference() const
{
    double m = 0.0;
    for (std::size_t i = 0; i < fp32.size() && i < quantized.size(); ++i)
        m = std::max(m, static_cast<double>(std::abs(quantized[i] - fp32[i])));
    return m;
}

ReportModelSummary summarizeModel(const Checkpoint &checkpoint, const QuantConfig &config)
{
    ReportModelSummary s;
    std::filesystem::path source = checkpoint.source;
    if (source.filename().empty())
        source = source.parent_path();
    s.name = source.filename().string();
    s.path = checkpoint.source.string();
    s.format = checkpoint.format;
    s.container = checkpoint.container;
    const BertConfig &c = checkpoint.config;
    s.architecture = c.architectures.empty() ? std::string("BertModel") : c.architectures.front();
    s.layers = static_cast<int>(c.numHiddenLayers);
    s.hidden = static_cast<int>(c.hiddenSize);
    s.heads = static_cast<int>(c.numAttentionHeads);
    s.intermediate = static_cast<int>(c.intermediateSize);
    s.vocab = static_cast<int>(c.vocabSize);
    for (const auto &[name, tensor] : checkpoint.tensors)
        if (isFloatingPoint(tensor.dtype()) && !endsWith(name, "_amax"))
            s.parameters += tensor.numel();
    for (const std::string &tied : checkpoint.tiedKeys)
        if (const auto it = checkpoint.tensors.find(tied); it != checkpoint.tensors.end())
            s.parameters -= it->second.numel(); // an alias, not a second copy
    s.quantizers = static_cast<int>(checkpoint.quantizers.size());
    s.calibrated = checkpoint.calibratedQuantizers();
    for (const SiteQuantConfig &q : config.sites())
        s.enabled += q.enabled ? 1 : 0;
    return s;
}

std::vector<ReportAttentionMap> computeAttentionMaps(const Checkpoint &checkpoint, const Tokenizer &tokenizer,
                                                     const std::vector<std::string> &texts, int layer, int head,
                                                     Precision precision, const QuantConfig &config,
                                                     std::int64_t maxLength)
{
    std::vector<ReportAttentionMap> maps;
    if (texts.empty())
        return maps;
    ModelOptions fp32Options{Task::Base};
    QDQBertModel fp32(checkpoint, fp32Options);
    ModelOptions quantOptions{Task::Base};
    quantOptions.precision = precision;
    quantOptions.quant = config;
    QDQBertModel quantized(checkpoint, quantOptions);
    if (layer < 0 || layer >= checkpoint.config.numHiddenLayers || head < 0 ||
        head >= checkpoint.config.numAttentionHeads)
        throw ShapeError("attention map of layer " + std::to_string(layer) + " head " + std::to_string(head) +
                         " is outside the model");
    for (const std::string &text : texts) {
        EncodedText encoded = encodeForTask(tokenizer, checkpoint.config, Task::Base, {TextExample{text, {}}},
                                            static_cast<std::size_t>(maxLength));
        encoded.inputs.outputAttentions = true;
        const auto length = static_cast<std::int64_t>(encoded.encodings.front().size());
        const auto headMap = [&](QDQBertModel &model) {
            const ForwardOutputs out = model.forward(encoded.inputs);
            return out.attentions.at(static_cast<std::size_t>(layer))
                .select(0, 0)
                .select(0, head)
                .slice(0, 0, length)
                .slice(1, 0, length)
                .contiguous()
                .toFloatVector();
        };
        ReportAttentionMap map;
        map.text = text;
        map.tokens = encoded.encodings.front().tokens;
        map.layer = layer;
        map.head = head;
        map.precision = precision;
        map.length = static_cast<int>(length);
        map.fp32 = headMap(fp32);
        map.quantized = headMap(quantized);
        maps.push_back(std::move(map));
    }
    return maps;
}

Report buildReport(const Checkpoint &checkpoint, const Tokenizer &tokenizer, AnalysisReport analysis,
                   const QuantConfig &config, const ReportOptions &options)
{
    Report r;
    r.model = summarizeModel(checkpoint, config);
    r.environment.version = versionString();
    r.environment.device = "cpu";
    r.environment.profile = std::string(versionProfileName(config.profile()));
    r.environment.threads = numThreads();
    r.environment.createdUtc = utcNow();
    r.environment.dataFile = options.dataFile;
    r.environment.command = options.command;
    const Precision precision = worstHead(analysis, Precision::Qdq) ? Precision::Qdq : Precision::Int8;
    if (const HeadAttention *h = worstHead(analysis, precision))
        r.attentionMaps = computeAttentionMaps(checkpoint, tokenizer, options.attentionTexts, h->layer, h->head,
                                               precision, config, options.attentionMaxLength);
    r.analysis = std::move(analysis);
    r.metrics = reportMetrics(r.analysis, r.model);
    return r;
}

std::map<std::string, double> reportMetrics(const AnalysisReport &a, const ReportModelSummary &model)
{
    std::map<std::string, double> m;
    layerMinima(
        a, [](const LayerAnalysis &l) -> const std::optional<Divergence> & { return l.qdqCumulative; }, "", m);
    layerMinima(
        a, [](const LayerAnalysis &l) -> const std::optional<Divergence> & { return l.int8Cumulative; }, "_int8", m);
    taskMetrics(a, Precision::Qdq, "", m);
    taskMetrics(a, Precision::Int8, "_int8", m);

    bool anyActivation = false;
    double maxClip = 0.0;
    double minSiteSqnr = kInf;
    for (const SiteAnalysis &s : a.sites) {
        if (!s.enabled)
            continue;
        minSiteSqnr = std::min(minSiteSqnr, s.sqnrDb.value_or(kInf));
        if (!s.isWeight) {
            anyActivation = true;
            maxClip = std::max(maxClip, s.clipFraction);
        }
    }
    if (anyActivation)
        m["max_clip_fraction"] = maxClip;
    if (!a.sites.empty())
        m["min_site_sqnr_db"] = minSiteSqnr;
    if (!a.layers.empty())
        m["first_divergence_layer"] = a.firstDivergence.layer;
    m["quantizers"] = model.quantizers;
    m["dynamic_quantizers"] = model.quantizers - model.calibrated;
    if (a.sensitivity)
        m["sensitivity_full_impact"] = a.sensitivity->fullImpact;
    return m;
}

const std::vector<std::pair<std::string, std::string>> &reportMetricDescriptions()
{
    static const std::vector<std::pair<std::string, std::string>> d = {
        {"min_layer_sqnr_db", "lowest per-layer SQNR (dB) of hidden states, FP32 vs qdq, errors propagated"},
        {"min_layer_sqnr_db_int8", "the same, FP32 vs int8"},
        {"final_layer_sqnr_db", "SQNR (dB) of the last layer's hidden states, FP32 vs qdq"},
        {"final_layer_sqnr_db_int8", "the same, FP32 vs int8"},
        {"min_layer_cosine", "lowest per-layer mean token cosine similarity, FP32 vs qdq"},
        {"min_layer_cosine_int8", "the same, FP32 vs int8"},
        {"top1_agreement", "share of predictions (argmax) where qdq agrees with FP32"},
        {"top1_agreement_int8", "the same for int8"},
        {"mean_kl", "mean KL divergence of the output distribution, FP32 || qdq (nats)"},
        {"mean_kl_int8", "the same for int8"},
        {"output_mse", "mean squared output error, qdq (regression heads, base model)"},
        {"output_mse_int8", "the same for int8"},
        {"accuracy_fp32", "accuracy in FP32 (with labels)"},
        {"accuracy", "accuracy in qdq (with labels)"},
        {"accuracy_int8", "accuracy in int8 (with labels)"},
        {"accuracy_drop", "accuracy_fp32 - accuracy (with labels)"},
        {"accuracy_drop_int8", "accuracy_fp32 - accuracy_int8 (with labels)"},
        {"max_attention_js", "largest per-head attention JS divergence, FP32 vs qdq (nats)"},
        {"max_attention_js_int8", "the same for int8"},
        {"max_clip_fraction", "largest share of values above amax at an enabled activation quantizer"},
        {"min_site_sqnr_db", "lowest SQNR (dB) of x vs fake_quant(x) at an enabled quantizer"},
        {"first_divergence_layer", "first layer where divergence jumps (-1: none)"},
        {"quantizers", "quantizer sites in the model"},
        {"dynamic_quantizers", "quantizers without a calibrated amax (dynamic, reference §2.4)"},
        {"sensitivity_full_impact", "output KL with every quantizer as configured (with --sensitivity)"},
    };
    return d;
}

Threshold parseThreshold(std::string_view expression)
{
    Threshold t;
    t.expression = std::string(expression);
    const std::size_t opAt = expression.find_first_of("<>=!");
    if (opAt == std::string_view::npos)
        throw FormatError("threshold '" + t.expression + "' has no comparison; expected e.g. min_layer_sqnr_db<20",
                          {{}, {}, "--fail-if"});
    const auto trim = [](std::string_view s) {
        while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
            s.remove_prefix(1);
        while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
            s.remove_suffix(1);
        return s;
    };
    t.metric = std::string(trim(expression.substr(0, opAt)));
    std::string_view rest = expression.substr(opAt);
    static constexpr std::pair<std::string_view, CompareOp> kOps[] = {
        {"<=", CompareOp::LessEqual}, {">=", CompareOp::GreaterEqual}, {"==", CompareOp::Equal},
        {"!=", CompareOp::NotEqual},  {"<", CompareOp::Less},          {">", CompareOp::Greater}};
    bool matched = false;
    for (const auto &[text, op] : kOps)
        if (rest.substr(0, text.size()) == text) {
            t.op = op;
            rest.remove_prefix(text.size());
            matched = true;
            break;
        }
    if (!matched)
        throw FormatError("threshold '" + t.expression + "': unknown comparison (use < <= > >= == !=)",
                          {{}, {}, "--fail-if"});
    const auto &known = reportMetricDescriptions();
    if (std::none_of(known.begin(), known.end(), [&](const auto &d) { return d.first == t.metric; })) {
        std::string names;
        for (const auto &d : known)
            names += (names.empty() ? "" : ", ") + d.first;
        throw FormatError("threshold '" + t.expression + "': unknown metric '" + t.metric + "'; known: " + names,
                          {{}, {}, "--fail-if"});
    }
    const std::string_view number = trim(rest);
    const char *end = number.data() + number.size();
    const auto [ptr, ec] = std::from_chars(number.data(), end, t.value);
    if (number.empty() || ec != std::errc() || ptr != end || !std::isfinite(t.value))
        throw FormatError("threshold '" + t.expression + "': '" + std::string(number) + "' is not a number",
                          {{}, {}, "--fail-if"});
    return t;
}

std::vector<ThresholdOutcome> evaluateThresholds(const std::vector<Threshold> &thresholds,
                                                 const std::map<std::string, double> &metrics)
{
    std::vector<ThresholdOutcome> out;
    for (const Threshold &t : thresholds) {
        ThresholdOutcome o{t, std::nullopt, true};
        if (const auto it = metrics.find(t.metric); it != metrics.end()) {
            const double v = it->second;
            o.actual = v;
            switch (t.op) {
            case CompareOp::Less:
                o.crossed = v < t.value;
                break;
            case CompareOp::LessEqual:
                o.crossed = v <= t.value;
                break;
            case CompareOp::Greater:
                o.crossed = v > t.value;
                break;
            case CompareOp::GreaterEqual:
                o.crossed = v >= t.value;
                break;
            case CompareOp::Equal:
                o.crossed = v == t.value;
                break;
            case CompareOp::NotEqual:
                o.crossed = v != t.value;
                break;
            }
        }
        out.push_back(std::move(o));
    }
    return out;
}

std::vector<const SiteAnalysis *> worstSites(const AnalysisReport &analysis, std::size_t count)
{
    std::vector<const SiteAnalysis *> sites;
    for (const SiteAnalysis &s : analysis.sites)
        if (s.enabled)
            sites.push_back(&s);
    std::stable_sort(sites.begin(), sites.end(), [](const SiteAnalysis *a, const SiteAnalysis *b) {
        return a->sqnrDb.value_or(kInf) < b->sqnrDb.value_or(kInf);
    });
    if (sites.size() > count)
        sites.resize(count);
    return sites;
}

std::string reportToJson(const Report &r, bool histograms, int indent)
{
    json metrics = json::object();
    for (const auto &[name, value] : r.metrics)
        metrics[name] = finiteOrNull(value);
    json maps = json::array();
    for (const ReportAttentionMap &m : r.attentionMaps)
        maps.push_back({{"text", m.text},
                        {"tokens", m.tokens},
                        {"layer", m.layer},
                        {"head", m.head},
                        {"precision", precisionName(m.precision)},
                        {"length", m.length},
                        {"fp32", m.fp32},
                        {"quantized", m.quantized},
                        {"max_abs_difference", m.maxAbsDifference()}});
    json thresholds = json::array();
    for (const ThresholdOutcome &t : r.thresholds)
        thresholds.push_back({{"expression", t.threshold.expression},
                              {"metric", t.threshold.metric},
                              {"actual", t.actual ? finiteOrNull(*t.actual) : json(nullptr)},
                              {"available", t.actual.has_value()},
                              {"crossed", t.crossed}});
    const ReportModelSummary &s = r.model;
    const ReportEnvironment &e = r.environment;
    const json j = {{"format", "qdq-report"},
                    {"schema_version", r.schemaVersion},
                    {"model",
                     {{"name", s.name},
                      {"path", s.path},
                      {"format", s.format},
                      {"container", s.container},
                      {"architecture", s.architecture},
                      {"layers", s.layers},
                      {"hidden_size", s.hidden},
                      {"attention_heads", s.heads},
                      {"intermediate_size", s.intermediate},
                      {"vocab_size", s.vocab},
                      {"parameters", s.parameters},
                      {"quantizers", s.quantizers},
                      {"calibrated_quantizers", s.calibrated},
                      {"enabled_quantizers", s.enabled}}},
                    {"environment",
                     {{"version", e.version},
                      {"device", e.device},
                      {"profile", e.profile},
                      {"threads", e.threads},
                      {"created_utc", e.createdUtc},
                      {"data_file", e.dataFile},
                      {"command", e.command}}},
                    {"metrics", metrics},
                    {"thresholds", thresholds},
                    {"attention_maps", maps},
                    {"analysis", json::parse(analysisToJson(r.analysis, histograms))}};
    return j.dump(indent);
}

std::string quantizersCsv(const AnalysisReport &a)
{
    std::string out;
    csvRow(out, {"name",     "layer",         "kind",          "is_weight",     "enabled",
                 "dynamic",  "amax",          "amax_channels", "amax_max",      "amax_percentile",
                 "amax_mse", "amax_entropy",  "min",           "max",           "mean",
                 "std",      "clip_fraction", "saturated",     "zero_fraction", "mse",
                 "sqnr_db"});
    for (const SiteAnalysis &s : a.sites) {
        const auto cand = [&](CalibMethod m) { return csvOptional(s.candidateAmax[static_cast<std::size_t>(m)]); };
        csvRow(out, {s.name,
                     std::to_string(s.site.layer),
                     std::string(siteKindName(s.site.kind())),
                     s.isWeight ? "1" : "0",
                     s.enabled ? "1" : "0",
                     s.dynamic ? "1" : "0",
                     csvNumber(s.amax),
                     std::to_string(s.amaxChannels),
                     cand(CalibMethod::Max),
                     cand(CalibMethod::Percentile),
                     cand(CalibMethod::Mse),
                     cand(CalibMethod::Entropy),
                     csvNumber(s.min),
                     csvNumber(s.max),
                     csvNumber(s.mean),
                     csvNumber(s.stddev),
                     csvNumber(s.clipFraction),
                     std::to_string(s.saturated),
                     csvNumber(s.zeroFraction),
                     csvNumber(s.mse),
                     s.sqnrDb ? csvNumber(*s.sqnrDb) : "inf"});
    }
    return out;
}

std::string layersCsv(const AnalysisReport &a)
{
    std::string out;
    std::vector<std::string> header = {"layer"};
    for (const char *series : {"qdq_cumulative", "qdq_local", "int8_cumulative", "qdq_vs_int8"})
        for (const char *field : {"sqnr_db", "cosine", "relative_l2", "max_abs_error"})
            header.push_back(std::string(series) + "_" + field);
    header.emplace_back("first_divergence");
    csvRow(out, header);
    for (const LayerAnalysis &l : a.layers) {
        std::vector<std::string> row = {std::to_string(l.layer)};
        for (const std::optional<Divergence> *d : {&l.qdqCumulative, &l.qdqLocal, &l.int8Cumulative, &l.qdqVsInt8}) {
            if (!*d) {
                row.insert(row.end(), 4, std::string());
                continue;
            }
            row.push_back((*d)->sqnrDb ? csvNumber(*(*d)->sqnrDb) : "inf");
            row.push_back(csvNumber((*d)->cosine));
            row.push_back(csvNumber((*d)->relativeL2));
            row.push_back(csvNumber((*d)->maxAbsError));
        }
        row.emplace_back(l.layer == a.firstDivergence.layer ? "1" : "0");
        csvRow(out, row);
    }
    return out;
}

} // namespace qdq

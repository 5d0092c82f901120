// The analysis report as JSON (schema: docs/analysis-json.md), shared by `qdq analyze --json`,
// the GUI's export and the reports.
#include "qdq/analysis.h"

#include <nlohmann/json.hpp>

namespace qdq {
namespace {

using nlohmann::json;

json optionalNumber(const std::optional<double> &v)
{
    return v ? json(*v) : json(nullptr);
}

json divergenceJson(const std::optional<Divergence> &d)
{
    if (!d)
        return nullptr;
    return {{"sqnr_db", optionalNumber(d->sqnrDb)},
            {"cosine", d->cosine},
            {"relative_l2", d->relativeL2},
            {"max_abs_error", d->maxAbsError}};
}

json siteJson(const SiteAnalysis &s, bool histograms)
{
    json candidates = json::object();
    for (CalibMethod m : {CalibMethod::Max, CalibMethod::Percentile, CalibMethod::Mse, CalibMethod::Entropy})
        candidates[std::string(calibMethodName(m))] = optionalNumber(s.candidateAmax[static_cast<std::size_t>(m)]);
    json j = {{"name", s.name},
              {"layer", s.site.layer},
              {"kind", siteKindName(s.site.kind())},
              {"cross_attention", s.site.crossAttention},
              {"is_weight", s.isWeight},
              {"enabled", s.enabled},
              {"dynamic", s.dynamic},
              {"elements", s.elements},
              {"min", s.min},
              {"max", s.max},
              {"mean", s.mean},
              {"std", s.stddev},
              {"amax", s.amax},
              {"amax_channels", s.amaxChannels},
              {"candidate_amax", candidates},
              {"clip_fraction", s.clipFraction},
              {"saturated", s.saturated},
              {"zero_fraction", s.zeroFraction},
              {"mse", s.mse},
              {"sqnr_db", optionalNumber(s.sqnrDb)}};
    if (histograms && s.histogram)
        j["histogram"] = {{"counts", s.histogram->counts}, {"edges", s.histogram->edges}};
    return j;
}

} // namespace

std::string analysisToJson(const AnalysisReport &r, bool histograms, int indent)
{
    json sites = json::array();
    for (const SiteAnalysis &s : r.sites)
        sites.push_back(siteJson(s, histograms));
    json layers = json::array();
    for (const LayerAnalysis &l : r.layers)
        layers.push_back({{"layer", l.layer},
                          {"qdq_cumulative", divergenceJson(l.qdqCumulative)},
                          {"qdq_local", divergenceJson(l.qdqLocal)},
                          {"int8_cumulative", divergenceJson(l.int8Cumulative)},
                          {"qdq_vs_int8", divergenceJson(l.qdqVsInt8)}});
    json tasks = json::array();
    for (const TaskAgreement &t : r.taskAgreement)
        tasks.push_back({{"precision", precisionName(t.precision)},
                         {"output", t.output},
                         {"predictions", t.predictions},
                         {"top1_agreement", optionalNumber(t.top1Agreement)},
                         {"mean_kl", optionalNumber(t.meanKl)},
                         {"output_mse", optionalNumber(t.outputMse)},
                         {"accuracy_fp32", optionalNumber(t.accuracyFp32)},
                         {"accuracy_quantized", optionalNumber(t.accuracyQuantized)}});
    json attention = json::array();
    for (const HeadAttention &h : r.attention)
        attention.push_back({{"layer", h.layer},
                             {"head", h.head},
                             {"precision", precisionName(h.precision)},
                             {"js_divergence", h.jsDivergence},
                             {"entropy_fp32", h.entropyFp32},
                             {"entropy_quantized", h.entropyQuantized},
                             {"entropy_change", h.entropyQuantized - h.entropyFp32}});
    json sensitivity = nullptr;
    if (r.sensitivity) {
        json entries = json::array();
        for (const SensitivityEntry &e : r.sensitivity->entries)
            entries.push_back({{"kind", sweepKindName(e.kind)},
                               {"selector", e.selector},
                               {"impact", e.impact},
                               {"top1_agreement", optionalNumber(e.top1Agreement)}});
        sensitivity = {{"precision", precisionName(r.sensitivity->precision)},
                       {"full_impact", r.sensitivity->fullImpact},
                       {"entries", entries},
                       {"keep_fp32", r.sensitivity->keepFp32}};
        if (r.sensitivity->quantizers) // per quantizer (sensitivity.h), schema in docs/analysis-json.md
            sensitivity["quantizers"] = json::parse(quantizerSensitivityToJson(*r.sensitivity->quantizers));
    }
    const json j = {
        {"format", "qdq-analysis"},
        {"schema_version", r.schemaVersion},
        {"task", r.task},
        {"samples", r.samples},
        {"tokens", r.tokens},
        {"batches", r.batches},
        {"forward_passes", r.forwardPasses},
        {"seconds", r.seconds},
        {"timings",
         {{"fp32_forward", r.timings.fp32Forward},
          {"site_statistics", r.timings.siteStatistics},
          {"qdq_forward", r.timings.qdqForward},
          {"int8_forward", r.timings.int8Forward},
          {"local_forward", r.timings.localForward},
          {"sensitivity_forwards", r.timings.sensitivityForwards},
          {"summaries", r.timings.summaries}}},
        {"sites", sites},
        {"layers", layers},
        {"first_divergence",
         {{"layer", r.firstDivergence.layer}, {"rule", r.firstDivergence.rule}, {"reason", r.firstDivergence.reason}}},
        {"task_agreement", tasks},
        {"attention", attention},
        {"sensitivity", sensitivity}};
    return j.dump(indent);
}

} // namespace qdq

// qdq analyze: where and why a quantized model diverges from FP32 (issue 10; design.md, "The
// command-line contract"). A thin adapter over qdq/analysis.h, the same call the GUI makes;
// --json prints analysisToJson() (schema: docs/analysis-json.md).
#include "cli/analysis_options.h"
#include "cli/cli.h"
#include "cli/quant_options.h"

#include "qdq/analysis.h"
#include "qdq/checkpoint.h"
#include "qdq/compare.h"
#include "qdq/errors.h"
#include "qdq/session.h"
#include "qdq/text_task.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>

namespace qdq::cli {
namespace {

std::string db(const std::optional<double> &v)
{
    if (!v)
        return "lossless";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", *v);
    return buf;
}

std::string divergenceCell(const std::optional<Divergence> &d)
{
    if (!d)
        return "-";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s / %.4f", db(d->sqnrDb).c_str(), d->cosine);
    return buf;
}

void printQuantizerSensitivity(const QuantizerSensitivity &q, int top)
{
    std::printf("\nper-quantizer sensitivity (%s; impact = output KL or MSE vs FP32; all quantizers: %.3g, top-1 "
                "%s)\n",
                std::string(precisionName(q.precision)).c_str(), q.full.impact,
                percentText(q.full.top1Agreement).c_str());
    std::printf("%5s %10s %12s %12s %12s  %s\n", "rank", "relief", "without", "only", "top-1 w/o", "quantizer");
    for (std::size_t i = 0; i < q.quantizers.size() && static_cast<int>(i) < top; ++i) {
        const QuantizerImpact &e = q.quantizers[i];
        char only[32] = "-";
        if (e.only)
            std::snprintf(only, sizeof only, "%.4g", e.only->impact);
        std::printf("%5zu %10.4g %12.4g %12s %12s  %s\n", i + 1, e.relief, e.without.impact, only,
                    percentText(e.without.top1Agreement).c_str(), e.name.c_str());
    }
    std::printf("keep in FP32, greedy (target top-1 %.2f %%):\n", 100.0 * q.targetAgreement);
    if (q.keepFp32.empty())
        std::printf("  (nothing: %s)\n", q.targetReached ? "the target is already met" : "no quantizer helps");
    for (const KeepFp32Step &st : q.keepFp32)
        std::printf("  + %-60s impact %.4g, top-1 %s\n", st.quantizers.front().c_str(), st.after.impact,
                    percentText(st.after.top1Agreement).c_str());
    if (!q.keepFp32.empty())
        std::printf("  target %s\n", q.targetReached ? "reached" : "not reached within the budget (--keep-fp32)");
}

void printReport(const AnalysisReport &r, int top)
{
    std::printf("task %s: %lld samples, %lld tokens, %lld batches, %lld forward passes, %.2fs\n\n", r.task.c_str(),
                static_cast<long long>(r.samples), static_cast<long long>(r.tokens), static_cast<long long>(r.batches),
                static_cast<long long>(r.forwardPasses), r.seconds);

    std::vector<const SiteAnalysis *> sites;
    for (const SiteAnalysis &s : r.sites)
        if (s.enabled)
            sites.push_back(&s);
    std::stable_sort(sites.begin(), sites.end(), [](const SiteAnalysis *a, const SiteAnalysis *b) {
        return a->sqnrDb.value_or(1e9) < b->sqnrDb.value_or(1e9);
    });
    std::printf("worst quantizers by site SQNR (x vs fake_quant(x), FP32 inputs)\n");
    std::printf("%9s %8s %8s %10s %10s %10s  %s\n", "SQNR dB", "clip %", "zero %", "amax", "max|x|", "entropy",
                "quantizer");
    for (std::size_t i = 0; i < sites.size() && static_cast<int>(i) < top; ++i) {
        const SiteAnalysis &s = *sites[i];
        const auto &ent = s.candidateAmax[static_cast<std::size_t>(CalibMethod::Entropy)];
        char entropy[32] = "-";
        if (ent)
            std::snprintf(entropy, sizeof entropy, "%.4g", *ent);
        std::printf("%9s %8.3f %8.2f %10.4g%s %10.4g %10s  %s\n", db(s.sqnrDb).c_str(), 100.0 * s.clipFraction,
                    100.0 * s.zeroFraction, s.amax, s.dynamic ? "d" : " ", std::max(std::abs(s.min), std::abs(s.max)),
                    entropy, s.name.c_str());
    }

    std::printf("\nper-layer divergence of hidden_states (SQNR dB / cosine vs FP32)\n");
    std::printf("%5s  %-20s %-20s %-20s %-20s\n", "layer", "qdq cumulative", "qdq local", "int8 cumulative",
                "qdq vs int8");
    for (const LayerAnalysis &l : r.layers)
        std::printf("%5d  %-20s %-20s %-20s %-20s%s\n", l.layer, divergenceCell(l.qdqCumulative).c_str(),
                    divergenceCell(l.qdqLocal).c_str(), divergenceCell(l.int8Cumulative).c_str(),
                    divergenceCell(l.qdqVsInt8).c_str(),
                    l.layer == r.firstDivergence.layer ? "  <- first divergence" : "");
    if (r.firstDivergence.layer >= 0)
        std::printf("first divergence: layer %d (%s)\n", r.firstDivergence.layer, r.firstDivergence.reason.c_str());
    else
        std::printf("first divergence: none (no jump above the threshold)\n");

    std::printf("\ntask agreement (%s)\n", r.task.c_str());
    for (const TaskAgreement &t : r.taskAgreement) {
        std::printf("  %-5s %s over %lld rows:", std::string(precisionName(t.precision)).c_str(), t.output.c_str(),
                    static_cast<long long>(t.predictions));
        if (t.top1Agreement)
            std::printf(" top-1 agreement %.2f %%", 100.0 * *t.top1Agreement);
        if (t.meanKl)
            std::printf(", KL %.3g", *t.meanKl);
        if (t.outputMse)
            std::printf(" output MSE %.3g", *t.outputMse);
        if (t.accuracyFp32 && t.accuracyQuantized)
            std::printf(", accuracy %.2f %% -> %.2f %%", 100.0 * *t.accuracyFp32, 100.0 * *t.accuracyQuantized);
        std::printf("\n");
    }

    if (!r.attention.empty()) {
        std::vector<const HeadAttention *> heads;
        for (const HeadAttention &h : r.attention)
            heads.push_back(&h);
        std::stable_sort(heads.begin(), heads.end(), [](const HeadAttention *a, const HeadAttention *b) {
            return a->jsDivergence > b->jsDivergence;
        });
        std::printf("\nattention heads by JS divergence (nats)\n");
        for (std::size_t i = 0; i < heads.size() && static_cast<int>(i) < top; ++i)
            std::printf("  %-5s layer %2d head %2d  JS %.3g  entropy %.3f -> %.3f\n",
                        std::string(precisionName(heads[i]->precision)).c_str(), heads[i]->layer, heads[i]->head,
                        heads[i]->jsDivergence, heads[i]->entropyFp32, heads[i]->entropyQuantized);
    }

    if (r.sensitivity) {
        const SensitivityReport &s = *r.sensitivity;
        std::printf("\nsensitivity (%s, impact = output KL vs FP32; all quantizers: %.3g)\n",
                    std::string(precisionName(s.precision)).c_str(), s.fullImpact);
        for (const SensitivityEntry &e : s.entries)
            std::printf("  %-14s %-16s impact %.3g\n", std::string(sweepKindName(e.kind)).c_str(), e.selector.c_str(),
                        e.impact);
        std::string keep;
        for (const std::string &k : s.keepFp32)
            keep += (keep.empty() ? "" : ", ") + k;
        std::printf("suggested to keep in FP32: %s\n", keep.empty() ? "(none helps)" : keep.c_str());
        if (s.quantizers)
            printQuantizerSensitivity(*s.quantizers, top);
    }
}

// A/B (issue 10): the second checkpoint's amax per quantizer (ratio to the first), the weights
// that differ (compareCheckpoints), and both reports.
nlohmann::json compareJson(const std::string &path, const AnalysisReport &b, const CheckpointComparison &c,
                           bool histograms)
{
    nlohmann::json quantizers = nlohmann::json::array();
    for (const QuantizerComparison &q : c.quantizers) {
        const auto ratio = q.ratio();
        quantizers.push_back(
            {{"name", q.site.modulePath()},
             {"amax_a", q.a ? nlohmann::json(q.a->max) : nlohmann::json(nullptr)},
             {"amax_b", q.b ? nlohmann::json(q.b->max) : nlohmann::json(nullptr)},
             {"ratio", ratio ? nlohmann::json(*ratio) : nlohmann::json(nullptr)},
             {"max_log2_ratio", q.maxLog2Ratio ? nlohmann::json(*q.maxLog2Ratio) : nlohmann::json(nullptr)}});
    }
    nlohmann::json weights = nlohmann::json::array();
    for (const TensorComparison &t : c.tensors)
        if (!t.inA || !t.inB || !t.sameShape || t.maxAbsDiff > 0.0)
            weights.push_back({{"name", t.name},
                               {"in_a", t.inA},
                               {"in_b", t.inB},
                               {"same_shape", t.sameShape},
                               {"max_abs_diff", t.maxAbsDiff},
                               {"relative_l2", t.relativeL2}});
    return {{"model", path},
            {"report", nlohmann::json::parse(analysisToJson(b, histograms))},
            {"quantizers", quantizers},
            {"weights", weights}};
}

void printCompare(const AnalysisReport &a, const AnalysisReport &b, const CheckpointComparison &c, int top)
{
    std::printf("\nA/B: per-layer divergence (SQNR dB / cosine vs each model's own FP32)\n");
    std::printf("%5s  %-20s %-20s %-20s %-20s\n", "layer", "A qdq cumulative", "B qdq cumulative", "A int8 cumulative",
                "B int8 cumulative");
    for (std::size_t i = 0; i < a.layers.size() && i < b.layers.size(); ++i)
        std::printf(
            "%5d  %-20s %-20s %-20s %-20s\n", a.layers[i].layer, divergenceCell(a.layers[i].qdqCumulative).c_str(),
            divergenceCell(b.layers[i].qdqCumulative).c_str(), divergenceCell(a.layers[i].int8Cumulative).c_str(),
            divergenceCell(b.layers[i].int8Cumulative).c_str());
    std::printf("first divergence: A layer %d, B layer %d\n", a.firstDivergence.layer, b.firstDivergence.layer);
    std::vector<const QuantizerComparison *> moved;
    for (const QuantizerComparison &q : c.quantizers)
        if (q.ratio() && *q.ratio() != 1.0)
            moved.push_back(&q);
    std::stable_sort(moved.begin(), moved.end(), [](const QuantizerComparison *x, const QuantizerComparison *y) {
        return std::abs(std::log2(*x->ratio())) > std::abs(std::log2(*y->ratio()));
    });
    std::printf("amax B/A: %zu of %zu quantizers differ\n", moved.size(), c.quantizers.size());
    for (std::size_t i = 0; i < moved.size() && static_cast<int>(i) < top; ++i)
        std::printf("  %8.4f  %s\n", *moved[i]->ratio(), moved[i]->site.modulePath().c_str());
    std::size_t changed = 0;
    for (const TensorComparison &t : c.tensors)
        changed += (!t.inA || !t.inB || !t.sameShape || t.maxAbsDiff > 0.0) ? 1 : 0;
    std::printf("weights: %zu of %zu tensors differ\n", changed, c.tensors.size());
}

int runAnalyze(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        "Analyse where and why the quantized model diverges from FP32 on a data file: per-quantizer statistics, "
        "per-layer divergence (cumulative and local), task agreement, attention divergence and, with "
        "--sensitivity, one-at-a-time sweeps. --precision qdq or int8 restricts the analysis to one precision "
        "(default both).");
    addCommonOptions(parser);
    addAnalysisOptions(parser);
    parser.addOption({"model", "Checkpoint folder, file or zip.", "P"});
    parser.addOption({"compare",
                      "A/B: analyse checkpoint P2 on the same data too (same options, its own amax) and compare amax "
                      "per quantizer, weights and per-layer divergence.",
                      "P2"});
    parser.addOption({"no-histograms", "Leave the histograms out of --json."});
    parser.addOption({"top", "Rows in the human-readable tables (default 10).", "N", "10"});
    const CommonOptions common = parseArgs(parser, args, "analyze");

    const std::string modelPath = requireOption(parser, "model").toStdString();
    const int top = static_cast<int>(intOption(parser, "top", 1));
    const AnalysisSetup setup = analysisSetup(parser, "analyze");
    Session session = Session::open(modelPath, {deviceOption(parser)});
    const PreparedAnalysis prepared = prepareAnalysis(parser, setup, session);
    const AnalysisOptions &options = prepared.options;
    const std::vector<CalibrationExample> &examples = prepared.examples;

    Progress progress(
        [&](const ProgressEvent &e) { printProgress(common.quiet || common.json, e.stage, e.done, e.total); });
    const CancelOnInterrupt interruptCancels(progress);

    const AnalysisReport report = session.analyze(examples, options, &progress);
    const bool histograms = !parser.isSet("no-histograms");
    std::optional<AnalysisReport> reportB;
    std::optional<CheckpointComparison> comparison;
    const std::string pathB = parser.value("compare").toStdString();
    if (parser.isSet("compare")) {
        const Session sessionB = Session::open(pathB, {session.device()});
        ModelOptions modelOptionsB;
        applyQuantOptions(parser, sessionB.checkpoint(), modelOptionsB);
        AnalysisOptions optionsB = options;
        optionsB.quant = modelOptionsB.quant;
        reportB = sessionB.analyze(examples, optionsB, &progress);
        comparison = compareCheckpoints(session.checkpoint(), sessionB.checkpoint(), &progress);
    }
    if (common.json) {
        if (!reportB) {
            std::printf("%s\n", analysisToJson(report, histograms).c_str());
            return Ok;
        }
        nlohmann::json j = nlohmann::json::parse(analysisToJson(report, histograms));
        j["compare"] = compareJson(pathB, *reportB, *comparison, histograms);
        printJson(j);
        return Ok;
    }
    printReport(report, top);
    if (reportB)
        printCompare(report, *reportB, *comparison, top);
    return Ok;
}

const RegisterCommand registerAnalyze({"analyze",
                                       "Where and why the quantized model diverges from FP32 (per quantizer, per "
                                       "layer, task, attention, sensitivity)",
                                       runAnalyze});

} // namespace
} // namespace qdq::cli

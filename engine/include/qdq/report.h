#pragma once
// The report model (issue "Reports and batch mode"): one structure built from an analysis
// (analysis.h) plus what a reader needs to reproduce it - which model, which data, which
// environment - and the attention maps of a few chosen inputs. Renderers (HTML, PDF in ui/report;
// JSON and CSV here) all read this one model, so every format says the same thing.
//
// Thresholds for CI: `--fail-if EXPR` compares one of reportMetrics()'s named numbers with a
// constant, e.g. "min_layer_sqnr_db<20", "top1_agreement<0.99", "max_clip_fraction>0.01".
// The metric names and their meaning are listed by reportMetricDescriptions() and documented in
// docs/report-json.md.

#include "qdq/analysis.h"
#include "qdq/checkpoint.h"
#include "qdq/model.h"
#include "qdq/tokenizer.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qdq {

inline constexpr int kReportSchemaVersion = 1;

struct ReportModelSummary {
    std::string name; // short name: the file or folder name the user gave
    std::string path;
    std::string format;    // Checkpoint::format
    std::string container; // Checkpoint::container
    std::string architecture;
    int layers = 0;
    int hidden = 0;
    int heads = 0;
    int intermediate = 0;
    int vocab = 0;
    std::int64_t parameters = 0; // elements of every floating-point tensor except _amax buffers
    int quantizers = 0;
    int calibrated = 0; // with a stored _amax; the rest are dynamic (reference §2.4)
    int enabled = 0;    // enabled in the analysed configuration
};

struct ReportEnvironment {
    std::string version; // qdq version
    std::string device;  // "cpu"
    std::string profile; // version profile (reference §3.5)
    int threads = 0;
    std::string createdUtc; // ISO 8601
    std::string dataFile;
    std::string command; // the command line that produced the report (empty from the GUI)
};

// Attention probabilities of one head for one input, FP32 and quantized (the difference map is
// quantized - fp32), over the input's real tokens.
struct ReportAttentionMap {
    std::string text;
    std::vector<std::string> tokens;
    int layer = 0;
    int head = 0;
    Precision precision = Precision::Qdq;
    int length = 0;
    std::vector<float> fp32;      // length x length, row-major (query, key)
    std::vector<float> quantized; // the same
    [[nodiscard]] double maxAbsDifference() const;
};

enum class CompareOp : std::uint8_t { Less, LessEqual, Greater, GreaterEqual, Equal, NotEqual };

struct Threshold {
    std::string expression; // as given, e.g. "min_layer_sqnr_db<20"
    std::string metric;
    CompareOp op = CompareOp::Less;
    double value = 0.0;
};
// Parses "METRIC OP NUMBER" (OP one of < <= > >= == !=, spaces allowed). Throws FormatError
// naming the expression for bad syntax, an unknown metric (with the list of known ones) or a
// bad number.
[[nodiscard]] Threshold parseThreshold(std::string_view expression);

struct ThresholdOutcome {
    Threshold threshold;
    std::optional<double> actual; // nullopt: the metric is not available for this model
    bool crossed = false;         // the expression is true, or the metric is not available
};
struct Report {
    int schemaVersion = kReportSchemaVersion;
    ReportModelSummary model;
    ReportEnvironment environment;
    AnalysisReport analysis;
    std::vector<ReportAttentionMap> attentionMaps;
    // reportMetrics(analysis, model) at build time: the --fail-if fields.
    std::map<std::string, double> metrics;
    // --fail-if thresholds evaluated on this report (empty when none were given).
    std::vector<ThresholdOutcome> thresholds;
};

struct ReportOptions {
    // Inputs whose attention maps are shown (the first `attentionInputs` analysis examples by
    // default); each gets the head with the largest JS divergence in the analysis.
    std::vector<std::string> attentionTexts;
    std::int64_t attentionMaxLength = 32;
    std::string dataFile;
    std::string command;
};

// Summarises the checkpoint for the report header (`config` = the analysed quantizers).
[[nodiscard]] ReportModelSummary summarizeModel(const Checkpoint &checkpoint, const QuantConfig &config);

// Attention maps of `layer`/`head` for each text, FP32 and `precision` with `config`.
[[nodiscard]] std::vector<ReportAttentionMap>
computeAttentionMaps(const Checkpoint &checkpoint, const Tokenizer &tokenizer, const std::vector<std::string> &texts,
                     int layer, int head, Precision precision, const QuantConfig &config, std::int64_t maxLength = 32);

// The report: summary, environment (now, this machine), the analysis and the attention maps of
// the worst head (when the analysis has attention results). The checkpoint is not modified.
[[nodiscard]] Report buildReport(const Checkpoint &checkpoint, const Tokenizer &tokenizer, AnalysisReport analysis,
                                 const QuantConfig &config, const ReportOptions &options = {});

// --- metrics and thresholds ----------------------------------------------------------------------

// Named scalar results for --fail-if and the index comparing models. A metric is absent when the
// analysis did not compute it (e.g. accuracy without labels); SQNR of a lossless comparison is
// +infinity.
[[nodiscard]] std::map<std::string, double> reportMetrics(const AnalysisReport &analysis,
                                                          const ReportModelSummary &model);
// Every metric name with a one-line description (also what --fail-if accepts).
[[nodiscard]] const std::vector<std::pair<std::string, std::string>> &reportMetricDescriptions();

// A threshold fails the run when its expression holds ("fail if"). A metric this report does not
// have also fails (a gate that cannot be checked must not pass silently).
[[nodiscard]] std::vector<ThresholdOutcome> evaluateThresholds(const std::vector<Threshold> &thresholds,
                                                               const std::map<std::string, double> &metrics);

// --- plain-text renderers ------------------------------------------------------------------------

// JSON ("qdq-report", schema_version 1; docs/report-json.md). The analysis is embedded as its own
// "qdq-analysis" object (docs/analysis-json.md); with histograms = false its histograms are left out.
[[nodiscard]] std::string reportToJson(const Report &report, bool histograms = false, int indent = 1);
// CSV (RFC 4180, header row): one row per quantizer site / per encoder layer.
[[nodiscard]] std::string quantizersCsv(const AnalysisReport &analysis);
[[nodiscard]] std::string layersCsv(const AnalysisReport &analysis);

// Quantizer sites ordered worst first (lowest SQNR; enabled sites only), as the reports list them.
[[nodiscard]] std::vector<const SiteAnalysis *> worstSites(const AnalysisReport &analysis, std::size_t count);

} // namespace qdq

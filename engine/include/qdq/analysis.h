#pragma once
// Quantization analysis: where and why a quantized model (qdq or int8) diverges from FP32
// (issue 10). Everything is computed through the model's TensorObserver tap and ForwardOutputs
// (style.md "observe, don't fork"), batch by batch, in as few forward passes as the statistics
// allow:
//   1. FP32 pass   - the observer feeds one SiteStatsAccumulator per quantizer site (reference
//                    §1.2: the raw tensor each quantizer receives), hidden states and attention
//                    probabilities are kept for this batch only;
//   2. qdq pass    - cumulative per-layer divergence, attention JS divergence, task agreement;
//   3. int8 pass   - the same, plus the qdq-vs-int8 (simulated-vs-real) gap per layer;
//   4. local pass  - qdq with SiteHooks that replace the layer input X at the four sites that
//                    read it (query/key/value inputs and the attention residual, reference §1.2
//                    rows 1, 3, 5, 14) by the FP32 hidden_states.i of pass 1, so every layer runs
//                    on FP32 input in ONE pass and hidden_states.(i+1) is that layer's error alone.
//                    (int8 cannot be fed this way - its s8 GEMMs quantize X inside the model - so
//                    local errors are qdq only; int8 and qdq share their integer codes, §3.3.)
//   5. sensitivity (optional) - 1 + 2 x layers + 8 passes per batch with edited QuantConfigs
//                    (all as configured, only layer i, all but layer i, only one site kind,
//                    all but one site kind).
// Memory is bounded by one batch's activations plus the histograms (bins x sites).
//
// GUI use (worker thread, e.g. QtConcurrent::run; the engine is Qt-free):
//   applyNumThreads();                                  // threading.h: on the worker thread
//   Checkpoint ck = loadCheckpoint(path);
//   AnalysisOptions o; o.task = Task::SequenceClassification; o.sensitivity = true;
//   Progress progress([&](const ProgressEvent &e) { emit progressChanged(e.done, e.total); });
//   AnalysisReport r = analyzeQuantization(ck, examples, tokenizerForCheckpoint(ck), o, &progress);
//   // throws CancelledError after progress.cancel() (checked between passes)
//   r.sites[i].histogram / .sqnrDb ...; r.layers[i].qdqCumulative->sqnrDb ...; r.attention ...
//   std::string json = analysisToJson(r);   // the schema below, shared with `qdq analyze --json`

#include "qdq/calibration_data.h"
#include "qdq/checkpoint.h"
#include "qdq/device.h"
#include "qdq/model.h"
#include "qdq/progress.h"
#include "qdq/quant/calibrator.h"
#include "qdq/quant/quant_config.h"
#include "qdq/quant/tensor_quantizer.h"
#include "qdq/quantizer_site.h"
#include "qdq/sensitivity.h"
#include "qdq/tensor.h"
#include "qdq/tokenizer.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace qdq {

inline constexpr int kAnalysisSchemaVersion = 1;

// --- per quantizer site --------------------------------------------------------------------------

struct HistogramData {
    std::vector<std::int64_t> counts; // bins of |x| (reference §4.3)
    std::vector<double> edges;        // counts.size() + 1 (or + 2 on the torch path after growth)
};

struct SiteAnalysis {
    QuantizerSite site;
    std::string name; // module path without prefix
    bool isWeight = false;
    bool enabled = true;  // in the analysed QuantConfig (statistics are computed either way)
    bool dynamic = false; // no static amax: max|x| per call (reference §2.4)
    std::int64_t elements = 0;
    double min = 0.0, max = 0.0, mean = 0.0, stddev = 0.0;
    double amax = 0.0;             // static amax in use (max over channels), or the largest dynamic amax seen
    std::int64_t amaxChannels = 1; // 1 = per tensor
    // What each calibration method would pick (reference §4.2-§4.6) from the histogram collected
    // in the same pass; index CalibMethod. Weights: Max only (per-row max, its largest row).
    std::array<std::optional<double>, 4> candidateAmax;
    double clipFraction = 0.0;              // share of |x| > amax (per channel for per-row amax)
    std::int64_t saturated = 0;             // elements whose integer code is the range's end (§3.3 clamp)
    double zeroFraction = 0.0;              // share of fake_quant(x) == 0
    double mse = 0.0;                       // mean (x - fake_quant(x))^2 of this site alone
    std::optional<double> sqnrDb;           // 10 log10(sum x^2 / sum e^2); nullopt when e == 0 (lossless)
    std::optional<HistogramData> histogram; // activation sites
};

// Accumulates one site's statistics over every tensor it sees (FP32 inputs). `quantizer` is the
// site's TensorQuantizer (its enabled flag is ignored: the statistics say what it would do).
class SiteStatsAccumulator {
public:
    SiteStatsAccumulator(QuantizerSite site, const TensorQuantizer &quantizer, bool isWeight, bool histogram = true,
                         HistogramOptions histogramOptions = {});
    void add(const Tensor &x); // any f32 tensor (views are made contiguous)
    [[nodiscard]] SiteAnalysis finish(const AmaxOptions &amaxOptions = {}) const;
    [[nodiscard]] std::int64_t elements() const noexcept { return m_n; }

private:
    QuantizerSite m_site;
    TensorQuantizer m_quantizer;
    bool m_isWeight;
    std::optional<HistogramCalibrator> m_histogram;
    std::int64_t m_n = 0, m_clipped = 0, m_saturated = 0, m_zeros = 0;
    double m_sum = 0.0, m_sumSq = 0.0, m_errSq = 0.0;
    double m_min = 0.0, m_max = 0.0, m_dynamicAmax = 0.0;
};

// --- per layer -----------------------------------------------------------------------------------

// Error of a test tensor y against a reference x over the non-padded tokens.
struct Divergence {
    std::optional<double> sqnrDb; // 10 log10(sum x^2 / sum (x-y)^2); nullopt when identical
    double cosine = 1.0;          // mean over tokens of cos(x_t, y_t)
    double relativeL2 = 0.0;      // ||x - y|| / ||x||
    double maxAbsError = 0.0;
};

struct LayerAnalysis {
    int layer = 0;                            // output hidden_states.(layer+1)
    std::optional<Divergence> qdqCumulative;  // FP32 vs qdq, errors propagated
    std::optional<Divergence> qdqLocal;       // this layer alone quantized, FP32 input
    std::optional<Divergence> int8Cumulative; // FP32 vs int8
    std::optional<Divergence> qdqVsInt8;      // simulated vs real (reference x = qdq)
};

// The first layer where divergence jumps (rule documented at analyzeQuantization()).
struct FirstDivergence {
    int layer = -1; // -1: no jump, errors grow gradually
    std::string rule;
    std::string reason;
};

// --- task level ----------------------------------------------------------------------------------

struct TaskAgreement {
    Precision precision = Precision::Qdq;
    std::string output;                      // "logits", "start_logits+end_logits", "last_hidden_state"
    std::int64_t predictions = 0;            // rows compared (sequences or tokens)
    std::optional<double> top1Agreement;     // share of rows whose argmax agrees
    std::optional<double> meanKl;            // mean KL(P_fp32 || P_quant) over rows (nats)
    std::optional<double> outputMse;         // regression (one label) / base model output
    std::optional<double> accuracyFp32;      // with labels (sequence classification)
    std::optional<double> accuracyQuantized; //
};

// --- attention -----------------------------------------------------------------------------------

struct HeadAttention {
    int layer = 0;
    int head = 0;
    Precision precision = Precision::Qdq;
    double jsDivergence = 0.0; // mean over query rows, nats (log 2 maximum)
    double entropyFp32 = 0.0;  // mean row entropy, nats
    double entropyQuantized = 0.0;
};

// --- sensitivity ---------------------------------------------------------------------------------

enum class SweepKind : std::uint8_t { OnlyLayer, DisableLayer, DisableKind, OnlyKind };
// "only-layer", "disable-layer", "disable-kind", "only-kind"
[[nodiscard]] std::string_view sweepKindName(SweepKind kind) noexcept;

struct SensitivityEntry {
    SweepKind kind = SweepKind::OnlyLayer;
    std::string selector; // QuantConfig selector of the group ("layer:3", "kind:matmul")
    double impact = 0.0;  // mean output KL vs FP32 (output MSE for regression heads and base models)
    std::optional<double> top1Agreement;
};

struct SensitivityReport {
    Precision precision = Precision::Qdq;
    double fullImpact = 0.0; // every quantizer as configured
    // Sweeps in the order only-layer, disable-layer, only-kind, disable-kind; within each, only-*
    // by impact descending (most harmful first), disable-* ascending (most relief first).
    std::vector<SensitivityEntry> entries;
    std::vector<std::string> keepFp32; // selectors suggested to leave in FP32 (budget, greedy)
    // Per quantizer (AnalysisOptions::quantizerSensitivity; sensitivity.h): ranked, with the
    // greedy keep-FP32 suggestion that re-measures after each choice.
    std::optional<QuantizerSensitivity> quantizers;
};

// --- the whole report ----------------------------------------------------------------------------

struct AnalysisOptions {
    Task task = Task::Base;   // head used for task agreement (its weights must be present)
    bool runQdq = true;       // FP32 vs qdq (and local errors)
    bool runInt8 = true;      // FP32 vs int8
    bool local = true;        // the local-error pass (needs runQdq)
    bool attention = true;    // per-head JS divergence
    bool sensitivity = false; // sweeps (1 + 2 x layers + 8 extra passes per batch)
    int keepFp32Budget = 2;   // groups suggested to keep in FP32
    // Per-quantizer sweeps after the layer sweeps (needs sensitivity): 2 x quantizers + 1 more
    // passes per batch, or fewer with quantizerLayers = N (only the N layers whose disabling
    // relieves the output most). The greedy suggestion stops at targetAgreement (top-1) or after
    // keepFp32Budget quantizers.
    bool quantizerSensitivity = false;
    int quantizerLayers = 0; // 0 = every layer
    double targetAgreement = 0.99;
    std::int64_t batchSize = 8;
    std::int64_t maxLength = 128;
    int numBins = 2048;
    AmaxOptions amax; // percentile etc. for the candidate amax
    double divergenceJumpDb = 6.0;
    std::optional<QuantConfig> quant; // default: QuantConfig::fromCheckpoint
    std::vector<std::int64_t> labels; // one per example (classification); empty = none
    Device device{};                  // where the models compute
};

// Where the analysis time went (seconds; forwards include the first call's weight preparation).
struct AnalysisTimings {
    double fp32Forward = 0.0;    // includes siteStatistics (the observer runs inside the pass)
    double siteStatistics = 0.0; // the observer's share of fp32Forward
    double qdqForward = 0.0;
    double int8Forward = 0.0;
    double localForward = 0.0;
    double sensitivityForwards = 0.0;
    double summaries = 0.0; // per-site results incl. the four calibration methods' amax
};

struct AnalysisReport {
    int schemaVersion = kAnalysisSchemaVersion;
    std::string task;
    std::int64_t samples = 0;
    std::int64_t tokens = 0; // non-padded tokens
    std::int64_t batches = 0;
    std::int64_t forwardPasses = 0;
    double seconds = 0.0;
    AnalysisTimings timings;
    std::vector<SiteAnalysis> sites;   // dataflow order
    std::vector<LayerAnalysis> layers; // encoder layers
    FirstDivergence firstDivergence;   // from the qdq results (int8 when qdq is off)
    std::vector<TaskAgreement> taskAgreement;
    std::vector<HeadAttention> attention; // layer-major, then head; qdq then int8
    std::optional<SensitivityReport> sensitivity;
};

// Runs the analysis (see the top of this file). Throws CancelledError (via progress), and the
// model's FormatError / ShapeError. Progress stage "analyzing", done/total = forward passes.
//
// First divergence rule: with local errors, the first layer whose local qdq SQNR is more than
// divergenceJumpDb below the median local SQNR of all layers (a layer that is much worse on its
// own than a typical layer); otherwise (or when no layer qualifies) the first layer whose
// cumulative SQNR drops by more than divergenceJumpDb from the previous layer's (layer 0 is
// compared with the median cumulative SQNR). -1 when neither rule fires.
[[nodiscard]] AnalysisReport analyzeQuantization(const Checkpoint &checkpoint,
                                                 const std::vector<CalibrationExample> &examples,
                                                 const Tokenizer &tokenizer, const AnalysisOptions &options,
                                                 Progress *progress = nullptr);

// The same on batches already tokenized (input_ids, attention_mask, token_type_ids of each
// batch; other fields are ignored): benchmarks on synthetic ids, callers with their own
// tokenization. options.labels index the rows of all batches in order.
[[nodiscard]] AnalysisReport analyzeQuantization(const Checkpoint &checkpoint,
                                                 const std::vector<ForwardInputs> &batches,
                                                 const AnalysisOptions &options, Progress *progress = nullptr);

// The examples tokenized for `task` in batches of batchSize (each padded to its longest,
// truncated to maxLength), as the analysis, sensitivity and repair run them. Throws FormatError
// for no examples and UnsupportedError past the limits of SECURITY.md.
[[nodiscard]] std::vector<ForwardInputs> tokenizeExamples(const Checkpoint &checkpoint,
                                                          const std::vector<CalibrationExample> &examples,
                                                          const Tokenizer &tokenizer, Task task, std::int64_t batchSize,
                                                          std::int64_t maxLength);

// The rule above over per-layer results (exposed for tests and the GUI's what-if view).
[[nodiscard]] FirstDivergence findFirstDivergence(const std::vector<LayerAnalysis> &layers, double jumpDb);

// Divergence of y against x over all elements (one token = the last dimension).
[[nodiscard]] Divergence tensorDivergence(const Tensor &x, const Tensor &y);

// JSON ("qdq-analysis", schema_version 1), documented in docs/analysis-json.md. With
// histograms = false the per-site "histogram" objects are omitted (smaller output).
[[nodiscard]] std::string analysisToJson(const AnalysisReport &report, bool histograms = true, int indent = -1);

} // namespace qdq

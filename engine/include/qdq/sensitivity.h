#pragma once
// Per-quantizer sensitivity, a greedy "keep in FP32" suggestion and repair (issue 28).
//
// The layer and kind sweeps of analyzeQuantization (analysis.h) are the fast first pass: they
// say which layer hurts. This file goes down to the single quantizer (reference §1.2: 20 per
// layer) and ranks each by its end-to-end effect on the task output:
//   only    - this quantizer alone quantized, every other one disabled: what it costs by itself;
//   without - every enabled quantizer except this one: what disabling it gives back (relief).
// Both are measured against FP32 on the same batches with the task metric of analysis.h
// (top-1 agreement and mean KL of the output distributions; output MSE for regression heads
// and base models). Ranking: relief (full impact - without impact) descending, then only impact.
//
// keepFp32 greedy: from the configured model, each step tries the `lookahead` best-ranked
// quantizers still enabled, disables the one whose removal lowers the impact most, re-measures,
// and stops when top-1 agreement reaches the target or the budget is spent.
//
// Repair (qdq repair, GUI Tools > Repair):
//   1. statistics of every site on the repair data, FP32 pass (the calibrator of calibration.h:
//      histograms for activations, the weights themselves for weight sites);
//   2. the per-quantizer "without" sweep ranks the quantizers;
//   3. amax phase: for the `candidates` best-ranked quantizers in turn, each calibration method's
//      amax (max, percentile, mse, entropy; reference §4.2-§4.7; entropy not for weights) is
//      tried in place of the current one and the best is kept when it lowers the impact - costs
//      nothing in FP32 quantizers;
//   4. disable phase, only while top-1 agreement is below the target: the keepFp32 greedy with
//      two actions per quantizer - disable it (cost 1), or run its op in FP32 (cost 2: a linear's
//      input and weight quantizers, a matmul's two operands) - within `maxDisabled`.
// The result is a QuantConfig (amax per site, disabled sites) that writeQuantizedCheckpoint
// (calibration.h) saves as a calibrated checkpoint; disabled sites go to config.json
// "qdq_disabled_quantizers" (config.h).
//
// Cost: (1 + quantizers x ways) forward passes per batch for the sweep, plus FP32 once per batch;
// the FP32 task outputs are kept in memory while under 512 MiB (recomputed per evaluation
// otherwise). Progress stage "sensitivity" / "repairing", done/total = evaluations; cancellation
// between forward passes (CancelledError).

#include "qdq/checkpoint.h"
#include "qdq/device.h"
#include "qdq/model.h"
#include "qdq/progress.h"
#include "qdq/quant/calibrator.h"
#include "qdq/quant/quant_config.h"
#include "qdq/quantizer_site.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace qdq {

// The task metric of one quantization configuration against FP32 over the data.
struct TaskMetric {
    double impact = 0.0;                 // mean output KL vs FP32, or output MSE (regression, base)
    std::optional<double> top1Agreement; // share of rows whose argmax agrees with FP32
    std::optional<double> accuracy;      // with labels: accuracy of the quantized model
};

// Evaluates quantization configurations against FP32 on fixed batches (input_ids,
// attention_mask, token_type_ids of each). The model is built once; each configuration is
// handed to it with setQuantConfig.
class TaskEvaluator {
public:
    TaskEvaluator(const Checkpoint &checkpoint, const std::vector<ForwardInputs> &batches, Task task,
                  Precision precision, std::vector<std::int64_t> labels = {}, Progress *progress = nullptr,
                  std::string stage = "sensitivity", Device device = {});
    ~TaskEvaluator();
    TaskEvaluator(const TaskEvaluator &) = delete;
    TaskEvaluator &operator=(const TaskEvaluator &) = delete;

    // One metric per configuration, all measured batch by batch (FP32 once per batch).
    [[nodiscard]] std::vector<TaskMetric> evaluate(const std::vector<QuantConfig> &configs);
    [[nodiscard]] TaskMetric evaluate(const QuantConfig &config);
    // Evaluations the caller plans to run (the progress total); grows as the caller learns more.
    void plan(std::int64_t evaluations) noexcept { m_planned += evaluations; }
    [[nodiscard]] std::int64_t evaluations() const noexcept { return m_done; }
    [[nodiscard]] std::int64_t forwardPasses() const noexcept { return m_passes; }
    [[nodiscard]] Task task() const noexcept { return m_task; }

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
    Task m_task;
    Progress *m_progress;
    std::string m_stage;
    std::int64_t m_planned = 0, m_done = 0, m_passes = 0;
};

struct QuantizerImpact {
    QuantizerSite site;
    std::string name; // module path without "bert." (a QuantConfig selector)
    std::optional<TaskMetric> only;
    TaskMetric without;
    double relief = 0.0; // full impact - without impact
};

struct KeepFp32Step {
    std::vector<std::string> quantizers; // disabled by this step (one, or an op's two)
    std::string action;                  // "disable" or "fp32-op"
    TaskMetric after;                    // the model with every step so far
};

struct QuantizerSensitivityOptions {
    Task task = Task::Base;
    Precision precision = Precision::Qdq;
    std::optional<QuantConfig> quant; // default: QuantConfig::fromCheckpoint
    std::vector<int> layers;          // candidates only from these layers (empty: every layer)
    bool only = true;                 // also the "only this quantizer" sweep
    double targetAgreement = 0.99;    // keepFp32 stops here
    int maxKeepFp32 = 4;              // keepFp32 budget (quantizers)
    int lookahead = 4;                // candidates re-measured per greedy step
    std::vector<std::int64_t> labels;
    Device device{}; // where the models compute
};

struct QuantizerSensitivity {
    Precision precision = Precision::Qdq;
    TaskMetric full;                         // every quantizer as configured
    std::vector<QuantizerImpact> quantizers; // ranked (see the top of this file); enabled ones only
    std::vector<KeepFp32Step> keepFp32;      // greedy suggestion in order
    double targetAgreement = 0.99;
    bool targetReached = false;
    std::int64_t evaluations = 0;
    std::int64_t forwardPasses = 0;
    double seconds = 0.0;
};

[[nodiscard]] QuantizerSensitivity quantizerSensitivity(const Checkpoint &checkpoint,
                                                        const std::vector<ForwardInputs> &batches,
                                                        const QuantizerSensitivityOptions &options,
                                                        Progress *progress = nullptr);

struct RepairOptions {
    Task task = Task::Base;
    Precision precision = Precision::Qdq;
    std::optional<QuantConfig> quant; // default: QuantConfig::fromCheckpoint
    int candidates = 16;              // quantizers whose amax is re-chosen (best-ranked first)
    int maxDisabled = 2;              // budget of quantizers left in FP32
    double targetAgreement = 0.99;    // the disable phase runs only below it
    int lookahead = 4;
    AmaxOptions amax; // percentile etc. of the amax candidates
    int numBins = 2048;
    std::vector<std::int64_t> labels;
    Device device{}; // where the models compute
};

struct RepairChange {
    QuantizerSite site;
    std::string name;
    std::string action;                  // "amax:max|percentile|mse|entropy", "disable", "fp32-op"
    std::vector<std::string> quantizers; // what the action disabled (disable / fp32-op)
    std::optional<double> amaxBefore;    // largest amax value before / after (amax actions)
    std::optional<double> amaxAfter;
    TaskMetric after; // the model with every change so far
};

struct RepairResult {
    Task task = Task::Base;
    Precision precision = Precision::Qdq;
    TaskMetric before;
    TaskMetric after;
    std::vector<RepairChange> changes;
    std::vector<QuantizerImpact> ranking; // the sweep the choices followed
    QuantConfig repaired;
    int disabled = 0; // quantizers the repair left in FP32
    std::int64_t samples = 0;
    std::int64_t evaluations = 0;
    std::int64_t forwardPasses = 0;
    double seconds = 0.0;
};

[[nodiscard]] RepairResult repairQuantization(const Checkpoint &checkpoint, const std::vector<ForwardInputs> &batches,
                                              const RepairOptions &options, Progress *progress = nullptr);

// JSON of a repair ("qdq-repair", schema_version 1: before, after, changes, ranking), documented
// in docs/analysis-json.md; the CLI's --json output and repair.json in the repaired folder.
[[nodiscard]] std::string repairToJson(const RepairResult &result, const std::string &task, int indent = 2);
// The before/after report written beside a repaired checkpoint (repair.md): a Markdown table of
// the metrics and of every change, readable without the tool.
[[nodiscard]] std::string repairToMarkdown(const RepairResult &result, const std::string &model,
                                           const std::string &data, const std::string &task);
// "97.03 %", or "-" for no value (the reports' tables).
[[nodiscard]] std::string percentText(const std::optional<double> &share);
// JSON array of a per-quantizer sweep (ranked), shared by analysisToJson and the GUI.
[[nodiscard]] std::string quantizerSensitivityToJson(const QuantizerSensitivity &s, int indent = -1);

} // namespace qdq

// Per-quantizer sensitivity, the greedy keep-FP32 suggestion and repair (issue 28). See
// qdq/sensitivity.h for the sweeps, the ranking and the repair phases.
#include "qdq/sensitivity.h"

#include "qdq/calibration.h"
#include "qdq/errors.h"
#include "task_agreement.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <set>
#include <utility>

namespace qdq {
namespace {

using detail::addTaskOutputs;
using detail::AgreementAccumulator;

constexpr std::size_t kReferenceBudgetBytes = std::size_t{512} << 20;
constexpr std::array<CalibMethod, 4> kCalibMethods = {CalibMethod::Max, CalibMethod::Percentile, CalibMethod::Mse,
                                                      CalibMethod::Entropy};

TaskMetric metricOf(const AgreementAccumulator &acc, Precision precision)
{
    const TaskAgreement t = acc.result(precision);
    TaskMetric m;
    m.impact = t.meanKl ? *t.meanKl : t.outputMse.value_or(0.0);
    m.top1Agreement = t.top1Agreement;
    m.accuracy = t.accuracyQuantized;
    return m;
}

// The task outputs of a forward (hidden states and attentions are not requested).
std::size_t outputBytes(const ForwardOutputs &o)
{
    std::size_t n = 0;
    for (const Tensor *t : {&o.lastHiddenState, &o.poolerOutput, &o.logits, &o.startLogits, &o.endLogits})
        if (t->defined())
            n += static_cast<std::size_t>(t->numel()) * sizeof(float);
    return n;
}

bool reached(const TaskMetric &m, double target)
{
    return m.top1Agreement && *m.top1Agreement >= target;
}

std::string nameOf(const QuantizerSite &site)
{
    return site.modulePath();
}

// The other quantizer of the op a site feeds: a linear's input and weight, a matmul's two
// operands, a residual add's two inputs (consecutive SiteId values, reference §1.2).
QuantizerSite partnerOf(const QuantizerSite &site)
{
    QuantizerSite p = site;
    p.id = static_cast<SiteId>(static_cast<int>(site.id) ^ 1);
    return p;
}

void setEnabled(QuantConfig &config, const QuantizerSite &site, bool enabled)
{
    SiteSelector sel;
    sel.pattern = nameOf(site);
    config.setEnabled(sel, enabled);
}

void disable(QuantConfig &config, const QuantizerSite &site)
{
    setEnabled(config, site, false);
}

bool enabledIn(const QuantConfig &config, const QuantizerSite &site)
{
    const SiteQuantConfig *s = config.find(site);
    return s != nullptr && s->enabled;
}

double largestAmax(const SiteQuantConfig &s)
{
    if (!s.amax || s.amax->empty())
        return 0.0;
    return static_cast<double>(*std::max_element(s.amax->begin(), s.amax->end()));
}

struct GreedyResult {
    std::vector<KeepFp32Step> steps;
    QuantConfig config;
    TaskMetric metric;
    int used = 0;
};

// Greedy keep-FP32 (sensitivity.h): each step re-measures the `lookahead` best-ranked quantizers
// still enabled and applies the action that lowers the impact most.
GreedyResult greedyDisable(TaskEvaluator &evaluator, QuantConfig config, TaskMetric current,
                           const std::vector<QuantizerImpact> &ranking, int budget, int lookahead, double target,
                           bool fp32Ops)
{
    GreedyResult r;
    while (!reached(current, target) && r.used < budget) {
        struct Action {
            std::vector<QuantizerSite> sites;
            std::string action;
        };
        std::vector<Action> actions;
        int looked = 0;
        for (const QuantizerImpact &q : ranking) {
            if (looked >= lookahead)
                break;
            if (!enabledIn(config, q.site))
                continue;
            ++looked;
            actions.push_back({{q.site}, "disable"});
            const QuantizerSite partner = partnerOf(q.site);
            if (fp32Ops && enabledIn(config, partner) && r.used + 2 <= budget)
                actions.push_back({{q.site, partner}, "fp32-op"});
        }
        if (actions.empty())
            break;
        std::vector<QuantConfig> configs;
        for (const Action &a : actions) {
            QuantConfig c = config;
            for (const QuantizerSite &s : a.sites)
                disable(c, s);
            configs.push_back(std::move(c));
        }
        evaluator.plan(static_cast<std::int64_t>(configs.size()));
        const std::vector<TaskMetric> metrics = evaluator.evaluate(configs);
        std::size_t best = 0;
        for (std::size_t i = 1; i < metrics.size(); ++i)
            if (metrics[i].impact < metrics[best].impact)
                best = i;
        if (!(metrics[best].impact < current.impact))
            break; // nothing helps any more
        KeepFp32Step step;
        for (const QuantizerSite &s : actions[best].sites)
            step.quantizers.push_back(nameOf(s));
        step.action = actions[best].action;
        step.after = metrics[best];
        r.used += static_cast<int>(actions[best].sites.size());
        config = std::move(configs[best]);
        current = metrics[best];
        r.steps.push_back(std::move(step));
    }
    r.config = std::move(config);
    r.metric = current;
    return r;
}

// The "without" (and optionally "only") sweep over `candidates`, ranked.
std::vector<QuantizerImpact> sweepQuantizers(TaskEvaluator &evaluator, const QuantConfig &config,
                                             const std::vector<QuantizerSite> &candidates, const TaskMetric &full,
                                             bool only)
{
    std::vector<QuantConfig> configs;
    for (const QuantizerSite &site : candidates) {
        QuantConfig without = config;
        disable(without, site);
        configs.push_back(std::move(without));
    }
    if (only)
        for (const QuantizerSite &site : candidates) {
            QuantConfig alone = config;
            alone.disableAll();
            setEnabled(alone, site, true);
            configs.push_back(std::move(alone));
        }
    const std::vector<TaskMetric> metrics = evaluator.evaluate(configs);
    std::vector<QuantizerImpact> out;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        QuantizerImpact q;
        q.site = candidates[i];
        q.name = nameOf(candidates[i]);
        q.without = metrics[i];
        q.relief = full.impact - metrics[i].impact;
        if (only)
            q.only = metrics[candidates.size() + i];
        out.push_back(std::move(q));
    }
    std::stable_sort(out.begin(), out.end(), [](const QuantizerImpact &a, const QuantizerImpact &b) {
        if (a.relief != b.relief)
            return a.relief > b.relief;
        const double ia = a.only ? a.only->impact : 0.0;
        const double ib = b.only ? b.only->impact : 0.0;
        return ia > ib;
    });
    return out;
}

std::vector<QuantizerSite> enabledSites(const QuantConfig &config, const std::vector<int> &layers)
{
    std::vector<QuantizerSite> out;
    for (const SiteQuantConfig &s : config.sites())
        if (s.enabled && (layers.empty() || std::find(layers.begin(), layers.end(), s.site.layer) != layers.end()))
            out.push_back(s.site);
    return out;
}

double secondsSince(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

nlohmann::ordered_json metricJson(const TaskMetric &m)
{
    nlohmann::ordered_json j;
    j["impact"] = m.impact;
    j["top1_agreement"] = m.top1Agreement ? nlohmann::ordered_json(*m.top1Agreement) : nlohmann::ordered_json();
    if (m.accuracy)
        j["accuracy"] = *m.accuracy;
    return j;
}

nlohmann::ordered_json rankingJson(const std::vector<QuantizerImpact> &ranking)
{
    nlohmann::ordered_json a = nlohmann::ordered_json::array();
    for (const QuantizerImpact &q : ranking) {
        nlohmann::ordered_json j;
        j["quantizer"] = q.name;
        j["layer"] = q.site.layer;
        j["kind"] = std::string(siteKindName(q.site.kind()));
        j["relief"] = q.relief;
        j["without"] = metricJson(q.without);
        if (q.only)
            j["only"] = metricJson(*q.only);
        a.push_back(std::move(j));
    }
    return a;
}

nlohmann::ordered_json stepsJson(const std::vector<KeepFp32Step> &steps)
{
    nlohmann::ordered_json a = nlohmann::ordered_json::array();
    for (const KeepFp32Step &s : steps)
        a.push_back({{"action", s.action}, {"quantizers", s.quantizers}, {"after", metricJson(s.after)}});
    return a;
}

} // namespace

// --- TaskEvaluator -------------------------------------------------------------------------------

struct TaskEvaluator::Impl {
    const Checkpoint &checkpoint;
    Precision precision;
    std::vector<ForwardInputs> batches;
    std::vector<std::vector<std::int64_t>> tokenMasks, labels;
    std::optional<QDQBertModel> fp32, quant;
    std::vector<ForwardOutputs> references; // empty when over the memory budget
    Device device;
    Impl(const Checkpoint &ck, Precision p, Device d) : checkpoint(ck), precision(p), device(d) {}

    QDQBertModel &model(Task task, Precision p, std::optional<QDQBertModel> &slot)
    {
        if (!slot) {
            ModelOptions mo;
            mo.task = task;
            mo.precision = p;
            mo.device = device;
            slot.emplace(checkpoint, mo);
        }
        return *slot;
    }
};

TaskEvaluator::TaskEvaluator(const Checkpoint &checkpoint, const std::vector<ForwardInputs> &batches, Task task,
                             Precision precision, std::vector<std::int64_t> labels, Progress *progress,
                             std::string stage, Device device)
    : m_impl(std::make_unique<Impl>(checkpoint, precision, device)), m_task(task), m_progress(progress),
      m_stage(std::move(stage))
{
    if (batches.empty())
        throw FormatError("sensitivity needs at least one batch of inputs");
    if (precision == Precision::Fp32)
        throw UnsupportedError("sensitivity compares a quantized precision (qdq or int8) with FP32");
    std::int64_t row = 0;
    for (const ForwardInputs &b : batches) {
        ForwardInputs in;
        in.inputIds = b.inputIds.alias();
        in.attentionMask = b.attentionMask.alias();
        in.tokenTypeIds = b.tokenTypeIds.alias();
        if (!in.attentionMask.defined()) {
            std::vector<std::int64_t> ones(static_cast<std::size_t>(in.inputIds.numel()), 1);
            in.attentionMask = Tensor::fromValues<std::int64_t>(in.inputIds.shape(), ones);
        }
        m_impl->tokenMasks.push_back(in.attentionMask.toInt64Vector());
        const std::int64_t rows = in.inputIds.size(0);
        std::vector<std::int64_t> batchLabels;
        for (std::int64_t i = row; i < row + rows && i < static_cast<std::int64_t>(labels.size()); ++i)
            batchLabels.push_back(labels[static_cast<std::size_t>(i)]);
        row += rows;
        m_impl->labels.push_back(std::move(batchLabels));
        m_impl->batches.push_back(std::move(in));
    }
}

TaskEvaluator::~TaskEvaluator() = default;

std::vector<TaskMetric> TaskEvaluator::evaluate(const std::vector<QuantConfig> &configs)
{
    Impl &d = *m_impl;
    const auto nb = static_cast<std::int64_t>(d.batches.size());
    std::int64_t step = m_done * nb;
    const auto forward = [&](QDQBertModel &model, const ForwardInputs &in) {
        reportProgress(m_progress, m_stage, step, std::max(m_planned, m_done + 1) * nb);
        checkCancelled(m_progress);
        ForwardOutputs out = model.forward(in);
        ++m_passes;
        return out;
    };
    // FP32 references once; kept while they fit the budget
    if (d.references.empty() && !d.fp32) {
        QDQBertModel &fp32 = d.model(m_task, Precision::Fp32, d.fp32);
        std::size_t bytes = 0;
        for (const ForwardInputs &in : d.batches) {
            d.references.push_back(forward(fp32, in));
            bytes += outputBytes(d.references.back());
            if (bytes > kReferenceBudgetBytes) {
                d.references.clear();
                break;
            }
        }
    }
    std::vector<AgreementAccumulator> accs(configs.size());
    QDQBertModel &quant = d.model(m_task, d.precision, d.quant);
    if (!d.references.empty()) {
        // configs outer: the weights are re-quantized once per configuration
        for (std::size_t c = 0; c < configs.size(); ++c) {
            quant.setQuantConfig(configs[c]);
            for (std::size_t b = 0; b < d.batches.size(); ++b) {
                addTaskOutputs(m_task, d.references[b], forward(quant, d.batches[b]), d.tokenMasks[b], d.labels[b],
                               accs[c]);
                ++step;
            }
        }
    } else {
        for (std::size_t b = 0; b < d.batches.size(); ++b) {
            const ForwardOutputs ref = forward(*d.fp32, d.batches[b]);
            for (std::size_t c = 0; c < configs.size(); ++c) {
                quant.setQuantConfig(configs[c]);
                addTaskOutputs(m_task, ref, forward(quant, d.batches[b]), d.tokenMasks[b], d.labels[b], accs[c]);
                ++step;
            }
        }
    }
    m_done += static_cast<std::int64_t>(configs.size());
    std::vector<TaskMetric> out;
    out.reserve(accs.size());
    for (const AgreementAccumulator &a : accs)
        out.push_back(metricOf(a, d.precision));
    return out;
}

TaskMetric TaskEvaluator::evaluate(const QuantConfig &config)
{
    return evaluate(std::vector<QuantConfig>{config}).front();
}

// --- per-quantizer sensitivity -------------------------------------------------------------------

QuantizerSensitivity quantizerSensitivity(const Checkpoint &checkpoint, const std::vector<ForwardInputs> &batches,
                                          const QuantizerSensitivityOptions &options, Progress *progress)
{
    const auto start = std::chrono::steady_clock::now();
    const QuantConfig config = options.quant ? *options.quant : QuantConfig::fromCheckpoint(checkpoint);
    TaskEvaluator evaluator(checkpoint, batches, options.task, options.precision, options.labels, progress,
                            "sensitivity", options.device);
    const std::vector<QuantizerSite> candidates = enabledSites(config, options.layers);
    evaluator.plan(1 + static_cast<std::int64_t>(candidates.size()) * (options.only ? 2 : 1) +
                   static_cast<std::int64_t>(options.maxKeepFp32) * options.lookahead);
    QuantizerSensitivity s;
    s.precision = options.precision;
    s.targetAgreement = options.targetAgreement;
    s.full = evaluator.evaluate(config);
    s.quantizers = sweepQuantizers(evaluator, config, candidates, s.full, options.only);
    const GreedyResult greedy = greedyDisable(evaluator, config, s.full, s.quantizers, options.maxKeepFp32,
                                              std::max(1, options.lookahead), options.targetAgreement, false);
    s.keepFp32 = greedy.steps;
    s.targetReached = reached(greedy.metric, options.targetAgreement);
    s.evaluations = evaluator.evaluations();
    s.forwardPasses = evaluator.forwardPasses();
    s.seconds = secondsSince(start);
    return s;
}

// --- repair --------------------------------------------------------------------------------------

RepairResult repairQuantization(const Checkpoint &checkpoint, const std::vector<ForwardInputs> &batches,
                                const RepairOptions &options, Progress *progress)
{
    const auto start = std::chrono::steady_clock::now();
    if (options.maxDisabled < 0 || options.candidates < 0)
        throw UnsupportedError("repair: the candidate count and the disabled budget must be >= 0");
    QuantConfig config = options.quant ? *options.quant : QuantConfig::fromCheckpoint(checkpoint);

    // 1. statistics of every site on the repair data (FP32; reference §4.1 step 2)
    CalibrationOptions co;
    co.numBins = options.numBins;
    co.profile = config.profile();
    Calibrator calibrator(checkpoint, co);
    {
        ModelOptions mo;
        mo.task = options.task;
        mo.precision = Precision::Fp32;
        mo.device = options.device;
        QDQBertModel model(checkpoint, mo);
        model.setSiteHooks(calibrator.hooks());
        std::int64_t done = 0;
        for (const ForwardInputs &b : batches) {
            reportProgress(progress, "collecting", done, static_cast<std::int64_t>(batches.size()));
            checkCancelled(progress);
            (void)model.forward(b);
            calibrator.addSamples(b.inputIds.size(0));
            ++done;
        }
    }

    RepairResult r;
    r.task = options.task;
    r.precision = options.precision;
    r.samples = calibrator.samples();
    TaskEvaluator evaluator(checkpoint, batches, options.task, options.precision, options.labels, progress, "repairing",
                            options.device);
    const std::vector<QuantizerSite> enabled = enabledSites(config, {});
    evaluator.plan(1 + static_cast<std::int64_t>(enabled.size()) +
                   static_cast<std::int64_t>(options.candidates) * static_cast<std::int64_t>(kCalibMethods.size()));
    r.before = evaluator.evaluate(config);

    // 2. ranking
    r.ranking = sweepQuantizers(evaluator, config, enabled, r.before, false);

    // 3. amax phase: each method's amax for the best-ranked quantizers, one quantizer at a time
    TaskMetric current = r.before;
    const std::size_t count = std::min(r.ranking.size(), static_cast<std::size_t>(options.candidates));
    for (std::size_t i = 0; i < count; ++i) {
        const QuantizerImpact &q = r.ranking[i];
        const SiteStatistics *stats = calibrator.find(q.site);
        const SiteQuantConfig *now = config.find(q.site);
        if (stats == nullptr || now == nullptr || !stats->collected())
            continue;
        const SiteAmax all = calibrator.amaxAll(*stats, options.amax);
        std::vector<QuantConfig> configs;
        std::vector<std::pair<CalibMethod, double>> tried;
        for (CalibMethod m : kCalibMethods) {
            const std::optional<Tensor> &amax = all.byMethod[static_cast<std::size_t>(m)];
            if (!amax)
                continue;
            const std::vector<float> values = amax->toFloatVector();
            if (now->amax && *now->amax == values)
                continue; // what the quantizer already has
            const double largest = values.empty() ? 0.0 : *std::max_element(values.begin(), values.end());
            if (std::any_of(tried.begin(), tried.end(), [&](const auto &t) { return t.second == largest; }) &&
                values.size() == 1)
                continue; // two methods that agree are measured once
            QuantConfig c = config;
            c.setSiteAmax(q.site, *amax);
            configs.push_back(std::move(c));
            tried.emplace_back(m, largest);
        }
        if (configs.empty())
            continue;
        const std::vector<TaskMetric> metrics = evaluator.evaluate(configs);
        std::size_t best = 0;
        for (std::size_t k = 1; k < metrics.size(); ++k)
            if (metrics[k].impact < metrics[best].impact)
                best = k;
        if (!(metrics[best].impact < current.impact))
            continue;
        RepairChange change;
        change.site = q.site;
        change.name = q.name;
        change.action = "amax:" + std::string(calibMethodName(tried[best].first));
        change.amaxBefore = now->dynamic() ? std::optional<double>() : std::optional<double>(largestAmax(*now));
        change.amaxAfter = tried[best].second;
        change.after = metrics[best];
        config = std::move(configs[best]);
        current = metrics[best];
        r.changes.push_back(std::move(change));
    }

    // 4. disable phase, only below the target and within the budget
    const GreedyResult greedy = greedyDisable(evaluator, config, current, r.ranking, options.maxDisabled,
                                              std::max(1, options.lookahead), options.targetAgreement, true);
    for (const KeepFp32Step &step : greedy.steps) {
        RepairChange change;
        change.site = *QuantizerSite::fromKey(step.quantizers.front());
        change.name = step.quantizers.front();
        change.action = step.action;
        change.quantizers = step.quantizers;
        change.after = step.after;
        r.changes.push_back(std::move(change));
    }
    r.disabled = greedy.used;
    r.after = greedy.metric;
    r.repaired = greedy.config;
    r.evaluations = evaluator.evaluations();
    r.forwardPasses = evaluator.forwardPasses() + static_cast<std::int64_t>(batches.size());
    r.seconds = secondsSince(start);
    return r;
}

std::string repairToJson(const RepairResult &result, const std::string &task, int indent)
{
    nlohmann::ordered_json j;
    j["format"] = "qdq-repair";
    j["schema_version"] = 1;
    j["task"] = task;
    j["precision"] = std::string(precisionName(result.precision));
    j["samples"] = result.samples;
    j["before"] = metricJson(result.before);
    j["after"] = metricJson(result.after);
    j["disabled"] = result.disabled;
    nlohmann::ordered_json changes = nlohmann::ordered_json::array();
    for (const RepairChange &c : result.changes) {
        nlohmann::ordered_json e;
        e["quantizer"] = c.name;
        e["action"] = c.action;
        if (!c.quantizers.empty())
            e["quantizers"] = c.quantizers;
        if (c.amaxBefore)
            e["amax_before"] = *c.amaxBefore;
        if (c.amaxAfter)
            e["amax_after"] = *c.amaxAfter;
        e["after"] = metricJson(c.after);
        changes.push_back(std::move(e));
    }
    j["changes"] = std::move(changes);
    j["ranking"] = rankingJson(result.ranking);
    j["evaluations"] = result.evaluations;
    j["forward_passes"] = result.forwardPasses;
    j["seconds"] = result.seconds;
    return j.dump(indent);
}

std::string percentText(const std::optional<double> &v)
{
    if (!v)
        return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f %%", 100.0 * *v);
    return buf;
}

std::string repairToMarkdown(const RepairResult &r, const std::string &model, const std::string &data,
                             const std::string &task)
{
    std::string md = "# Repair of " + model + "\n\n";
    char line[512];
    std::snprintf(line, sizeof line,
                  "Data: `%s` (%lld samples), task %s, precision %s. %lld configurations measured, %lld forward "
                  "passes, %.1f s.\n\n",
                  data.c_str(), static_cast<long long>(r.samples), task.c_str(),
                  std::string(precisionName(r.precision)).c_str(), static_cast<long long>(r.evaluations),
                  static_cast<long long>(r.forwardPasses), r.seconds);
    md += line;
    md += "| | impact (KL or MSE vs FP32) | top-1 agreement with FP32 |\n|---|---|---|\n";
    std::snprintf(line, sizeof line, "| before | %.4g | %s |\n| after | %.4g | %s |\n\n", r.before.impact,
                  percentText(r.before.top1Agreement).c_str(), r.after.impact,
                  percentText(r.after.top1Agreement).c_str());
    md += line;
    if (r.changes.empty()) {
        md += "No change helped: the checkpoint is written as it was.\n";
        return md;
    }
    md += "| quantizer | change | amax before | amax after | impact after | top-1 after |\n|---|---|---|---|---|---|\n";
    for (const RepairChange &c : r.changes) {
        std::snprintf(line, sizeof line, "| `%s` | %s | %s | %s | %.4g | %s |\n", c.name.c_str(), c.action.c_str(),
                      c.amaxBefore ? std::to_string(*c.amaxBefore).c_str() : "-",
                      c.amaxAfter ? std::to_string(*c.amaxAfter).c_str() : "-", c.after.impact,
                      percentText(c.after.top1Agreement).c_str());
        md += line;
    }
    if (r.disabled > 0)
        md += "\nDisabled quantizers are listed in config.json `qdq_disabled_quantizers`; with "
              "pytorch-quantization, call `.disable()` on those modules after loading.\n";
    return md;
}

std::string quantizerSensitivityToJson(const QuantizerSensitivity &s, int indent)
{
    nlohmann::ordered_json j;
    j["precision"] = std::string(precisionName(s.precision));
    j["full"] = metricJson(s.full);
    j["quantizers"] = rankingJson(s.quantizers);
    j["keep_fp32"] = stepsJson(s.keepFp32);
    j["target_agreement"] = s.targetAgreement;
    j["target_reached"] = s.targetReached;
    j["evaluations"] = s.evaluations;
    j["forward_passes"] = s.forwardPasses;
    j["seconds"] = s.seconds;
    return j.dump(indent);
}

} // namespace qdq

// qdq bench: forward-pass timing (warm-up, then median / min / max over --runs), with the
// encoder's linears alone timed in the same run as a GEMM-only ratio baseline.
#include "cli/cli.h"
#include "cli/quant_options.h"

#include "qdq/calibration.h"
#include "qdq/checkpoint.h"
#include "qdq/model.h"
#include "qdq/quant/tensor_quantizer.h"
#include "qdq/threading.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>

namespace qdq::cli {
namespace {

using Stats = Spread<double>;

int positiveOption(const QCommandLineParser &parser, const QString &name)
{
    bool ok = false;
    const int v = parser.value(name).toInt(&ok);
    if (!ok || v < 1)
        throw UsageError("--" + name.toStdString() + " expects a positive integer, got '" +
                         parser.value(name).toStdString() + "'");
    return v;
}

// Running max of |x| per quantizer site over the forwards it observes (max calibration).
class MaxObserver final : public TensorObserver {
public:
    void observe(std::string_view name, const Tensor &tensor) override
    {
        if (!QuantizerSite::fromKey(name) || tensor.numel() == 0)
            return;
        const std::vector<float> m = reduceAbsMax(tensor, std::nullopt);
        float &slot = m_max[std::string(name)];
        slot = std::max(slot, m.front());
    }
    [[nodiscard]] const std::map<std::string, float> &values() const noexcept { return m_max; }

private:
    std::map<std::string, float> m_max;
};

int runBench(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription("Time forward passes of a checkpoint or a synthetic bert-base.");
    addCommonOptions(parser);
    parser.addOption({"model", "Checkpoint folder or file.", "P"});
    parser.addOption({"synthetic", "Random weights of a known shape: bert-base.", "NAME"});
    parser.addOption({"task", "Task head (default base).", "TASK", "base"});
    parser.addOption({"batch", "Sequences per forward (default 1).", "B", "1"});
    parser.addOption({"seq", "Tokens per sequence (default 128).", "S", "128"});
    parser.addOption({"runs", "Timed runs (default 10).", "N", "10"});
    parser.addOption({"warmup", "Untimed runs first (default 2).", "N", "2"});
    addQuantOptions(parser);
    parser.addOption({"baseline", "Also time an fp32 model in the same run and print the ratio."});
    parser.addOption({"dynamic-amax", "Synthetic model: keep every amax dynamic (max|x| per call) instead of "
                                      "calibrating it by max on the bench batch first."});
    parser.addOption({"device", "cpu.", "D", "cpu"});
    parser.addOption({"calibration", "Also time forwards that collect calibration statistics (histograms of every "
                                     "activation site, per-row weight max) and report the ratio to a plain forward."});
    const CommonOptions common = parseArgs(parser, args, "bench");
    if (parser.value("device") != "cpu")
        throw UsageError("--device " + parser.value("device").toStdString() + " is not available yet; use cpu");
    const auto task = taskFromName(parser.value("task").toStdString());
    if (!task)
        throw UsageError("unknown task '" + parser.value("task").toStdString() + "'");
    const int batch = positiveOption(parser, "batch");
    const int seq = positiveOption(parser, "seq");
    const int runs = positiveOption(parser, "runs");
    bool ok = false;
    const int warmup = parser.value("warmup").toInt(&ok);
    if (!ok || warmup < 0)
        throw UsageError("--warmup expects a non-negative integer");

    Checkpoint checkpoint;
    std::string what;
    if (parser.isSet("synthetic")) {
        if (parser.value("synthetic") != "bert-base")
            throw UsageError("--synthetic knows bert-base");
        checkpoint = randomCheckpoint(BertConfig{}, *task, 1);
        what = "synthetic bert-base";
    } else {
        checkpoint = loadCheckpoint(requireOption(parser, "model").toStdString());
        what = checkpoint.source.string();
    }
    ModelOptions options;
    options.task = *task;
    applyQuantOptions(parser, checkpoint, options);
    QDQBertModel model(checkpoint, options);
    const std::string precision(precisionName(model.precision()));
    const BertConfig &c = model.config();
    if (seq > c.maxPositionEmbeddings)
        throw UsageError("--seq is longer than max_position_embeddings " + std::to_string(c.maxPositionEmbeddings));

    ForwardInputs in;
    std::vector<std::int64_t> ids(static_cast<std::size_t>(batch * seq));
    for (std::size_t i = 0; i < ids.size(); ++i)
        ids[i] = static_cast<std::int64_t>((i * 2654435761ULL + 101) % static_cast<std::uint64_t>(c.vocabSize));
    in.inputIds = Tensor::fromValues<std::int64_t>({batch, seq}, ids);
    if (*task == Task::MultipleChoice)
        in.inputIds = in.inputIds.view({batch, 1, seq});

    // A synthetic checkpoint has no _amax: calibrate every site by max on the bench batch (what a
    // calibrated QDQBERT checkpoint brings), unless --dynamic-amax asks for per-call amax.
    std::string amaxMode = checkpoint.calibratedQuantizers() > 0 ? "checkpoint" : "dynamic";
    if (parser.isSet("synthetic") && model.precision() != Precision::Fp32 && !parser.isSet("dynamic-amax")) {
        MaxObserver observer;
        model.setObserver(&observer);
        (void)model.forward(in);
        model.setObserver(nullptr);
        QuantConfig quant = model.quantConfig();
        for (const auto &[name, value] : observer.values())
            quant.setAmax(SiteSelector::parse(name), value);
        model.setQuantConfig(std::move(quant));
        amaxMode = "max-calibrated on the bench batch";
    }
    std::unique_ptr<QDQBertModel> baseline;
    if (parser.isSet("baseline")) {
        ModelOptions fp32;
        fp32.task = *task;
        baseline = std::make_unique<QDQBertModel>(checkpoint, fp32);
    }

    for (int i = 0; i < warmup; ++i) {
        (void)model.forward(in);
        (void)model.timeLinearsOnly(batch, seq);
        if (baseline)
            (void)baseline->forward(in);
    }
    std::vector<double> forward;
    std::vector<double> gemm;
    std::vector<double> base;
    for (int i = 0; i < runs; ++i) {
        forward.push_back(model.forward(in).milliseconds);
        gemm.push_back(model.timeLinearsOnly(batch, seq));
        if (baseline)
            base.push_back(baseline->forward(in).milliseconds);
        printProgress(common.quiet || common.json, "bench", i + 1, runs);
    }
    const Stats f = spreadOf(forward);
    const Stats g = spreadOf(gemm);
    const Stats b = baseline ? spreadOf(base) : Stats{};
    std::optional<Stats> cal;
    std::size_t collectorBytes = 0;
    if (parser.isSet("calibration")) {
        if (model.precision() != Precision::Fp32)
            throw UsageError("--calibration times FP32 forwards (calibration runs on full-precision activations); "
                             "drop --precision");
        Calibrator calibrator(checkpoint);
        model.setSiteHooks(calibrator.hooks());
        for (int i = 0; i < std::max(warmup, 1); ++i) // the first also collects the weights
            (void)model.forward(in);
        std::vector<double> calibrating;
        for (int i = 0; i < runs; ++i) {
            calibrating.push_back(model.forward(in).milliseconds);
            printProgress(common.quiet || common.json, "bench calibration", i + 1, runs);
        }
        model.setSiteHooks(nullptr);
        cal = spreadOf(calibrating);
        collectorBytes = calibrator.memoryBytes();
    }
    if (common.json) {
        nlohmann::json j = {{"model", what},
                            {"task", taskName(*task)},
                            {"precision", precision},
                            {"amax", amaxMode},
                            {"backend", model.backendName()},
                            {"threads", numThreads()},
                            {"batch", batch},
                            {"seq", seq},
                            {"runs", runs},
                            {"forward_ms", {{"median", f.median}, {"min", f.min}, {"max", f.max}}},
                            {"linears_only_ms", {{"median", g.median}, {"min", g.min}, {"max", g.max}}},
                            {"ratio_to_linears", f.median / g.median}};
        if (baseline) {
            j["fp32_forward_ms"] = {{"median", b.median}, {"min", b.min}, {"max", b.max}};
            j["ratio_to_fp32"] = f.median / b.median;
        }
        if (cal)
            j["calibration"] = {
                {"calibration_forward_ms", {{"median", cal->median}, {"min", cal->min}, {"max", cal->max}}},
                {"calibration_samples_per_second", batch * 1000.0 / cal->median},
                {"fp32_samples_per_second", batch * 1000.0 / f.median},
                {"calibration_ratio_to_forward", cal->median / f.median},
                {"collector_bytes", collectorBytes}};
        printJson(j);
        return Ok;
    }
    std::printf("model     %s (%s, %s, %s, %d threads)\n", what.c_str(), std::string(taskName(*task)).c_str(),
                precision.c_str(), model.backendName().c_str(), numThreads());
    if (model.precision() != Precision::Fp32)
        std::printf("amax      %s\n", amaxMode.c_str());
    std::printf("shape     batch %d x seq %d, %d runs after %d warm-up\n", batch, seq, runs, warmup);
    std::printf("forward   median %.2f ms  min %.2f  max %.2f\n", f.median, f.min, f.max);
    std::printf("linears   median %.2f ms  min %.2f  max %.2f  (oneDNN %s GEMMs alone, same shapes)\n", g.median, g.min,
                g.max, model.precision() == Precision::Int8 ? "INT8" : "f32");
    std::printf("ratio     %.3f\n", f.median / g.median);
    if (baseline)
        std::printf("fp32      median %.2f ms  min %.2f  max %.2f  -> %s / fp32 = %.3f\n", b.median, b.min, b.max,
                    precision.c_str(), f.median / b.median);
    if (cal) {
        std::printf("calibrate median %.2f ms  min %.2f  max %.2f  (forward + histogram collection)\n", cal->median,
                    cal->min, cal->max);
        std::printf("          %.1f samples/s vs %.1f fp32 samples/s: ratio %.3f; collectors %zu bytes\n",
                    batch * 1000.0 / cal->median, batch * 1000.0 / f.median, cal->median / f.median, collectorBytes);
    }
    return Ok;
}

const RegisterCommand
    registerBench({"bench", "Time forward passes (fp32, qdq, int8; median/min/max) against GEMMs alone", runBench});

} // namespace
} // namespace qdq::cli

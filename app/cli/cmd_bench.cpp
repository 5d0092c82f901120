// qdq bench: forward-pass timing (warm-up, then median / min / max over --runs), with the
// encoder's linears alone timed in the same run as a GEMM-only ratio baseline.
#include "cli/cli.h"

#include "qdq/calibration.h"
#include "qdq/checkpoint.h"
#include "qdq/model.h"
#include "qdq/threading.h"

#include <algorithm>
#include <cstdio>
#include <optional>

namespace qdq::cli {
namespace {

struct Stats {
    double median = 0, min = 0, max = 0;
};

Stats stats(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return {n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0, v.front(), v.back()};
}

int positiveOption(const QCommandLineParser &parser, const QString &name)
{
    bool ok = false;
    const int v = parser.value(name).toInt(&ok);
    if (!ok || v < 1)
        throw UsageError("--" + name.toStdString() + " expects a positive integer, got '" +
                         parser.value(name).toStdString() + "'");
    return v;
}

int runBench(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription("Time forward passes (FP32) of a checkpoint or a synthetic bert-base.");
    addCommonOptions(parser);
    parser.addOption({"model", "Checkpoint folder or file.", "P"});
    parser.addOption({"synthetic", "Random weights of a known shape: bert-base.", "NAME"});
    parser.addOption({"task", "Task head (default base).", "TASK", "base"});
    parser.addOption({"batch", "Sequences per forward (default 1).", "B", "1"});
    parser.addOption({"seq", "Tokens per sequence (default 128).", "S", "128"});
    parser.addOption({"runs", "Timed runs (default 10).", "N", "10"});
    parser.addOption({"warmup", "Untimed runs first (default 2).", "N", "2"});
    parser.addOption({"precision", "fp32.", "P", "fp32"});
    parser.addOption({"device", "cpu.", "D", "cpu"});
    parser.addOption({"calibration", "Also time forwards that collect calibration statistics (histograms of every "
                                     "activation site, per-row weight max) and report the ratio to a plain forward."});
    const CommonOptions common = parseArgs(parser, args, "bench");
    if (parser.value("device") != "cpu")
        throw UsageError("--device " + parser.value("device").toStdString() + " is not available yet; use cpu");
    if (parser.value("precision") != "fp32")
        throw UsageError("--precision " + parser.value("precision").toStdString() +
                         " is not available yet; this build runs fp32");
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
    QDQBertModel model(checkpoint, ModelOptions{*task, MaskConstant::FinfoMin, BackendKind::Cpu});
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

    for (int i = 0; i < warmup; ++i) {
        (void)model.forward(in);
        (void)model.timeLinearsOnly(batch, seq);
    }
    std::vector<double> forward;
    std::vector<double> gemm;
    for (int i = 0; i < runs; ++i) {
        forward.push_back(model.forward(in).milliseconds);
        gemm.push_back(model.timeLinearsOnly(batch, seq));
        printProgress(common.quiet || common.json, "bench", i + 1, runs);
    }
    const Stats f = stats(forward);
    const Stats g = stats(gemm);
    std::optional<Stats> cal;
    std::size_t collectorBytes = 0;
    if (parser.isSet("calibration")) {
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
        cal = stats(calibrating);
        collectorBytes = calibrator.memoryBytes();
    }
    if (common.json) {
        nlohmann::json out = {{"model", what},
                              {"task", taskName(*task)},
                              {"precision", "fp32"},
                              {"backend", model.backendName()},
                              {"threads", numThreads()},
                              {"batch", batch},
                              {"seq", seq},
                              {"runs", runs},
                              {"forward_ms", {{"median", f.median}, {"min", f.min}, {"max", f.max}}},
                              {"linears_only_ms", {{"median", g.median}, {"min", g.min}, {"max", g.max}}},
                              {"ratio_to_linears", f.median / g.median}};
        if (cal) {
            out["calibration"] = {
                {"calibration_forward_ms", {{"median", cal->median}, {"min", cal->min}, {"max", cal->max}}},
                {"calibration_samples_per_second", batch * 1000.0 / cal->median},
                {"fp32_samples_per_second", batch * 1000.0 / f.median},
                {"calibration_ratio_to_forward", cal->median / f.median},
                {"collector_bytes", collectorBytes}};
        }
        printJson(out);
        return Ok;
    }
    std::printf("model     %s (%s, fp32, %s, %d threads)\n", what.c_str(), std::string(taskName(*task)).c_str(),
                model.backendName().c_str(), numThreads());
    std::printf("shape     batch %d x seq %d, %d runs after %d warm-up\n", batch, seq, runs, warmup);
    std::printf("forward   median %.2f ms  min %.2f  max %.2f\n", f.median, f.min, f.max);
    std::printf("linears   median %.2f ms  min %.2f  max %.2f  (oneDNN GEMMs alone, same shapes)\n", g.median, g.min,
                g.max);
    std::printf("ratio     %.3f\n", f.median / g.median);
    if (cal) {
        std::printf("calibrate median %.2f ms  min %.2f  max %.2f  (forward + histogram collection)\n", cal->median,
                    cal->min, cal->max);
        std::printf("          %.1f samples/s vs %.1f fp32 samples/s: ratio %.3f; collectors %zu bytes\n",
                    batch * 1000.0 / cal->median, batch * 1000.0 / f.median, cal->median / f.median, collectorBytes);
    }
    return Ok;
}

const RegisterCommand registerBench({"bench", "Time FP32 forward passes (median/min/max) against GEMMs alone",
                                     runBench});

} // namespace
} // namespace qdq::cli

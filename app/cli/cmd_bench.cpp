// qdq bench: forward-pass timing (warm-up, then median / min / max over --runs, tokens/s, peak
// RSS), with the GEMM-only bound (the encoder's six linears per layer and its two attention
// batched matmuls, the model's exact shapes, oneDNN alone) timed in the same run and interleaved
// with the forwards, so that a loaded machine skews both alike (issue #14: ratios, not absolutes).
#include "cli/cli.h"
#include "cli/quant_options.h"

#include "qdq/calibration.h"
#include "qdq/checkpoint.h"
#include "qdq/cpu_isa.h"
#include "qdq/model.h"
#include "qdq/quant/tensor_quantizer.h"
#include "qdq/threading.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <sys/resource.h>

namespace qdq::cli {
namespace {

using Stats = Spread<double>;

int positiveOption(const QCommandLineParser &parser, const QString &name)
{
    return static_cast<int>(intOption(parser, name, 1, std::numeric_limits<int>::max()));
}

// Peak resident set of this process so far, in MiB (Linux reports ru_maxrss in KiB).
double peakRssMiB()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

nlohmann::json spreadJson(const Stats &s)
{
    return {{"median", s.median}, {"min", s.min}, {"max", s.max}};
}

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
    parser.addOption({"roofline", "Time the GEMM-only bound in both FP32 and INT8 kernels (the six linears per layer "
                                  "and the two attention batched matmuls, the model's shapes), interleaved with the "
                                  "forwards; without it only the chosen precision's kernels are timed."});
    parser.addOption({"dynamic-amax", "Uncalibrated model (synthetic or plain BERT): keep every amax dynamic "
                                      "(max|x| per call) instead of calibrating it by max on the bench batch first."});
    addDeviceOption(parser);
    parser.addOption({"calibration", "Also time forwards that collect calibration statistics (histograms of every "
                                     "activation site, per-row weight max) and report the ratio to a plain forward."});
    const CommonOptions common = parseArgs(parser, args, "bench");
    const Device device = deviceOption(parser);
    const auto task = taskFromName(parser.value("task").toStdString());
    if (!task)
        throw UsageError("unknown task '" + parser.value("task").toStdString() + "'");
    const int batch = positiveOption(parser, "batch");
    const int seq = positiveOption(parser, "seq");
    const int runs = positiveOption(parser, "runs");
    const int warmup = static_cast<int>(intOption(parser, "warmup", 0, std::numeric_limits<int>::max()));

    Checkpoint checkpoint;
    std::string what;
    const auto loadStart = std::chrono::steady_clock::now();
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
    options.device = device;
    applyQuantOptions(parser, checkpoint, options);
    QDQBertModel model(checkpoint, options);
    // checkpoint read (mapped) + model built; weight packing happens on the first forward
    const double loadMs =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - loadStart).count();
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

    // A synthetic or plain BERT checkpoint has no _amax: calibrate every site by max on the bench
    // batch (what a calibrated QDQBERT checkpoint brings), unless --dynamic-amax asks for per-call amax.
    std::string amaxMode = checkpoint.calibratedQuantizers() > 0 ? "checkpoint" : "dynamic";
    if (checkpoint.calibratedQuantizers() == 0 && model.precision() != Precision::Fp32 &&
        !parser.isSet("dynamic-amax")) {
        // the engine's max calibration (reference §4.2) on this batch, every site per tensor
        CalibrationOptions calibration;
        calibration.histograms = false;
        Calibrator calibrator(checkpoint, calibration);
        model.setSiteHooks(calibrator.hooks());
        (void)model.forward(in);
        model.setSiteHooks(nullptr);
        QuantConfig quant = model.quantConfig();
        for (const SiteStatistics &site : calibrator.sites())
            if (site.collected()) {
                const std::vector<float> m = calibrator.amax(site, CalibMethod::Max).toFloatVector();
                quant.setAmax(SiteSelector::parse(site.name), *std::max_element(m.begin(), m.end()));
            }
        model.setQuantConfig(std::move(quant));
        amaxMode = "max-calibrated on the bench batch";
    }
    std::unique_ptr<QDQBertModel> baseline;
    if (parser.isSet("baseline")) {
        ModelOptions fp32;
        fp32.task = *task;
        fp32.device = device;
        baseline = std::make_unique<QDQBertModel>(checkpoint, fp32);
    }

    // The GEMM kernels timed: the chosen precision's (int8: s8 GEMMs; fp32 and qdq: f32 GEMMs),
    // and with --roofline the other kind too.
    const Precision own = model.precision() == Precision::Int8 ? Precision::Int8 : Precision::Fp32;
    std::vector<Precision> kinds{own};
    if (parser.isSet("roofline"))
        kinds.push_back(own == Precision::Int8 ? Precision::Fp32 : Precision::Int8);

    // Warm-up: weights packed, primitives created, buffers faulted in. The peak RSS is taken after
    // the model's own forwards, before the roofline packs weights of the other kind.
    // The first forward also packs the weights (reorders them into the primitives' layouts).
    const auto firstStart = std::chrono::steady_clock::now();
    (void)model.forward(in);
    const double firstMs =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - firstStart).count();
    for (int i = 1; i < warmup; ++i)
        (void)model.forward(in);
    const double rssMiB = peakRssMiB();
    for (int i = 0; i < warmup; ++i) {
        for (const Precision k : kinds)
            (void)model.timeGemmsOnly(batch, seq, k);
        if (baseline)
            (void)baseline->forward(in);
    }
    std::vector<double> forward;
    std::map<Precision, std::vector<double>> gemmTotal;
    std::map<Precision, std::vector<double>> gemmLinears;
    std::map<Precision, std::vector<double>> gemmAttention;
    std::vector<double> base;
    for (int i = 0; i < runs; ++i) {
        forward.push_back(model.forward(in).milliseconds);
        for (const Precision k : kinds) {
            const QDQBertModel::GemmTiming t = model.timeGemmsOnly(batch, seq, k);
            gemmTotal[k].push_back(t.totalMs());
            gemmLinears[k].push_back(t.linearsMs);
            gemmAttention[k].push_back(t.attentionMs);
        }
        if (baseline)
            base.push_back(baseline->forward(in).milliseconds);
        printProgress(common.quiet || common.json, "bench", i + 1, runs);
    }
    const Stats f = spreadOf(forward);
    const Stats g = spreadOf(gemmTotal[own]);
    const Stats gl = spreadOf(gemmLinears[own]);
    const Stats b = baseline ? spreadOf(base) : Stats{};
    const double tokens = static_cast<double>(batch) * static_cast<double>(seq);
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
    const auto kindName = [](Precision k) { return k == Precision::Int8 ? "int8" : "fp32"; };
    // the wait policy libgomp runs with (threading.h: chosen at start unless set by the user)
    std::string openMpWait = "libgomp default";
    if (const char *policy = std::getenv("OMP_WAIT_POLICY"))
        openMpWait = std::string("OMP_WAIT_POLICY=") + policy;
    else if (const char *spin = std::getenv("GOMP_SPINCOUNT"))
        openMpWait = std::string("GOMP_SPINCOUNT=") + spin;
    // multiply-adds of the GEMMs timed by timeGemmsOnly: six linears per layer, Q·Kᵀ and P·V
    const double tokensAll = static_cast<double>(batch) * seq;
    const auto h = static_cast<double>(c.hiddenSize);
    const double gemmMacs =
        static_cast<double>(c.numHiddenLayers) *
        (tokensAll * (4.0 * h * h + 2.0 * h * static_cast<double>(c.intermediateSize)) + 2.0 * tokensAll * seq * h);
    const auto gmacs = [&](double ms) { return gemmMacs / (ms * 1e6); };
    const std::string isa = cpuIsaSummary();
    const char *tunables = std::getenv("GLIBC_TUNABLES");
    const std::string glibcTunables = tunables != nullptr ? tunables : "";
    if (common.json) {
        nlohmann::json j = {{"model", what},
                            {"task", taskName(*task)},
                            {"precision", precision},
                            {"amax", amaxMode},
                            {"backend", model.backendName()},
                            {"cpu_isa", isa},
                            {"int8_gemm", int8GemmName(int8Gemm())},
                            {"gemm_macs", gemmMacs},
                            {"threads", numThreads()},
                            {"openmp_wait", openMpWait},
                            {"glibc_tunables", glibcTunables},
                            {"batch", batch},
                            {"seq", seq},
                            {"runs", runs},
                            {"load_ms", loadMs},
                            {"first_forward_ms", firstMs},
                            {"peak_rss_mib", rssMiB},
                            {"forward_ms", spreadJson(f)},
                            {"tokens_per_second", tokens * 1000.0 / f.median},
                            {"linears_only_ms", spreadJson(gl)},
                            {"gemm_only_ms", spreadJson(g)},
                            {"gemm_gmacs_per_second", gmacs(g.median)},
                            {"gemm_kernels", kindName(own)},
                            {"ratio_to_gemm", f.median / g.median}};
        if (parser.isSet("roofline")) {
            nlohmann::json r = nlohmann::json::object();
            for (const Precision k : kinds)
                r[kindName(k)] = {{"gemm_only_ms", spreadJson(spreadOf(gemmTotal[k]))},
                                  {"linears_ms", spreadJson(spreadOf(gemmLinears[k]))},
                                  {"attention_ms", spreadJson(spreadOf(gemmAttention[k]))},
                                  {"gmacs_per_second", gmacs(spreadOf(gemmTotal[k]).median)},
                                  {"forward_ratio", f.median / spreadOf(gemmTotal[k]).median}};
            j["roofline"] = r;
        }
        if (baseline) {
            j["fp32_forward_ms"] = spreadJson(b);
            j["ratio_to_fp32"] = f.median / b.median;
        }
        if (cal)
            j["calibration"] = {{"calibration_forward_ms", spreadJson(*cal)},
                                {"calibration_samples_per_second", batch * 1000.0 / cal->median},
                                {"fp32_samples_per_second", batch * 1000.0 / f.median},
                                {"calibration_ratio_to_forward", cal->median / f.median},
                                {"collector_bytes", collectorBytes}};
        printJson(j);
        return Ok;
    }
    std::printf("model     %s (%s, %s, %s, %d threads, OpenMP wait %s, GLIBC_TUNABLES=%s)\n", what.c_str(),
                std::string(taskName(*task)).c_str(), precision.c_str(), model.backendName().c_str(), numThreads(),
                openMpWait.c_str(), glibcTunables.empty() ? "-" : glibcTunables.c_str());
    std::printf("cpu isa   %s\n", isa.c_str());
    if (model.precision() != Precision::Fp32)
        std::printf("amax      %s\n", amaxMode.c_str());
    std::printf("shape     batch %d x seq %d, %d runs after %d warm-up\n", batch, seq, runs, warmup);
    std::printf("load      %.0f ms, first forward (packs the weights) %.0f ms; peak RSS %.0f MiB after the warm-up "
                "forwards\n",
                loadMs, firstMs, rssMiB);
    std::printf("forward   median %.2f ms  min %.2f  max %.2f  (%.0f tokens/s)\n", f.median, f.min, f.max,
                tokens * 1000.0 / f.median);
    for (const Precision k : kinds) {
        const Stats t = spreadOf(gemmTotal[k]);
        std::printf("gemm %s median %.2f ms  min %.2f  max %.2f  (linears %.2f + attention %.2f; the backend's GEMMs "
                    "alone, same shapes; %.1f GMAC/s)\n",
                    kindName(k), t.median, t.min, t.max, spreadOf(gemmLinears[k]).median,
                    spreadOf(gemmAttention[k]).median, gmacs(t.median));
        std::printf("ratio     forward / %s GEMM-only = %.3f%s\n", kindName(k), f.median / t.median,
                    k == own ? "" : "  (other kernels)");
    }
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

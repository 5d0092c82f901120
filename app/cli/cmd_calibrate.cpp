// qdq calibrate: one calibration pass over a data file, then a calibrated Hugging Face folder
// with the chosen method's amax (reference §4; design.md, "The command-line contract").
// A thin adapter over qdq/calibration.h, the same calls the GUI's Calibrate dialog makes.
#include "cli/analysis_options.h"
#include "cli/cli.h"

#include "qdq/calibration.h"
#include "qdq/checkpoint.h"
#include "qdq/errors.h"
#include "qdq/session.h"

#include <chrono>
#include <cstdio>

namespace qdq::cli {
namespace {

std::string formatSeconds(double s)
{
    if (s < 60)
        return std::to_string(static_cast<int>(s + 0.5)) + "s";
    const int m = static_cast<int>(s / 60);
    return std::to_string(m) + "m" + std::to_string(static_cast<int>(s - m * 60)) + "s";
}

int runCalibrate(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        "Calibrate every quantizer of a checkpoint on a data file (FP32 activations; reference §4) and write a "
        "calibrated Hugging Face folder: config, tokenizer, model.safetensors with the _amax buffers, and "
        "calibration.safetensors with the collected histograms.");
    addCommonOptions(parser);
    addDeviceOption(parser);
    parser.addOption({"model", "Checkpoint folder, file or zip.", "P"});
    parser.addOption({"data",
                      "Calibration data: .txt (one example per line), .jsonl ({\"text\", \"text_pair\"}), "
                      ".csv / .tsv (with --column).",
                      "FILE"});
    parser.addOption({"method", "Activation amax method: max, percentile, mse, entropy.", "M"});
    parser.addOption({"percentile", "Percentile for --method percentile (default 99.99).", "P", "99.99"});
    parser.addOption(
        {"weight-method", "Weight amax: max (per row, default), percentile, mse (reference §4.7).", "M", "max"});
    parser.addOption({"num-bins", "Histogram bins (default 2048).", "N", "2048"});
    parser.addOption({"profile", "Reference version profile (histogram collection path; default the build's).", "P"});
    addExampleOptions(parser, "Examples to use (default 128, as the HF example; 0 = all).", "128");
    parser.addOption({"out", "Output folder (must not exist or be empty, unless --force).", "DIR"});
    parser.addOption({"force", "Replace a non-empty output folder."});
    const CommonOptions common = parseArgs(parser, args, "calibrate");

    {
        const std::string modelPath = requireOption(parser, "model").toStdString();
        const std::string dataPath = requireOption(parser, "data").toStdString();
        const std::string methodName = requireOption(parser, "method").toStdString();
        const std::string outPath = requireOption(parser, "out").toStdString();
        const auto method = parseCalibMethod(methodName);
        if (!method)
            throw UsageError("--method must be max, percentile, mse or entropy, got '" + methodName + "'");
        const auto weightMethod = parseCalibMethod(parser.value("weight-method").toStdString());
        if (!weightMethod || *weightMethod == CalibMethod::Entropy)
            throw UsageError("--weight-method must be max, percentile or mse");
        bool ok = false;
        AmaxOptions amaxOptions;
        amaxOptions.percentile = parser.value("percentile").toDouble(&ok);
        if (!ok || !(amaxOptions.percentile >= 0.0 && amaxOptions.percentile <= 100.0))
            throw UsageError("--percentile expects a number in 0..100, got '" +
                             parser.value("percentile").toStdString() + "'");
        CalibrationOptions options;
        options.numBins = static_cast<int>(intOption(parser, "num-bins", 2));
        options.batchSize = intOption(parser, "batch", 1);
        options.maxLength = intOption(parser, "max-length", 2);
        if (parser.isSet("profile")) {
            const auto profile = parseVersionProfile(parser.value("profile").toStdString());
            if (!profile)
                throw UsageError("unknown --profile '" + parser.value("profile").toStdString() + "'");
            options.profile = *profile;
        }
        const std::int64_t samples = intOption(parser, "samples", 0);
        std::optional<std::uint64_t> seed;
        if (parser.isSet("seed"))
            seed = static_cast<std::uint64_t>(intOption(parser, "seed", 0));
        DataOptions dataOptions;
        dataOptions.column = parser.value("column").toStdString();
        dataOptions.pairColumn = parser.value("pair-column").toStdString();
        const bool force = parser.isSet("force");

        // Refuse early (before minutes of calibration) when the output is in the way.
        std::error_code ec;
        if (std::filesystem::exists(outPath, ec) && !force &&
            (!std::filesystem::is_directory(outPath, ec) || !std::filesystem::is_empty(outPath, ec)))
            throw IoError("output exists and is not an empty folder (use --force to replace it)", {outPath, {}, {}});

        const Session session = Session::open(modelPath, {deviceOption(parser)});
        const std::vector<CalibrationExample> examples =
            session.readExamples({dataPath, dataOptions, samples, seed, {}}).examples;

        const auto start = std::chrono::steady_clock::now();
        Progress progress([&](const ProgressEvent &e) {
            if (common.quiet)
                return;
            const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            if (e.stage == "calibrating" && e.total > 0) {
                char detail[128];
                if (e.done > 0 && elapsed > 0) {
                    const double rate = static_cast<double>(e.done) / elapsed;
                    std::snprintf(detail, sizeof detail, "(%lld/%lld samples, %.1f samples/s, ETA %s)",
                                  static_cast<long long>(e.done), static_cast<long long>(e.total), rate,
                                  formatSeconds(static_cast<double>(e.total - e.done) / rate).c_str());
                } else {
                    std::snprintf(detail, sizeof detail, "(%lld/%lld samples)", static_cast<long long>(e.done),
                                  static_cast<long long>(e.total));
                }
                printProgress(common.quiet, e.stage, e.done, e.total, detail);
            } else {
                printProgress(common.quiet, e.stage, e.done, e.total);
            }
        });
        const CancelOnInterrupt interruptCancels(progress);

        const std::unique_ptr<Calibrator> calibratorPtr = session.calibrate(examples, options, &progress);
        const Calibrator &calibrator = *calibratorPtr;
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

        CalibratedOutput output;
        output.directory = outPath;
        output.method = *method;
        output.weightMethod = *weightMethod;
        output.amax = amaxOptions;
        output.force = force;
        output.metadata = {{"data", dataPath}, {"model", modelPath}};
        writeCalibratedCheckpoint(session.checkpoint(), calibrator, output, &progress);

        const double rate = seconds > 0 ? static_cast<double>(calibrator.samples()) / seconds : 0.0;
        if (common.json) {
            nlohmann::json sites = nlohmann::json::array();
            for (const SiteStatistics &s : calibrator.sites()) {
                const Tensor a = calibrator.amax(s, s.isWeight ? *weightMethod : *method, amaxOptions);
                const std::vector<float> v = a.toFloatVector();
                sites.push_back({{"name", s.name},
                                 {"kind", siteKindName(s.site.kind())},
                                 {"amax_shape", a.shape()},
                                 {"amax", v.size() == 1 ? nlohmann::json(v.front()) : nlohmann::json(v)}});
            }
            printJson({{"out", outPath},
                       {"method", calibMethodName(*method)},
                       {"weight_method", calibMethodName(*weightMethod)},
                       {"percentile", amaxOptions.percentile},
                       {"samples", calibrator.samples()},
                       {"batches", calibrator.batches()},
                       {"seconds", seconds},
                       {"samples_per_second", rate},
                       {"collector_bytes", calibrator.memoryBytes()},
                       {"quantizers", sites}});
        } else {
            std::printf("calibrated %zu quantizers on %lld samples (%lld batches) in %.2fs (%.1f samples/s), method "
                        "%s\nwrote %s\n",
                        calibrator.sites().size(), static_cast<long long>(calibrator.samples()),
                        static_cast<long long>(calibrator.batches()), seconds, rate,
                        std::string(calibMethodName(*method)).c_str(), outPath.c_str());
        }
        return Ok;
    }
}

const RegisterCommand registerCalibrate({"calibrate",
                                         "Calibrate the quantizers on a data file and write a calibrated checkpoint",
                                         runCalibrate});

} // namespace
} // namespace qdq::cli

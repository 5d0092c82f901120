// qdq repair: choose, per quantizer, the calibration method's amax (or FP32 for a few) that best
// recovers the task output on a data file, and write the repaired calibrated checkpoint with a
// before/after report (issue 28; engine: qdq/sensitivity.h repairQuantization).
#include "cli/analysis_options.h"
#include "cli/cli.h"

#include "qdq/analysis.h"
#include "qdq/calibration.h"
#include "qdq/checkpoint.h"
#include "qdq/sensitivity.h"
#include "qdq/session.h"
#include "qdq/text_task.h"

#include <cstdio>
#include <string>

namespace qdq::cli {
namespace {

int runRepair(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        "Repair a calibrated checkpoint on a data file: ranks every quantizer by its effect on the task output, "
        "tries each calibration method's amax (max, percentile, mse, entropy) for the worst, leaves a few in FP32 "
        "within --max-disabled while top-1 agreement is below --target-agreement, and writes the repaired "
        "checkpoint with repair.json and repair.md (before/after).");
    addCommonOptions(parser);
    addDataOptions(parser);
    addExampleOptions(parser, "Examples to use (default 32; 0 = all).", "32");
    parser.addOption({"model", "Checkpoint folder, file or zip.", "P"});
    parser.addOption({"out", "Folder for the repaired checkpoint.", "DIR"});
    parser.addOption({"force", "Replace --out when it exists and is not empty."});
    parser.addOption({"candidates", "Quantizers whose amax is re-chosen, worst first (default 16).", "N", "16"});
    parser.addOption({"max-disabled", "Quantizers the repair may leave in FP32 (default 2).", "N", "2"});
    parser.addOption({"target-agreement",
                      "Leave quantizers in FP32 only while top-1 agreement is below this (default 0.99).", "X",
                      "0.99"});
    const CommonOptions common = parseArgs(parser, args, "repair");

    const std::string modelPath = requireOption(parser, "model").toStdString();
    const std::string out = requireOption(parser, "out").toStdString();
    const AnalysisSetup setup = analysisSetup(parser, "repair", false);
    RepairOptions options;
    options.candidates = static_cast<int>(intOption(parser, "candidates", 0));
    options.maxDisabled = static_cast<int>(intOption(parser, "max-disabled", 0));
    options.targetAgreement = fractionOption(parser, "target-agreement");
    Session session = Session::open(modelPath, {deviceOption(parser)});
    const PreparedAnalysis prepared = prepareAnalysis(parser, setup, session);
    options.task = prepared.options.task;
    options.quant = prepared.options.quant;
    options.precision = prepared.options.runQdq ? Precision::Qdq : Precision::Int8;
    options.labels = prepared.options.labels;
    options.amax = prepared.options.amax;

    Progress progress(
        [&](const ProgressEvent &e) { printProgress(common.quiet || common.json, e.stage, e.done, e.total); });
    const CancelOnInterrupt interruptCancels(progress);
    const RepairResult result =
        session.repair(prepared.examples, options, prepared.options.batchSize, prepared.options.maxLength, &progress);

    const std::string task(taskName(options.task));
    QuantizedOutput output;
    output.directory = out;
    output.force = parser.isSet("force");
    session.writeRepaired(result, output, modelPath, setup.dataPath, &progress);
    const std::string json = repairToJson(result, task);

    if (common.json) {
        nlohmann::json j = nlohmann::json::parse(json);
        j["out"] = out;
        printJson(j);
        return Ok;
    }
    std::printf("repair (%s, %s): impact %.4g -> %.4g, top-1 agreement %s -> %s\n", task.c_str(),
                std::string(precisionName(result.precision)).c_str(), result.before.impact, result.after.impact,
                percentText(result.before.top1Agreement).c_str(), percentText(result.after.top1Agreement).c_str());
    for (const RepairChange &c : result.changes)
        std::printf("  %-16s %s\n", c.action.c_str(), c.name.c_str());
    if (result.changes.empty())
        std::printf("  no change helped\n");
    std::printf("wrote %s (repair.json, repair.md)\n", out.c_str());
    return Ok;
}

const RegisterCommand registerRepair({"repair",
                                      "Re-choose amax per quantizer (and a few FP32) to recover the task output; write "
                                      "the repaired checkpoint",
                                      runRepair});

} // namespace
} // namespace qdq::cli

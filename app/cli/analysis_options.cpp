#include "cli/analysis_options.h"

#include "cli/cli.h"
#include "cli/quant_options.h"

#include "qdq/errors.h"
#include "qdq/text_task.h"

namespace qdq::cli {

void addDataOptions(QCommandLineParser &parser)
{
    addQuantOptions(parser);
    addDeviceOption(parser);
    parser.addOption({"data", "Data: .txt (one example per line), .jsonl, .csv / .tsv (with --column).", "FILE"});
    parser.addOption(
        {"task",
         "Task head for task agreement (default: the checkpoint's architecture, else its first head, else base).",
         "TASK"});
    parser.addOption({"label-column", "JSONL key of integer (or id2label) labels: adds accuracy.", "NAME"});
}

void addAnalysisOptions(QCommandLineParser &parser)
{
    addDataOptions(parser);
    parser.addOption({"sensitivity", "Also run the sensitivity sweeps (2 x layers + 9 passes per batch)."});
    parser.addOption(
        {"keep-fp32", "Groups (quantizers with --per-quantizer) suggested to keep in FP32 (default 2).", "N", "2"});
    parser.addOption({"per-quantizer",
                      "With --sensitivity: also rank every quantizer (only it quantized; all but it), and suggest "
                      "quantizers to keep in FP32 greedily, re-measuring after each (2 passes per quantizer per "
                      "batch)."});
    parser.addOption({"quantizer-layers",
                      "With --per-quantizer: only the quantizers of the N layers the layer sweep finds most harmful "
                      "(default 0 = all).",
                      "N", "0"});
    parser.addOption({"target-agreement",
                      "With --per-quantizer: the greedy suggestion stops at this top-1 agreement (default 0.99).", "X",
                      "0.99"});
    parser.addOption({"no-local", "Skip the local-error pass."});
    addExampleOptions(parser, "Examples to use (default 32; 0 = all).", "32");
}

void addExampleOptions(QCommandLineParser &parser, const QString &samplesHelp, const QString &samplesDefault)
{
    parser.addOption({"samples", samplesHelp, "N", samplesDefault});
    parser.addOption({"batch", "Examples per forward (default 8).", "B", "8"});
    parser.addOption({"max-length", "Truncate examples to this many tokens (default 128).", "L", "128"});
    parser.addOption(
        {"seed", "Shuffle the examples deterministically with this seed first (default: file order).", "S"});
    parser.addOption({"column", "Text column (CSV/TSV) or key (JSONL); default \"text\".", "NAME"});
    parser.addOption({"pair-column", "Second-segment column or key (JSONL default \"text_pair\", optional).", "NAME"});
}

AnalysisSetup analysisSetup(const QCommandLineParser &parser, const std::string &command, bool sweeps)
{
    AnalysisSetup setup;
    setup.command = command;
    setup.dataPath = requireOption(parser, "data").toStdString();
    AnalysisOptions &options = setup.options;
    options.batchSize = intOption(parser, "batch", 1);
    options.maxLength = intOption(parser, "max-length", 2);
    if (sweeps) { // the options addAnalysisOptions adds beyond addDataOptions
        options.keepFp32Budget = static_cast<int>(intOption(parser, "keep-fp32", 0));
        options.sensitivity = parser.isSet("sensitivity") || parser.isSet("per-quantizer");
        options.quantizerSensitivity = parser.isSet("per-quantizer");
        options.quantizerLayers = static_cast<int>(intOption(parser, "quantizer-layers", 0));
        options.targetAgreement = fractionOption(parser, "target-agreement");
        options.local = !parser.isSet("no-local");
    }
    setup.samples = intOption(parser, "samples", 0);
    if (parser.isSet("seed"))
        setup.seed = static_cast<std::uint64_t>(intOption(parser, "seed", 0));
    if (parser.isSet("label-column") && setup.seed)
        throw UsageError("--label-column reads labels in file order; it cannot be combined with --seed");
    setup.data.column = parser.value("column").toStdString();
    setup.data.pairColumn = parser.value("pair-column").toStdString();
    if (parser.isSet("task") && !taskFromName(parser.value("task").toStdString()))
        throw UsageError("unknown task '" + parser.value("task").toStdString() + "'");
    return setup;
}

PreparedAnalysis prepareAnalysis(const QCommandLineParser &parser, const AnalysisSetup &setup, Session &session)
{
    const Checkpoint &checkpoint = session.checkpoint();
    PreparedAnalysis prepared;
    AnalysisOptions &options = prepared.options;
    options = setup.options;
    ModelOptions modelOptions;
    applyQuantOptions(parser, checkpoint, modelOptions);
    options.quant = modelOptions.quant;
    session.setQuantConfig(modelOptions.quant);
    if (parser.isSet("precision")) {
        if (modelOptions.precision == Precision::Fp32)
            throw UsageError("--precision for " + setup.command + " is qdq or int8 (FP32 is the reference)");
        options.runQdq = modelOptions.precision == Precision::Qdq;
        options.runInt8 = modelOptions.precision == Precision::Int8;
    }
    if (parser.isSet("task")) {
        options.task = *taskFromName(parser.value("task").toStdString());
    } else {
        options.task = session.defaultTask(); // config.json's architectures first
    }
    if (options.task == Task::MultipleChoice)
        throw UsageError(setup.command +
                         " does not support multiple-choice (one example per choice); pick another --task");

    SelectedExamples selected =
        session.readExamples({setup.dataPath, setup.data, setup.samples, setup.seed,
                              parser.isSet("label-column") ? parser.value("label-column").toStdString() : ""});
    prepared.examples = std::move(selected.examples);
    options.labels = std::move(selected.labels);
    return prepared;
}

} // namespace qdq::cli

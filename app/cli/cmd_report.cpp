// qdq report: analyse one or more checkpoints on a data file and write each one's report (HTML,
// PDF, JSON, CSV, zip) plus an index comparing them; --fail-if thresholds turn the run into a CI
// gate (exit code 3). The analysis is qdq/analysis.h (as `qdq analyze`), the report model
// qdq/report.h, the renderers qdq/report_writer.h (engine export layer: QPainter charts, no widgets).
#include "cli/analysis_options.h"
#include "cli/cli.h"

#include "qdq/errors.h"
#include "qdq/io/text_file.h"
#include "qdq/report.h"
#include "qdq/report_writer.h"
#include "qdq/session.h"
#include "qdq/text_task.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QRegularExpression>

#include <cstdio>
#include <limits>
#include <set>

namespace qdq::cli {
namespace {

// A folder name per model: the checkpoint's file or folder name, made unique in the batch.
QString folderFor(const std::string &path, std::set<QString> &used)
{
    QString base = QFileInfo(QDir::cleanPath(QString::fromStdString(path))).fileName();
    base.replace(QRegularExpression(QStringLiteral("[^A-Za-z0-9._-]")), QStringLiteral("_"));
    if (base.isEmpty() || base.startsWith(QLatin1Char('.')))
        base.prepend(QStringLiteral("model"));
    QString name = base;
    for (int i = 2; used.count(name); ++i)
        name = base + QLatin1Char('-') + QString::number(i);
    used.insert(name);
    return name;
}

std::string commandLine(const QStringList &args)
{
    std::string s;
    for (const QString &a : args) {
        if (!s.empty())
            s += ' ';
        const bool quote = !s.empty() && (a.contains(QLatin1Char(' ')) || a.contains(QLatin1Char('<')) ||
                                          a.contains(QLatin1Char('>')) || a.isEmpty());
        if (quote)
            s.append(1, '\'').append(a.toStdString()).append(1, '\'');
        else
            s.append(a.toStdString());
    }
    return s;
}

// --- qdq report --index OUT DIR...: one index over report folders made elsewhere ----------------

// A report.json read back: what the index shows and what --fail-if tests.
ReportIndexEntry readReportJson(const QString &file)
{
    const std::string path = file.toStdString();
    const nlohmann::json j = io::parseJson(io::readTextFile(path), path, "report is not valid JSON");
    if (!j.is_object() || j.value("format", std::string()) != "qdq-report" || !j.contains("model") ||
        !j["model"].is_object() || !j.contains("metrics") || !j["metrics"].is_object())
        throw FormatError("not a qdq report (format \"qdq-report\" with model and metrics expected)",
                          {file.toStdString(), {}, {}});
    ReportIndexEntry entry;
    const nlohmann::json &model = j["model"];
    entry.model.name = model.value("name", std::string());
    entry.model.path = model.value("path", std::string());
    for (const auto &[name, value] : j["metrics"].items()) {
        if (value.is_number())
            entry.metrics[name] = value.get<double>();
        else if (value.is_null()) // JSON has no infinity: a lossless SQNR is written as null
            entry.metrics[name] = std::numeric_limits<double>::infinity();
        else
            throw FormatError("metric is not a number", {file.toStdString(), name, "metrics"});
    }
    // the thresholds the report was made with, evaluated again below unless --fail-if replaces them
    if (j.contains("thresholds") && j["thresholds"].is_array())
        for (const nlohmann::json &t : j["thresholds"])
            if (t.is_object() && t.contains("expression") && t["expression"].is_string())
                entry.thresholds.push_back({parseThreshold(t["expression"].get<std::string>()), {}, false});
    return entry;
}

// The report.json files under DIR: DIR itself (one model's folder), the models of a batch
// folder's index.json, or else every sub-folder holding one.
QStringList reportsIn(const QString &dir)
{
    const QDir d(dir);
    if (!d.exists())
        throw IoError("no such report folder", {dir.toStdString(), {}, {}});
    if (d.exists(QStringLiteral("report.json")))
        return {d.filePath(QStringLiteral("report.json"))};
    QStringList out;
    for (const QString &sub : d.entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name))
        if (QFileInfo::exists(d.filePath(sub + QStringLiteral("/report.json"))))
            out << d.filePath(sub + QStringLiteral("/report.json"));
    if (out.isEmpty())
        throw IoError("no report.json here or one folder down (write the reports with --format including json)",
                      {dir.toStdString(), {}, {}});
    return out;
}

int runIndex(const QCommandLineParser &parser, const CommonOptions &common, const std::vector<Threshold> &thresholds)
{
    const QString outDir = parser.value("index");
    const QStringList dirs = parser.positionalArguments();
    if (dirs.isEmpty())
        throw UsageError("--index OUT needs the report folders to merge: qdq report --index OUT DIR...");
    if (parser.isSet("model") || parser.isSet("out") || parser.isSet("data"))
        throw UsageError("--index merges existing reports: it takes no --model, --out or --data");
    if (!QDir().mkpath(outDir))
        throw IoError("cannot create the index folder", {outDir.toStdString(), {}, {}});
    const QDir out(outDir);
    std::vector<ReportIndexEntry> index;
    nlohmann::json merged = nlohmann::json::array();
    int failedModels = 0;
    std::set<QString> seen;
    for (const QString &dir : dirs)
        for (const QString &file : reportsIn(dir)) {
            const QString folder = QFileInfo(file).absolutePath();
            if (!seen.insert(QDir::cleanPath(folder)).second)
                continue; // the same report named twice (a folder and its batch folder)
            ReportIndexEntry entry = readReportJson(file);
            entry.folder = out.relativeFilePath(folder).toStdString();
            std::vector<Threshold> tests = thresholds;
            if (tests.empty())
                for (const ThresholdOutcome &t : entry.thresholds)
                    tests.push_back(t.threshold);
            entry.thresholds = evaluateThresholds(tests, entry.metrics);
            nlohmann::json crossed = nlohmann::json::array();
            for (const ThresholdOutcome &t : entry.thresholds) {
                if (!t.crossed)
                    continue;
                crossed.push_back(t.threshold.expression);
                std::fprintf(stderr, "qdq: threshold crossed: %s (%s: %s) [%s]\n", t.threshold.expression.c_str(),
                             t.threshold.metric.c_str(),
                             t.actual ? std::to_string(*t.actual).c_str() : "not available for this model",
                             qPrintable(folder));
            }
            failedModels += crossed.empty() ? 0 : 1;
            merged.push_back({{"model", entry.model.path},
                              {"folder", entry.folder},
                              {"report", file.toStdString()},
                              {"thresholds_crossed", crossed}});
            index.push_back(std::move(entry));
        }
    const std::vector<std::string> indexFiles = writeReportIndex(index, outDir.toStdString());
    if (!common.quiet && !common.json)
        for (const std::string &f : indexFiles)
            std::fprintf(stderr, "wrote %s (%d models)\n", f.c_str(), static_cast<int>(index.size()));
    if (common.json)
        printJson({{"reports", merged}, {"index", {indexFiles[0], indexFiles[1]}}, {"failed_models", failedModels}});
    if (failedModels > 0) {
        std::fprintf(stderr, "qdq: %d of %d models crossed a --fail-if threshold\n", failedModels,
                     static_cast<int>(index.size()));
        return ThresholdCrossed;
    }
    return Ok;
}

int runReport(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        "Analyse one or more checkpoints on a data file (as qdq analyze) and write a report per model into "
        "OUT/<model>/ (report.html self-contained, report.pdf, report.json, quantizers.csv, layers.csv, report.zip "
        "with all of them) and OUT/index.html + index.json comparing the models. --fail-if METRIC<VALUE (also <=, >, "
        ">=, ==, !=) fails the run with exit code 3 when it holds for any model; metrics: qdq report "
        "--list-metrics. 'qdq report --index OUT DIR...' merges report folders made elsewhere (other machines, "
        "a Slurm job array) into one index in OUT, with --fail-if (or each report's own thresholds) evaluated on "
        "it.");
    addCommonOptions(parser);
    addAnalysisOptions(parser);
    parser.addOption({"model", "Checkpoint folder, file or zip (repeat for a batch).", "P"});
    parser.addOption({"out", "Output folder (created; existing report files are replaced atomically).", "DIR"});
    parser.addOption(
        {"format", "Comma-separated: html, pdf, json, csv, zip (default all).", "LIST", "html,pdf,json,csv,zip"});
    parser.addOption(
        {"fail-if", "Threshold, e.g. 'min_layer_sqnr_db<20' (repeatable): exit code 3 when it holds.", "EXPR"});
    parser.addOption({"histograms", "Histogram charts of the worst activation quantizers (default 6).", "N", "6"});
    parser.addOption(
        {"attention-inputs", "Attention maps of the first N examples (default 2; see --attention-text).", "N", "2"});
    parser.addOption({"attention-text", "Show the attention maps of this text instead (repeatable).", "T"});
    parser.addOption({"list-metrics", "Print the metrics --fail-if accepts and exit."});
    parser.addOption({"index",
                      "Merge the report folders DIR... (a model's folder, or a batch's OUT) into one index in "
                      "this folder; no analysis is run.",
                      "OUT"});
    parser.addPositionalArgument("DIR", "With --index: report folders to merge.", "[DIR...]");
    const CommonOptions common = parseArgs(parser, args, "report", true);
    const Device device = deviceOption(parser);
    if (!parser.isSet("index") && !parser.positionalArguments().isEmpty())
        throw UsageError("unexpected argument '" + parser.positionalArguments().first().toStdString() +
                         "' (folders to merge go after --index OUT; see 'qdq report --help')");

    if (parser.isSet("list-metrics")) {
        for (const auto &[name, description] : reportMetricDescriptions())
            std::printf("%-26s %s\n", name.c_str(), description.c_str());
        return Ok;
    }
    std::vector<Threshold> thresholds;
    for (const QString &expr : parser.values("fail-if")) {
        try {
            thresholds.push_back(parseThreshold(expr.toStdString()));
        } catch (const FormatError &e) {
            throw UsageError(e.what());
        }
    }
    if (parser.isSet("index"))
        return runIndex(parser, common, thresholds);
    const QStringList models = parser.values("model");
    if (models.isEmpty())
        throw UsageError("missing --model");
    const QString outDir = requireOption(parser, "out");
    unsigned formats = 0;
    try {
        formats = parseReportFormats(parser.value("format").toStdString());
    } catch (const FormatError &e) {
        throw UsageError(e.what());
    }
    ReportRenderOptions render;
    render.histograms = static_cast<int>(intOption(parser, "histograms", 0));
    const auto attentionInputs = static_cast<std::size_t>(intOption(parser, "attention-inputs", 0));
    const AnalysisSetup setup = analysisSetup(parser, "report");
    if (!QDir().mkpath(outDir)) // before any work: a path that cannot be a folder fails at once
        throw IoError("cannot create the report folder", {outDir.toStdString(), {}, {}});
    const bool quiet = common.quiet || common.json;

    Progress progress;
    const CancelOnInterrupt interruptCancels(progress);
    std::set<QString> usedFolders;
    std::vector<ReportIndexEntry> index;
    nlohmann::json results = nlohmann::json::array();
    int failedModels = 0;
    for (int m = 0; m < models.size(); ++m) {
        const std::string modelPath = models[m].toStdString();
        std::string prefix;
        if (models.size() > 1)
            prefix.append("[")
                .append(std::to_string(m + 1))
                .append("/")
                .append(std::to_string(models.size()))
                .append("] ");
        progress.setCallback([&](const ProgressEvent &e) { printProgress(quiet, prefix + e.stage, e.done, e.total); });
        Session session = Session::open(modelPath, {device}, &progress);
        const Checkpoint &checkpoint = session.checkpoint();
        const PreparedAnalysis prepared = prepareAnalysis(parser, setup, session);
        AnalysisReport analysis = session.analyze(prepared.examples, prepared.options, &progress);
        ReportOptions reportOptions;
        reportOptions.dataFile = setup.dataPath;
        reportOptions.command = commandLine(args);
        reportOptions.attentionMaxLength = std::min<std::int64_t>(prepared.options.maxLength, 32);
        const QStringList chosen = parser.values("attention-text");
        for (const QString &text : chosen)
            reportOptions.attentionTexts.push_back(text.toStdString());
        for (std::size_t i = 0; chosen.isEmpty() && i < prepared.examples.size() && i < attentionInputs; ++i)
            reportOptions.attentionTexts.push_back(prepared.examples[i].text);
        Report report =
            buildReport(checkpoint, session.tokenizer(), std::move(analysis), session.quantConfig(), reportOptions);
        report.thresholds = evaluateThresholds(thresholds, report.metrics);

        const QString folder = folderFor(modelPath, usedFolders);
        const ReportImages images = renderReportImages(report, render);
        const std::vector<std::string> written =
            writeReport(report, images, QDir(outDir).filePath(folder).toStdString(), formats, render, &progress);

        bool failed = false;
        nlohmann::json crossed = nlohmann::json::array();
        for (const ThresholdOutcome &t : report.thresholds) {
            if (!t.crossed)
                continue;
            failed = true;
            crossed.push_back(t.threshold.expression);
            std::fprintf(stderr, "qdq: threshold crossed: %s (%s: %s) [%s]\n", t.threshold.expression.c_str(),
                         t.threshold.metric.c_str(),
                         t.actual ? std::to_string(*t.actual).c_str() : "not available for this model",
                         modelPath.c_str());
        }
        failedModels += failed ? 1 : 0;
        if (!quiet)
            for (const std::string &f : written)
                std::fprintf(stderr, "wrote %s\n", f.c_str());
        nlohmann::json files = nlohmann::json::array();
        for (const std::string &f : written)
            files.push_back(f);
        results.push_back({{"model", modelPath},
                           {"folder", folder.toStdString()},
                           {"files", files},
                           {"thresholds_crossed", crossed}});
        index.push_back({folder.toStdString(), report.model, report.metrics, report.thresholds});
    }
    const std::vector<std::string> indexFiles = writeReportIndex(index, outDir.toStdString());
    if (!quiet)
        for (const std::string &f : indexFiles)
            std::fprintf(stderr, "wrote %s\n", f.c_str());
    if (common.json)
        printJson({{"reports", results}, {"index", {indexFiles[0], indexFiles[1]}}, {"failed_models", failedModels}});
    if (failedModels > 0) {
        std::fprintf(stderr, "qdq: %d of %d models crossed a --fail-if threshold\n", failedModels,
                     static_cast<int>(models.size()));
        return ThresholdCrossed;
    }
    return Ok;
}

const RegisterCommand registerReport({"report",
                                      "Analyse checkpoints and write HTML/PDF/JSON/CSV/zip reports; --fail-if gates CI",
                                      runReport, true});

} // namespace
} // namespace qdq::cli

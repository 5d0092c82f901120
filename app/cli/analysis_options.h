#pragma once
// Options shared by the subcommands that analyse a model on a data file (analyze, report): the
// data file and its columns, the examples to use, the task head, labels, the analysis passes and
// the quantizer options of quant_options.h.

#include "qdq/analysis.h"
#include "qdq/calibration_data.h"
#include "qdq/checkpoint.h"
#include "qdq/session.h"

#include <QCommandLineParser>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace qdq::cli {

// --data, --column options, --task, --label-column and the quantizer options (repair uses these).
void addDataOptions(QCommandLineParser &parser);
// addDataOptions plus the analysis passes (--sensitivity, --per-quantizer, ...) and the examples.
void addAnalysisOptions(QCommandLineParser &parser);
// The example selection shared with calibrate: --samples (its help and default differ), --batch,
// --max-length, --seed, --column, --pair-column.
void addExampleOptions(QCommandLineParser &parser, const QString &samplesHelp, const QString &samplesDefault);

// What the options say before any model is loaded (validated: UsageError on mistakes).
struct AnalysisSetup {
    std::string command; // "analyze", "report": for messages
    std::string dataPath;
    DataOptions data;
    AnalysisOptions options; // batch, max length, passes; quant and task come per model
    std::int64_t samples = 32;
    std::optional<std::uint64_t> seed;
};
// sweeps: the parser has addAnalysisOptions' pass options (false: addDataOptions only).
AnalysisSetup analysisSetup(const QCommandLineParser &parser, const std::string &command, bool sweeps = true);

// The options and examples for one checkpoint: its quantizers (with --precision, --amax, ...; also
// set as the session's), the task head (default: the session's), the examples and labels.
struct PreparedAnalysis {
    AnalysisOptions options;
    std::vector<CalibrationExample> examples;
};
PreparedAnalysis prepareAnalysis(const QCommandLineParser &parser, const AnalysisSetup &setup, Session &session);

} // namespace qdq::cli

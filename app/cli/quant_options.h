#pragma once
// Options shared by the subcommands that run a model quantized (run, bench): --precision,
// --profile, --disable-quantizer / --enable-quantizer, --amax, --num-bits. They edit a
// QuantConfig built from the checkpoint; the checkpoint itself is never changed.

#include "qdq/checkpoint.h"
#include "qdq/model.h"

#include <QCommandLineParser>

namespace qdq::cli {

// `precisions`: the help text of --precision, e.g. "fp32, qdq or int8".
void addQuantOptions(QCommandLineParser &parser);
// Sets options.precision and options.quant from the parsed options. Throws UsageError for an
// unknown precision or profile, a malformed override, or a selector that matches no quantizer.
void applyQuantOptions(const QCommandLineParser &parser, const Checkpoint &checkpoint, ModelOptions &options);

} // namespace qdq::cli

#include "cli/quant_options.h"

#include "cli/cli.h"
#include "qdq/errors.h"
#include "qdq/quant/quant_config.h"

#include <string>

namespace qdq::cli {

namespace {

SiteSelector selector(const std::string &text, const char *option)
{
    try {
        return SiteSelector::parse(text);
    } catch (const FormatError &e) {
        throw UsageError(std::string("--") + option + ": " + e.what());
    }
}

void requireMatch(int matched, const std::string &text, const char *option)
{
    if (matched == 0)
        throw UsageError(std::string("--") + option + " " + text +
                         ": no quantizer matches (see `qdq amax --model P` for the site names)");
}

// "SEL=VALUE" -> (SEL, VALUE)
std::pair<std::string, std::string> splitAssignment(const QString &text, const char *option)
{
    const qsizetype eq = text.lastIndexOf('=');
    if (eq <= 0 || eq + 1 >= text.size())
        throw UsageError(std::string("--") + option + " expects SITE=VALUE, got '" + text.toStdString() + "'");
    return {text.left(eq).toStdString(), text.mid(eq + 1).toStdString()};
}

} // namespace

void addQuantOptions(QCommandLineParser &parser)
{
    parser.addOption({"precision", "fp32 (quantizers disabled), qdq (fake quant) or int8 (INT8 GEMMs).", "P", "fp32"});
    parser.addOption({"profile",
                      "pytorch-quantization version profile: pq-2.1.0, pq-2.1.x (default), pq-2.2-cpu, "
                      "pq-2.2-cuda.",
                      "PROFILE", "pq-2.1.x"});
    parser.addOption({"disable-quantizer",
                      "Disable quantizers (repeatable): a module path or glob, layer:N, kind:input|weight|matmul|"
                      "residual, or combinations like layer:2,kind:matmul.",
                      "PATTERN"});
    parser.addOption({"enable-quantizer", "Enable quantizers again (repeatable; applied after --disable).", "PATTERN"});
    parser.addOption({"amax",
                      "Override amax (repeatable): SITE=VALUE, SITE as for --disable-quantizer; VALUE "
                      "'dynamic' for max|x| per call.",
                      "SITE=VALUE"});
    parser.addOption({"num-bits", "Override num_bits (repeatable): SITE=N with N in 2..16.", "SITE=N"});
}

void applyQuantOptions(const QCommandLineParser &parser, const Checkpoint &checkpoint, ModelOptions &options)
{
    const std::string precisionText = parser.value("precision").toStdString();
    const auto precision = parsePrecision(precisionText);
    if (!precision)
        throw UsageError("--precision expects fp32, qdq or int8, got '" + precisionText + "'");
    const std::string profileText = parser.value("profile").toStdString();
    const auto profile = parseVersionProfile(profileText);
    if (!profile)
        throw UsageError("--profile expects pq-2.1.0, pq-2.1.x, pq-2.2-cpu or pq-2.2-cuda, got '" + profileText + "'");
    QuantConfig quant = QuantConfig::fromCheckpoint(checkpoint, *profile);
    for (const QString &p : parser.values("disable-quantizer"))
        requireMatch(quant.setEnabled(selector(p.toStdString(), "disable-quantizer"), false), p.toStdString(),
                     "disable-quantizer");
    for (const QString &p : parser.values("enable-quantizer"))
        requireMatch(quant.setEnabled(selector(p.toStdString(), "enable-quantizer"), true), p.toStdString(),
                     "enable-quantizer");
    for (const QString &a : parser.values("amax")) {
        const auto [site, value] = splitAssignment(a, "amax");
        const SiteSelector sel = selector(site, "amax");
        int matched = 0;
        if (value == "dynamic") {
            matched = quant.setDynamicAmax(sel);
        } else {
            bool ok = false;
            const float v = QString::fromStdString(value).toFloat(&ok);
            if (!ok || !(v >= 0.0F))
                throw UsageError("--amax " + a.toStdString() + ": VALUE must be a number >= 0 or 'dynamic'");
            matched = quant.setAmax(sel, v);
        }
        requireMatch(matched, a.toStdString(), "amax");
    }
    for (const QString &a : parser.values("num-bits")) {
        const auto [site, value] = splitAssignment(a, "num-bits");
        bool ok = false;
        const int bits = QString::fromStdString(value).toInt(&ok);
        if (!ok || bits < 2 || bits > 16)
            throw UsageError("--num-bits " + a.toStdString() + ": N must be in 2..16");
        requireMatch(quant.setNumBits(selector(site, "num-bits"), bits), a.toStdString(), "num-bits");
    }
    options.precision = *precision;
    options.quant = std::move(quant);
}

} // namespace qdq::cli

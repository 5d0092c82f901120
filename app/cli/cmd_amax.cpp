// qdq amax: every quantizer of a checkpoint (reference §1.2, §2.1): site path, kind, amax shape,
// amax (per-channel: min / median / max), calibrated (an `_amax` buffer) or dynamic (max|x| per
// call, §2.4), and how `--precision int8` executes it. Overrides as in `qdq run` show their effect.
#include "cli/cli.h"
#include "cli/quant_options.h"

#include "qdq/checkpoint.h"
#include "qdq/quant/quant_config.h"

#include <algorithm>
#include <cstdio>

namespace qdq::cli {
namespace {

using AmaxSummary = Spread<float>;

std::string shapeText(const SiteQuantConfig &s)
{
    return s.dynamic() ? "dynamic" : shapeString(s.amaxShape);
}

int runAmax(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription("List every quantizer: site, kind, amax, calibrated or dynamic, int8 execution.");
    addCommonOptions(parser);
    parser.addOption({"model", "Checkpoint folder or file.", "P"});
    parser.addOption({"csv", "CSV on stdout."});
    addQuantOptions(parser);
    const CommonOptions common = parseArgs(parser, args, "amax");
    const Checkpoint checkpoint = loadCheckpoint(requireOption(parser, "model").toStdString());
    ModelOptions options;
    applyQuantOptions(parser, checkpoint, options);
    const QuantConfig &quant = *options.quant;
    // "int8" column: the form under --precision int8 whatever --precision says
    const std::vector<SiteExecution> plan = quant.executionPlan(Precision::Int8);
    const std::string prefix = checkpoint.has("embeddings.word_embeddings.weight") ? "" : "bert.";

    if (common.json) {
        nlohmann::json list = nlohmann::json::array();
        for (std::size_t i = 0; i < quant.sites().size(); ++i) {
            const SiteQuantConfig &s = quant.sites()[i];
            nlohmann::json j = {{"site", s.site.modulePath(prefix)},
                                {"layer", s.site.layer},
                                {"cross_attention", s.site.crossAttention},
                                {"kind", siteKindName(s.site.kind())},
                                {"enabled", s.enabled},
                                {"num_bits", s.desc.numBits},
                                {"axis", s.desc.axis ? nlohmann::json(*s.desc.axis) : nlohmann::json(nullptr)},
                                {"calibrated", s.calibrated},
                                {"dynamic", s.dynamic()},
                                {"overridden", s.amaxOverridden},
                                {"int8_execution", executionFormName(plan[i].form)}};
            if (!plan[i].reason.empty())
                j["int8_fallback_reason"] = plan[i].reason;
            if (!s.dynamic()) {
                j["amax_shape"] = s.amaxShape;
                const AmaxSummary a = spreadOf(*s.amax);
                if (s.amax->size() == 1)
                    j["amax"] = a.max;
                else
                    j["amax"] = {{"min", a.min}, {"median", a.median}, {"max", a.max}, {"count", s.amax->size()}};
            }
            list.push_back(std::move(j));
        }
        printJson({{"model", checkpoint.source.string()},
                   {"profile", versionProfileName(quant.profile())},
                   {"quantizers", list}});
        return Ok;
    }
    const bool csv = parser.isSet("csv");
    if (csv)
        std::printf("site,kind,enabled,num_bits,shape,amax,amax_min,amax_median,amax_max,source,int8_execution,"
                    "int8_fallback_reason\n");
    else
        std::printf("%-62s %-8s %-8s %10s %10s %10s  %-10s %s\n", "site", "kind", "shape", "amax/min", "median", "max",
                    "source", "int8");
    for (std::size_t i = 0; i < quant.sites().size(); ++i) {
        const SiteQuantConfig &s = quant.sites()[i];
        const std::string source = s.amaxOverridden ? "override" : (s.calibrated ? "calibrated" : "dynamic");
        const std::string form(executionFormName(plan[i].form));
        const std::string site = s.site.modulePath(prefix);
        const std::string kind(siteKindName(s.site.kind()));
        AmaxSummary a{};
        if (!s.dynamic())
            a = spreadOf(*s.amax);
        const bool scalar = !s.dynamic() && s.amax->size() == 1;
        if (csv) {
            std::printf("%s,%s,%d,%d,%s,", site.c_str(), kind.c_str(), s.enabled ? 1 : 0, s.desc.numBits,
                        shapeText(s).c_str());
            if (s.dynamic())
                std::printf(",,,,");
            else if (scalar)
                std::printf("%.9g,,,,", static_cast<double>(a.max));
            else
                std::printf(",%.9g,%.9g,%.9g,", static_cast<double>(a.min), static_cast<double>(a.median),
                            static_cast<double>(a.max));
            std::printf("%s,%s,\"%s\"\n", source.c_str(), form.c_str(), plan[i].reason.c_str());
            continue;
        }
        char amaxText[64] = "";
        if (scalar)
            std::snprintf(amaxText, sizeof amaxText, "%10.5g %10s %10s", static_cast<double>(a.max), "", "");
        else if (!s.dynamic())
            std::snprintf(amaxText, sizeof amaxText, "%10.5g %10.5g %10.5g", static_cast<double>(a.min),
                          static_cast<double>(a.median), static_cast<double>(a.max));
        else
            std::snprintf(amaxText, sizeof amaxText, "%10s %10s %10s", "max|x|", "", "");
        std::printf("%-62s %-8s %-8s %s  %-10s %s%s%s\n", site.c_str(), kind.c_str(), shapeText(s).c_str(), amaxText,
                    source.c_str(), s.enabled ? "" : "(disabled) ", form.c_str(),
                    plan[i].reason.empty() ? "" : (" — " + plan[i].reason).c_str());
    }
    return Ok;
}

const RegisterCommand registerAmax({"amax", "List every quantizer: site, kind, amax, calibrated/dynamic, int8 form",
                                    runAmax});

} // namespace
} // namespace qdq::cli

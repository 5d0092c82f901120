// qdq onnx-amax: the amax of every quantizer site read back from a Q/DQ ONNX file (this tool's
// export or pytorch-quantization's), amax = scale x 127 (docs/qdqbert-reference.md §3.7; engine:
// qdq/io/onnx_import.h).
#include "cli/cli.h"

#include "qdq/calibration.h"
#include "qdq/checkpoint.h"
#include "qdq/io/onnx_import.h"
#include "qdq/quant/onnx_amax.h"
#include "qdq/session.h"

#include <algorithm>
#include <cstdio>

namespace qdq::cli {
namespace {

int runOnnxAmax(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription("List the amax (= scale x 127) of every quantizer site of a Q/DQ ONNX model.");
    addCommonOptions(parser);
    parser.addOption({"onnx", "ONNX file.", "F"});
    parser.addOption({"allow-unmapped", "List Q/DQ nodes that map to no quantizer site instead of failing."});
    const CommonOptions common = parseArgs(parser, args, "onnx-amax");
    OnnxImportOptions options;
    options.allowUnmapped = parser.isSet("allow-unmapped");
    const OnnxAmaxImport r = importOnnxAmax(requireOption(parser, "onnx").toStdString(), options);
    if (common.json) {
        nlohmann::json sites = nlohmann::json::array();
        for (const OnnxSiteAmax &s : r.sites) {
            nlohmann::json j = {{"site", s.site.modulePath("bert.")},
                                {"layer", s.site.layer},
                                {"kind", siteKindName(s.site.kind())},
                                {"node", s.node},
                                {"mapped_by", s.mappedBy},
                                {"int8_weights", s.int8Weights},
                                {"unsigned", s.unsignedRange}};
            if (s.amax.size() == 1) {
                j["amax"] = s.amax.front();
                j["scale"] = s.scale.front();
            } else {
                j["amax"] = s.amax;
                j["scale"] = s.scale;
                j["axis"] = s.axis;
                j["amax_shape"] = s.amaxShape;
            }
            sites.push_back(std::move(j));
        }
        nlohmann::json unmapped = nlohmann::json::array();
        for (const OnnxUnmappedQdq &u : r.unmapped)
            unmapped.push_back({{"node", u.node}, {"op_type", u.opType}, {"reason", u.reason}});
        printJson({{"onnx", r.source.string()},
                   {"producer", r.producer},
                   {"opset", r.opset},
                   {"sites", sites},
                   {"unmapped", unmapped}});
        return Ok;
    }
    std::printf("%s: %s, opset %lld, %zu quantizer sites\n", r.source.string().c_str(), r.producer.c_str(),
                static_cast<long long>(r.opset), r.sites.size());
    std::printf("%-62s %-8s %10s %10s %10s  %s\n", "site", "kind", "amax/min", "max", "channels", "mapped by");
    for (const OnnxSiteAmax &s : r.sites) {
        const auto [lo, hi] = std::minmax_element(s.amax.begin(), s.amax.end());
        const std::string kind(siteKindName(s.site.kind()));
        if (s.amax.size() == 1)
            std::printf("%-62s %-8s %10.5g %10s %10s  %s\n", s.site.modulePath("bert.").c_str(), kind.c_str(),
                        static_cast<double>(*lo), "", "", s.mappedBy.c_str());
        else
            std::printf("%-62s %-8s %10.5g %10.5g %10zu  %s\n", s.site.modulePath("bert.").c_str(), kind.c_str(),
                        static_cast<double>(*lo), static_cast<double>(*hi), s.amax.size(), s.mappedBy.c_str());
    }
    for (const OnnxUnmappedQdq &u : r.unmapped)
        std::printf("unmapped %s %s: %s\n", u.opType.c_str(), u.node.c_str(), u.reason.c_str());
    return Ok;
}

// qdq import-onnx-amax: the scales of a Q/DQ ONNX file written into a calibrated checkpoint.
int runImportOnnxAmax(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        "Write the amax (= scale x 127) of every Q/DQ pair of an ONNX file into a copy of a checkpoint (a calibrated "
        "checkpoint whose quantizers match the ONNX model), with a mapping report (onnx-import.json).");
    addCommonOptions(parser);
    parser.addOption({"model", "Checkpoint folder, file or zip (weights and configuration).", "P"});
    parser.addOption({"onnx", "Q/DQ ONNX file (this tool's export or pytorch-quantization's).", "F"});
    parser.addOption({"out", "Folder for the new checkpoint.", "DIR"});
    parser.addOption({"force", "Replace --out when it exists and is not empty."});
    parser.addOption({"allow-unmapped", "Ignore Q/DQ nodes that map to no quantizer site instead of failing."});
    parser.addOption({"disable-missing",
                      "Disable the quantizers the ONNX file has no Q/DQ for (as TensorRT runs them); default: keep "
                      "them as they are."});
    const CommonOptions common = parseArgs(parser, args, "import-onnx-amax");
    const std::string out = requireOption(parser, "out").toStdString();
    OnnxImportOptions importOptions;
    importOptions.allowUnmapped = parser.isSet("allow-unmapped");
    const std::string onnx = requireOption(parser, "onnx").toStdString();
    const Session session = Session::open(requireOption(parser, "model").toStdString());
    QuantizedOutput output;
    output.directory = out;
    output.force = parser.isSet("force");
    const Session::OnnxScales scales =
        session.importOnnxScales(onnx, importOptions, kDefaultVersionProfile, parser.isSet("disable-missing"), output);
    const OnnxAmaxApplied &applied = scales.applied;
    if (common.json) {
        nlohmann::json report = nlohmann::json::parse(scales.json);
        report["out"] = out;
        printJson(report);
        return Ok;
    }
    std::printf("%s -> %s: %d quantizers set from the ONNX file, %d kept, %d disabled\n",
                scales.source.string().c_str(), out.c_str(), applied.set, applied.kept, applied.disabled);
    std::printf("%-62s %10s %10s %9s  %s\n", "site", "before", "after", "ratio", "status");
    for (const OnnxAmaxMapping &m : applied.mappings) {
        char before[32] = "dynamic", after[32] = "-", ratio[32] = "";
        if (m.amaxBefore)
            std::snprintf(before, sizeof before, "%.5g", *m.amaxBefore);
        if (m.amaxAfter)
            std::snprintf(after, sizeof after, "%.5g", *m.amaxAfter);
        if (m.amaxBefore && m.amaxAfter && *m.amaxBefore > 0.0)
            std::snprintf(ratio, sizeof ratio, "%.4f", *m.amaxAfter / *m.amaxBefore);
        std::printf("%-62s %10s %10s %9s  %s\n", m.site.modulePath("bert.").c_str(), before, after, ratio,
                    m.status.c_str());
    }
    return Ok;
}

const RegisterCommand registerImportOnnxAmax({"import-onnx-amax",
                                              "Write the amax of a Q/DQ ONNX file into a copy of a checkpoint",
                                              runImportOnnxAmax});

const RegisterCommand registerOnnxAmax({"onnx-amax", "List the amax per quantizer site of a Q/DQ ONNX file",
                                        runOnnxAmax});

} // namespace
} // namespace qdq::cli

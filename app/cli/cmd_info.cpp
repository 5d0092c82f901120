// qdq info: what a checkpoint holds — format, config, tensors by dtype, heads, quantizers
// (calibrated or dynamic), missing/unexpected keys and the loader's warnings.
#include "cli/cli.h"

#include "qdq/checkpoint.h"
#include "qdq/quant/quant_config.h"

#include <algorithm>
#include <cstdio>
#include <map>

namespace qdq::cli {
namespace {

struct DTypeTotals {
    std::int64_t count = 0;
    std::uint64_t bytes = 0;
};

std::string siteName(const QuantizerInfo &q)
{
    std::string key = q.amaxKey;
    return key.substr(0, key.size() - std::string_view("._amax").size());
}

nlohmann::json infoJson(const Checkpoint &ckpt, const std::map<std::string, DTypeTotals> &byDType)
{
    nlohmann::json dtypes = nlohmann::json::object();
    std::int64_t count = 0;
    std::uint64_t bytes = 0;
    for (const auto &[name, t] : byDType) {
        dtypes[name] = {{"count", t.count}, {"bytes", t.bytes}};
        count += t.count;
        bytes += t.bytes;
    }
    nlohmann::json sites = nlohmann::json::array();
    int perChannel = 0;
    const QuantConfig quant = QuantConfig::fromCheckpoint(ckpt);
    for (const QuantizerInfo &q : ckpt.quantizers) {
        perChannel += q.perChannel ? 1 : 0;
        const SiteExecution e = quant.execution(q.site, Precision::Int8);
        nlohmann::json s = {{"name", siteName(q)},
                            {"layer", q.site.layer},
                            {"cross_attention", q.site.crossAttention},
                            {"kind", siteKindName(q.site.kind())},
                            {"calibrated", q.calibrated},
                            {"int8_execution", executionFormName(e.form)}};
        if (!e.reason.empty())
            s["int8_fallback_reason"] = e.reason;
        if (q.calibrated) {
            s["amax_shape"] = q.amaxShape;
            s["amax_dtype"] = dtypeName(q.amaxDType);
            s["per_channel"] = q.perChannel;
        }
        sites.push_back(std::move(s));
    }
    std::vector<std::string> tokenizer;
    for (const auto &[name, text] : ckpt.tokenizerFiles)
        tokenizer.push_back(name);
    const int calibrated = ckpt.calibratedQuantizers();
    return {{"source", ckpt.source.string()},
            {"format", ckpt.format},
            {"container", ckpt.container},
            {"weight_files", ckpt.weightFiles},
            {"config_source", ckpt.configFromFile ? "file" : "inferred"},
            {"config", nlohmann::json::parse(ckpt.config.toJson())},
            {"tensors", {{"count", count}, {"bytes", bytes}, {"by_dtype", dtypes}}},
            {"heads", ckpt.heads},
            {"quantizers",
             {{"total", ckpt.quantizers.size()},
              {"calibrated", calibrated},
              {"dynamic", static_cast<int>(ckpt.quantizers.size()) - calibrated},
              {"per_channel", perChannel},
              {"sites", sites}}},
            {"missing_keys", ckpt.missingKeys},
            {"unexpected_keys", ckpt.unexpectedKeys},
            {"tied_keys", ckpt.tiedKeys},
            {"tokenizer_files", tokenizer},
            {"warnings", ckpt.warnings}};
}

void printList(const char *title, const std::vector<std::string> &items, std::size_t max = 10)
{
    if (items.empty())
        return;
    std::printf("%s (%zu):\n", title, items.size());
    for (std::size_t i = 0; i < items.size() && i < max; ++i)
        std::printf("  %s\n", items[i].c_str());
    if (items.size() > max)
        std::printf("  ... %zu more\n", items.size() - max);
}

void printText(const Checkpoint &ckpt, const std::map<std::string, DTypeTotals> &byDType)
{
    const BertConfig &c = ckpt.config;
    std::printf("source      %s\n", ckpt.source.c_str());
    std::printf("format      %s (%s)\n", ckpt.format.c_str(), ckpt.container.c_str());
    for (const std::string &f : ckpt.weightFiles)
        std::printf("weights     %s\n", f.c_str());
    std::printf("config      %s: %lld layers, hidden %lld, heads %lld, intermediate %lld, vocab %lld, "
                "positions %lld (%s), %s%s\n",
                ckpt.configFromFile ? "config.json" : "inferred from shapes", static_cast<long long>(c.numHiddenLayers),
                static_cast<long long>(c.hiddenSize), static_cast<long long>(c.numAttentionHeads),
                static_cast<long long>(c.intermediateSize), static_cast<long long>(c.vocabSize),
                static_cast<long long>(c.maxPositionEmbeddings), c.positionEmbeddingType.c_str(), c.hiddenAct.c_str(),
                c.isDecoder ? ", decoder" : "");
    std::int64_t count = 0;
    std::uint64_t bytes = 0;
    for (const auto &[name, t] : byDType) {
        count += t.count;
        bytes += t.bytes;
    }
    std::printf("tensors     %lld, %.2f MB\n", static_cast<long long>(count), static_cast<double>(bytes) / 1e6);
    for (const auto &[name, t] : byDType)
        std::printf("  %-6s    %lld tensors, %.2f MB\n", name.c_str(), static_cast<long long>(t.count),
                    static_cast<double>(t.bytes) / 1e6);
    std::string heads;
    for (const std::string &h : ckpt.heads)
        heads += (heads.empty() ? "" : ", ") + h;
    std::printf("heads       %s\n", heads.empty() ? "none (bare encoder)" : heads.c_str());
    const int calibrated = ckpt.calibratedQuantizers();
    int perChannel = 0;
    for (const QuantizerInfo &q : ckpt.quantizers)
        perChannel += q.perChannel ? 1 : 0;
    std::printf("quantizers  %d of %zu calibrated (%d per-channel), %zu dynamic\n", calibrated, ckpt.quantizers.size(),
                perChannel, ckpt.quantizers.size() - static_cast<std::size_t>(calibrated));
    std::vector<std::string> dynamic;
    for (const QuantizerInfo &q : ckpt.quantizers)
        if (!q.calibrated)
            dynamic.push_back(siteName(q));
    if (calibrated > 0)
        printList("dynamic quantizers (no _amax)", dynamic);
    // --precision int8: which sites feed s8 GEMMs and which stay fake quant (never a silent fallback)
    const QuantConfig quant = QuantConfig::fromCheckpoint(ckpt);
    int gemm = 0;
    int residual = 0;
    std::vector<std::string> fallbacks;
    for (const SiteExecution &e : quant.executionPlan(Precision::Int8)) {
        if (e.form == ExecutionForm::Int8Gemm)
            ++gemm;
        else if (e.site.kind() == SiteKind::Residual)
            ++residual;
        else if (e.form == ExecutionForm::FakeQuant)
            fallbacks.push_back(e.site.modulePath() + ": " + e.reason);
    }
    if (!ckpt.quantizers.empty()) {
        std::printf("int8        %d sites as INT8 GEMM operands (linears, Q.K^T, P.V), %d residual-add sites as fake "
                    "quant (f32 add + LayerNorm), %zu other sites fake quant\n",
                    gemm, residual, fallbacks.size());
        printList("int8 fallbacks to fake quant", fallbacks, 100);
    }
    std::vector<std::string> tokenizer;
    for (const auto &[name, text] : ckpt.tokenizerFiles)
        tokenizer.push_back(name);
    printList("tokenizer files", tokenizer);
    printList("missing keys", ckpt.missingKeys);
    printList("unexpected keys", ckpt.unexpectedKeys);
    printList("tied keys", ckpt.tiedKeys);
    printList("warnings", ckpt.warnings, 100);
}

int runInfo(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        "Show what a checkpoint holds: format, config, tensors, heads, quantizers and warnings.\n"
        "P is a Hugging Face folder, a weights file (.safetensors, .bin, .pt, .pth; sniffed from content) or a "
        ".zip of a folder.");
    addCommonOptions(parser);
    parser.addOption({"model", "Checkpoint folder, file or zip.", "P"});
    parser.addOption({"heads", "Attention heads when there is no config.json (default hidden/64).", "N"});
    const CommonOptions common = parseArgs(parser, args, "info");
    const std::string path = requireOption(parser, "model").toStdString();
    LoadOptions options;
    if (parser.isSet("heads"))
        options.numAttentionHeads = intOption(parser, "heads", 1);
    bool lineOpen = false; // a progress line without its newline: errors must start on a line of their own
    Progress progress([&](const ProgressEvent &e) {
        printProgress(common.quiet, e.stage, e.done, e.total);
        lineOpen = !common.quiet && !(e.total > 0 && e.done >= e.total);
    });
    Checkpoint ckpt;
    try {
        ckpt = loadCheckpoint(path, &progress, options);
    } catch (...) {
        if (lineOpen)
            std::fputc('\n', stderr);
        throw;
    }
    // stored tensors only: tied aliases share the bytes of the tensor they alias
    std::map<std::string, DTypeTotals> byDType;
    for (const auto &[name, t] : ckpt.tensors) {
        if (std::find(ckpt.tiedKeys.begin(), ckpt.tiedKeys.end(), name) != ckpt.tiedKeys.end())
            continue;
        DTypeTotals &d = byDType[std::string(dtypeName(t.dtype()))];
        ++d.count;
        d.bytes += t.nbytes();
    }
    if (common.json)
        printJson(infoJson(ckpt, byDType));
    else
        printText(ckpt, byDType);
    return Ok;
}

const RegisterCommand registerInfo({"info", "Show a checkpoint's format, config, tensors, heads and quantizers",
                                    runInfo});

} // namespace
} // namespace qdq::cli

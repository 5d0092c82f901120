// Reading quantizer scales back from a Q/DQ ONNX model (docs/qdqbert-reference.md §3.7).
#include "qdq/io/onnx_import.h"
#include "qdq/io/text_file.h"

#include "qdq/errors.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>

namespace qdq {

const OnnxSiteAmax *OnnxAmaxImport::find(const QuantizerSite &site) const
{
    for (const OnnxSiteAmax &s : sites)
        if (s.site == site)
            return &s;
    return nullptr;
}

namespace {

// Constant values of a graph: initializers and Constant nodes' outputs.
struct Constants {
    std::map<std::string, const onnx::TensorProto *> tensors;

    explicit Constants(const onnx::GraphProto &g)
    {
        for (const onnx::TensorProto &t : g.initializer())
            tensors[t.name()] = &t;
        for (const onnx::NodeProto &n : g.node()) {
            if (n.op_type() != "Constant" || n.output_size() != 1)
                continue;
            for (const onnx::AttributeProto &a : n.attribute())
                if (a.name() == "value" && a.has_t())
                    tensors[n.output(0)] = &a.t();
        }
    }
    [[nodiscard]] const onnx::TensorProto *find(const std::string &name) const
    {
        const auto it = tensors.find(name);
        return it == tensors.end() ? nullptr : it->second;
    }
};

// The element count the dims declare; nullopt for a negative dim or a count that overflows
// (an untrusted file: checked before anything is sized from it).
std::optional<std::size_t> elementCount(const onnx::TensorProto &t)
{
    std::size_t n = 1;
    for (const std::int64_t d : t.dims()) {
        if (d < 0)
            return std::nullopt;
        const auto u = static_cast<std::size_t>(d);
        if (u != 0 && n > std::numeric_limits<std::size_t>::max() / u)
            return std::nullopt;
        n *= u;
    }
    return n;
}

// Float values of a FLOAT tensor (raw_data or float_data); nullopt for another type.
std::optional<std::vector<float>> floatValues(const onnx::TensorProto &t)
{
    if (t.data_type() != onnx::TensorProto::FLOAT || t.data_location() == onnx::TensorProto::EXTERNAL)
        return std::nullopt;
    const std::optional<std::size_t> count = elementCount(t);
    if (!count)
        return std::nullopt;
    const std::size_t n = *count;
    std::vector<float> v;
    if (t.has_raw_data()) {
        if (t.raw_data().size() % sizeof(float) != 0 || t.raw_data().size() / sizeof(float) != n)
            return std::nullopt;
        v.resize(n);
        std::memcpy(v.data(), t.raw_data().data(), t.raw_data().size());
    } else {
        if (static_cast<std::size_t>(t.float_data_size()) != n)
            return std::nullopt;
        v.assign(t.float_data().begin(), t.float_data().end());
    }
    return v;
}

// Whether every zero-point value is 0 (raw_data or int32_data, int8 / uint8).
bool zeroPointIsZero(const onnx::TensorProto &t)
{
    if (t.has_raw_data())
        return std::all_of(t.raw_data().begin(), t.raw_data().end(), [](char c) { return c == 0; });
    return std::all_of(t.int32_data().begin(), t.int32_data().end(), [](std::int32_t v) { return v == 0; });
}

std::int64_t axisOf(const onnx::NodeProto &n)
{
    for (const onnx::AttributeProto &a : n.attribute())
        if (a.name() == "axis")
            return a.i();
    return 1; // opset 13 default
}

// "bert.encoder.layer.0.attention.self.query._input_quantizer/QuantizeLinear" (this tool) or
// "/bert/encoder/layer.0/attention/self/query/_input_quantizer/QuantizeLinear" (torch.onnx).
std::optional<QuantizerSite> siteFromName(std::string name)
{
    for (const char *suffix : {"/QuantizeLinear", "/DequantizeLinear", ".scale", ".zero_point"}) {
        const std::size_t len = std::strlen(suffix);
        if (name.size() > len && name.compare(name.size() - len, len, suffix) == 0) {
            name.resize(name.size() - len);
            break;
        }
    }
    std::replace(name.begin(), name.end(), '/', '.');
    return QuantizerSite::fromKey(name);
}

// "<...>.query.weight" -> the weight quantizer of that linear.
std::optional<QuantizerSite> weightSiteOf(const std::string &initializer)
{
    constexpr std::string_view suffix = ".weight";
    if (initializer.size() <= suffix.size() ||
        initializer.compare(initializer.size() - suffix.size(), suffix.size(), suffix) != 0)
        return std::nullopt;
    const std::optional<QuantizerSite> s =
        QuantizerSite::fromKey(initializer.substr(0, initializer.size() - suffix.size()) + "._weight_quantizer");
    if (s && s->kind() == SiteKind::Weight)
        return s;
    return std::nullopt;
}

// The input site of the linear whose weight site is `w` (reference §1.2: rows 2k -> 2k-1).
QuantizerSite inputSiteOf(QuantizerSite w)
{
    w.id = static_cast<SiteId>(static_cast<int>(w.id) - 1);
    return w;
}

class Importer {
public:
    Importer(const onnx::ModelProto &model, std::string name, const OnnxImportOptions &options)
        : m_model(model), m_graph(model.graph()), m_name(std::move(name)), m_options(options), m_constants(m_graph)
    {
        for (const onnx::NodeProto &n : m_graph.node()) {
            for (const std::string &o : n.output())
                m_producer[o] = &n;
            for (const std::string &i : n.input())
                m_consumers[i].push_back(&n);
            if (n.op_type() == "DequantizeLinear" && n.input_size() > 0)
                m_dequantized.insert(n.input(0));
        }
    }

    OnnxAmaxImport run()
    {
        OnnxAmaxImport result;
        result.source = m_name;
        result.producer =
            m_model.producer_name() + (m_model.producer_version().empty() ? "" : " " + m_model.producer_version());
        for (const onnx::OperatorSetIdProto &o : m_model.opset_import())
            if (o.domain().empty() || o.domain() == "ai.onnx")
                result.opset = o.version();
        int qdqNodes = 0;
        for (const onnx::NodeProto &n : m_graph.node()) {
            if (n.op_type() == "QuantizeLinear") {
                ++qdqNodes;
                if (n.output_size() < 1) {
                    result.unmapped.push_back({nodeName(n), n.op_type(), "QuantizeLinear without an output"});
                    continue;
                }
                // a set lookup: scanning the consumers for every QuantizeLinear was quadratic in a
                // graph where many nodes share one tensor name
                const bool paired = m_dequantized.count(n.output(0)) != 0;
                if (!paired)
                    result.unmapped.push_back({nodeName(n), n.op_type(), "QuantizeLinear without a DequantizeLinear"});
            } else if (n.op_type() == "DequantizeLinear") {
                ++qdqNodes;
                dequantize(n, result);
            }
        }
        if (qdqNodes == 0)
            throw FormatError("the ONNX model has no QuantizeLinear / DequantizeLinear nodes: not a Q/DQ model "
                              "(export it with quantizers enabled, reference §3.7)",
                              {m_name, {}, {}});
        shareDeduplicated(result);
        std::sort(result.sites.begin(), result.sites.end(),
                  [](const OnnxSiteAmax &a, const OnnxSiteAmax &b) { return a.site < b.site; });
        if (!result.unmapped.empty() && !m_options.allowUnmapped) {
            std::string list;
            for (std::size_t i = 0; i < result.unmapped.size() && i < 3; ++i)
                list += (i ? "; " : "") + result.unmapped[i].node + ": " + result.unmapped[i].reason;
            if (result.unmapped.size() > 3)
                list += "; and " + std::to_string(result.unmapped.size() - 3) + " more";
            throw FormatError(std::to_string(result.unmapped.size()) +
                                  " Q/DQ node(s) map to no QDQBERT quantizer site (" + list + ")",
                              {m_name, result.unmapped.front().node, {}});
        }
        return result;
    }

private:
    static std::string nodeName(const onnx::NodeProto &n)
    {
        if (!n.name().empty())
            return n.name();
        return n.output_size() > 0 ? n.output(0) : "(unnamed " + n.op_type() + ")";
    }

    void dequantize(const onnx::NodeProto &dq, OnnxAmaxImport &result)
    {
        auto unmapped = [&](const std::string &reason) {
            result.unmapped.push_back({nodeName(dq), dq.op_type(), reason});
        };
        if (dq.input_size() < 2 || dq.output_size() < 1)
            return unmapped("DequantizeLinear without a scale input");
        const onnx::TensorProto *scaleT = m_constants.find(dq.input(1));
        const std::optional<std::vector<float>> scale = scaleT ? floatValues(*scaleT) : std::nullopt;
        if (!scale || scale->empty())
            return unmapped("scale \"" + dq.input(1) + "\" is not a float constant");
        for (const float sc : *scale)
            if (!std::isfinite(sc) || sc < 0.0F ||
                static_cast<double>(sc) * 255.0 > static_cast<double>(std::numeric_limits<float>::max()))
                return unmapped("scale \"" + dq.input(1) + "\" holds " + std::to_string(sc) +
                                ", not a finite non-negative scale");
        bool isUnsigned = false;
        if (dq.input_size() >= 3 && !dq.input(2).empty()) {
            const onnx::TensorProto *zp = m_constants.find(dq.input(2));
            if (!zp)
                return unmapped("zero point \"" + dq.input(2) + "\" is not a constant");
            if (!zeroPointIsZero(*zp))
                return unmapped("non-zero zero point (QDQBERT quantizers are symmetric)");
            isUnsigned = zp->data_type() == onnx::TensorProto::UINT8;
        } else {
            isUnsigned = true; // ONNX: an absent zero point means uint8 0
        }

        // the quantized tensor: a QuantizeLinear's output, or an integer initializer (int8 weights)
        const auto prod = m_producer.find(dq.input(0));
        const onnx::NodeProto *q =
            prod != m_producer.end() && prod->second->op_type() == "QuantizeLinear" ? prod->second : nullptr;
        const bool int8Weights = q == nullptr && m_constants.find(dq.input(0)) != nullptr;
        if (!q && !int8Weights)
            return unmapped("input \"" + dq.input(0) + "\" is neither a QuantizeLinear output nor an initializer");
        if (q && q->input_size() >= 2) {
            const onnx::TensorProto *qs = m_constants.find(q->input(1));
            const std::optional<std::vector<float>> qScale = qs ? floatValues(*qs) : std::nullopt;
            if (!qScale || *qScale != *scale)
                return unmapped("QuantizeLinear and DequantizeLinear scales differ");
        }
        const std::string source = q && q->input_size() > 0 ? q->input(0) : dq.input(0);

        OnnxSiteAmax s;
        std::optional<QuantizerSite> site;
        if ((site = siteFromName(dq.name())) || (q && (site = siteFromName(q->name()))) ||
            (site = siteFromName(dq.input(1)))) {
            s.mappedBy = "name";
        } else if ((site = weightSiteOf(source))) {
            s.mappedBy = "weight-initializer";
        } else if ((site = linearInputSite(dq.output(0), {}))) {
            s.mappedBy = "matmul-operand";
        } else if ((site = residualSite(dq.output(0), {}))) {
            s.mappedBy = "residual-operand";
        } else {
            return unmapped("maps to no quantizer site (name \"" + nodeName(dq) + "\", input \"" + source + "\")");
        }
        if (result.find(*site))
            return unmapped("a second Q/DQ for " + site->modulePath());
        const bool perChannel = scale->size() > 1;
        if (perChannel && !siteIsWeight(site->id))
            return unmapped("per-channel scale at the activation site " + site->modulePath());
        s.site = *site;
        s.node = nodeName(dq);
        s.scale = *scale;
        s.unsignedRange = isUnsigned;
        s.int8Weights = int8Weights;
        s.axis = perChannel ? static_cast<int>(axisOf(dq)) : -1;
        // amax = scale x B, in double then rounded once to f32 (within 1 ulp of the exported amax)
        const double bound = isUnsigned ? 255.0 : 127.0;
        for (float sc : *scale)
            s.amax.push_back(static_cast<float>(static_cast<double>(sc) * bound));
        if (perChannel)
            s.amaxShape = {static_cast<std::int64_t>(scale->size()), 1};
        m_mapped[dq.output(0)] = result.sites.size();
        result.sites.push_back(std::move(s));
    }

    // torch.onnx.export merges identical Q/DQ pairs (common subexpression elimination): the
    // query, key and value input quantizers see the same tensor with the same calibrated amax,
    // so one pair feeds three MatMuls, and a residual quantizer can share the pair of the next
    // linear's input. Each consumer that is a quantized linear or a residual add gets the site
    // it implies, with the shared scale.
    void shareDeduplicated(OnnxAmaxImport &result) const
    {
        for (const auto &[tensor, index] : m_mapped) {
            for (;;) {
                const OnnxSiteAmax &owner = result.sites[index];
                std::optional<QuantizerSite> site = linearInputSite(tensor, &result);
                std::string by = "shared-matmul-operand";
                if (!site) {
                    site = residualSite(tensor, &result);
                    by = "shared-residual-operand";
                }
                if (!site)
                    break;
                OnnxSiteAmax copy = owner;
                copy.site = *site;
                copy.mappedBy = by;
                result.sites.push_back(std::move(copy));
            }
        }
    }

    // The dequantized tensor feeds a MatMul / Gemm whose other operand is a (dequantized,
    // possibly transposed) weight initializer "<...>.weight": that linear's input quantizer.
    // With `taken`: the first such site not yet in it (for shared pairs).
    std::optional<QuantizerSite> linearInputSite(const std::string &tensor, const OnnxAmaxImport *taken) const
    {
        const auto c = m_consumers.find(tensor);
        if (c == m_consumers.end())
            return std::nullopt;
        for (const onnx::NodeProto *n : c->second) {
            if ((n->op_type() != "MatMul" && n->op_type() != "Gemm") || n->input_size() < 2)
                continue;
            const std::string &other = n->input(0) == tensor ? n->input(1) : n->input(0);
            if (const std::optional<QuantizerSite> w = weightBehind(other, 4)) {
                const QuantizerSite in = inputSiteOf(*w);
                if (!taken || !taken->find(in))
                    return in;
            }
        }
        return std::nullopt;
    }

    // The dequantized tensor is one addend of an Add whose other addend is the dequantized
    // output of an add_local_input_quantizer: the residual quantizer of that block
    // (reference §1.2 rows 13/14 and 19/20).
    std::optional<QuantizerSite> residualSite(const std::string &tensor, const OnnxAmaxImport *taken) const
    {
        const auto c = m_consumers.find(tensor);
        if (c == m_consumers.end())
            return std::nullopt;
        for (const onnx::NodeProto *n : c->second) {
            if (n->op_type() != "Add" || n->input_size() != 2)
                continue;
            const std::string &other = n->input(0) == tensor ? n->input(1) : n->input(0);
            const auto p = m_producer.find(other);
            if (p == m_producer.end() || p->second->op_type() != "DequantizeLinear")
                continue;
            std::optional<QuantizerSite> local = siteFromName(p->second->name());
            if (!local && p->second->input_size() > 0) {
                const auto q = m_producer.find(p->second->input(0));
                if (q != m_producer.end())
                    local = siteFromName(q->second->name());
            }
            if (!local || (local->id != SiteId::AttnOutputLocal && local->id != SiteId::OutputLocal))
                continue;
            QuantizerSite residual = *local;
            residual.id = local->id == SiteId::AttnOutputLocal ? SiteId::AttnOutputResidual : SiteId::OutputResidual;
            if (!taken || !taken->find(residual))
                return residual;
        }
        return std::nullopt;
    }
    std::optional<QuantizerSite> weightBehind(const std::string &tensor, int depth) const
    {
        if (const std::optional<QuantizerSite> w = weightSiteOf(tensor); w && m_constants.find(tensor))
            return w;
        const auto p = m_producer.find(tensor);
        if (depth == 0 || p == m_producer.end())
            return std::nullopt;
        const std::string &op = p->second->op_type();
        if (op != "Transpose" && op != "DequantizeLinear" && op != "QuantizeLinear" && op != "Identity" && op != "Cast")
            return std::nullopt;
        return p->second->input_size() > 0 ? weightBehind(p->second->input(0), depth - 1) : std::nullopt;
    }

    const onnx::ModelProto &m_model;
    const onnx::GraphProto &m_graph;
    std::string m_name;
    const OnnxImportOptions &m_options;
    Constants m_constants;
    std::map<std::string, const onnx::NodeProto *> m_producer;
    std::map<std::string, std::vector<const onnx::NodeProto *>> m_consumers;
    std::set<std::string> m_dequantized;         // tensors some DequantizeLinear reads
    std::map<std::string, std::size_t> m_mapped; // dequantized tensor -> index in the result's sites
};

} // namespace

OnnxAmaxImport importOnnxAmaxFromBytes(const std::string &bytes, const std::string &name,
                                       const OnnxImportOptions &options)
{
    if (bytes.size() > static_cast<std::size_t>(INT_MAX))
        throw UnsupportedError("ONNX files over 2 GB are not supported", {name, {}, {}});
    onnx::ModelProto model;
    if (bytes.empty() || !model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
        throw FormatError("not a valid ONNX model: the protobuf is invalid or truncated", {name, {}, {}});
    if (!model.has_graph() || model.graph().node_size() == 0)
        throw FormatError("not a valid ONNX model: no graph nodes (truncated or not an ONNX file)", {name, {}, {}});
    return Importer(model, name, options).run();
}

OnnxAmaxImport importOnnxAmax(const std::filesystem::path &path, const OnnxImportOptions &options)
{
    io::requireRegularFile(path); // a device or FIFO would be read forever
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw IoError("cannot open the ONNX file", {path.string(), {}, {}});
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad())
        throw IoError("cannot read the ONNX file", {path.string(), {}, {}});
    OnnxAmaxImport result = importOnnxAmaxFromBytes(buffer.str(), path.string(), options);
    result.source = path;
    return result;
}

Checkpoint checkpointWithOnnxAmax(const Checkpoint &base, const OnnxAmaxImport &onnx)
{
    // Checkpoint holds move-only tensors: copy field by field, the tensors as aliases
    Checkpoint out;
    out.config = base.config;
    out.configFromFile = base.configFromFile;
    for (const auto &[name, t] : base.tensors)
        out.tensors.emplace(name, t.alias());
    out.format = base.format;
    out.container = base.container;
    out.weightFiles = base.weightFiles;
    out.tokenizerFiles = base.tokenizerFiles;
    out.heads = base.heads;
    out.quantizers = base.quantizers;
    out.missingKeys = base.missingKeys;
    out.unexpectedKeys = base.unexpectedKeys;
    out.tiedKeys = base.tiedKeys;
    out.warnings = base.warnings;
    for (QuantizerInfo &q : out.quantizers) {
        out.tensors.erase(q.amaxKey);
        const OnnxSiteAmax *s = onnx.find(q.site);
        q.calibrated = s != nullptr;
        q.perChannel = s && s->amax.size() > 1;
        q.amaxShape = s ? s->amaxShape : Shape{};
        q.amaxDType = DType::F32;
        if (s)
            out.tensors.insert_or_assign(q.amaxKey,
                                         Tensor::fromValues<float>(s->amaxShape, std::span<const float>(s->amax)));
    }
    out.source = onnx.source;
    return out;
}

} // namespace qdq

// Q/DQ ONNX export (docs/qdqbert-reference.md §3.7), the graph mirroring QDQBertModel's forward
// (engine/src/model/model.cpp; reference §1.2 for the quantizer sites, §5 for the numerics).
#include "qdq/io/onnx_export.h"

#include "qdq/errors.h"
#include "qdq/io/atomic_file.h"
#include "qdq/version.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <set>

namespace qdq {

std::string_view onnxWeightFormName(OnnxWeightForm form) noexcept
{
    return form == OnnxWeightForm::Int8 ? "int8" : "fp32";
}

namespace {

constexpr std::int64_t kOpset = 13;
constexpr std::int64_t kIrVersion = 7; // the IR version of opset 13
const std::string kPrefix = "bert.";   // checkpoint keys are normalised to carry it (checkpoint.h)

// Scale and zero point of one exported quantizer.
struct QdqParams {
    std::vector<float> scale; // size 1: per tensor
    bool isUnsigned = false;
    float maxBound = 127.0F;
};

class Exporter {
public:
    Exporter(const Checkpoint &checkpoint, const QuantConfig &quant, const OnnxExportOptions &options)
        : m_ck(checkpoint), m_quant(quant), m_opt(options), m_config(checkpoint.config)
    {
    }

    onnx::ModelProto build(OnnxExportSummary &summary)
    {
        checkSupported();
        onnx::ModelProto model;
        model.set_ir_version(kIrVersion);
        model.set_producer_name("qdq-inspector");
        model.set_producer_version(versionString());
        model.set_doc_string("QDQBERT " + std::string(taskName(m_opt.task)) +
                             " with Q/DQ at the enabled quantizer sites (docs/qdqbert-reference.md §3.7)");
        onnx::OperatorSetIdProto *opset = model.add_opset_import();
        opset->set_domain("");
        opset->set_version(kOpset);
        addMetadata(model, "qdq.task", std::string(taskName(m_opt.task)));
        addMetadata(model, "qdq.profile", std::string(versionProfileName(m_quant.profile())));
        addMetadata(model, "qdq.weights", std::string(onnxWeightFormName(m_opt.weights)));
        m_graph = model.mutable_graph();
        m_graph->set_name("qdqbert");
        buildGraph();
        summary.opset = kOpset;
        summary.nodes = m_graph->node_size();
        summary.initializers = m_graph->initializer_size();
        summary.quantizeNodes = m_quantizeNodes;
        summary.dequantizeNodes = static_cast<std::int64_t>(m_sites.size());
        summary.sites = m_sites;
        summary.inputs = {"input_ids", "attention_mask", "token_type_ids"};
        summary.outputs = m_outputs;
        summary.initializerNames.clear();
        for (const onnx::TensorProto &t : m_graph->initializer())
            summary.initializerNames.push_back(t.name());
        return model;
    }

private:
    // --- validation ---------------------------------------------------------------------
    void checkSupported() const
    {
        const std::string file = m_ck.source.string();
        if (m_config.addCrossAttention)
            throw UnsupportedError("ONNX export of cross-attention models is not supported",
                                   {file, {}, "add_cross_attention"});
        if (m_config.positionEmbeddingType != "absolute")
            throw UnsupportedError("ONNX export supports absolute position embeddings only, not \"" +
                                       m_config.positionEmbeddingType + "\"",
                                   {file, {}, "position_embedding_type"});
        const auto missing = QDQBertModel::missingHeadWeights(m_ck, m_opt.task);
        if (!missing.empty())
            throw FormatError("checkpoint has no " + std::string(taskName(m_opt.task)) + " head; use --task base",
                              {file, missing.front(), {}});
        // every enabled site needs a static amax (reference §3.7: calibrate first)
        for (const SiteQuantConfig &s : m_quant.sites()) {
            const std::string path = s.site.modulePath(kPrefix);
            if (siteIsWeight(s.site.id) && m_quant.preQuantScaleApplies(s))
                throw UnsupportedError("weight quantizer " + path +
                                           " has a _pre_quant_scale; the ONNX export writes it for activation "
                                           "quantizers only (fold it into the weight, or export under --profile "
                                           "pq-2.1.x, which ignores it as 2.1.x does)",
                                       {file, path + "._pre_quant_scale", {}});
            if (!s.enabled)
                continue;
            if (s.dynamic())
                throw UnsupportedError("quantizer " + path +
                                           " has no calibrated amax (dynamic max|x| per call) and cannot be exported: "
                                           "calibrate first (qdq calibrate), set --amax or disable it "
                                           "(reference §3.7)",
                                       {file, path + "._amax", {}});
            if (s.desc.numBits != 8)
                throw UnsupportedError("quantizer " + path + " has num_bits " + std::to_string(s.desc.numBits) +
                                           "; ONNX QuantizeLinear (opset 13) is 8 bit only",
                                       {file, path, "num_bits"});
        }
    }

    // --- graph plumbing ------------------------------------------------------------------
    static void addMetadata(onnx::ModelProto &model, const std::string &key, const std::string &value)
    {
        onnx::StringStringEntryProto *e = model.add_metadata_props();
        e->set_key(key);
        e->set_value(value);
    }

    std::string fresh(const std::string &hint) { return hint + "_" + std::to_string(m_counter++); }

    onnx::NodeProto *node(const std::string &op, std::vector<std::string> inputs, std::vector<std::string> outputs,
                          const std::string &name = {})
    {
        onnx::NodeProto *n = m_graph->add_node();
        n->set_op_type(op);
        n->set_name(name.empty() ? op + "_" + std::to_string(m_graph->node_size()) : name);
        for (const std::string &i : inputs)
            n->add_input(i);
        for (const std::string &o : outputs)
            n->add_output(o);
        return n;
    }
    // A one-output node; returns its output's name.
    std::string op(const std::string &type, std::vector<std::string> inputs, const std::string &hint = {})
    {
        const std::string out = fresh(hint.empty() ? type : hint);
        node(type, std::move(inputs), {out});
        return out;
    }
    static void intsAttr(onnx::NodeProto *n, const std::string &name, const std::vector<std::int64_t> &values)
    {
        onnx::AttributeProto *a = n->add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::INTS);
        for (std::int64_t v : values)
            a->add_ints(v);
    }
    static void intAttr(onnx::NodeProto *n, const std::string &name, std::int64_t value)
    {
        onnx::AttributeProto *a = n->add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::INT);
        a->set_i(value);
    }

    template <typename T>
    void initializer(const std::string &name, int dataType, const Shape &dims, const std::vector<T> &values)
    {
        onnx::TensorProto *t = m_graph->add_initializer();
        t->set_name(name);
        t->set_data_type(dataType);
        for (std::int64_t d : dims)
            t->add_dims(d);
        // raw_data is little-endian, as this host is
        t->set_raw_data(std::string(reinterpret_cast<const char *>(values.data()), values.size() * sizeof(T)));
    }
    std::string floatConst(const std::string &name, float value)
    {
        if (m_constants.insert(name).second)
            initializer<float>(name, onnx::TensorProto::FLOAT, {}, {value});
        return name;
    }
    std::string int64Const(const std::string &name, const std::vector<std::int64_t> &values, bool scalar = false)
    {
        if (m_constants.insert(name).second)
            initializer<std::int64_t>(name, onnx::TensorProto::INT64,
                                      scalar ? Shape{} : Shape{static_cast<std::int64_t>(values.size())}, values);
        return name;
    }
    // A checkpoint tensor as an f32 initializer under its state-dict name (once).
    std::string weight(const std::string &key)
    {
        if (m_constants.insert(key).second) {
            const Tensor &t = m_ck.get(key);
            initializer<float>(key, onnx::TensorProto::FLOAT, t.shape(), t.toFloatVector());
        }
        return key;
    }

    static onnx::ValueInfoProto *valueInfo(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> *list,
                                           const std::string &name, int elemType, const std::vector<std::string> &dims)
    {
        onnx::ValueInfoProto *v = list->Add();
        v->set_name(name);
        onnx::TypeProto_Tensor *t = v->mutable_type()->mutable_tensor_type();
        t->set_elem_type(elemType);
        onnx::TensorShapeProto *s = t->mutable_shape();
        for (const std::string &d : dims) {
            onnx::TensorShapeProto_Dimension *dim = s->add_dim();
            if (!d.empty() && d.find_first_not_of("0123456789") == std::string::npos)
                dim->set_dim_value(std::stoll(d));
            else
                dim->set_dim_param(d);
        }
        return v;
    }
    void output(const std::string &tensor, const std::string &name, const std::vector<std::string> &dims)
    {
        node("Identity", {tensor}, {name}, name);
        valueInfo(m_graph->mutable_output(), name, onnx::TensorProto::FLOAT, dims);
        m_outputs.push_back(name);
    }

    // --- quantizers (reference §3.7) -------------------------------------------------------
    const SiteQuantConfig *enabledSite(const QuantizerSite &site) const
    {
        const SiteQuantConfig *s = m_quant.find(site);
        return s && s->enabled ? s : nullptr;
    }

    static QdqParams params(const SiteQuantConfig &s)
    {
        QdqParams p;
        p.isUnsigned = s.desc.isUnsigned;
        p.maxBound = quantMaxBound(8, p.isUnsigned);
        for (float a : *s.amax) {
            if (s.desc.scaleAmax)
                a = a * *s.desc.scaleAmax;
            // scale = fl(amax / B); a zero scale becomes 1 (pytorch-quantization 2.2 exporter)
            const float scale = a / p.maxBound;
            p.scale.push_back(scale == 0.0F ? 1.0F : scale);
        }
        return p;
    }

    // Scale and zero-point initializers of a site; returns {scale, zero point} names.
    std::pair<std::string, std::string> qdqInitializers(const std::string &path, const QdqParams &p)
    {
        const bool perTensor = p.scale.size() == 1;
        const Shape dims = perTensor ? Shape{} : Shape{static_cast<std::int64_t>(p.scale.size())};
        initializer<float>(path + ".scale", onnx::TensorProto::FLOAT, dims, p.scale);
        if (p.isUnsigned)
            initializer<std::uint8_t>(path + ".zero_point", onnx::TensorProto::UINT8, dims,
                                      std::vector<std::uint8_t>(p.scale.size(), 0));
        else
            initializer<std::int8_t>(path + ".zero_point", onnx::TensorProto::INT8, dims,
                                     std::vector<std::int8_t>(p.scale.size(), 0));
        return {path + ".scale", path + ".zero_point"};
    }

    // QuantizeLinear -> DequantizeLinear of tensor `x` at an activation site; x itself when the
    // site is disabled. Under the pq-2.2 profiles a `_pre_quant_scale` becomes a Mul in front
    // (also of a disabled site), as tracing 2.2.x's `inputs * self._pre_quant_scale` gives.
    std::string qdq(const QuantizerSite &site, const std::string &input)
    {
        std::string x = input;
        const std::string path = site.modulePath(kPrefix);
        if (const SiteQuantConfig *any = m_quant.find(site); any && m_quant.preQuantScaleApplies(*any)) {
            initializer<float>(path + "._pre_quant_scale", onnx::TensorProto::FLOAT, any->preQuantScaleShape,
                               *any->preQuantScale);
            node("Mul", {x, path + "._pre_quant_scale"}, {path + ".pre_scaled"}, path + "/Mul");
            x = path + ".pre_scaled";
        }
        const SiteQuantConfig *s = enabledSite(site);
        if (!s)
            return x;
        const QdqParams p = params(*s);
        if (p.scale.size() != 1)
            throw UnsupportedError("activation quantizer " + path +
                                       " has a per-channel amax; ONNX export needs "
                                       "a per-tensor amax for activations",
                                   {m_ck.source.string(), path + "._amax", {}});
        const auto [scale, zero] = qdqInitializers(path, p);
        node("QuantizeLinear", {x, scale, zero}, {path + ".codes"}, path + "/QuantizeLinear");
        node("DequantizeLinear", {path + ".codes", scale, zero}, {path + ".dequantized"}, path + "/DequantizeLinear");
        ++m_quantizeNodes;
        m_sites.push_back(site);
        return path + ".dequantized";
    }

    // The f32 [out, in] weight of a linear as the graph sees it: the initializer, or its
    // dequantized form behind the weight site (reference §1.2: ŵ = Q(weight)).
    std::string quantizedWeight(const std::string &key, const std::optional<QuantizerSite> &site)
    {
        const SiteQuantConfig *s = site ? enabledSite(*site) : nullptr;
        if (!s)
            return weight(key);
        const std::string path = site->modulePath(kPrefix);
        const Tensor &w = m_ck.get(key);
        const QdqParams p = params(*s);
        const std::int64_t rows = w.size(0);
        const bool perChannel = p.scale.size() != 1;
        if (perChannel && static_cast<std::int64_t>(p.scale.size()) != rows)
            throw UnsupportedError("weight quantizer " + path + " has " + std::to_string(p.scale.size()) +
                                       " amax values for " + std::to_string(rows) + " rows",
                                   {m_ck.source.string(), path + "._amax", {}});
        const auto [scale, zero] = qdqInitializers(path, p);
        std::string quantized;
        if (m_opt.weights == OnnxWeightForm::Int8) {
            // the codes QuantizeLinear would produce: saturate(rne(w / s)) (reference §3.7, ONNX-Q)
            const std::vector<float> values = w.toFloatVector();
            const std::size_t cols = values.size() / static_cast<std::size_t>(rows);
            const float lo = p.isUnsigned ? 0.0F : -p.maxBound - 1.0F;
            std::vector<std::int8_t> codes(values.size());
            std::vector<std::uint8_t> ucodes(values.size());
            for (std::size_t i = 0; i < values.size(); ++i) {
                const float sc = p.scale[perChannel ? i / cols : 0];
                const float q = std::fmin(std::fmax(std::nearbyint(values[i] / sc), lo), p.maxBound);
                if (p.isUnsigned)
                    ucodes[i] = static_cast<std::uint8_t>(q);
                else
                    codes[i] = static_cast<std::int8_t>(q);
            }
            if (p.isUnsigned)
                initializer<std::uint8_t>(key, onnx::TensorProto::UINT8, w.shape(), ucodes);
            else
                initializer<std::int8_t>(key, onnx::TensorProto::INT8, w.shape(), codes);
            quantized = key;
        } else {
            node("QuantizeLinear", {weight(key), scale, zero}, {path + ".codes"}, path + "/QuantizeLinear");
            if (perChannel)
                intAttr(m_graph->mutable_node(m_graph->node_size() - 1), "axis", 0);
            ++m_quantizeNodes;
            quantized = path + ".codes";
        }
        onnx::NodeProto *dq =
            node("DequantizeLinear", {quantized, scale, zero}, {path + ".dequantized"}, path + "/DequantizeLinear");
        if (perChannel)
            intAttr(dq, "axis", 0);
        m_sites.push_back(*site);
        return path + ".dequantized";
    }

    // y = x · Wᵀ + b (QuantLinear: input and weight quantizer, bias unquantized; reference §1.2).
    std::string linear(const std::string &x, const std::string &module, std::optional<QuantizerSite> inputSite = {},
                       std::optional<QuantizerSite> weightSite = {})
    {
        const std::string xin = inputSite ? qdq(*inputSite, x) : x;
        const std::string w = quantizedWeight(module + ".weight", weightSite);
        return linearWith(xin, w, module + ".bias");
    }
    std::string linearWith(const std::string &x, const std::string &w, const std::string &biasKey)
    {
        onnx::NodeProto *t = node("Transpose", {w}, {fresh("weight_t")});
        intsAttr(t, "perm", {1, 0});
        const std::string y = op("MatMul", {x, t->output(0)});
        return m_ck.has(biasKey) ? op("Add", {y, weight(biasKey)}) : y;
    }

    // nn.LayerNorm over the last dim (reference §5.4), decomposed: opset 13 has no LayerNormalization.
    std::string layerNorm(const std::string &x, const std::string &module)
    {
        onnx::NodeProto *m = node("ReduceMean", {x}, {fresh("ln_mean")});
        intsAttr(m, "axes", {-1});
        const std::string d = op("Sub", {x, m->output(0)}, "ln_centered");
        const std::string sq = op("Mul", {d, d}, "ln_square");
        onnx::NodeProto *v = node("ReduceMean", {sq}, {fresh("ln_var")});
        intsAttr(v, "axes", {-1});
        const std::string eps = floatConst("layer_norm_eps", static_cast<float>(m_config.layerNormEps));
        const std::string den = op("Sqrt", {op("Add", {v->output(0), eps})}, "ln_std");
        const std::string n = op("Div", {d, den}, "ln_normed");
        return op("Add", {op("Mul", {n, weight(module + ".weight")}), weight(module + ".bias")}, "ln_out");
    }

    std::string activation(const std::string &x, const std::string &act)
    {
        if (act == "gelu") {
            // reference §5.4: exact erf GELU, x * 0.5 * (1 + erf(x / sqrt 2))
            const std::string e = op("Erf", {op("Mul", {x, floatConst("gelu_inv_sqrt2", 0.70710678118654752F)})});
            const std::string one = op("Add", {e, floatConst("one", 1.0F)});
            return op("Mul", {op("Mul", {x, floatConst("half", 0.5F)}), one}, "gelu");
        }
        if (act == "gelu_new" || act == "gelu_pytorch_tanh" || act == "gelu_fast") {
            // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
            const std::string x3 = op("Mul", {op("Mul", {x, x}), x});
            const std::string inner = op("Add", {x, op("Mul", {x3, floatConst("gelu_tanh_c", 0.044715F)})});
            const std::string t = op("Tanh", {op("Mul", {inner, floatConst("gelu_tanh_k", 0.7978845608028654F)})});
            return op("Mul", {op("Mul", {x, floatConst("half", 0.5F)}), op("Add", {t, floatConst("one", 1.0F)})},
                      "gelu_tanh");
        }
        if (act == "relu")
            return op("Relu", {x});
        if (act == "silu" || act == "swish")
            return op("Mul", {x, op("Sigmoid", {x})}, "silu");
        if (act == "tanh")
            return op("Tanh", {x});
        throw UnsupportedError("hidden_act \"" + act + "\" cannot be exported",
                               {m_ck.source.string(), {}, "hidden_act"});
    }

    // --- the model (reference §5) -----------------------------------------------------------
    // The model's [B, L] inputs: the graph inputs, or for multiple-choice the [B, C, L] inputs
    // flattened to [B*C, L] (reference §1.4).
    struct Inputs {
        std::string ids = "input_ids";
        std::string mask = "attention_mask";
        std::string types = "token_type_ids";
        std::string length; // scalar int64 L
    };

    Inputs inputs()
    {
        Inputs in;
        if (m_opt.task == Task::MultipleChoice) {
            for (std::string *t : {&in.ids, &in.mask, &in.types}) {
                onnx::NodeProto *f = node("Flatten", {*t}, {fresh(*t + "_flat")});
                intAttr(f, "axis", 2);
                *t = f->output(0);
            }
        }
        const std::string shape = op("Shape", {in.ids}, "input_shape");
        in.length = op("Gather", {shape, int64Const("const_one_i64", {1}, true)}, "seq_len");
        return in;
    }

    std::string embeddings(const Inputs &in)
    {
        // reference §5.1: (word + token type) + position, LayerNorm
        const std::string e = kPrefix + "embeddings.";
        const std::string word = op("Gather", {weight(e + "word_embeddings.weight"), in.ids}, "word_embeds");
        const std::string type =
            op("Gather", {weight(e + "token_type_embeddings.weight"), in.types}, "token_type_embeds");
        const std::string &length = in.length;
        const std::string positions =
            op("Range", {int64Const("const_zero_i64", {0}, true), length, int64Const("const_one_i64", {1}, true)},
               "position_ids");
        const std::string pos = op("Gather", {weight(e + "position_embeddings.weight"), positions}, "position_embeds");
        const std::string sum = op("Add", {op("Add", {word, type}), pos}, "embeddings_sum");
        return layerNorm(sum, e + "LayerNorm");
    }

    std::string maskBias(const Inputs &in)
    {
        // reference §5.2: [B,S] -> [B,1,1,S], (1 - m) * finfo(f32).min (or -10000, legacy)
        onnx::NodeProto *cast = node("Cast", {in.mask}, {fresh("mask_f32")});
        intAttr(cast, "to", onnx::TensorProto::FLOAT);
        std::string m4 = op("Unsqueeze", {cast->output(0), int64Const("mask_axes", {1, 2})}, "mask_4d");
        if (m_config.isDecoder) {
            // decoder: causal c[i, j] = (j <= i) times the padding mask -> [B,1,L,S] (no cache here)
            const std::string r = op(
                "Range", {int64Const("const_zero_i64", {0}, true), in.length, int64Const("const_one_i64", {1}, true)},
                "causal_range");
            const std::string rows = op("Unsqueeze", {r, int64Const("axes_1", {1})}, "causal_rows");
            const std::string cols = op("Unsqueeze", {r, int64Const("axes_0", {0})}, "causal_cols");
            onnx::NodeProto *c = node("Cast", {op("LessOrEqual", {cols, rows})}, {fresh("causal")});
            intAttr(c, "to", onnx::TensorProto::FLOAT);
            m4 = op("Mul", {c->output(0), m4}, "causal_mask");
        }
        const float minValue =
            m_opt.maskConstant == MaskConstant::Legacy ? -10000.0F : std::numeric_limits<float>::lowest();
        const std::string inv = op("Sub", {floatConst("one", 1.0F), m4}, "mask_inverted");
        return op("Mul", {inv, floatConst("mask_min", minValue)}, "mask_bias");
    }

    std::string heads4(const std::string &x, const std::vector<std::int64_t> &perm)
    {
        const std::int64_t h = m_config.numAttentionHeads;
        const std::string r = op("Reshape", {x, int64Const("split_heads_shape", {0, 0, h, m_config.headSize()})});
        onnx::NodeProto *t = node("Transpose", {r}, {fresh("heads")});
        intsAttr(t, "perm", perm);
        return t->output(0);
    }

    std::string layer(int li, const std::string &x, const std::string &mask)
    {
        const std::string base = kPrefix + "encoder.layer." + std::to_string(li) + ".";
        const std::string att = base + "attention.";
        auto s = [li](SiteId id) { return QuantizerSite{li, id, false}; };
        // reference §1.2 rows 1-14
        const std::string q = linear(x, att + "self.query", s(SiteId::QueryInput), s(SiteId::QueryWeight));
        const std::string k = linear(x, att + "self.key", s(SiteId::KeyInput), s(SiteId::KeyWeight));
        const std::string v = linear(x, att + "self.value", s(SiteId::ValueInput), s(SiteId::ValueWeight));
        const std::string qh = heads4(q, {0, 2, 1, 3}); // [B,h,L,d]
        const std::string kt = heads4(k, {0, 2, 3, 1}); // [B,h,d,S]: transposed before its quantizer
        const std::string vh = heads4(v, {0, 2, 1, 3}); // [B,h,S,d]
        std::string scores = op("MatMul", {qdq(s(SiteId::MatmulQ), qh), qdq(s(SiteId::MatmulK), kt)}, "scores");
        const double sqrtD = std::sqrt(static_cast<double>(m_config.headSize()));
        scores = op("Div", {scores, floatConst("sqrt_head_size", static_cast<float>(sqrtD))}, "scores_scaled");
        scores = op("Add", {scores, mask}, "scores_masked");
        onnx::NodeProto *sm = node("Softmax", {scores}, {fresh("attention_probs")});
        intAttr(sm, "axis", -1);
        const std::string probs = sm->output(0);
        const std::string ctx4 = op("MatMul", {qdq(s(SiteId::MatmulA), probs), qdq(s(SiteId::MatmulV), vh)}, "context");
        onnx::NodeProto *merge = node("Transpose", {ctx4}, {fresh("context_merged")});
        intsAttr(merge, "perm", {0, 2, 1, 3});
        const std::string ctx =
            op("Reshape", {merge->output(0), int64Const("merge_heads_shape", {0, 0, m_config.hiddenSize})});
        const std::string dense =
            linear(ctx, att + "output.dense", s(SiteId::AttnOutputInput), s(SiteId::AttnOutputWeight));
        const std::string sum1 =
            op("Add", {qdq(s(SiteId::AttnOutputLocal), dense), qdq(s(SiteId::AttnOutputResidual), x)}, "residual");
        const std::string a = layerNorm(sum1, att + "output.LayerNorm");
        // rows 15-20
        const std::string hid = activation(
            linear(a, base + "intermediate.dense", s(SiteId::IntermediateInput), s(SiteId::IntermediateWeight)),
            m_config.hiddenAct);
        const std::string y = linear(hid, base + "output.dense", s(SiteId::OutputInput), s(SiteId::OutputWeight));
        const std::string sum2 =
            op("Add", {qdq(s(SiteId::OutputLocal), y), qdq(s(SiteId::OutputResidual), a)}, "residual");
        return layerNorm(sum2, base + "output.LayerNorm");
    }

    std::string pooled(const std::string &x)
    {
        // reference §5.5: tanh(W_p h[:, 0] + b_p)
        onnx::NodeProto *first = node("Gather", {x, int64Const("const_zero_i64", {0}, true)}, {fresh("first_token")});
        intAttr(first, "axis", 1);
        return op("Tanh", {linear(first->output(0), kPrefix + "pooler.dense")}, "pooled");
    }

    void buildGraph()
    {
        const std::vector<std::string> bl = {"batch_size", "seq_len"};
        const bool choices = m_opt.task == Task::MultipleChoice;
        for (const char *name : {"input_ids", "attention_mask", "token_type_ids"})
            valueInfo(m_graph->mutable_input(), name, onnx::TensorProto::INT64,
                      choices ? std::vector<std::string>{"batch_size", "num_choices", "seq_len"} : bl);
        const Inputs in = inputs();
        const std::string mask = maskBias(in);
        std::string x = embeddings(in);
        for (int li = 0; li < m_config.numHiddenLayers; ++li)
            x = layer(li, x, mask);
        const std::string hidden = std::to_string(m_config.hiddenSize);
        const bool hasPooler = m_ck.has(kPrefix + "pooler.dense.weight");
        switch (m_opt.task) {
        case Task::Base:
            output(x, "last_hidden_state", {"batch_size", "seq_len", hidden});
            if (hasPooler)
                output(pooled(x), "pooler_output", {"batch_size", hidden});
            break;
        case Task::MaskedLm:
        case Task::CausalLm: {
            // reference §1.4: cls.predictions = transform (dense, act, LayerNorm) + decoder tied to the
            // word embeddings
            const std::string t =
                layerNorm(activation(linear(x, "cls.predictions.transform.dense"), m_config.hiddenAct),
                          "cls.predictions.transform.LayerNorm");
            const std::string tied = kPrefix + "embeddings.word_embeddings.weight";
            std::string decoder = tied;
            if (m_ck.has("cls.predictions.decoder.weight")) {
                bool alias = false;
                for (const std::string &k : m_ck.tiedKeys)
                    alias = alias || k == "cls.predictions.decoder.weight";
                decoder = alias ? weight(tied) : weight("cls.predictions.decoder.weight");
            }
            const std::string bias =
                m_ck.has("cls.predictions.bias") ? "cls.predictions.bias" : "cls.predictions.decoder.bias";
            output(linearWith(t, decoder, bias), "logits",
                   {"batch_size", "seq_len", std::to_string(m_config.vocabSize)});
            break;
        }
        case Task::SequenceClassification:
            output(linear(pooled(x), "classifier"), "logits",
                   {"batch_size", std::to_string(m_ck.get("classifier.weight").size(0))});
            break;
        case Task::TokenClassification:
            output(linear(x, "classifier"), "logits",
                   {"batch_size", "seq_len", std::to_string(m_ck.get("classifier.weight").size(0))});
            break;
        case Task::QuestionAnswering: {
            const std::string logits = linear(x, "qa_outputs");
            for (std::int64_t i = 0; i < 2; ++i) {
                onnx::NodeProto *g =
                    node("Gather", {logits, int64Const(i == 0 ? "const_zero_i64" : "const_one_i64", {i}, true)},
                         {fresh(i == 0 ? "start" : "end")});
                intAttr(g, "axis", 2);
                output(g->output(0), i == 0 ? "start_logits" : "end_logits", bl);
            }
            break;
        }
        case Task::NextSentence:
            output(linear(pooled(x), "cls.seq_relationship"), "logits", {"batch_size", "2"});
            break;
        case Task::MultipleChoice: {
            // reference §1.4: classifier (H -> 1) on the pooled [B*C, H], viewed as [B, C]
            const std::string shape = op("Shape", {"input_ids"}, "choices_shape");
            const std::string c = op("Gather", {shape, int64Const("const_one_1d", {1})}, "num_choices");
            const std::string view = op("Concat", {int64Const("const_minus_one_1d", {-1}), c}, "choices_view");
            intAttr(m_graph->mutable_node(m_graph->node_size() - 1), "axis", 0);
            output(op("Reshape", {linear(pooled(x), "classifier"), view}), "logits", {"batch_size", "num_choices"});
            break;
        }
        }
    }

    const Checkpoint &m_ck;
    const QuantConfig &m_quant;
    const OnnxExportOptions &m_opt;
    const BertConfig &m_config;
    onnx::GraphProto *m_graph = nullptr;
    std::set<std::string> m_constants;
    std::vector<QuantizerSite> m_sites;
    std::vector<std::string> m_outputs;
    std::int64_t m_quantizeNodes = 0;
    std::int64_t m_counter = 0;
};

} // namespace

std::string exportOnnxBytes(const Checkpoint &checkpoint, const QuantConfig &quant, const OnnxExportOptions &options,
                            OnnxExportSummary *summary)
{
    OnnxExportSummary local;
    OnnxExportSummary &s = summary ? *summary : local;
    Exporter exporter(checkpoint, quant, options);
    onnx::ModelProto model = exporter.build(s);
    if (model.ByteSizeLong() > static_cast<std::size_t>(INT_MAX))
        throw UnsupportedError("the ONNX model would exceed protobuf's 2 GB limit (external data is not supported)",
                               {checkpoint.source.string(), {}, {}});
    try {
        onnx::checker::check_model(model);
    } catch (const std::exception &e) {
        throw Error(std::string("onnx::checker rejected the exported model: ") + e.what(),
                    {checkpoint.source.string(), {}, {}});
    }
    std::string bytes;
    if (!model.SerializeToString(&bytes))
        throw Error("could not serialize the ONNX model", {checkpoint.source.string(), {}, {}});
    s.bytes = bytes.size();
    return bytes;
}

OnnxExportSummary exportOnnx(const Checkpoint &checkpoint, const QuantConfig &quant, const OnnxExportOptions &options,
                             const std::filesystem::path &path, Progress *progress)
{
    OnnxExportSummary summary;
    checkCancelled(progress);
    const std::string bytes = exportOnnxBytes(checkpoint, quant, options, &summary);
    constexpr std::size_t kChunk = 1U << 20;
    const auto total = static_cast<std::int64_t>(bytes.size());
    writeFileAtomically(path, [&](std::ostream &out) {
        // each report may throw CancelledError: the temporary file is then removed
        for (std::size_t at = 0; at < bytes.size(); at += kChunk) {
            reportProgress(progress, "exporting ONNX", static_cast<std::int64_t>(at), total);
            out.write(bytes.data() + at, static_cast<std::streamsize>(std::min(kChunk, bytes.size() - at)));
        }
        reportProgress(progress, "exporting ONNX", total, total);
    });
    return summary;
}

} // namespace qdq

#include "qdq/quant/quant_config.h"

#include "qdq/errors.h"

#include <charconv>

namespace qdq {

namespace {

// The operand that shares an integer op with `id`: a linear's input and weight quantizer
// (reference §1.2 rows 1/2, 3/4, 5/6, 11/12, 15/16, 17/18) and the two operands of each
// attention matmul (rows 7/8: Q·Kᵀ, rows 9/10: P·V). Residual-add quantizers (rows 13, 14, 19,
// 20) have no integer op: the add and the LayerNorm after it are f32.
std::optional<SiteId> integerPartner(SiteId id)
{
    switch (id) {
    case SiteId::QueryInput:
        return SiteId::QueryWeight;
    case SiteId::QueryWeight:
        return SiteId::QueryInput;
    case SiteId::KeyInput:
        return SiteId::KeyWeight;
    case SiteId::KeyWeight:
        return SiteId::KeyInput;
    case SiteId::ValueInput:
        return SiteId::ValueWeight;
    case SiteId::ValueWeight:
        return SiteId::ValueInput;
    case SiteId::MatmulQ:
        return SiteId::MatmulK;
    case SiteId::MatmulK:
        return SiteId::MatmulQ;
    case SiteId::MatmulA:
        return SiteId::MatmulV;
    case SiteId::MatmulV:
        return SiteId::MatmulA;
    case SiteId::AttnOutputInput:
        return SiteId::AttnOutputWeight;
    case SiteId::AttnOutputWeight:
        return SiteId::AttnOutputInput;
    case SiteId::IntermediateInput:
        return SiteId::IntermediateWeight;
    case SiteId::IntermediateWeight:
        return SiteId::IntermediateInput;
    case SiteId::OutputInput:
        return SiteId::OutputWeight;
    case SiteId::OutputWeight:
        return SiteId::OutputInput;
    case SiteId::AttnOutputLocal:
    case SiteId::AttnOutputResidual:
    case SiteId::OutputLocal:
    case SiteId::OutputResidual:
        break;
    }
    return std::nullopt;
}

bool globMatch(std::string_view pattern, std::string_view text)
{
    std::size_t p = 0;
    std::size_t t = 0;
    std::size_t star = std::string_view::npos;
    std::size_t mark = 0;
    while (t < text.size()) {
        if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
            ++p;
            ++t;
        } else if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            mark = t;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            t = ++mark;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*')
        ++p;
    return p == pattern.size();
}

std::string_view trim(std::string_view s)
{
    while (!s.empty() && s.front() == ' ')
        s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ')
        s.remove_suffix(1);
    return s;
}

} // namespace

std::string_view precisionName(Precision precision) noexcept
{
    switch (precision) {
    case Precision::Fp32:
        return "fp32";
    case Precision::Qdq:
        return "qdq";
    case Precision::Int8:
        return "int8";
    }
    return "?";
}

std::optional<Precision> parsePrecision(std::string_view name) noexcept
{
    for (Precision p : {Precision::Fp32, Precision::Qdq, Precision::Int8})
        if (precisionName(p) == name)
            return p;
    return std::nullopt;
}

std::string_view executionFormName(ExecutionForm form) noexcept
{
    switch (form) {
    case ExecutionForm::Disabled:
        return "disabled";
    case ExecutionForm::FakeQuant:
        return "fake-quant";
    case ExecutionForm::Int8Gemm:
        return "int8-gemm";
    }
    return "?";
}

TensorQuantizer SiteQuantConfig::quantizer(VersionProfile profile) const
{
    TensorQuantizer q(desc, profile);
    q.setName(site.modulePath());
    q.setEnabled(enabled);
    if (preQuantScale)
        q.setPreQuantScale(Tensor::fromValues<float>(preQuantScaleShape, std::span<const float>(*preQuantScale)));
    if (amax) {
        Tensor t = Tensor::empty(DType::F32, amaxShape);
        if (static_cast<std::size_t>(t.numel()) != amax->size())
            throw ShapeError("amax of " + site.modulePath() + " has " + std::to_string(amax->size()) +
                             " values for shape " + shapeString(amaxShape));
        std::copy(amax->begin(), amax->end(), t.mutableData<float>());
        q.setAmax(t);
    }
    return q;
}

bool SiteSelector::matches(const QuantizerSite &site) const
{
    if (layer && site.layer != *layer)
        return false;
    if (kind && site.kind() != *kind)
        return false;
    if (crossAttention && site.crossAttention != *crossAttention)
        return false;
    return pattern.empty() || globMatch(pattern, site.modulePath());
}

SiteSelector SiteSelector::parse(std::string_view text)
{
    SiteSelector sel;
    text = trim(text);
    if (text.empty() || text == "all")
        return sel;
    const bool structured = text.substr(0, 6) == "layer:" || text.substr(0, 5) == "kind:" || text == "cross" ||
                            text.substr(0, 6) == "cross," || text.find(",kind:") != std::string_view::npos ||
                            text.find(",layer:") != std::string_view::npos;
    if (!structured) {
        // a module path or glob; drop a "bert." (or any) prefix before "encoder." and "._amax"
        std::string_view p = text;
        if (const std::size_t at = p.find("encoder."); at != std::string_view::npos && p.substr(0, 1) != "*")
            p.remove_prefix(at);
        constexpr std::string_view amaxSuffix = "._amax";
        if (p.size() > amaxSuffix.size() && p.substr(p.size() - amaxSuffix.size()) == amaxSuffix)
            p.remove_suffix(amaxSuffix.size());
        sel.pattern = std::string(p);
        return sel;
    }
    while (!text.empty()) {
        const std::size_t comma = text.find(',');
        const std::string_view part = trim(text.substr(0, comma));
        text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
        if (part == "cross") {
            sel.crossAttention = true;
        } else if (part.substr(0, 6) == "layer:") {
            const std::string_view v = part.substr(6);
            int layer = -1;
            const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), layer);
            if (ec != std::errc() || ptr != v.data() + v.size() || layer < 0)
                throw FormatError("quantizer selector: bad layer \"" + std::string(v) + "\"");
            sel.layer = layer;
        } else if (part.substr(0, 5) == "kind:") {
            const std::string_view v = part.substr(5);
            bool found = false;
            for (SiteKind k : {SiteKind::Input, SiteKind::Weight, SiteKind::Matmul, SiteKind::Residual})
                if (siteKindName(k) == v) {
                    sel.kind = k;
                    found = true;
                }
            if (!found)
                throw FormatError("quantizer selector: unknown kind \"" + std::string(v) +
                                  "\" (input, weight, matmul, residual)");
        } else {
            throw FormatError("quantizer selector: cannot parse \"" + std::string(part) +
                              "\" (use layer:N, kind:K, cross, or a module path glob)");
        }
    }
    return sel;
}

QuantConfig QuantConfig::fromCheckpoint(const Checkpoint &checkpoint, VersionProfile profile)
{
    QuantConfig cfg;
    cfg.m_profile = profile;
    // Every site of the configured model (reference §1.2), also for a checkpoint built in memory
    // without an inventory (randomCheckpoint): the `_amax` keys are looked up directly then.
    const std::string prefix = checkpoint.has("embeddings.word_embeddings.weight") ? "" : "bert.";
    const auto layers = static_cast<int>(checkpoint.config.numHiddenLayers);
    for (int layer = 0; layer < layers; ++layer)
        for (bool cross : {false, true}) {
            if (cross && !checkpoint.config.addCrossAttention)
                continue;
            const int count = cross ? kCrossAttentionSites : kSitesPerLayer;
            for (int id = 0; id < count; ++id) {
                SiteQuantConfig s;
                s.site = QuantizerSite{layer, static_cast<SiteId>(id), cross};
                // reference §1.3: weights 8 bit per row (axis 0), every other quantizer 8 bit per tensor
                if (siteIsWeight(s.site.id))
                    s.desc.axis = 0;
                const QuantizerInfo *info = checkpoint.quantizer(s.site);
                const std::string key = info ? info->amaxKey : s.site.amaxKey(prefix);
                if (checkpoint.has(key)) {
                    const Tensor &t = checkpoint.get(key);
                    s.calibrated = true;
                    s.amax = std::make_shared<const std::vector<float>>(t.toFloatVector());
                    s.amaxShape = t.shape();
                }
                // reference §2.1 (2.2.x): SmoothQuant's `_pre_quant_scale` beside `_amax`
                const std::string preKey =
                    key.substr(0, key.size() - std::string_view("_amax").size()) + "_pre_quant_scale";
                if (checkpoint.has(preKey)) {
                    const Tensor &t = checkpoint.get(preKey);
                    s.preQuantScale = std::make_shared<const std::vector<float>>(t.toFloatVector());
                    s.preQuantScaleShape = t.shape();
                }
                cfg.m_sites.push_back(std::move(s));
            }
        }
    // config.json "qdq_disabled_quantizers" (a repaired checkpoint): those sites stay in FP32
    for (const std::string &name : checkpoint.config.disabledQuantizers) {
        const std::optional<QuantizerSite> site = QuantizerSite::fromKey(name);
        SiteQuantConfig *s = site ? cfg.findMutable(*site) : nullptr;
        if (!s)
            throw FormatError("\"" + name + "\" is not a quantizer of this model",
                              {(checkpoint.source / "config.json").string(), {}, "qdq_disabled_quantizers"});
        s->enabled = false;
    }
    return cfg;
}

const SiteQuantConfig *QuantConfig::find(const QuantizerSite &site) const
{
    for (const SiteQuantConfig &s : m_sites)
        if (s.site == site)
            return &s;
    return nullptr;
}

bool QuantConfig::preQuantScaleApplies(const SiteQuantConfig &site) const noexcept
{
    return site.preQuantScale && appliesPreQuantScale(m_profile);
}

bool QuantConfig::anyPreQuantScaleApplies() const noexcept
{
    for (const SiteQuantConfig &s : m_sites)
        if (preQuantScaleApplies(s))
            return true;
    return false;
}

SiteQuantConfig *QuantConfig::findMutable(const QuantizerSite &site)
{
    return const_cast<SiteQuantConfig *>(static_cast<const QuantConfig *>(this)->find(site));
}

int QuantConfig::setEnabled(const SiteSelector &selector, bool enabled)
{
    int n = 0;
    for (SiteQuantConfig &s : m_sites)
        if (selector.matches(s.site)) {
            s.enabled = enabled;
            ++n;
        }
    return n;
}

int QuantConfig::setAmax(const SiteSelector &selector, float amax)
{
    if (!(amax >= 0.0F))
        throw FormatError("amax must be >= 0, got " + std::to_string(amax)); // reference §3.3 step 1
    const auto value = std::make_shared<const std::vector<float>>(1, amax);
    int n = 0;
    for (SiteQuantConfig &s : m_sites)
        if (selector.matches(s.site)) {
            s.amax = value;
            s.amaxShape = {};
            s.amaxOverridden = true;
            ++n;
        }
    return n;
}

void QuantConfig::setSiteAmax(const QuantizerSite &site, const Tensor &amax)
{
    SiteQuantConfig *s = findMutable(site);
    if (!s)
        throw ShapeError("no such quantizer in this model", {{}, site.modulePath(), {}});
    const bool perTensor = amax.dim() == 0 || (amax.dim() == 1 && amax.size(0) == 1);
    if (!perTensor && !(amax.dim() == 2 && amax.size(1) == 1))
        throw ShapeError("amax must be [] or [n, 1], got " + shapeString(amax.shape()), {{}, site.modulePath(), {}});
    std::vector<float> values = amax.toFloatVector();
    for (float v : values)
        if (!(v >= 0.0F))
            throw FormatError("amax must be >= 0, got " + std::to_string(v), {{}, site.modulePath(), {}});
    s->amax = std::make_shared<const std::vector<float>>(std::move(values));
    s->amaxShape = perTensor ? Shape{} : amax.shape();
    s->amaxOverridden = true;
}

int QuantConfig::setDynamicAmax(const SiteSelector &selector)
{
    int n = 0;
    for (SiteQuantConfig &s : m_sites)
        if (selector.matches(s.site)) {
            s.amax.reset();
            s.amaxShape = {};
            s.amaxOverridden = true;
            ++n;
        }
    return n;
}

int QuantConfig::setNumBits(const SiteSelector &selector, int numBits)
{
    QuantDescriptor probe;
    probe.numBits = numBits;
    probe.validate(); // 2..16
    int n = 0;
    for (SiteQuantConfig &s : m_sites)
        if (selector.matches(s.site)) {
            s.desc.numBits = numBits;
            ++n;
        }
    return n;
}

void QuantConfig::disableAll()
{
    for (SiteQuantConfig &s : m_sites)
        s.enabled = false;
}

TensorQuantizer QuantConfig::quantizer(const QuantizerSite &site) const
{
    const SiteQuantConfig *s = find(site);
    if (!s)
        throw ShapeError("the model has no quantizer " + site.modulePath());
    return s->quantizer(m_profile);
}

std::string QuantConfig::integerBlocker(const SiteQuantConfig &s) const
{
    const std::string name(siteRelativeName(s.site.id));
    if (!s.enabled)
        return name + " is disabled";
    if (s.desc.numBits > 8)
        return name + " has num_bits " + std::to_string(s.desc.numBits) + " (> 8, no s8 code)";
    if (s.desc.isUnsigned)
        return name + " is unsigned (the kernels take s8 codes)";
    if (!siteIsWeight(s.site.id) && s.amax && s.amax->size() > 1)
        return name + " has a per-channel amax (the kernels scale activations per tensor)";
    if (siteIsWeight(s.site.id) && s.desc.axis && *s.desc.axis != 0)
        return name + " is per-channel on axis " + std::to_string(*s.desc.axis) + " (the kernels scale rows)";
    if (siteIsWeight(s.site.id) && s.amax && s.amax->size() > 1 && s.amaxShape.size() == 1 &&
        m_profile != VersionProfile::Pq22Cuda)
        return name + " has a 1-D amax " + shapeString(s.amaxShape) + ", which " +
               std::string(versionProfileName(m_profile)) + " broadcasts per column (the kernels scale rows)";
    if (preQuantScaleApplies(s))
        return name + " has a _pre_quant_scale (multiplied in f32 before quantizing)";
    return {};
}

SiteExecution QuantConfig::execution(const QuantizerSite &site, Precision precision) const
{
    SiteExecution e{site, ExecutionForm::Disabled, {}};
    const SiteQuantConfig *s = find(site);
    if (!s || !s->enabled || precision == Precision::Fp32)
        return e;
    e.form = ExecutionForm::FakeQuant;
    if (precision == Precision::Qdq)
        return e;
    const std::optional<SiteId> partnerId = integerPartner(site.id);
    if (!partnerId) {
        e.reason = "no integer op: the residual add and LayerNorm run in f32";
        return e;
    }
    QuantizerSite partnerSite = site;
    partnerSite.id = *partnerId;
    const SiteQuantConfig *partner = find(partnerSite);
    std::string why = integerBlocker(*s);
    if (why.empty())
        why = partner ? integerBlocker(*partner) : std::string(siteRelativeName(*partnerId)) + " is absent";
    if (!why.empty()) {
        e.reason = why;
        return e;
    }
    e.form = ExecutionForm::Int8Gemm;
    return e;
}

std::vector<SiteExecution> QuantConfig::executionPlan(Precision precision) const
{
    std::vector<SiteExecution> plan;
    plan.reserve(m_sites.size());
    for (const SiteQuantConfig &s : m_sites)
        plan.push_back(execution(s.site, precision));
    return plan;
}

} // namespace qdq

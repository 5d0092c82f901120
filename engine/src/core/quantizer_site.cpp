#include "qdq/quantizer_site.h"

#include <array>
#include <charconv>

namespace qdq {

namespace {

struct SiteInfo {
    SiteId id;
    SiteKind kind;
    std::string_view name;
};

// reference §1.2: attribute paths; the first 14 live under attention./crossattention.
constexpr std::array<SiteInfo, kSitesPerLayer> kSites{{
    {SiteId::QueryInput, SiteKind::Input, "self.query._input_quantizer"},
    {SiteId::QueryWeight, SiteKind::Weight, "self.query._weight_quantizer"},
    {SiteId::KeyInput, SiteKind::Input, "self.key._input_quantizer"},
    {SiteId::KeyWeight, SiteKind::Weight, "self.key._weight_quantizer"},
    {SiteId::ValueInput, SiteKind::Input, "self.value._input_quantizer"},
    {SiteId::ValueWeight, SiteKind::Weight, "self.value._weight_quantizer"},
    {SiteId::MatmulQ, SiteKind::Matmul, "self.matmul_q_input_quantizer"},
    {SiteId::MatmulK, SiteKind::Matmul, "self.matmul_k_input_quantizer"},
    {SiteId::MatmulA, SiteKind::Matmul, "self.matmul_a_input_quantizer"},
    {SiteId::MatmulV, SiteKind::Matmul, "self.matmul_v_input_quantizer"},
    {SiteId::AttnOutputInput, SiteKind::Input, "output.dense._input_quantizer"},
    {SiteId::AttnOutputWeight, SiteKind::Weight, "output.dense._weight_quantizer"},
    {SiteId::AttnOutputLocal, SiteKind::Residual, "output.add_local_input_quantizer"},
    {SiteId::AttnOutputResidual, SiteKind::Residual, "output.add_residual_input_quantizer"},
    {SiteId::IntermediateInput, SiteKind::Input, "intermediate.dense._input_quantizer"},
    {SiteId::IntermediateWeight, SiteKind::Weight, "intermediate.dense._weight_quantizer"},
    {SiteId::OutputInput, SiteKind::Input, "output.dense._input_quantizer"},
    {SiteId::OutputWeight, SiteKind::Weight, "output.dense._weight_quantizer"},
    {SiteId::OutputLocal, SiteKind::Residual, "output.add_local_input_quantizer"},
    {SiteId::OutputResidual, SiteKind::Residual, "output.add_residual_input_quantizer"},
}};

constexpr std::string_view kLayerPrefix = "encoder.layer.";

bool isAttentionSite(SiteId id)
{
    return static_cast<int>(id) < kCrossAttentionSites;
}

} // namespace

SiteKind siteKind(SiteId id) noexcept
{
    return kSites[static_cast<std::size_t>(id)].kind;
}

std::string_view siteKindName(SiteKind kind) noexcept
{
    switch (kind) {
    case SiteKind::Input:
        return "input";
    case SiteKind::Weight:
        return "weight";
    case SiteKind::Matmul:
        return "matmul";
    case SiteKind::Residual:
        return "residual";
    }
    return "?";
}

std::string_view siteRelativeName(SiteId id) noexcept
{
    return kSites[static_cast<std::size_t>(id)].name;
}

bool siteIsWeight(SiteId id) noexcept
{
    return siteKind(id) == SiteKind::Weight;
}

std::string QuantizerSite::modulePath(std::string_view prefix) const
{
    std::string out(prefix);
    out += kLayerPrefix;
    out += std::to_string(layer);
    out += '.';
    if (isAttentionSite(id))
        out += crossAttention ? "crossattention." : "attention.";
    out += siteRelativeName(id);
    return out;
}

std::optional<QuantizerSite> QuantizerSite::fromKey(std::string_view key, std::string *prefix)
{
    constexpr std::string_view amaxSuffix = "._amax";
    if (key.size() > amaxSuffix.size() && key.substr(key.size() - amaxSuffix.size()) == amaxSuffix)
        key.remove_suffix(amaxSuffix.size());
    const std::size_t at = key.find(kLayerPrefix);
    if (at == std::string_view::npos)
        return std::nullopt;
    std::string_view rest = key.substr(at + kLayerPrefix.size());
    int layer = -1;
    const auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), layer);
    if (ec != std::errc() || layer < 0 || ptr == rest.data() + rest.size() || *ptr != '.')
        return std::nullopt;
    rest = rest.substr(static_cast<std::size_t>(ptr - rest.data()) + 1);
    bool cross = false;
    bool attention = false;
    if (rest.substr(0, 10) == "attention.") {
        attention = true;
        rest.remove_prefix(10);
    } else if (rest.substr(0, 15) == "crossattention.") {
        attention = true;
        cross = true;
        rest.remove_prefix(15);
    }
    for (const SiteInfo &s : kSites) {
        if (isAttentionSite(s.id) != attention || s.name != rest)
            continue;
        if (prefix)
            *prefix = std::string(key.substr(0, at));
        return QuantizerSite{layer, s.id, cross};
    }
    return std::nullopt;
}

} // namespace qdq

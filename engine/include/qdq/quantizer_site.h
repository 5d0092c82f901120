#pragma once
// The 20 quantizer sites of a QDQBERT encoder layer (34 with cross-attention), named as in the
// state dict (reference §1.1, §1.2, §2.1). Shared by the checkpoint inventory, the model's
// taps, the quantizers, calibration and analysis.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace qdq {

// In dataflow order within a layer (reference §1.2 table, rows 1-20).
enum class SiteId : std::uint8_t {
    QueryInput,         // 1  attention.self.query._input_quantizer
    QueryWeight,        // 2  attention.self.query._weight_quantizer
    KeyInput,           // 3  attention.self.key._input_quantizer
    KeyWeight,          // 4  attention.self.key._weight_quantizer
    ValueInput,         // 5  attention.self.value._input_quantizer
    ValueWeight,        // 6  attention.self.value._weight_quantizer
    MatmulQ,            // 7  attention.self.matmul_q_input_quantizer
    MatmulK,            // 8  attention.self.matmul_k_input_quantizer
    MatmulA,            // 9  attention.self.matmul_a_input_quantizer
    MatmulV,            // 10 attention.self.matmul_v_input_quantizer
    AttnOutputInput,    // 11 attention.output.dense._input_quantizer
    AttnOutputWeight,   // 12 attention.output.dense._weight_quantizer
    AttnOutputLocal,    // 13 attention.output.add_local_input_quantizer
    AttnOutputResidual, // 14 attention.output.add_residual_input_quantizer
    IntermediateInput,  // 15 intermediate.dense._input_quantizer
    IntermediateWeight, // 16 intermediate.dense._weight_quantizer
    OutputInput,        // 17 output.dense._input_quantizer
    OutputWeight,       // 18 output.dense._weight_quantizer
    OutputLocal,        // 19 output.add_local_input_quantizer
    OutputResidual,     // 20 output.add_residual_input_quantizer
};
inline constexpr int kSitesPerLayer = 20;
inline constexpr int kCrossAttentionSites = 14; // SiteId values QueryInput..AttnOutputResidual

enum class SiteKind : std::uint8_t { Input, Weight, Matmul, Residual };

[[nodiscard]] SiteKind siteKind(SiteId id) noexcept;
[[nodiscard]] std::string_view siteKindName(SiteKind kind) noexcept; // "input", "weight", "matmul", "residual"
// Path inside the attention block or layer, e.g. "self.query._input_quantizer" for the
// attention sites (1-14, relative to "attention." or "crossattention.") and
// "intermediate.dense._input_quantizer" for the FFN sites (15-20, relative to the layer).
[[nodiscard]] std::string_view siteRelativeName(SiteId id) noexcept;
// Weight quantizers are per-row (axis 0) by default; activations per-tensor (reference §1.3).
[[nodiscard]] bool siteIsWeight(SiteId id) noexcept;

struct QuantizerSite {
    int layer = 0;
    SiteId id = SiteId::QueryInput;
    bool crossAttention = false; // a site of the layer's crossattention block (ids 1-14 only)

    [[nodiscard]] SiteKind kind() const noexcept { return siteKind(id); }
    // Module path within the model, e.g. "encoder.layer.3.attention.self.query._input_quantizer",
    // prefixed by `prefix` ("bert." for head models, "" for a bare QDQBertModel).
    [[nodiscard]] std::string modulePath(std::string_view prefix = {}) const;
    // State-dict key of the calibrated amax buffer: modulePath(prefix) + "._amax".
    [[nodiscard]] std::string amaxKey(std::string_view prefix = {}) const { return modulePath(prefix) + "._amax"; }

    // Parses a module path or `_amax` key (with any prefix before "encoder.layer."); returns the
    // site and stores the prefix. nullopt when `key` names no quantizer site.
    static std::optional<QuantizerSite> fromKey(std::string_view key, std::string *prefix = nullptr);

    friend bool operator==(const QuantizerSite &a, const QuantizerSite &b)
    {
        return a.layer == b.layer && a.id == b.id && a.crossAttention == b.crossAttention;
    }
    friend bool operator<(const QuantizerSite &a, const QuantizerSite &b)
    {
        if (a.layer != b.layer)
            return a.layer < b.layer;
        if (a.crossAttention != b.crossAttention)
            return !a.crossAttention; // within a layer, self-attention sites come first
        return a.id < b.id;
    }
};

} // namespace qdq

#pragma once
// The model's weights as loaded from a checkpoint (reference §1.2, §5): linears with their
// weight quantizer site, attention blocks, encoder layers, and the reader that takes them out
// of a Checkpoint by state-dict name with the expected shape. Engine-internal (model layer).

#include "kernels/backend.h"
#include "qdq/checkpoint.h"
#include "qdq/quantizer_site.h"
#include "qdq/tensor.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace qdq::model {

struct Linear {
    Tensor weight; // f32 [out, in] as loaded
    Tensor bias;   // f32 [out] or undefined
    kernels::Activation activation = kernels::Activation::None;
    std::optional<QuantizerSite> weightSite;       // encoder linears only (reference §1.2 rows 2, 4, 6, 12, 16, 18)
    std::unique_ptr<kernels::PackedLinear> packed; // f32 (after the weight site) or s8 codes
    bool integer = false;                          // packed as s8 codes for the INT8 kernels
};

struct AttentionBlock {
    Linear query, key, value, output;
    Tensor lnGamma, lnBeta;
    Tensor distance; // [2 * max_pos - 1, d] for relative_key[_query]
};

struct Layer {
    AttentionBlock self;
    std::optional<AttentionBlock> cross;
    Linear intermediate, output;
    Tensor lnGamma, lnBeta;
};

// Takes f32 weights out of a checkpoint by name: zero-copy for mapped contiguous f32, f16 / bf16
// converted once. FormatError naming the tensor when it is absent or misshapen.
class WeightReader {
public:
    WeightReader(const Checkpoint &checkpoint, std::string source)
        : m_checkpoint(checkpoint), m_source(std::move(source))
    {
    }

    [[nodiscard]] const Checkpoint &checkpoint() const noexcept { return m_checkpoint; }
    [[nodiscard]] const std::string &source() const noexcept { return m_source; }
    [[nodiscard]] bool has(const std::string &name) const { return m_checkpoint.has(name); }
    [[nodiscard]] Tensor weight(const std::string &name, const Shape &shape) const;
    // name.weight [out, in] and (withBias) name.bias [out].
    [[nodiscard]] Linear linear(const std::string &name, std::int64_t out, std::int64_t in,
                                kernels::Activation activation, std::optional<QuantizerSite> site = std::nullopt,
                                bool withBias = true) const;

private:
    const Checkpoint &m_checkpoint;
    std::string m_source;
};

} // namespace qdq::model

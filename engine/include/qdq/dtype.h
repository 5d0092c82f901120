#pragma once
// Element types of tensors. The names are the short lower-case forms used in the CLI and
// in messages ("f32", "bf16", ...).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace qdq {

enum class DType : std::uint8_t { F32, F16, BF16, I8, U8, I32, I64, Bool };

[[nodiscard]] std::size_t dtypeSize(DType type) noexcept;
[[nodiscard]] std::string_view dtypeName(DType type) noexcept;
[[nodiscard]] std::optional<DType> dtypeFromName(std::string_view name) noexcept;
[[nodiscard]] bool isFloatingPoint(DType type) noexcept;

template <class T>
struct DTypeOf;
template <>
struct DTypeOf<float> {
    static constexpr DType value = DType::F32;
};
template <>
struct DTypeOf<std::int8_t> {
    static constexpr DType value = DType::I8;
};
template <>
struct DTypeOf<std::uint8_t> {
    static constexpr DType value = DType::U8;
};
template <>
struct DTypeOf<std::int32_t> {
    static constexpr DType value = DType::I32;
};
template <>
struct DTypeOf<std::int64_t> {
    static constexpr DType value = DType::I64;
};
template <>
struct DTypeOf<bool> {
    static constexpr DType value = DType::Bool;
};

// f16 and bf16 have no C++ type of their own here; their raw bits travel as these.
struct Half {
    std::uint16_t bits;
};
struct BFloat16 {
    std::uint16_t bits;
};
template <>
struct DTypeOf<Half> {
    static constexpr DType value = DType::F16;
};
template <>
struct DTypeOf<BFloat16> {
    static constexpr DType value = DType::BF16;
};

template <class T>
inline constexpr DType dtypeOf = DTypeOf<T>::value;

} // namespace qdq

#pragma once
// IEEE binary16 (f16) and bfloat16 (bf16) <-> binary32 conversions, exact in both
// directions where the value is representable, round-to-nearest-even otherwise, NaN payloads
// kept (the quiet bit is not forced, so f16 -> f32 -> f16 is the identity on all 65536 bit
// patterns).

#include <cstddef>
#include <cstdint>

namespace qdq {

[[nodiscard]] float halfToFloat(std::uint16_t bits) noexcept;
[[nodiscard]] std::uint16_t floatToHalf(float value) noexcept;
[[nodiscard]] float bf16ToFloat(std::uint16_t bits) noexcept;
[[nodiscard]] std::uint16_t floatToBf16(float value) noexcept;

void halfToFloat(const std::uint16_t *src, float *dst, std::size_t count) noexcept;
void floatToHalf(const float *src, std::uint16_t *dst, std::size_t count) noexcept;
void bf16ToFloat(const std::uint16_t *src, float *dst, std::size_t count) noexcept;
void floatToBf16(const float *src, std::uint16_t *dst, std::size_t count) noexcept;

} // namespace qdq

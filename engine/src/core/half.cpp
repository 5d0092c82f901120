#include "qdq/half.h"

#include <bit>

namespace qdq {

float halfToFloat(std::uint16_t h) noexcept
{
    const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000U) << 16;
    const std::uint32_t exp = (h >> 10) & 0x1FU;
    std::uint32_t mant = h & 0x3FFU;
    std::uint32_t bits = 0;
    if (exp == 0x1F) {
        // inf / NaN: keep the payload in the top mantissa bits
        bits = sign | 0x7F800000U | (mant << 13);
    } else if (exp != 0) {
        bits = sign | ((exp + (127 - 15)) << 23) | (mant << 13);
    } else if (mant == 0) {
        bits = sign;
    } else {
        // subnormal half: normalise
        int e = -1;
        do {
            ++e;
            mant <<= 1;
        } while ((mant & 0x400U) == 0);
        mant &= 0x3FFU;
        bits = sign | (static_cast<std::uint32_t>(127 - 15 - e) << 23) | (mant << 13);
    }
    return std::bit_cast<float>(bits);
}

std::uint16_t floatToHalf(float value) noexcept
{
    const std::uint32_t f = std::bit_cast<std::uint32_t>(value);
    const auto sign = static_cast<std::uint16_t>((f >> 16) & 0x8000U);
    const std::uint32_t exp = (f >> 23) & 0xFFU;
    const std::uint32_t mant = f & 0x7FFFFFU;

    if (exp == 0xFF) {
        if (mant == 0)
            return static_cast<std::uint16_t>(sign | 0x7C00U);
        // NaN: keep the top 10 payload bits; never let a NaN turn into inf
        std::uint32_t payload = mant >> 13;
        if (payload == 0)
            payload = 0x200U;
        return static_cast<std::uint16_t>(sign | 0x7C00U | payload);
    }
    const int e = static_cast<int>(exp) - 127 + 15;
    if (e >= 0x1F)
        return static_cast<std::uint16_t>(sign | 0x7C00U); // overflow -> inf
    if (e <= 0) {
        // subnormal half or zero
        if (e < -10)
            return sign;                          // below half of the smallest subnormal: rounds to zero
        const std::uint32_t m = mant | 0x800000U; // implicit bit
        const auto shift = static_cast<std::uint32_t>(14 - e);
        std::uint32_t half = m >> shift;
        const std::uint32_t rem = m & ((1U << shift) - 1U);
        const std::uint32_t halfway = 1U << (shift - 1);
        if (rem > halfway || (rem == halfway && (half & 1U)))
            ++half;
        return static_cast<std::uint16_t>(sign | half);
    }
    std::uint32_t half = (static_cast<std::uint32_t>(e) << 10) | (mant >> 13);
    const std::uint32_t rem = mant & 0x1FFFU;
    if (rem > 0x1000U || (rem == 0x1000U && (half & 1U)))
        ++half; // may carry into the exponent, up to inf: correct RNE behaviour
    return static_cast<std::uint16_t>(sign | half);
}

float bf16ToFloat(std::uint16_t bits) noexcept
{
    return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
}

std::uint16_t floatToBf16(float value) noexcept
{
    const std::uint32_t f = std::bit_cast<std::uint32_t>(value);
    if ((f & 0x7F800000U) == 0x7F800000U && (f & 0x7FFFFFU) != 0) {
        // NaN: truncate, but keep it a NaN
        auto top = static_cast<std::uint16_t>(f >> 16);
        if ((top & 0x7FU) == 0)
            top |= 0x40U;
        return top;
    }
    const std::uint32_t lsb = (f >> 16) & 1U;
    return static_cast<std::uint16_t>((f + 0x7FFFU + lsb) >> 16);
}

void halfToFloat(const std::uint16_t *src, float *dst, std::size_t count) noexcept
{
    for (std::size_t i = 0; i < count; ++i)
        dst[i] = halfToFloat(src[i]);
}

void floatToHalf(const float *src, std::uint16_t *dst, std::size_t count) noexcept
{
    for (std::size_t i = 0; i < count; ++i)
        dst[i] = floatToHalf(src[i]);
}

void bf16ToFloat(const std::uint16_t *src, float *dst, std::size_t count) noexcept
{
    for (std::size_t i = 0; i < count; ++i)
        dst[i] = bf16ToFloat(src[i]);
}

void floatToBf16(const float *src, std::uint16_t *dst, std::size_t count) noexcept
{
    for (std::size_t i = 0; i < count; ++i)
        dst[i] = floatToBf16(src[i]);
}

} // namespace qdq

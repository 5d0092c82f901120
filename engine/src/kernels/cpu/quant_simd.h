#pragma once
// The per-element loops of fake quant and of the s8 activation codes (reference §3.3 steps 3-6),
// over one run of elements that share one scale. On a CPU with AVX-512 they run 16 lanes at a
// time (8 with AVX2) with exactly the scalar loop's operations in the same order (no fused multiply-add; the
// min/max operand order reproduces the scalar comparisons, NaN included), so both give the same
// bits; tests/unit/tst_quant_simd.cpp checks that on every edge case. QDQ_SCALAR_QUANT=1 in the
// environment selects the scalar loops (for benchmarks: the same binary, before and after).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>

namespace qdq::simd {

// The reference's amax.min() (reference §3.3 step 1): NaN if any entry is NaN, else the least.
inline float nanMin(std::span<const float> values)
{
    float m = std::numeric_limits<float>::infinity();
    for (const float v : values) {
        if (std::isnan(v))
            return v;
        m = std::min(m, v);
    }
    return m;
}

// Round half to even in the default rounding mode (torch.round, std::nearbyint; reference §3.3
// step 5) followed by the clamp to [lo, hi]. Adding and subtracting 1.5 * 2^23 rounds |v| < 2^22
// to an integer with ties to even; inputs are first limited to +-2^22, which cannot change the
// clamped result because |lo|, |hi| <= 2^16. copysign keeps the sign of zero (rne(-0.3) = -0).
// NaN passes every step unchanged (torch.clamp propagates NaN).
inline float roundClamp(float v, float lo, float hi)
{
    constexpr float kLimit = 4194304.0F;  // 2^22
    constexpr float kMagic = 12582912.0F; // 1.5 * 2^23
    v = v > kLimit ? kLimit : v;
    v = v < -kLimit ? -kLimit : v;
    float r = (std::fabs(v) + kMagic) - kMagic;
    r = std::copysign(r, v);
    r = r < lo ? lo : r;
    r = r > hi ? hi : r;
    return r;
}

// out[i] = roundClamp(x[i] * quantScale, lo, hi) / divScale (reference §3.3: divide, not multiply).
void fakeQuantRun(const float *x, float *out, std::int64_t n, float quantScale, float divScale, float lo, float hi);
// out[i] = clamp(rne(x[i] * scale), lo, hi) as s8 for lo >= -128, hi <= 127; NaN gives lo (no
// code exists for it).
void quantizeS8Run(const float *x, std::int8_t *out, std::int64_t n, float scale, float lo, float hi);

// The portable loops, the reference of the vector ones.
void fakeQuantRunScalar(const float *x, float *out, std::int64_t n, float quantScale, float divScale, float lo,
                        float hi);
void quantizeS8RunScalar(const float *x, std::int8_t *out, std::int64_t n, float scale, float lo, float hi);

// True when fakeQuantRun / quantizeS8Run use vector loops on this CPU; loopsName() says which
// ("avx512", "avx2" or "scalar"), chosen once from qdq::cpuIsa() (QDQ_MAX_ISA caps it).
[[nodiscard]] bool vectorized();
[[nodiscard]] const char *loopsName();

} // namespace qdq::simd

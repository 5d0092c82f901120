// AVX-512 and AVX2 versions of the fake-quant and s8-code loops (kernels/cpu/quant_simd.h), chosen once from
// qdq::cpuIsa() (so QDQ_MAX_ISA caps them). Compiled, like every file in src/quant, with
// -ffp-contract=off: the product x * s is rounded before the clamp.
#include "kernels/cpu/quant_simd.h"

#include "qdq/cpu_isa.h"

#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define QDQ_HAVE_AVX512_PATH 1 // and the AVX2 path
#endif

namespace qdq::simd {
namespace {

constexpr float kLimit = 4194304.0F;  // 2^22
constexpr float kMagic = 12582912.0F; // 1.5 * 2^23

#ifdef QDQ_HAVE_AVX512_PATH
// GCC 12's avx512fintrin.h builds _mm512_undefined_*() from a self-initialised variable, which
// -Wmaybe-uninitialized reports at every inlined intrinsic that uses one (a known false positive).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// Operand order matters: _mm512_min_ps(a, b) is (a < b) ? a : b and _mm512_max_ps(a, b) is
// (a > b) ? a : b, the second operand whenever either is NaN, which is how the scalar ternaries
// of roundClamp() and quantizeS8RunScalar() treat NaN and signed zeros.
__attribute__((target("avx512f"))) void fakeQuantAvx512(const float *x, float *out, std::int64_t n, float quantScale,
                                                        float divScale, float lo, float hi)
{
    const __m512 qs = _mm512_set1_ps(quantScale);
    const __m512 ds = _mm512_set1_ps(divScale);
    const __m512 vlo = _mm512_set1_ps(lo);
    const __m512 vhi = _mm512_set1_ps(hi);
    const __m512 limit = _mm512_set1_ps(kLimit);
    const __m512 negLimit = _mm512_set1_ps(-kLimit);
    const __m512 magic = _mm512_set1_ps(kMagic);
    const __m512i sign = _mm512_set1_epi32(static_cast<int>(0x80000000U));
    std::int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 v = _mm512_mul_ps(_mm512_loadu_ps(x + i), qs);
        v = _mm512_min_ps(limit, v);    // v > 2^22 ? 2^22 : v
        v = _mm512_max_ps(negLimit, v); // v < -2^22 ? -2^22 : v
        const __m512i bits = _mm512_castps_si512(v);
        const __m512 magnitude = _mm512_castsi512_ps(_mm512_andnot_si512(sign, bits));
        __m512 r = _mm512_sub_ps(_mm512_add_ps(magnitude, magic), magic);
        r = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(r), _mm512_and_si512(bits, sign))); // copysign
        r = _mm512_max_ps(vlo, r); // r < lo ? lo : r
        r = _mm512_min_ps(vhi, r); // r > hi ? hi : r
        _mm512_storeu_ps(out + i, _mm512_div_ps(r, ds));
    }
    fakeQuantRunScalar(x + i, out + i, n - i, quantScale, divScale, lo, hi);
}

__attribute__((target("avx512f"))) void quantizeS8Avx512(const float *x, std::int8_t *out, std::int64_t n, float scale,
                                                         float lo, float hi)
{
    const __m512 s = _mm512_set1_ps(scale);
    const __m512 vlo = _mm512_set1_ps(lo);
    const __m512 vhi = _mm512_set1_ps(hi);
    const __m512 magic = _mm512_set1_ps(kMagic);
    std::int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 v = _mm512_mul_ps(_mm512_loadu_ps(x + i), s);
        v = _mm512_max_ps(v, vlo); // v > lo ? v : lo (NaN -> lo)
        v = _mm512_min_ps(v, vhi); // v < hi ? v : hi
        v = _mm512_sub_ps(_mm512_add_ps(v, magic), magic);
        const __m128i codes = _mm512_cvtsepi32_epi8(_mm512_cvttps_epi32(v)); // integral, in range: exact
        _mm_storeu_si128(reinterpret_cast<__m128i *>(out + i), codes);
    }
    quantizeS8RunScalar(x + i, out + i, n - i, scale, lo, hi);
}

// The same steps 8 lanes at a time (AVX2's min/max take their operands as AVX-512's do).
__attribute__((target("avx2"))) void fakeQuantAvx2(const float *x, float *out, std::int64_t n, float quantScale,
                                                   float divScale, float lo, float hi)
{
    const __m256 qs = _mm256_set1_ps(quantScale);
    const __m256 ds = _mm256_set1_ps(divScale);
    const __m256 vlo = _mm256_set1_ps(lo);
    const __m256 vhi = _mm256_set1_ps(hi);
    const __m256 limit = _mm256_set1_ps(kLimit);
    const __m256 negLimit = _mm256_set1_ps(-kLimit);
    const __m256 magic = _mm256_set1_ps(kMagic);
    const __m256 sign = _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int>(0x80000000U)));
    std::int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i), qs);
        v = _mm256_min_ps(limit, v);    // v > 2^22 ? 2^22 : v
        v = _mm256_max_ps(negLimit, v); // v < -2^22 ? -2^22 : v
        const __m256 magnitude = _mm256_andnot_ps(sign, v);
        __m256 r = _mm256_sub_ps(_mm256_add_ps(magnitude, magic), magic);
        r = _mm256_or_ps(r, _mm256_and_ps(v, sign)); // copysign
        r = _mm256_max_ps(vlo, r);                   // r < lo ? lo : r
        r = _mm256_min_ps(vhi, r);                   // r > hi ? hi : r
        _mm256_storeu_ps(out + i, _mm256_div_ps(r, ds));
    }
    fakeQuantRunScalar(x + i, out + i, n - i, quantScale, divScale, lo, hi);
}

// Eight codes as s16, in order: scaled, clamped (NaN -> lo), rounded (ties to even), converted.
__attribute__((target("avx2"))) __m128i codesAvx2(const float *p, __m256 s, __m256 vlo, __m256 vhi, __m256 magic)
{
    __m256 v = _mm256_mul_ps(_mm256_loadu_ps(p), s);
    v = _mm256_max_ps(v, vlo); // v > lo ? v : lo (NaN -> lo)
    v = _mm256_min_ps(v, vhi); // v < hi ? v : hi
    v = _mm256_sub_ps(_mm256_add_ps(v, magic), magic);
    const __m256i i32 = _mm256_cvttps_epi32(v); // integral, in [-128, 127]: exact
    return _mm_packs_epi32(_mm256_castsi256_si128(i32), _mm256_extracti128_si256(i32, 1));
}

__attribute__((target("avx2"))) void quantizeS8Avx2(const float *x, std::int8_t *out, std::int64_t n, float scale,
                                                    float lo, float hi)
{
    const __m256 s = _mm256_set1_ps(scale);
    const __m256 vlo = _mm256_set1_ps(lo);
    const __m256 vhi = _mm256_set1_ps(hi);
    const __m256 magic = _mm256_set1_ps(kMagic);
    std::int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m128i codes = _mm_packs_epi16(codesAvx2(x + i, s, vlo, vhi, magic),
                                              codesAvx2(x + i + 8, s, vlo, vhi, magic)); // in range: no saturation
        _mm_storeu_si128(reinterpret_cast<__m128i *>(out + i), codes);
    }
    quantizeS8RunScalar(x + i, out + i, n - i, scale, lo, hi);
}

#pragma GCC diagnostic pop

enum class Loops : std::uint8_t { Scalar, Avx2, Avx512 };

Loops pickLoops()
{
    const char *env = std::getenv("QDQ_SCALAR_QUANT");
    if (env != nullptr && std::strcmp(env, "1") == 0)
        return Loops::Scalar;
    const CpuIsa isa = cpuIsa();
    if (isa >= CpuIsa::Avx512Core)
        return Loops::Avx512;
    if (isa >= CpuIsa::Avx2)
        return Loops::Avx2;
    return Loops::Scalar;
}
#else
enum class Loops : std::uint8_t { Scalar };
Loops pickLoops()
{
    return Loops::Scalar;
}
#endif

Loops loops()
{
    static const Loops chosen = pickLoops();
    return chosen;
}

} // namespace

void fakeQuantRunScalar(const float *x, float *out, std::int64_t n, float quantScale, float divScale, float lo,
                        float hi)
{
    for (std::int64_t i = 0; i < n; ++i)
        out[i] = roundClamp(x[i] * quantScale, lo, hi) / divScale;
}

// Scaled and clamped first (the codes are integers, so clamp and round commute); then adding and
// subtracting 1.5 * 2^23 rounds to the nearest integer, ties to even, for |v| < 2^22.
void quantizeS8RunScalar(const float *x, std::int8_t *out, std::int64_t n, float scale, float lo, float hi)
{
    for (std::int64_t i = 0; i < n; ++i) {
        float v = x[i] * scale;
        v = v > lo ? v : lo;
        v = v < hi ? v : hi;
        v = (v + kMagic) - kMagic;
        out[i] = static_cast<std::int8_t>(static_cast<int>(v));
    }
}

void fakeQuantRun(const float *x, float *out, std::int64_t n, float quantScale, float divScale, float lo, float hi)
{
    switch (loops()) {
#ifdef QDQ_HAVE_AVX512_PATH
    case Loops::Avx512:
        fakeQuantAvx512(x, out, n, quantScale, divScale, lo, hi);
        return;
    case Loops::Avx2:
        fakeQuantAvx2(x, out, n, quantScale, divScale, lo, hi);
        return;
#endif
    case Loops::Scalar:
        break;
    }
    fakeQuantRunScalar(x, out, n, quantScale, divScale, lo, hi);
}

void quantizeS8Run(const float *x, std::int8_t *out, std::int64_t n, float scale, float lo, float hi)
{
    switch (loops()) {
#ifdef QDQ_HAVE_AVX512_PATH
    case Loops::Avx512:
        quantizeS8Avx512(x, out, n, scale, lo, hi);
        return;
    case Loops::Avx2:
        quantizeS8Avx2(x, out, n, scale, lo, hi);
        return;
#endif
    case Loops::Scalar:
        break;
    }
    quantizeS8RunScalar(x, out, n, scale, lo, hi);
}

const char *loopsName()
{
    switch (loops()) {
#ifdef QDQ_HAVE_AVX512_PATH
    case Loops::Avx512:
        return "avx512";
    case Loops::Avx2:
        return "avx2";
#endif
    case Loops::Scalar:
        break;
    }
    return "scalar";
}

bool vectorized()
{
    return loops() != Loops::Scalar;
}

} // namespace qdq::simd

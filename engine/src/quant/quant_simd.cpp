// AVX-512 versions of the fake-quant and s8-code loops (quant_simd.h). Compiled, like every file
// in src/quant, with -ffp-contract=off: the product x * s is rounded before the clamp.
#include "quant_simd.h"

#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define QDQ_HAVE_AVX512_PATH 1
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

#pragma GCC diagnostic pop

bool pickVector()
{
    const char *env = std::getenv("QDQ_SCALAR_QUANT");
    if (env != nullptr && std::strcmp(env, "1") == 0)
        return false;
    return __builtin_cpu_supports("avx512f") != 0;
}
#else
bool pickVector()
{
    return false;
}
#endif

bool useVector()
{
    static const bool vector = pickVector();
    return vector;
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
#ifdef QDQ_HAVE_AVX512_PATH
    if (useVector()) {
        fakeQuantAvx512(x, out, n, quantScale, divScale, lo, hi);
        return;
    }
#endif
    fakeQuantRunScalar(x, out, n, quantScale, divScale, lo, hi);
}

void quantizeS8Run(const float *x, std::int8_t *out, std::int64_t n, float scale, float lo, float hi)
{
#ifdef QDQ_HAVE_AVX512_PATH
    if (useVector()) {
        quantizeS8Avx512(x, out, n, scale, lo, hi);
        return;
    }
#endif
    quantizeS8RunScalar(x, out, n, scale, lo, hi);
}

bool vectorized()
{
    return useVector();
}

} // namespace qdq::simd

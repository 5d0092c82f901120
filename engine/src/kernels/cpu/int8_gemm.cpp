// qdq's exact INT8 GEMM (int8_gemm.h). Compiled with -ffp-contract=off: the epilogue's multiply
// and add round one after the other, as the unfused reference does.
#include "kernels/cpu/int8_gemm.h"
#include "kernels/cpu/packed_weights.h"

#include "qdq/errors.h"

#include <algorithm>
#include <cstring>
#include <omp.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define QDQ_HAVE_AVX2_GEMM 1
#endif

namespace qdq::kernels::int8 {
namespace {

constexpr int kRows = 6;                  // rows of the register tile (6 x 16 s32: 12 ymm accumulators)
constexpr std::int64_t kBlockRows = 192;  // rows sharing one A block in L2 (multiple of kRows)
constexpr std::int64_t kBlockPairs = 256; // k pairs of one B slice: 256 x 64 bytes = 16 KiB, in L1
constexpr std::int64_t kPairValues = 2 * kPanel;

// acc tile [rows][kPanel] += A[rows, pairs] · B slice; `first` starts from zero.
using Micro = void (*)(const std::int16_t *a, std::int64_t lda, const std::int16_t *b, std::int64_t pairs,
                       std::int32_t *tile, bool first);

template <int R>
void microPortable(const std::int16_t *a, std::int64_t lda, const std::int16_t *b, std::int64_t pairs,
                   std::int32_t *tile, bool first)
{
    std::int32_t acc[R][kPanel];
    for (int r = 0; r < R; ++r)
        for (std::int64_t j = 0; j < kPanel; ++j)
            acc[r][j] = first ? 0 : tile[r * kPanel + j];
    for (std::int64_t p = 0; p < pairs; ++p) {
        const std::int16_t *bp = b + p * kPairValues;
        for (int r = 0; r < R; ++r) {
            const std::int32_t a0 = a[r * lda + 2 * p];
            const std::int32_t a1 = a[r * lda + 2 * p + 1];
            for (std::int64_t j = 0; j < kPanel; ++j)
                acc[r][j] += a0 * bp[2 * j] + a1 * bp[2 * j + 1];
        }
    }
    for (int r = 0; r < R; ++r)
        for (std::int64_t j = 0; j < kPanel; ++j)
            tile[r * kPanel + j] = acc[r][j];
}

#ifdef QDQ_HAVE_AVX2_GEMM
// vpmaddwd: lane j gets a[2p] * b[2p, j] + a[2p+1] * b[2p+1, j], two products of |.| <= 2^14
// summed in s32 (exact), then added to the s32 accumulator.
template <int R>
__attribute__((target("avx2"))) void microAvx2(const std::int16_t *a, std::int64_t lda, const std::int16_t *b,
                                               std::int64_t pairs, std::int32_t *tile, bool first)
{
    __m256i lo[R];
    __m256i hi[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
        lo[r] = first
                    ? _mm256_setzero_si256()
                    : _mm256_loadu_si256(reinterpret_cast<const __m256i *>(tile + static_cast<std::ptrdiff_t>(r) * 16));
        hi[r] =
            first
                ? _mm256_setzero_si256()
                : _mm256_loadu_si256(reinterpret_cast<const __m256i *>(tile + static_cast<std::ptrdiff_t>(r) * 16 + 8));
    }
    for (std::int64_t p = 0; p < pairs; ++p) {
        const __m256i b0 = _mm256_load_si256(reinterpret_cast<const __m256i *>(b + p * kPairValues));
        const __m256i b1 = _mm256_load_si256(reinterpret_cast<const __m256i *>(b + p * kPairValues + 16));
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            std::int32_t pair = 0;
            std::memcpy(&pair, a + r * lda + 2 * p, sizeof pair);
            const __m256i av = _mm256_set1_epi32(pair);
            lo[r] = _mm256_add_epi32(lo[r], _mm256_madd_epi16(av, b0));
            hi[r] = _mm256_add_epi32(hi[r], _mm256_madd_epi16(av, b1));
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
        _mm256_storeu_si256(reinterpret_cast<__m256i *>(tile + static_cast<std::ptrdiff_t>(r) * 16), lo[r]);
        _mm256_storeu_si256(reinterpret_cast<__m256i *>(tile + static_cast<std::ptrdiff_t>(r) * 16 + 8), hi[r]);
    }
}
#endif

template <template <int> class Table>
Micro pick(int rows)
{
    switch (rows) {
    case 1:
        return Table<1>::fn;
    case 2:
        return Table<2>::fn;
    case 3:
        return Table<3>::fn;
    case 4:
        return Table<4>::fn;
    case 5:
        return Table<5>::fn;
    default:
        return Table<kRows>::fn;
    }
}

template <int R>
struct PortableTable {
    static constexpr Micro fn = &microPortable<R>;
};
#ifdef QDQ_HAVE_AVX2_GEMM
template <int R>
struct Avx2Table {
    static constexpr Micro fn = &microAvx2<R>;
};
#endif

Micro micro(Int8Gemm kernel, int rows)
{
#ifdef QDQ_HAVE_AVX2_GEMM
    if (kernel == Int8Gemm::Avx2)
        return pick<Avx2Table>(rows);
#endif
    if (kernel == Int8Gemm::OneDnn)
        throw UnsupportedError("qdq's INT8 GEMM asked for oneDNN's kernel");
    return pick<PortableTable>(rows);
}

// One block of up to kBlockRows rows against one panel of 16 columns: the s32 tile stays in L1
// across the depth, each B slice in L1 across the rows, the A block in L2 across the panels.
void blockTimesPanel(Int8Gemm kernel, const std::int16_t *a, std::int64_t rows, std::int64_t lda,
                     const std::int16_t *panel, std::int64_t pairs, std::int64_t col0, std::int64_t cols, float *c,
                     std::int64_t ldc, const Epilogue &e)
{
    alignas(64) std::int32_t tile[kBlockRows * kPanel];
    for (std::int64_t p0 = 0; p0 < pairs; p0 += kBlockPairs) {
        const std::int64_t slice = std::min(kBlockPairs, pairs - p0);
        for (std::int64_t r = 0; r < rows; r += kRows) {
            const int tileRows = static_cast<int>(std::min<std::int64_t>(kRows, rows - r));
            micro(kernel, tileRows)(a + r * lda + 2 * p0, lda, panel + p0 * kPairValues, slice, tile + r * kPanel,
                                    p0 == 0);
        }
    }
    if (pairs == 0)
        std::fill(tile, tile + rows * kPanel, 0);
    for (std::int64_t r = 0; r < rows; ++r) {
        float *out = c + r * ldc + col0;
        const std::int32_t *acc = tile + r * kPanel;
        for (std::int64_t j = 0; j < cols; ++j) {
            const float scale = e.scale[(col0 + j) * e.scaleStride];
            float v = static_cast<float>(acc[j]) * scale;
            if (e.bias != nullptr)
                v = v + e.bias[col0 + j];
            out[j] = v;
        }
    }
}

} // namespace

std::int64_t packedSize(std::int64_t k, std::int64_t n) noexcept
{
    const std::int64_t panels = (n + kPanel - 1) / kPanel;
    return panels * (rowLength(k) / 2) * kPairValues;
}

std::shared_ptr<std::int16_t> allocate(std::int64_t elements)
{
    // the packed-weights allocator: page aligned, transparent huge pages from 2 MiB up
    return std::static_pointer_cast<std::int16_t>(
        PackedWeights::hugePageBuffer(static_cast<std::size_t>(elements) * sizeof(std::int16_t)));
}

void packB(const std::int8_t *src, std::int64_t k, std::int64_t n, std::int64_t strideK, std::int64_t strideN,
           std::int16_t *dst)
{
    const std::int64_t pairs = rowLength(k) / 2;
    const std::int64_t panels = (n + kPanel - 1) / kPanel;
    for (std::int64_t p = 0; p < panels; ++p) {
        std::int16_t *panel = dst + p * pairs * kPairValues;
        for (std::int64_t j = 0; j < pairs; ++j)
            for (std::int64_t col = 0; col < kPanel; ++col) {
                const std::int64_t nn = p * kPanel + col;
                for (std::int64_t half = 0; half < 2; ++half) {
                    const std::int64_t kk = 2 * j + half;
                    panel[j * kPairValues + 2 * col + half] =
                        nn < n && kk < k ? static_cast<std::int16_t>(src[kk * strideK + nn * strideN]) : 0;
                }
            }
    }
}

void widenA(const std::int8_t *src, std::int64_t m, std::int64_t k, std::int64_t strideM, std::int64_t strideK,
            std::int16_t *dst)
{
    const std::int64_t lda = rowLength(k);
    for (std::int64_t r = 0; r < m; ++r) {
        std::int16_t *row = dst + r * lda;
        const std::int8_t *s = src + r * strideM;
        if (strideK == 1)
            for (std::int64_t j = 0; j < k; ++j)
                row[j] = static_cast<std::int16_t>(s[j]); // NOLINT(bugprone-signed-char-misuse): s8 codes
        else
            for (std::int64_t j = 0; j < k; ++j)
                row[j] = static_cast<std::int16_t>(s[j * strideK]); // NOLINT(bugprone-signed-char-misuse)
        if (lda > k)
            row[k] = 0;
    }
}

void gemm(Int8Gemm kernel, const std::int16_t *a, std::int64_t m, const std::int16_t *b, std::int64_t k, std::int64_t n,
          float *c, std::int64_t ldc, const Epilogue &epilogue, bool threads)
{
    if (k > kMaxDepth)
        throw UnsupportedError("INT8 GEMM depth " + std::to_string(k) + " exceeds " + std::to_string(kMaxDepth) +
                               " (the s32 accumulator could overflow)");
    const std::int64_t lda = rowLength(k);
    const std::int64_t pairs = lda / 2;
    const std::int64_t panels = (n + kPanel - 1) / kPanel;
    // row blocks of equal size (a multiple of the register tile's rows), so that the static
    // schedule below gives every thread the same work (128 rows: two blocks of 66 and 62, not
    // 96 and 32)
    const std::int64_t blocks = (m + kBlockRows - 1) / kBlockRows;
    const std::int64_t blockRows = ((m + blocks - 1) / blocks + kRows - 1) / kRows * kRows;
    const std::int64_t work = blocks * panels;
    // below ~2^20 multiply-adds a parallel region costs more than it saves
    const bool parallel = threads && work > 1 && m * n * std::max<std::int64_t>(k, 1) >= (std::int64_t{1} << 20);
#pragma omp parallel for schedule(static) if (parallel)
    for (std::int64_t w = 0; w < work; ++w) {
        const std::int64_t block = w / panels; // block-major: a thread's items share A blocks
        const std::int64_t panel = w % panels;
        const std::int64_t row0 = block * blockRows;
        const std::int64_t col0 = panel * kPanel;
        if (row0 >= m)
            continue;
        blockTimesPanel(kernel, a + row0 * lda, std::min(blockRows, m - row0), lda, b + panel * pairs * kPairValues,
                        pairs, col0, std::min(kPanel, n - col0), c + row0 * ldc, ldc, epilogue);
    }
}

} // namespace qdq::kernels::int8

#pragma once
// qdq's own exact INT8 GEMM (internal to the CPU backend), for the CPUs where oneDNN's s8 kernels
// are not exact (AVX2 and AVX-512 without VNNI: vpmaddubsw sums two u8 x s8 products into a
// saturating s16). Here both operands are widened to s16 once and multiplied by vpmaddwd, whose
// two products per lane (each |.| <= 128 * 128) are summed into s32 without any narrower step:
// acc = Σ_k a[m,k] · b[k,n] exactly, for K up to kMaxDepth (then s32 itself could overflow).
// Then c[m,n] = fl(fl(acc) * scale[n]) + bias[n], each step rounded once (design.md "Precisions").
//
// Layouts:
//   A  s16 rows [M][lda], lda even and >= K rounded up to even; the pad column is zero.
//   B  packed s16 panels of kPanel columns: panel p holds, for each pair of k, the 16 columns'
//      (b[2j, n], b[2j+1, n]) next to each other (32 values, 64 bytes, 64-byte aligned), so one
//      vpmaddwd of a broadcast (a[m,2j], a[m,2j+1]) gives 8 columns' partial sums.
#include "qdq/cpu_isa.h"

#include <cstdint>
#include <memory>

namespace qdq::kernels::int8 {

inline constexpr std::int64_t kPanel = 16;
// |a·b| <= 2^14 per product: K products stay within s32 for K <= 2^31 / 2^14.
inline constexpr std::int64_t kMaxDepth = std::int64_t{1} << 17;

// s16 elements of packed B for a [K x N] operand (every panel whole, K rounded up to even).
[[nodiscard]] std::int64_t packedSize(std::int64_t k, std::int64_t n) noexcept;
// Even row length of A for depth k.
[[nodiscard]] inline std::int64_t rowLength(std::int64_t k) noexcept
{
    return (k + 1) / 2 * 2;
}

// B element (k, n) is src[k * strideK + n * strideN]; dst holds packedSize(k, n) values, 64-byte
// aligned.
void packB(const std::int8_t *src, std::int64_t k, std::int64_t n, std::int64_t strideK, std::int64_t strideN,
           std::int16_t *dst);
// A element (m, k) is src[m * strideM + k * strideK]; dst rows of rowLength(k).
void widenA(const std::int8_t *src, std::int64_t m, std::int64_t k, std::int64_t strideM, std::int64_t strideK,
            std::int16_t *dst);

// An s16 buffer, page aligned (2 MiB from 2 MiB up, for transparent huge pages).
[[nodiscard]] std::shared_ptr<std::int16_t> allocate(std::int64_t elements);

struct Epilogue {
    const float *scale = nullptr; // per column (scaleStride 1) or one value (scaleStride 0)
    std::int64_t scaleStride = 1;
    const float *bias = nullptr; // per column, or nullptr
};

// c[m, n] (row stride ldc) = fl(fl(acc[m, n]) * scale[n]) + bias[n]. `kernel` is Portable or Avx2
// (the latter only where cpuIsa() >= Avx2); `threads`: parallel over row blocks and panels when
// true and the product is large enough to be worth a parallel region.
void gemm(Int8Gemm kernel, const std::int16_t *a, std::int64_t m, const std::int16_t *b, std::int64_t k, std::int64_t n,
          float *c, std::int64_t ldc, const Epilogue &epilogue, bool threads);

} // namespace qdq::kernels::int8

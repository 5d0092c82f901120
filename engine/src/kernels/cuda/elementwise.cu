// Element-wise kernels of the CUDA backend (cuda_kernels.h): s8 codes, the INT8 epilogue, bias and
// activation, f16 conversion, head split / merge, embedding gather, fake quant and histograms.
// Compiled with -fmad=false (engine/CMakeLists.txt), and every step whose rounding matters is an
// explicit _rn intrinsic besides: the codes, the epilogue and the fake quant give the CPU's bits.
#include "kernels/cuda/cuda_kernels.h"

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cfloat>

namespace qdq::kernels::cuda {
namespace {

// Grid-stride loop index helpers (64-bit: activations of batch 32 x 384 x 3072 exceed 2^31 / 8).
__device__ inline std::int64_t firstIndex()
{
    return static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ inline std::int64_t gridStride()
{
    return static_cast<std::int64_t>(gridDim.x) * blockDim.x;
}

// reference §5.4 / HF ACT2FN, with the constants of oneDNN's eltwise kernels (the CPU backend).
__device__ inline float activate(float x, DeviceActivation act)
{
    switch (act) {
    case DeviceActivation::None:
        return x;
    case DeviceActivation::GeluErf:
        return 0.5F * x * (1.0F + erff(x * 0.70710678118654752440F));
    case DeviceActivation::GeluTanh: {
        const float inner = 0.79788456080286535588F * x * (1.0F + 0.044715F * x * x);
        return 0.5F * x * (1.0F + tanhf(inner));
    }
    case DeviceActivation::Relu:
        return x > 0.0F ? x : 0.0F;
    case DeviceActivation::Silu:
        return x / (1.0F + expf(-x));
    case DeviceActivation::Tanh:
        return tanhf(x);
    }
    return x;
}

__device__ inline std::int8_t s8Code(float x, float scale, float lo, float hi)
{
    const float level = plan::s8Level(__fmul_rn(x, scale), lo, hi);
    return static_cast<std::int8_t>(static_cast<int>(level)); // integral and in [-128, 127]: exact
}

__global__ void quantizeRowsKernel(const float *x, std::int64_t batch, std::int64_t rows, std::int64_t paddedRows,
                                   std::int64_t width, float scale, float lo, float hi, std::int8_t *codes,
                                   std::int64_t ld)
{
    const std::int64_t total = batch * paddedRows * ld;
    for (std::int64_t i = firstIndex(); i < total; i += gridStride()) {
        const std::int64_t row = i / ld; // b * paddedRows + r
        const std::int64_t k = i - row * ld;
        const std::int64_t b = row / paddedRows;
        const std::int64_t r = row - b * paddedRows;
        codes[i] = (k < width && r < rows) ? s8Code(x[(b * rows + r) * width + k], scale, lo, hi) : std::int8_t{0};
    }
}

__global__ void quantizeTransposedKernel(const float *x, std::int64_t batch, std::int64_t kDim, std::int64_t nDim,
                                         float scale, float lo, float hi, std::int8_t *codes, std::int64_t ld,
                                         std::int64_t paddedN)
{
    const std::int64_t perItem = paddedN * ld;
    const std::int64_t total = batch * perItem;
    for (std::int64_t i = firstIndex(); i < total; i += gridStride()) {
        const std::int64_t b = i / perItem;
        const std::int64_t rest = i - b * perItem;
        const std::int64_t n = rest / ld;
        const std::int64_t k = rest - n * ld;
        codes[i] = (n < nDim && k < kDim) ? s8Code(x[b * kDim * nDim + k * nDim + n], scale, lo, hi) : std::int8_t{0};
    }
}

__global__ void padCodesKernel(const std::int8_t *src, std::int64_t n, std::int64_t k, std::int8_t *dst,
                               std::int64_t paddedN, std::int64_t ld)
{
    const std::int64_t total = paddedN * ld;
    for (std::int64_t i = firstIndex(); i < total; i += gridStride()) {
        const std::int64_t r = i / ld;
        const std::int64_t c = i - r * ld;
        dst[i] = (r < n && c < k) ? src[r * k + c] : std::int8_t{0};
    }
}

__global__ void int8EpilogueKernel(const std::int32_t *acc, std::int64_t rows, std::int64_t n, std::int64_t ldAcc,
                                   const float *scale, std::int64_t scaleStride, const float *bias,
                                   DeviceActivation act, float *y)
{
    const std::int64_t total = rows * n;
    for (std::int64_t i = firstIndex(); i < total; i += gridStride()) {
        const std::int64_t r = i / n;
        const std::int64_t j = i - r * n;
        // int8_gemm.h: fl(fl(acc) * scale), then + bias, each rounded once; then the activation
        float v = __fmul_rn(__int2float_rn(acc[r * ldAcc + j]), scale[j * scaleStride]);
        if (bias != nullptr)
            v = __fadd_rn(v, bias[j]);
        y[i] = activate(v, act);
    }
}

__global__ void biasActivationKernel(float *y, std::int64_t rows, std::int64_t n, const float *bias,
                                     DeviceActivation act)
{
    const std::int64_t total = rows * n;
    for (std::int64_t i = firstIndex(); i < total; i += gridStride()) {
        float v = y[i];
        if (bias != nullptr)
            v = __fadd_rn(v, bias[i % n]);
        y[i] = activate(v, act);
    }
}

__global__ void toHalfKernel(const float *x, std::uint16_t *out, std::int64_t n)
{
    for (std::int64_t i = firstIndex(); i < n; i += gridStride())
        out[i] = __half_as_ushort(__float2half_rn(x[i]));
}

__global__ void splitHeadsKernel(const float *x, std::int64_t b, std::int64_t l, std::int64_t heads, std::int64_t d,
                                 float *out)
{
    const std::int64_t total = b * heads * l * d;
    for (std::int64_t i = firstIndex(); i < total; i += gridStride()) {
        // out [B,h,L,d] <- x [B,L,h*d]
        const std::int64_t di = i % d;
        const std::int64_t li = (i / d) % l;
        const std::int64_t hi = (i / (d * l)) % heads;
        const std::int64_t bi = i / (d * l * heads);
        out[i] = x[(bi * l + li) * heads * d + hi * d + di];
    }
}

__global__ void mergeHeadsKernel(const float *x, std::int64_t b, std::int64_t heads, std::int64_t l, std::int64_t d,
                                 float *out)
{
    const std::int64_t total = b * heads * l * d;
    for (std::int64_t i = firstIndex(); i < total; i += gridStride()) {
        // out [B,L,h*d] <- x [B,h,L,d]
        const std::int64_t di = i % d;
        const std::int64_t hi = (i / d) % heads;
        const std::int64_t li = (i / (d * heads)) % l;
        const std::int64_t bi = i / (d * heads * l);
        out[i] = x[((bi * heads + hi) * l + li) * d + di];
    }
}

__global__ void gatherRowsKernel(const float *table, std::int64_t rows, std::int64_t width, const std::int64_t *ids,
                                 std::int64_t count, float *out, int *badId)
{
    const std::int64_t total = count * width;
    for (std::int64_t i = firstIndex(); i < total; i += gridStride()) {
        const std::int64_t r = i / width;
        const std::int64_t id = ids[r];
        if (id < 0 || id >= rows) {
            out[i] = 0.0F;
            atomicOr(badId, 1);
        } else {
            out[i] = table[id * width + (i - r * width)];
        }
    }
}

__global__ void fakeQuantKernel(const float *x, float *out, std::int64_t total, std::int64_t channels,
                                std::int64_t inner, const float *quantScale, const float *divScale,
                                const std::uint8_t *zeroChannel, float lo, float hi, int *flags)
{
    for (std::int64_t i = firstIndex(); i < total; i += gridStride()) {
        const float v = x[i];
        if (flags != nullptr) {
            if (v < 0.0F)
                atomicOr(&flags[0], 1);
            if (isnan(v))
                atomicOr(&flags[1], 1);
        }
        const std::int64_t c = (i / inner) % channels;
        if (zeroChannel[c] != 0) {
            out[i] = 0.0F; // reference §3.4: the 2.2.x kernel writes +0, also for inf / NaN
            continue;
        }
        // reference §3.3: clamp(rne(fl(x * s)), m, B) / s, a division (quant_simd.h)
        out[i] = __fdiv_rn(plan::roundClamp(__fmul_rn(v, quantScale[c]), lo, hi), divScale[c]);
    }
}

__device__ inline unsigned warpMax(unsigned v)
{
    for (int off = 16; off > 0; off /= 2)
        v = max(v, __shfl_down_sync(0xffffffffU, v, off));
    return v;
}
__device__ inline unsigned warpMin(unsigned v)
{
    for (int off = 16; off > 0; off /= 2)
        v = min(v, __shfl_down_sync(0xffffffffU, v, off));
    return v;
}
__device__ inline unsigned long long warpSum(unsigned long long v)
{
    for (int off = 16; off > 0; off /= 2)
        v += __shfl_down_sync(0xffffffffU, v, off);
    return v;
}

__global__ void absStatsKernel(const float *x, std::int64_t n, bool skipZeros, unsigned long long *stats)
{
    unsigned maxBits = 0;
    unsigned minBits = 0x7f800000U; // +inf
    unsigned long long counted = 0;
    bool nonFinite = false;
    for (std::int64_t i = firstIndex(); i < n; i += gridStride()) {
        const float a = fabsf(x[i]);
        nonFinite |= !(a <= FLT_MAX);
        const unsigned bits = __float_as_uint(a);
        maxBits = max(maxBits, bits);
        if (!skipZeros || a != 0.0F) {
            minBits = min(minBits, bits);
            ++counted;
        }
    }
    // the lanes of a warp agree on one atomic each (blockDim is a multiple of 32)
    maxBits = warpMax(maxBits);
    minBits = warpMin(minBits);
    counted = warpSum(counted);
    const bool anyNonFinite = __any_sync(0xffffffffU, nonFinite);
    if ((threadIdx.x & 31U) == 0) {
        atomicMax(&stats[0], static_cast<unsigned long long>(maxBits));
        atomicMin(&stats[1], static_cast<unsigned long long>(minBits));
        if (anyNonFinite)
            atomicOr(&stats[2], 1ULL);
        atomicAdd(&stats[3], counted);
    }
}

// Per-block counts in shared memory when they fit, then one global add per bin and block.
constexpr std::int64_t kSharedBins = 8192; // 32 KiB of u32 counts

__global__ void histogramKernel(const float *x, std::int64_t n, plan::HistogramBinning::Rule rule, std::int64_t bins,
                                float lo, float hi, float span, const double *edges, std::int64_t edgeCount,
                                bool skipZeros, unsigned long long *counts)
{
    extern __shared__ unsigned sharedCounts[];
    const bool shared = bins <= kSharedBins;
    if (shared)
        for (std::int64_t b = threadIdx.x; b < bins; b += blockDim.x)
            sharedCounts[b] = 0;
    __syncthreads();
    for (std::int64_t i = firstIndex(); i < n; i += gridStride()) {
        const float a = fabsf(x[i]);
        if (skipZeros && a == 0.0F)
            continue;
        const std::int64_t bin = plan::histogramBin(rule, bins, lo, hi, span, edges, edgeCount, a);
        if (bin < 0)
            continue;
        if (shared)
            atomicAdd(&sharedCounts[bin], 1U);
        else
            atomicAdd(&counts[bin], 1ULL);
    }
    if (!shared)
        return;
    __syncthreads();
    for (std::int64_t b = threadIdx.x; b < bins; b += blockDim.x)
        if (sharedCounts[b] != 0)
            atomicAdd(&counts[b], static_cast<unsigned long long>(sharedCounts[b]));
}

// Grid of an element-wise launch (cuda_plan.h); nothing to launch when grid == 0.
template <class Kernel, class... Args>
void launch(std::int64_t n, cudaStream_t stream, Kernel kernel, Args... args)
{
    const plan::Launch l = plan::elementwiseLaunch(n);
    if (l.grid == 0)
        return;
    kernel<<<l.grid, l.block, 0, stream>>>(args...);
}

} // namespace

void quantizeRows(const float *x, std::int64_t batch, std::int64_t rows, std::int64_t paddedRows, std::int64_t width,
                  float scale, float lo, float hi, std::int8_t *codes, std::int64_t ldCodes, cudaStream_t stream)
{
    launch(batch * paddedRows * ldCodes, stream, quantizeRowsKernel, x, batch, rows, paddedRows, width, scale, lo, hi,
           codes, ldCodes);
}

void quantizeTransposed(const float *x, std::int64_t batch, std::int64_t k, std::int64_t n, float scale, float lo,
                        float hi, std::int8_t *codes, std::int64_t ldCodes, std::int64_t paddedN, cudaStream_t stream)
{
    launch(batch * paddedN * ldCodes, stream, quantizeTransposedKernel, x, batch, k, n, scale, lo, hi, codes, ldCodes,
           paddedN);
}

void padCodes(const std::int8_t *src, std::int64_t n, std::int64_t k, std::int8_t *dst, std::int64_t paddedN,
              std::int64_t ldDst, cudaStream_t stream)
{
    launch(paddedN * ldDst, stream, padCodesKernel, src, n, k, dst, paddedN, ldDst);
}

void int8Epilogue(const std::int32_t *acc, std::int64_t batch, std::int64_t m, std::int64_t n, std::int64_t ldAcc,
                  const float *scale, std::int64_t scaleStride, const float *bias, DeviceActivation act, float *y,
                  cudaStream_t stream)
{
    launch(batch * m * n, stream, int8EpilogueKernel, acc, batch * m, n, ldAcc, scale, scaleStride, bias, act, y);
}

void biasActivation(float *y, std::int64_t rows, std::int64_t n, const float *bias, DeviceActivation act,
                    cudaStream_t stream)
{
    if (bias == nullptr && act == DeviceActivation::None)
        return;
    launch(rows * n, stream, biasActivationKernel, y, rows, n, bias, act);
}

void toHalf(const float *x, std::uint16_t *out, std::int64_t n, cudaStream_t stream)
{
    launch(n, stream, toHalfKernel, x, out, n);
}

void splitHeads(const float *x, std::int64_t b, std::int64_t l, std::int64_t heads, std::int64_t d, float *out,
                cudaStream_t stream)
{
    launch(b * l * heads * d, stream, splitHeadsKernel, x, b, l, heads, d, out);
}

void mergeHeads(const float *x, std::int64_t b, std::int64_t heads, std::int64_t l, std::int64_t d, float *out,
                cudaStream_t stream)
{
    launch(b * l * heads * d, stream, mergeHeadsKernel, x, b, heads, l, d, out);
}

void gatherRows(const float *table, std::int64_t rows, std::int64_t width, const std::int64_t *ids, std::int64_t count,
                float *out, int *badId, cudaStream_t stream)
{
    launch(count * width, stream, gatherRowsKernel, table, rows, width, ids, count, out, badId);
}

void fakeQuant(const float *x, float *out, std::int64_t outer, std::int64_t channels, std::int64_t inner,
               const float *quantScale, const float *divScale, const std::uint8_t *zeroChannel, float lo, float hi,
               int *flags, cudaStream_t stream)
{
    launch(outer * channels * inner, stream, fakeQuantKernel, x, out, outer * channels * inner, channels, inner,
           quantScale, divScale, zeroChannel, lo, hi, flags);
}

void absStats(const float *x, std::int64_t n, bool skipZeros, unsigned long long *stats, cudaStream_t stream)
{
    launch(n, stream, absStatsKernel, x, n, skipZeros, stats);
}

void histogram(const float *x, std::int64_t n, plan::HistogramBinning::Rule rule, std::int64_t bins, float lo, float hi,
               float span, const double *edges, std::int64_t edgeCount, bool skipZeros, unsigned long long *counts,
               cudaStream_t stream)
{
    const plan::Launch l = plan::elementwiseLaunch(n);
    if (l.grid == 0)
        return;
    const std::size_t shared = bins <= kSharedBins ? static_cast<std::size_t>(bins) * sizeof(unsigned) : 0;
    histogramKernel<<<l.grid, l.block, shared, stream>>>(x, n, rule, bins, lo, hi, span, edges, edgeCount, skipZeros,
                                                         counts);
}

} // namespace qdq::kernels::cuda

#pragma once
// Host-side planning of the CUDA backend (kernels/cuda/), compiled in every build, also without
// CUDA, so that it is unit tested on any machine (tests/unit/tst_cuda_plan.cpp): launch shapes,
// the INT8 epilogue's rescale per channel, the cuBLASLt layouts of a row-major product and the
// INT8 padding rules, the fake-quant scales per channel and the histogram's bin rule. The CUDA
// code calls these functions and never recomputes what they compute.
//
// The .cu files include this header too (nvcc compiles them as C++17), so it uses no C++20
// library feature. histogramBin() and the fake-quant steps are __host__ __device__: the same
// source decides a bin or a code on the CPU (tests) and on the GPU.
#include <cmath>
#include <cstdint>
#include <math.h>
#include <vector>

#if defined(__CUDACC__)
#define QDQ_HOST_DEVICE __host__ __device__
#else
#define QDQ_HOST_DEVICE
#endif

namespace qdq::kernels::plan {

// --- launch shapes ---------------------------------------------------------------------------

inline constexpr unsigned kElementBlock = 256;
// Element-wise kernels loop grid-stride: at most this many blocks (far below the 2^31 - 1 limit of
// gridDim.x; 2^16 blocks of 256 threads keep every SM of an H200 busy many times over).
inline constexpr std::int64_t kMaxElementBlocks = std::int64_t{1} << 16;
// Row kernels (softmax, LayerNorm): one block per row, rows beyond this many loop grid-stride.
inline constexpr std::int64_t kMaxRowBlocks = std::int64_t{1} << 20;
inline constexpr unsigned kMaxRowThreads = 256;

struct Launch {
    unsigned grid = 0; // 0: nothing to launch
    unsigned block = 0;
};

// n elements, kElementBlock threads a block, grid-stride beyond kMaxElementBlocks blocks.
[[nodiscard]] Launch elementwiseLaunch(std::int64_t n);
// `rows` rows of `width` values, one block per row: the smallest power of two >= width, between
// one warp (32) and kMaxRowThreads threads.
[[nodiscard]] Launch rowLaunch(std::int64_t rows, std::int64_t width);

// --- INT8 epilogue ---------------------------------------------------------------------------

// fl(1 / (sa * sb)): the product and the quotient in double, rounded once to f32 (as the CPU
// backend's rescale, kernels/cpu/cpu_backend.cpp). sa and sb are dequantization divisors.
[[nodiscard]] float rescale(float sa, float sb);
// The epilogue's rescale per output channel: fl(1 / (sx * sw[n])) for n < channels; sw holds one
// scale (per tensor, broadcast) or one per channel. Throws ShapeError on any other size.
[[nodiscard]] std::vector<float> epilogueScales(float sx, const std::vector<float> &sw, std::int64_t channels);

// --- cuBLASLt layouts --------------------------------------------------------------------------

// cuBLASLt is column-major. A row-major product C[M,N] = A[M,K] · B is computed as the
// column-major Cᵀ[N,M] = op(B)ᵀ · Aᵀ: cuBLAS operand "A" is our B, operand "B" is our A, and the
// row-major storage of each is the column-major storage of its transpose, so no data moves.
struct MatrixLayout {
    std::int64_t rows = 0; // column-major rows (the contiguous dimension)
    std::int64_t cols = 0;
    std::int64_t ld = 0;
    std::int64_t batchStride = 0; // elements between batch items (0 when batch == 1)
};
struct GemmLayout {
    std::int64_t m = 0; // cuBLAS m, n, k: m = N, n = M
    std::int64_t n = 0;
    std::int64_t k = 0;
    bool transA = false; // op of cuBLAS operand A (our B)
    bool transB = false; // op of cuBLAS operand B (our A): always N
    MatrixLayout a;      // our B
    MatrixLayout b;      // our A
    MatrixLayout c;      // our C
    std::int64_t batch = 1;
};

// `batch` products C[M,N] = A[M,K] · B, every operand contiguous per batch item: A [M,K]; B
// [N,K] when bIsNK (a linear's weight: C = A · Bᵀ; or Kᵀ of attention, stored as K), else [K,N].
[[nodiscard]] GemmLayout rowMajorGemm(std::int64_t m, std::int64_t n, std::int64_t k, bool bIsNK,
                                      std::int64_t batch = 1);

// INT8 (CUBLAS_COMPUTE_32I, s8 x s8 -> s32) with the regular column-major order needs the "TN"
// form (cuBLAS A transposed, B not), leading dimensions that are multiples of 4 and 4-byte
// aligned pointers (16 bytes for the fast kernels). The codes are written padded by our own
// quantize kernels: depth K to a multiple of 16 (zero codes add nothing to the s32 sum), output
// channels N to a multiple of 4 (rows of zero weight codes, whose outputs are never read).
inline constexpr std::int64_t kInt8DepthAlign = 16;
inline constexpr std::int64_t kInt8ChannelAlign = 4;
struct Int8Padding {
    std::int64_t depth = 0;    // K rounded up to kInt8DepthAlign
    std::int64_t channels = 0; // N rounded up to kInt8ChannelAlign
};
[[nodiscard]] Int8Padding int8Padding(std::int64_t k, std::int64_t n);
// `batch` products acc[M, Np] (s32, row stride Np) = codesA[M, Kp] · codesB[Np, Kp]ᵀ.
[[nodiscard]] GemmLayout int8Gemm(std::int64_t m, std::int64_t n, std::int64_t k, std::int64_t batch = 1);

// Largest depth for which an s32 sum of s8 x s8 products cannot overflow (|product| <= 2^14).
inline constexpr std::int64_t kInt8MaxDepth = std::int64_t{1} << 17;

// --- fake quant (reference §3.3, §3.4) ---------------------------------------------------------

// 2^-24, the tiny-amax limit of reference §3.3 step 4 (quant/quant_descriptor.h's kTinyAmax).
inline constexpr float kTinyAmax = 5.9604644775390625e-08F;

// The per-channel scales of pytorch-quantization's fake quant, from plain parameters (the kernels
// layer does not see the version profiles): quantScale multiplies, divScale divides, zeroChannel
// marks the 2.2.x CUDA kernel's all-zero channels (reference §3.4).
struct FakeQuantScales {
    std::vector<float> quantScale;
    std::vector<float> divScale;
    std::vector<std::uint8_t> zeroChannel;
};
// amax per channel (or one); maxLevel = B; strictTinyTest / cudaKernel as QuantRange's fields.
// Throws FormatError for a negative amax, and for a NaN amax under cudaKernel (the kernel asserts).
[[nodiscard]] FakeQuantScales fakeQuantScales(const std::vector<float> &amax, float maxLevel, bool strictTinyTest,
                                              bool cudaKernel);

// reference §3.3 step 5, the steps of quant_simd.h's roundClamp() one by one: limit to +-2^22,
// round half to even by adding and subtracting 1.5 * 2^23 (the sign restored), clamp. Written
// with separate statements: nothing here may be contracted into a fused multiply-add.
QDQ_HOST_DEVICE inline float roundClamp(float v, float lo, float hi)
{
    constexpr float kLimit = 4194304.0F;  // 2^22
    constexpr float kMagic = 12582912.0F; // 1.5 * 2^23
    v = v > kLimit ? kLimit : v;
    v = v < -kLimit ? -kLimit : v;
    float r = ::fabsf(v) + kMagic;
    r = r - kMagic;
    r = ::copysignf(r, v);
    r = r < lo ? lo : r;
    r = r > hi ? hi : r;
    return r;
}

// The s8 code of quant_simd.h's quantizeS8RunScalar(): clamp first (NaN -> lo), then round.
QDQ_HOST_DEVICE inline float s8Level(float scaled, float lo, float hi)
{
    constexpr float kMagic = 12582912.0F; // 1.5 * 2^23
    float v = scaled > lo ? scaled : lo;
    v = v < hi ? v : hi;
    v = v + kMagic;
    return v - kMagic;
}

// --- histograms (quant/calibrator.cpp, reference §4.3) -----------------------------------------

// How one batch of |x| is counted, as each of the calibrator's three collection paths does.
struct HistogramBinning {
    enum class Rule : std::uint8_t {
        // torch.histc(x, bins, min=lo, max=hi): pos = int((v - lo) * bins / (hi - lo)) in f32,
        // values outside [lo, hi] dropped, pos == bins counted in the last bin.
        TorchHistc,
        // numpy.histogram(x, bins) on the first batch: idx = int(((v - lo) / span) * bins) in f32,
        // then one-ulp corrections against the f32 edges.
        NumPyFirst,
        // numpy.histogram(x, edges): the largest k with edges[k] <= v (f64 edges, exact
        // comparisons), the last bin closed, values outside dropped (searchsorted).
        SortedEdges,
    };
    Rule rule = Rule::TorchHistc;
    std::int64_t bins = 0;
    float lo = 0.0F;           // TorchHistc: the left end; NumPyFirst: the first edge as f32
    float hi = 0.0F;           // TorchHistc: the right end
    float span = 0.0F;         // NumPyFirst: the f32 denominator (max - min, or the widened range)
    std::vector<double> edges; // NumPyFirst: the f32-valued edges; SortedEdges: the f64 edges
    bool skipZeros = false;    // zeros are not counted (HistogramOptions::skipZeros)
};

// The calibrator's first torch batch: torch.histc(|x|, bins, 0, batchMax); dataMin / dataMax are
// min and max of the counted values (torch.histc's own range when lo == hi).
[[nodiscard]] HistogramBinning torchHistcBinning(std::int64_t bins, float lo, float hi, float dataMin, float dataMax,
                                                 bool skipZeros);
// The calibrator's first NumPy batch (fromZero: the range starts at 0), edges as it computes them.
[[nodiscard]] HistogramBinning numpyFirstBinning(std::int64_t bins, float valuesMin, float valuesMax, bool fromZero,
                                                 bool skipZeros);
// Later NumPy batches: counts against the calibrator's stored edges.
[[nodiscard]] HistogramBinning sortedEdgesBinning(std::vector<double> edges, bool skipZeros);

// The bin of one counted value v = |x| (-1: not counted). `edges` is the binning's edge array
// (host or device memory). Every float step is its own statement (no contraction).
QDQ_HOST_DEVICE inline std::int64_t histogramBin(HistogramBinning::Rule rule, std::int64_t bins, float lo, float hi,
                                                 float span, const double *edges, std::int64_t edgeCount, float v)
{
    switch (rule) {
    case HistogramBinning::Rule::TorchHistc: {
        if (!(v >= lo && v <= hi))
            return -1;
        const float offset = v - lo;
        const float scaled = offset * static_cast<float>(bins);
        const float width = hi - lo;
        auto pos = static_cast<std::int64_t>(scaled / width);
        if (pos == bins)
            pos -= 1;
        return pos;
    }
    case HistogramBinning::Rule::NumPyFirst: {
        const float offset = v - lo;
        const float unit = offset / span;
        auto idx = static_cast<std::int64_t>(unit * static_cast<float>(bins));
        if (idx == bins)
            idx -= 1;
        if (v < static_cast<float>(edges[idx]))
            idx -= 1;
        if (idx != bins - 1 && v >= static_cast<float>(edges[idx + 1]))
            idx += 1;
        return idx;
    }
    case HistogramBinning::Rule::SortedEdges: {
        const double d = v;
        if (edgeCount < 2 || d < edges[0] || d > edges[edgeCount - 1])
            return -1;
        std::int64_t low = 0; // largest k with edges[k] <= d, capped at the last bin
        std::int64_t high = edgeCount - 1;
        while (high - low > 1) {
            const std::int64_t mid = low + (high - low) / 2;
            if (edges[mid] <= d)
                low = mid;
            else
                high = mid;
        }
        return low < edgeCount - 2 ? low : edgeCount - 2;
    }
    }
    return -1;
}

} // namespace qdq::kernels::plan

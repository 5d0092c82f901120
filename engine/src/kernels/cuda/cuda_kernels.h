#pragma once
// The CUDA backend's own kernels (elementwise.cu, row_kernels.cu), behind plain launch functions
// that take device pointers and the backend's stream: cuda_backend.cpp (C++20, compiled by the
// host compiler) calls them, nvcc (C++17) compiles them. Launch shapes come from cuda_plan.h.
// Each function only enqueues work; errors of the launch are checked by the caller
// (checkLaunch in cuda_support.h).
#include "kernels/cuda_plan.h"

#include <cuda_runtime_api.h>

#include <cstdint>

namespace qdq::kernels::cuda {

// Element-wise activations of reference §5.4 (the order of kernels::Activation).
enum class DeviceActivation : std::uint8_t { None, GeluErf, GeluTanh, Relu, Silu, Tanh };

// Codes of `batch` items of `rows` rows of `width` values (x contiguous), written as `paddedRows`
// rows of ldCodes codes per item: codes[(b * paddedRows + r) * ldCodes + k] = s8 code of
// x[(b * rows + r) * width + k] (quant_simd.h's quantizeS8RunScalar arithmetic), and 0 in the
// padding (k >= width or r >= rows: the INT8 GEMM's depth and channel padding).
void quantizeRows(const float *x, std::int64_t batch, std::int64_t rows, std::int64_t paddedRows, std::int64_t width,
                  float scale, float lo, float hi, std::int8_t *codes, std::int64_t ldCodes, cudaStream_t stream);
// The transposing variant for a [batch, K, N] operand: codes[b][n * ldCodes + k] = code of
// x[b][k * N + n]; zero in the padding (k >= K or n >= N, for n < paddedN).
void quantizeTransposed(const float *x, std::int64_t batch, std::int64_t k, std::int64_t n, float scale, float lo,
                        float hi, std::int8_t *codes, std::int64_t ldCodes, std::int64_t paddedN, cudaStream_t stream);
// Copies s8 weight codes [N,K] into the padded [Np, Kp] layout (zeros in the padding).
void padCodes(const std::int8_t *src, std::int64_t n, std::int64_t k, std::int8_t *dst, std::int64_t paddedN,
              std::int64_t ldDst, cudaStream_t stream);

// y[b][m * n + j] = act(fl(fl(acc[b][m * ldAcc + j]) * scale[j * scaleStride]) + bias[j]) for j < n
// (bias may be null): the CPU's INT8 epilogue order (kernels/cpu/int8_gemm.h).
void int8Epilogue(const std::int32_t *acc, std::int64_t batch, std::int64_t m, std::int64_t n, std::int64_t ldAcc,
                  const float *scale, std::int64_t scaleStride, const float *bias, DeviceActivation act, float *y,
                  cudaStream_t stream);
// In place over y [rows, n]: y = act(y + bias[j]) (bias may be null).
void biasActivation(float *y, std::int64_t rows, std::int64_t n, const float *bias, DeviceActivation act,
                    cudaStream_t stream);
// f32 -> f16 (round to nearest even), n values.
void toHalf(const float *x, std::uint16_t *out, std::int64_t n, cudaStream_t stream);

// [B,L,h*d] -> [B,h,L,d] and back (contiguous both).
void splitHeads(const float *x, std::int64_t b, std::int64_t l, std::int64_t heads, std::int64_t d, float *out,
                cudaStream_t stream);
void mergeHeads(const float *x, std::int64_t b, std::int64_t heads, std::int64_t l, std::int64_t d, float *out,
                cudaStream_t stream);
// out[i, :] = table[ids[i], :] (width values); an id outside [0, rows) sets *badId and writes zeros.
void gatherRows(const float *table, std::int64_t rows, std::int64_t width, const std::int64_t *ids, std::int64_t count,
                float *out, int *badId, cudaStream_t stream);

// Fake quant (reference §3.3, §3.4) of x viewed as [outer, channels, inner]: per channel c the
// scales quantScale[c] / divScale[c] (cuda_plan.h's fakeQuantScales), zeroChannel[c] != 0 -> +0.
// flags[0] |= 1 when some x < 0, flags[1] |= 1 when some x is NaN (the unsigned input check).
void fakeQuant(const float *x, float *out, std::int64_t outer, std::int64_t channels, std::int64_t inner,
               const float *quantScale, const float *divScale, const std::uint8_t *zeroChannel, float lo, float hi,
               int *flags, cudaStream_t stream);

// Statistics of |x| for the histogram plan: stats[0] = max |x| bits (a non-negative float's bits
// order as integers), stats[1] = min |x| bits over the counted values (zeros skipped when
// skipZeros), stats[2] = 1 when some |x| is not finite, stats[3] = number of counted values.
// stats must start as {0, 0x7f800000 (+inf), 0, 0}.
void absStats(const float *x, std::int64_t n, bool skipZeros, unsigned long long *stats, cudaStream_t stream);
// counts[bin] += 1 for every counted |x| (plan::histogramBin, edges in device memory).
void histogram(const float *x, std::int64_t n, plan::HistogramBinning::Rule rule, std::int64_t bins, float lo, float hi,
               float span, const double *edges, std::int64_t edgeCount, bool skipZeros, unsigned long long *counts,
               cudaStream_t stream);

// In place over the last dim of scores [rows, keys]: softmax(scores / divisor + mask) where the
// mask row of score row r is (r / (heads * len)) * len + r % len (mask [B,L,S], broadcast over
// heads; null: no mask).
void scaledMaskedSoftmax(float *scores, std::int64_t rows, std::int64_t keys, std::int64_t heads, std::int64_t len,
                         float divisor, const float *mask, cudaStream_t stream);
// out = LayerNorm(a + b) over rows of `width` (b may be null): mean and variance in double,
// biased variance, eps inside the sqrt (reference §5.4), as the CPU backend.
void addLayerNorm(const float *a, const float *b, std::int64_t rows, std::int64_t width, const float *gamma,
                  const float *beta, float eps, float *out, cudaStream_t stream);

} // namespace qdq::kernels::cuda

// Row kernels of the CUDA backend (cuda_kernels.h): the masked scaled softmax and add + LayerNorm,
// one block per row (cuda_plan.h's rowLaunch), block reductions through warp shuffles.
#include "kernels/cuda/cuda_kernels.h"

#include <cuda_runtime.h>

namespace qdq::kernels::cuda {
namespace {

template <class T>
__device__ inline T warpReduceSum(T v)
{
    for (int off = 16; off > 0; off /= 2)
        v += __shfl_down_sync(0xffffffffU, v, off);
    return v;
}
__device__ inline float warpReduceMax(float v)
{
    for (int off = 16; off > 0; off /= 2)
        v = fmaxf(v, __shfl_down_sync(0xffffffffU, v, off));
    return v;
}

// The block's sum (every thread gets it). blockDim.x is a power of two from 32 to 1024.
template <class T>
__device__ T blockSum(T v, T *scratch)
{
    const unsigned lane = threadIdx.x & 31U;
    const unsigned warp = threadIdx.x >> 5U;
    v = warpReduceSum(v);
    if (lane == 0)
        scratch[warp] = v;
    __syncthreads();
    const unsigned warps = blockDim.x >> 5U;
    T total = lane < warps ? scratch[lane] : T(0);
    total = warpReduceSum(total);
    __syncthreads(); // scratch is reused by the next reduction
    return __shfl_sync(0xffffffffU, total, 0);
}

__device__ float blockMax(float v, float *scratch)
{
    const unsigned lane = threadIdx.x & 31U;
    const unsigned warp = threadIdx.x >> 5U;
    v = warpReduceMax(v);
    if (lane == 0)
        scratch[warp] = v;
    __syncthreads();
    const unsigned warps = blockDim.x >> 5U;
    float m = lane < warps ? scratch[lane] : -INFINITY;
    m = warpReduceMax(m);
    __syncthreads();
    return __shfl_sync(0xffffffffU, m, 0);
}

__global__ void softmaxKernel(float *scores, std::int64_t rows, std::int64_t keys, std::int64_t heads, std::int64_t len,
                              float divisor, const float *mask)
{
    __shared__ float scratch[32];
    for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        float *row = scores + r * keys;
        const std::int64_t b = r / (heads * len);
        const std::int64_t l = r % len;
        const float *mrow = mask != nullptr ? mask + (b * len + l) * keys : nullptr;
        // reference §5.3: scores / divisor (a division, as PyTorch), then + mask (§5.2)
        float localMax = -INFINITY;
        for (std::int64_t j = threadIdx.x; j < keys; j += blockDim.x) {
            float v = __fdiv_rn(row[j], divisor);
            if (mrow != nullptr)
                v = __fadd_rn(v, mrow[j]);
            row[j] = v;
            localMax = fmaxf(localMax, v);
        }
        const float rowMax = blockMax(localMax, scratch);
        float localSum = 0.0F;
        for (std::int64_t j = threadIdx.x; j < keys; j += blockDim.x) {
            const float e = expf(row[j] - rowMax);
            row[j] = e;
            localSum += e;
        }
        const float sum = blockSum(localSum, scratch);
        for (std::int64_t j = threadIdx.x; j < keys; j += blockDim.x)
            row[j] = row[j] / sum;
    }
}

__global__ void layerNormKernel(const float *a, const float *b, std::int64_t rows, std::int64_t width,
                                const float *gamma, const float *beta, float eps, float *out)
{
    __shared__ double scratch[32];
    for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const float *arow = a + r * width;
        const float *brow = b != nullptr ? b + r * width : nullptr;
        float *orow = out + r * width;
        double localSum = 0.0;
        for (std::int64_t j = threadIdx.x; j < width; j += blockDim.x) {
            // reference §5.4: the residual sum is in float
            const float v = brow != nullptr ? __fadd_rn(arow[j], brow[j]) : arow[j];
            orow[j] = v;
            localSum += static_cast<double>(v);
        }
        const double mean = blockSum(localSum, scratch) / static_cast<double>(width);
        double localSquares = 0.0;
        for (std::int64_t j = threadIdx.x; j < width; j += blockDim.x) {
            const double d = static_cast<double>(orow[j]) - mean;
            localSquares += d * d;
        }
        const double squares = blockSum(localSquares, scratch);
        // reference §5.4: biased variance, eps inside the square root (as the CPU backend)
        const auto rstd =
            static_cast<float>(1.0 / sqrt(squares / static_cast<double>(width) + static_cast<double>(eps)));
        const auto meanF = static_cast<float>(mean);
        for (std::int64_t j = threadIdx.x; j < width; j += blockDim.x)
            orow[j] = __fadd_rn(__fmul_rn(__fmul_rn(__fsub_rn(orow[j], meanF), rstd), gamma[j]), beta[j]);
    }
}

} // namespace

void scaledMaskedSoftmax(float *scores, std::int64_t rows, std::int64_t keys, std::int64_t heads, std::int64_t len,
                         float divisor, const float *mask, cudaStream_t stream)
{
    const plan::Launch l = plan::rowLaunch(rows, keys);
    if (l.grid == 0 || keys == 0)
        return;
    softmaxKernel<<<l.grid, l.block, 0, stream>>>(scores, rows, keys, heads, len, divisor, mask);
}

void addLayerNorm(const float *a, const float *b, std::int64_t rows, std::int64_t width, const float *gamma,
                  const float *beta, float eps, float *out, cudaStream_t stream)
{
    const plan::Launch l = plan::rowLaunch(rows, width);
    if (l.grid == 0 || width == 0)
        return;
    layerNormKernel<<<l.grid, l.block, 0, stream>>>(a, b, rows, width, gamma, beta, eps, out);
}

} // namespace qdq::kernels::cuda

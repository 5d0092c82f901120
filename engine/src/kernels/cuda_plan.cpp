// Host-side planning of the CUDA backend (cuda_plan.h); compiled in every build.
#include "kernels/cuda_plan.h"

#include "kernels/cpu/quant_simd.h"

#include "qdq/errors.h"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

namespace qdq::kernels::plan {
namespace {

std::int64_t roundUp(std::int64_t v, std::int64_t multiple)
{
    return (v + multiple - 1) / multiple * multiple;
}

using simd::nanMin; // the quantizers' own (cpu/quant_simd.h)

float f32(double v)
{
    return static_cast<float>(v);
}

} // namespace

Launch elementwiseLaunch(std::int64_t n)
{
    if (n <= 0)
        return {};
    const std::int64_t blocks = std::min((n + kElementBlock - 1) / kElementBlock, kMaxElementBlocks);
    return {static_cast<unsigned>(blocks), kElementBlock};
}

Launch rowLaunch(std::int64_t rows, std::int64_t width)
{
    if (rows <= 0)
        return {};
    unsigned threads = 32;
    while (threads < kMaxRowThreads && static_cast<std::int64_t>(threads) < width)
        threads *= 2;
    return {static_cast<unsigned>(std::min(rows, kMaxRowBlocks)), threads};
}

float rescale(float sa, float sb)
{
    return static_cast<float>(1.0 / (static_cast<double>(sa) * static_cast<double>(sb)));
}

std::vector<float> epilogueScales(float sx, const std::vector<float> &sw, std::int64_t channels)
{
    if (channels < 0 || (sw.size() != 1 && static_cast<std::int64_t>(sw.size()) != channels))
        throw ShapeError("INT8 epilogue: " + std::to_string(sw.size()) + " weight scales for " +
                         std::to_string(channels) + " channels");
    std::vector<float> out(static_cast<std::size_t>(channels));
    for (std::size_t c = 0; c < out.size(); ++c)
        out[c] = rescale(sx, sw.size() == 1 ? sw.front() : sw[c]);
    return out;
}

GemmLayout rowMajorGemm(std::int64_t m, std::int64_t n, std::int64_t k, bool bIsNK, std::int64_t batch)
{
    if (m < 0 || n < 0 || k < 0 || batch < 1)
        throw ShapeError("GEMM of " + std::to_string(m) + "x" + std::to_string(k) + " by " + std::to_string(k) + "x" +
                         std::to_string(n) + " (batch " + std::to_string(batch) + ")");
    GemmLayout g;
    g.m = n;
    g.n = m;
    g.k = k;
    g.batch = batch;
    g.transB = false;
    // our A [M,K] row-major = column-major K x M with ld K
    g.b = {k, m, std::max<std::int64_t>(k, 1), batch > 1 ? m * k : 0};
    if (bIsNK) {
        // our B [N,K] row-major = column-major K x N (ld K), transposed to N x K
        g.transA = true;
        g.a = {k, n, std::max<std::int64_t>(k, 1), batch > 1 ? n * k : 0};
    } else {
        // our B [K,N] row-major = column-major N x K (ld N), used as is
        g.transA = false;
        g.a = {n, k, std::max<std::int64_t>(n, 1), batch > 1 ? k * n : 0};
    }
    // our C [M,N] row-major = column-major N x M with ld N
    g.c = {n, m, std::max<std::int64_t>(n, 1), batch > 1 ? m * n : 0};
    return g;
}

Int8Padding int8Padding(std::int64_t k, std::int64_t n)
{
    return {std::max(roundUp(k, kInt8DepthAlign), kInt8DepthAlign),
            std::max(roundUp(n, kInt8ChannelAlign), kInt8ChannelAlign)};
}

GemmLayout int8Gemm(std::int64_t m, std::int64_t n, std::int64_t k, std::int64_t batch)
{
    if (k > kInt8MaxDepth)
        throw UnsupportedError("INT8 GEMM depth " + std::to_string(k) + " exceeds " + std::to_string(kInt8MaxDepth) +
                               " (the s32 accumulator could overflow)");
    const Int8Padding p = int8Padding(k, n);
    // the padded codes: A [M, Kp], B [Np, Kp], acc [M, Np], all row-major: the "TN" form
    return rowMajorGemm(m, p.channels, p.depth, true, batch);
}

FakeQuantScales fakeQuantScales(const std::vector<float> &amax, float maxLevel, bool strictTinyTest, bool cudaKernel)
{
    if (amax.empty())
        throw ShapeError("fake quant: empty amax");
    const float minAmax = nanMin(amax);
    if (minAmax < 0.0F)
        throw FormatError("negative values in amax");
    if (cudaKernel && std::isnan(minAmax)) // reference §3.4: CUDA_KERNEL_ASSERT(amax >= 0)
        throw FormatError("amax is NaN; pytorch-quantization 2.2's CUDA kernel asserts amax >= 0 (profile "
                          "pq-2.2-cuda)");
    FakeQuantScales s;
    const std::size_t n = amax.size();
    s.quantScale.resize(n);
    s.divScale.resize(n);
    s.zeroChannel.assign(n, 0);
    const bool anyTiny = minAmax <= kTinyAmax; // the Python path masks only when the minimum is tiny
    for (std::size_t c = 0; c < n; ++c) {
        const float a = amax[c];
        const float scale = maxLevel / a; // reference §3.3 step 3: fl(B / a)
        s.quantScale[c] = scale;
        s.divScale[c] = scale;
        if (cudaKernel) {
            if (a < kTinyAmax) { // reference §3.4: `<`, output +0
                s.zeroChannel[c] = 1;
                s.quantScale[c] = 0.0F;
                s.divScale[c] = 1.0F;
            }
        } else if (anyTiny && (strictTinyTest ? a < kTinyAmax : a <= kTinyAmax)) {
            s.quantScale[c] = 0.0F;
            s.divScale[c] = 1.0F;
        }
    }
    return s;
}

HistogramBinning torchHistcBinning(std::int64_t bins, float lo, float hi, float dataMin, float dataMax, bool skipZeros)
{
    if (bins < 1)
        throw UnsupportedError("histogram with " + std::to_string(bins) + " bins");
    // torchHistc (quant/calibrator.cpp): an empty range takes the data's, then widens by one
    double left = lo;
    double right = hi;
    if (left == right) {
        left = dataMin;
        right = dataMax;
    }
    if (left == right) {
        left -= 1;
        right += 1;
    }
    HistogramBinning b;
    b.rule = HistogramBinning::Rule::TorchHistc;
    b.bins = bins;
    b.lo = f32(left);
    b.hi = f32(right);
    b.skipZeros = skipZeros;
    return b;
}

HistogramBinning numpyFirstBinning(std::int64_t bins, float valuesMin, float valuesMax, bool fromZero, bool skipZeros)
{
    if (bins < 1)
        throw UnsupportedError("histogram with " + std::to_string(bins) + " bins");
    // HistogramCalibrator::collectNumPy's first batch, step by step
    const float mn = fromZero ? 0.0F : valuesMin;
    double first = mn;
    double last = valuesMax;
    float denom = valuesMax - mn;
    if (mn == valuesMax) {
        first -= 0.5;
        last += 0.5;
        denom = f32(last - first);
    }
    const double step = (last - first) / static_cast<double>(bins);
    HistogramBinning b;
    b.rule = HistogramBinning::Rule::NumPyFirst;
    b.bins = bins;
    b.lo = f32(first);
    b.span = denom;
    b.edges.resize(static_cast<std::size_t>(bins + 1));
    for (std::int64_t k = 0; k < bins; ++k)
        b.edges[static_cast<std::size_t>(k)] = f32(static_cast<double>(k) * step + first);
    b.edges.back() = f32(last);
    b.skipZeros = skipZeros;
    return b;
}

HistogramBinning sortedEdgesBinning(std::vector<double> edges, bool skipZeros)
{
    if (edges.size() < 2)
        throw UnsupportedError("histogram with " + std::to_string(edges.size()) + " edges");
    HistogramBinning b;
    b.rule = HistogramBinning::Rule::SortedEdges;
    b.bins = static_cast<std::int64_t>(edges.size()) - 1;
    b.edges = std::move(edges);
    b.skipZeros = skipZeros;
    return b;
}

} // namespace qdq::kernels::plan

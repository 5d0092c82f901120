// Fake-quant kernels (reference §3.3, §3.4, §3.7). Compiled with -ffp-contract=off (see
// engine/CMakeLists.txt): a fused multiply-add would change the rounding of x * s.
#include "qdq/quant/fake_quant.h"

#include "kernels/cpu/quant_simd.h"
#include "qdq/errors.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace qdq {
namespace {

constexpr std::int64_t kParallelThreshold = std::int64_t{1} << 16;
constexpr std::int64_t kChunk = std::int64_t{1} << 14;

using simd::roundClamp; // reference §3.3 step 5 (quant_simd.h)

using simd::nanMin;

struct Layout {
    std::int64_t numel = 0;
    std::int64_t channels = 1; // size of the amax axis (1 for per-tensor)
    std::int64_t inner = 1;    // elements after the axis
};

Layout layoutFor(std::size_t inSize, std::size_t outSize, const Shape &shape, AmaxView amax)
{
    Layout l;
    l.numel = shapeNumel(shape);
    if (static_cast<std::int64_t>(inSize) != l.numel || static_cast<std::int64_t>(outSize) != l.numel)
        throw ShapeError("fake quant: buffer sizes " + std::to_string(inSize) + "/" + std::to_string(outSize) +
                         " do not match shape " + shapeString(shape));
    if (amax.values.empty())
        throw ShapeError("fake quant: empty amax");
    if (amax.values.size() == 1) {
        l.inner = std::max<std::int64_t>(l.numel, 1); // one run per chunk
        return l;
    }
    if (amax.axis < 0 || amax.axis >= static_cast<int>(shape.size()))
        throw ShapeError("fake quant: amax axis " + std::to_string(amax.axis) + " outside " + shapeString(shape));
    const auto axis = static_cast<std::size_t>(amax.axis);
    if (static_cast<std::int64_t>(amax.values.size()) != shape[axis])
        throw ShapeError("fake quant: " + std::to_string(amax.values.size()) + " amax values for axis " +
                         std::to_string(amax.axis) + " of " + shapeString(shape));
    l.channels = shape[axis];
    for (std::size_t d = axis + 1; d < shape.size(); ++d)
        l.inner *= shape[d];
    return l;
}

// Runs op(begin, end, channel) over runs of elements that share one channel, in parallel for
// large tensors. Each element is computed independently, so the split does not change results.
template <class Op>
void forEachRun(const Layout &l, Op op)
{
    const std::int64_t chunks = (l.numel + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (l.numel >= kParallelThreshold)
    for (std::int64_t c = 0; c < chunks; ++c) {
        const std::int64_t end = std::min(l.numel, (c + 1) * kChunk);
        std::int64_t i = c * kChunk;
        while (i < end) {
            const std::int64_t runEnd = std::min(end, (i / l.inner + 1) * l.inner);
            op(i, runEnd, (i / l.inner) % l.channels);
            i = runEnd;
        }
    }
}

void checkUnsignedInput(std::span<const float> in)
{
    // reference §3.3 step 1: `inputs.min() < 0` raises; torch.min propagates NaN.
    if (nanMin(in) < 0.0F)
        throw FormatError("negative values encountered in unsigned quantization");
}

// Scales of the pytorch-quantization path per channel: quantScale multiplies, divScale divides
// (they differ only for tiny-amax channels: 0 then 1, reference §3.3 steps 4 and 6).
struct PqScales {
    std::vector<float> quantScale;
    std::vector<float> divScale;
    std::vector<unsigned char> zeroChannel; // pq-2.2-cuda: output +0 for the whole channel
};

PqScales pqScales(AmaxView amax, const QuantRange &range)
{
    const float minAmax = nanMin(amax.values);
    if (minAmax < 0.0F)
        throw FormatError("negative values in amax");
    if (range.cudaKernel && std::isnan(minAmax)) // reference §3.4: CUDA_KERNEL_ASSERT(amax >= 0)
        throw FormatError("amax is NaN; pytorch-quantization 2.2's CUDA kernel asserts amax >= 0 (profile "
                          "pq-2.2-cuda)");
    const std::size_t n = amax.values.size();
    PqScales s;
    s.quantScale.resize(n);
    s.divScale.resize(n);
    s.zeroChannel.assign(n, 0);
    // Python path: the mask is only applied when the (NaN-propagating) minimum is tiny.
    const bool anyTiny = minAmax <= kTinyAmax;
    for (std::size_t c = 0; c < n; ++c) {
        const float a = amax.values[c];
        const float scale = range.maxLevel / a; // reference §3.3 step 3: fl(B / a)
        s.quantScale[c] = scale;
        s.divScale[c] = scale;
        if (range.cudaKernel) {
            if (a < kTinyAmax) { // reference §3.4: `<`, output 0
                s.zeroChannel[c] = 1;
                s.quantScale[c] = 0.0F;
                s.divScale[c] = 1.0F;
            }
        } else if (anyTiny && (range.strictTinyTest ? a < kTinyAmax : a <= kTinyAmax)) {
            s.quantScale[c] = 0.0F;
            s.divScale[c] = 1.0F;
        }
    }
    return s;
}

} // namespace

void fakeQuant(std::span<const float> in, std::span<float> out, const Shape &shape, AmaxView amax,
               const QuantRange &range)
{
    const Layout l = layoutFor(in.size(), out.size(), shape, amax);
    if (range.minLevel >= 0.0F)
        checkUnsignedInput(in);
    const PqScales s = pqScales(amax, range);
    const float lo = range.minLevel;
    const float hi = range.maxLevel;
    const float *src = in.data();
    float *dst = out.data();
    forEachRun(l, [&](std::int64_t begin, std::int64_t end, std::int64_t channel) {
        const auto c = static_cast<std::size_t>(channel);
        if (s.zeroChannel[c] != 0) {
            std::fill(dst + begin, dst + end, 0.0F);
            return;
        }
        simd::fakeQuantRun(src + begin, dst + begin, end - begin, s.quantScale[c], s.divScale[c], lo, hi);
    });
}

Tensor fakeQuant(const Tensor &x, AmaxView amax, const QuantRange &range)
{
    if (x.dtype() != DType::F32)
        throw UnsupportedError("fake quant needs f32 input, got " + x.describe());
    const Tensor src = x.contiguous();
    Tensor out = Tensor::empty(DType::F32, x.shape());
    const auto n = static_cast<std::size_t>(x.numel());
    fakeQuant(std::span<const float>(src.data<float>(), n), std::span<float>(out.mutableData<float>(), n), x.shape(),
              amax, range);
    return out;
}

void nativeFakeQuant(std::span<const float> in, std::span<float> out, const Shape &shape, AmaxView amax, int numBits,
                     bool isUnsigned)
{
    const Layout l = layoutFor(in.size(), out.size(), shape, amax);
    const float hi = quantMaxBound(numBits, isUnsigned);
    const float lo = isUnsigned ? 0.0F : -hi - 1.0F;
    std::vector<float> scale(amax.values.size());
    if (scale.size() == 1) // `amax.item() / bound` in Python (double), passed to the kernel as f32
        scale[0] = static_cast<float>(static_cast<double>(amax.values[0]) / static_cast<double>(hi));
    else
        for (std::size_t c = 0; c < scale.size(); ++c)
            scale[c] = amax.values[c] / hi; // f32 tensor division
    const float *src = in.data();
    float *dst = out.data();
    forEachRun(l, [&](std::int64_t begin, std::int64_t end, std::int64_t channel) {
        const float sc = scale[static_cast<std::size_t>(channel)];
        const float inv = 1.0F / sc;
        constexpr float kInt64Limit = 9223372036854775808.0F; // 2^63
        for (std::int64_t i = begin; i < end; ++i) {
            const float v = src[i] * inv;
            // static_cast<int64_t> of NaN/inf/huge is INT64_MIN on x86, clamped to the floor.
            const float q = std::fabs(v) < kInt64Limit ? roundClamp(v, lo, hi) + 0.0F : lo; // int64 round trip: no -0
            dst[i] = q * sc;
        }
    });
}

void onnxFakeQuant(std::span<const float> in, std::span<float> out, const Shape &shape, AmaxView amax, int numBits,
                   bool isUnsigned)
{
    const Layout l = layoutFor(in.size(), out.size(), shape, amax);
    const float hi = quantMaxBound(numBits, isUnsigned);
    const float lo = isUnsigned ? 0.0F : -hi - 1.0F;
    std::vector<float> scale(amax.values.size());
    for (std::size_t c = 0; c < scale.size(); ++c) {
        scale[c] = amax.values[c] / hi;
        if (scale[c] == 0.0F)
            scale[c] = 1.0F; // 2.2.x _onnx_int8_helper
    }
    const float *src = in.data();
    float *dst = out.data();
    forEachRun(l, [&](std::int64_t begin, std::int64_t end, std::int64_t channel) {
        const float sc = scale[static_cast<std::size_t>(channel)];
        for (std::int64_t i = begin; i < end; ++i)
            dst[i] = roundClamp(src[i] / sc, lo, hi) * sc;
    });
}

QuantizedTensor quantizeToInt(const Tensor &x, AmaxView amax, const QuantRange &range)
{
    if (x.dtype() != DType::F32)
        throw UnsupportedError("quantize needs f32 input, got " + x.describe());
    if (range.maxLevel > 255.0F || (range.minLevel < 0.0F && range.maxLevel > 127.0F))
        throw UnsupportedError("integer codes need num_bits <= 8");
    const Tensor src = x.contiguous();
    const auto n = static_cast<std::size_t>(x.numel());
    const std::span<const float> in(src.data<float>(), n);
    const Layout l = layoutFor(n, n, x.shape(), amax);
    const bool isUnsigned = range.minLevel >= 0.0F;
    if (isUnsigned)
        checkUnsignedInput(in);
    const PqScales s = pqScales(amax, range);
    QuantizedTensor result;
    result.codes = Tensor::empty(isUnsigned ? DType::U8 : DType::I8, x.shape());
    result.axis = amax.axis;
    result.scale = s.divScale;
    std::vector<float> levels(n);
    const float lo = range.minLevel;
    const float hi = range.maxLevel;
    forEachRun(l, [&](std::int64_t begin, std::int64_t end, std::int64_t channel) {
        const auto c = static_cast<std::size_t>(channel);
        const float qs = s.zeroChannel[c] != 0 ? 0.0F : s.quantScale[c];
        for (std::int64_t i = begin; i < end; ++i)
            levels[static_cast<std::size_t>(i)] = roundClamp(in[static_cast<std::size_t>(i)] * qs, lo, hi);
    });
    if (isUnsigned) {
        auto *codes = result.codes.mutableData<std::uint8_t>();
        for (std::size_t i = 0; i < n; ++i) {
            if (std::isnan(levels[i]))
                throw FormatError("NaN cannot be quantized to an integer code");
            codes[i] = static_cast<std::uint8_t>(levels[i]);
        }
    } else {
        auto *codes = result.codes.mutableData<std::int8_t>();
        for (std::size_t i = 0; i < n; ++i) {
            if (std::isnan(levels[i]))
                throw FormatError("NaN cannot be quantized to an integer code");
            codes[i] = static_cast<std::int8_t>(levels[i]);
        }
    }
    return result;
}

} // namespace qdq

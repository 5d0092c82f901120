// The CUDA backend's kernels::Backend operations: cuBLASLt GEMMs (FP32 with TF32 off, or FP16 with
// FP32 accumulation; INT8 s8 x s8 -> s32 followed by our epilogue) and our own kernels for the
// rest, with the CPU backend's semantics (kernels/cpu/cpu_backend.cpp).
//
// The Backend interface is host-facing today: every operation uploads its f32 activations from the
// host, computes on the backend's stream in its device arena and downloads the result before it
// returns. Weights are uploaded once, when packed, and stay on the device. A device-resident
// tensor path (no copies between operations) needs the model to speak Device (issue #26).
#include "kernels/cuda/cuda_backend_impl.h"

#include "qdq/errors.h"
#include "qdq/half.h"

#include <cuda_runtime_api.h>

#include <utility>

namespace qdq::kernels::cuda {
namespace {

// A linear layer's weight on the device: f32 [N,K], or f16 [N,K] for FP16 GEMMs.
class CudaPackedLinear final : public PackedLinear {
public:
    CudaPackedLinear(std::int64_t n, std::int64_t k, DeviceMemory weight, bool half, DeviceMemory bias,
                     Activation activation)
        : m_n(n), m_k(k), m_weight(std::move(weight)), m_half(half), m_bias(std::move(bias)), m_activation(activation)
    {
    }
    [[nodiscard]] std::int64_t inFeatures() const noexcept override { return m_k; }
    [[nodiscard]] std::int64_t outFeatures() const noexcept override { return m_n; }
    [[nodiscard]] const void *weight() const noexcept { return m_weight.get(); }
    [[nodiscard]] bool half() const noexcept { return m_half; }
    [[nodiscard]] const float *bias() const noexcept { return m_bias.as<float>(); }
    [[nodiscard]] Activation activation() const noexcept { return m_activation; }

private:
    std::int64_t m_n;
    std::int64_t m_k;
    DeviceMemory m_weight;
    bool m_half;
    DeviceMemory m_bias; // f32 [N] or empty
    Activation m_activation;
};

// An INT8 linear: the s8 codes padded to [Np, Kp] (plan::int8Padding) on the device, the weight
// scales per row on the host, and the epilogue's rescale for the last input scale on the device.
class CudaPackedLinearS8 final : public PackedLinear {
public:
    CudaPackedLinearS8(std::int64_t n, std::int64_t k, DeviceMemory codes, std::vector<float> scales, DeviceMemory bias,
                       Activation activation)
        : m_n(n), m_k(k), m_codes(std::move(codes)), m_scales(std::move(scales)), m_bias(std::move(bias)),
          m_activation(activation), m_rescale(static_cast<std::size_t>(n) * sizeof(float))
    {
    }
    [[nodiscard]] std::int64_t inFeatures() const noexcept override { return m_k; }
    [[nodiscard]] std::int64_t outFeatures() const noexcept override { return m_n; }
    [[nodiscard]] const std::int8_t *codes() const noexcept { return m_codes.as<std::int8_t>(); }
    [[nodiscard]] const float *bias() const noexcept { return m_bias.as<float>(); }
    [[nodiscard]] Activation activation() const noexcept { return m_activation; }

    // fl(1 / (sx * s_w[n])) per channel on the device, recomputed only when sx changes (a
    // calibrated input quantizer keeps one sx). The caller holds the backend's mutex.
    const float *rescale(float sx, cudaStream_t stream)
    {
        if (!m_haveRescale || sx != m_rescaleFor) {
            const std::vector<float> r = plan::epilogueScales(sx, m_scales, m_n);
            upload(m_rescale.get(), r.data(), r.size() * sizeof(float), stream);
            m_rescaleFor = sx;
            m_haveRescale = true;
        }
        return m_rescale.as<float>();
    }

private:
    std::int64_t m_n;
    std::int64_t m_k;
    DeviceMemory m_codes;
    std::vector<float> m_scales;
    DeviceMemory m_bias;
    Activation m_activation;
    DeviceMemory m_rescale;
    float m_rescaleFor = 0.0F;
    bool m_haveRescale = false;
};

DeviceMemory uploadBias(const Tensor &bias, std::int64_t n, cudaStream_t stream)
{
    if (!bias.defined())
        return {};
    if (bias.dim() != 1 || bias.size(0) != n || bias.dtype() != DType::F32)
        throw ShapeError("linear bias " + bias.describe() + " does not have " + std::to_string(n) + " f32 values");
    const Tensor b = bias.contiguous();
    return uploadPersistent(b.rawData(), b.nbytes(), stream);
}

Shape matmulShape(const Tensor &a, const Tensor &b)
{
    if (a.dim() < 2 || a.dim() != b.dim() || a.size(-1) != b.size(-2))
        throw ShapeError("matmul of " + a.describe() + " and " + b.describe());
    for (int d = 0; d + 2 < a.dim(); ++d)
        if (a.size(d) != b.size(d))
            throw ShapeError("matmul batch dims differ: " + a.describe() + " and " + b.describe());
    Shape out = a.shape();
    out.back() = b.size(-1);
    return out;
}

// b's data as [batch, N, K] (a transposed view of contiguous data, attention's Kᵀ: no copy) or as
// [batch, K, N] (anything else, made contiguous).
struct RightOperand {
    Tensor data;
    bool isNK = false;
};
RightOperand rightOperand(const Tensor &b)
{
    const int r = b.dim();
    if (!b.isContiguous() && b.transpose(r - 2, r - 1).isContiguous())
        return {b.transpose(r - 2, r - 1), true};
    return {b.contiguous(), false};
}

} // namespace

DeviceActivation deviceActivation(Activation a)
{
    return static_cast<DeviceActivation>(static_cast<std::uint8_t>(a));
}
static_assert(static_cast<int>(Activation::Tanh) == static_cast<int>(DeviceActivation::Tanh));

DeviceMemory uploadPersistent(const void *data, std::size_t bytes, cudaStream_t stream)
{
    DeviceMemory m(bytes);
    upload(m.get(), data, bytes, stream);
    check(cudaStreamSynchronize(stream), "cudaStreamSynchronize (weights to device)");
    return m;
}

void CudaBackendImpl::finish(Tensor &out, const void *device, const char *what)
{
    download(out.mutableRawData(), device, out.nbytes(), m_stream.get());
    m_stream.synchronize(what);
}

std::unique_ptr<PackedLinear> CudaBackendImpl::packLinear(const Tensor &weight, const Tensor &bias,
                                                          Activation activation)
{
    if (weight.dim() != 2 || weight.dtype() != DType::F32)
        throw ShapeError("linear weight must be f32 [out, in], got " + weight.describe());
    const std::lock_guard lock(m_mutex);
    const DeviceGuard guard(m_index);
    const Tensor w = weight.contiguous();
    const bool half = m_math == detail::CudaGemmMath::Fp16;
    DeviceMemory stored;
    if (half) {
        std::vector<std::uint16_t> h(static_cast<std::size_t>(w.numel()));
        floatToHalf(w.data<float>(), h.data(), h.size());
        stored = uploadPersistent(h.data(), h.size() * sizeof(std::uint16_t), m_stream.get());
    } else {
        stored = uploadPersistent(w.rawData(), w.nbytes(), m_stream.get());
    }
    return std::make_unique<CudaPackedLinear>(w.size(0), w.size(1), std::move(stored), half,
                                              uploadBias(bias, w.size(0), m_stream.get()), activation);
}

Tensor CudaBackendImpl::linear(const Tensor &x, const PackedLinear &w)
{
    const auto &packed = dynamic_cast<const CudaPackedLinear &>(w);
    const std::int64_t k = packed.inFeatures();
    const std::int64_t n = packed.outFeatures();
    if (x.dim() < 1 || x.size(-1) != k)
        throw ShapeError("linear input " + x.describe() + " does not have " + std::to_string(k) + " features");
    Shape outShape = x.shape();
    outShape.back() = n;
    Tensor y = Tensor::empty(DType::F32, outShape);
    if (y.numel() == 0)
        return y;
    const std::int64_t rows = y.numel() / n;
    const bool half = packed.half();
    const Operation op(*this, f32Bytes(rows * k) + f32Bytes(rows * n) + (half ? f32Bytes(rows * k) : 0));
    const float *xd = put<float>(x);
    float *yd = m_arena.take<float>(static_cast<std::size_t>(rows * n));
    cudaStream_t s = m_stream.get();
    if (k == 0) {
        check(cudaMemsetAsync(yd, 0, static_cast<std::size_t>(rows * n) * sizeof(float), s), "cudaMemsetAsync");
    } else if (half) {
        auto *xh = m_arena.take<std::uint16_t>(static_cast<std::size_t>(rows * k));
        toHalf(xd, xh, rows * k, s);
        checkLaunch("toHalf");
        m_lt.run(GemmType::F16, plan::rowMajorGemm(rows, n, k, true), packed.weight(), xh, yd);
    } else {
        m_lt.run(GemmType::F32, plan::rowMajorGemm(rows, n, k, true), packed.weight(), xd, yd);
    }
    biasActivation(yd, rows, n, packed.bias(), deviceActivation(packed.activation()), s);
    checkLaunch("biasActivation");
    finish(y, yd, "linear");
    return y;
}

Tensor CudaBackendImpl::matmul(const Tensor &a, const Tensor &b)
{
    const Shape outShape = matmulShape(a, b);
    Tensor c = Tensor::empty(DType::F32, outShape);
    if (c.numel() == 0)
        return c;
    const std::int64_t m = a.size(-2);
    const std::int64_t k = a.size(-1);
    const std::int64_t n = b.size(-1);
    const std::int64_t batch = c.numel() / (m * n);
    const RightOperand right = rightOperand(b);
    const bool half = m_math == detail::CudaGemmMath::Fp16;
    const std::int64_t aN = batch * m * k;
    const std::int64_t bN = batch * k * n;
    const Operation op(*this, f32Bytes(aN) + f32Bytes(bN) + f32Bytes(batch * m * n) +
                                  (half ? f32Bytes(aN) + f32Bytes(bN) : 0));
    const float *ad = put<float>(a);
    const float *bd = put<float>(right.data);
    float *cd = m_arena.take<float>(static_cast<std::size_t>(batch * m * n));
    cudaStream_t s = m_stream.get();
    const plan::GemmLayout layout = plan::rowMajorGemm(m, n, k, right.isNK, batch);
    if (k == 0) {
        check(cudaMemsetAsync(cd, 0, c.nbytes(), s), "cudaMemsetAsync");
    } else if (half) {
        auto *ah = m_arena.take<std::uint16_t>(static_cast<std::size_t>(aN));
        auto *bh = m_arena.take<std::uint16_t>(static_cast<std::size_t>(bN));
        toHalf(ad, ah, aN, s);
        toHalf(bd, bh, bN, s);
        checkLaunch("toHalf");
        m_lt.run(GemmType::F16, layout, bh, ah, cd);
    } else {
        m_lt.run(GemmType::F32, layout, bd, ad, cd);
    }
    finish(c, cd, "matmul");
    return c;
}

void CudaBackendImpl::scaledMaskedSoftmax(Tensor &scores, float divisor, const Tensor &mask)
{
    if (scores.dim() != 4 || !scores.isContiguous() || scores.dtype() != DType::F32)
        throw ShapeError("softmax expects contiguous f32 [B,h,L,S] scores, got " + scores.describe());
    if (scores.numel() == 0)
        return;
    const std::int64_t heads = scores.size(1);
    const std::int64_t len = scores.size(2);
    const std::int64_t keys = scores.size(3);
    if (mask.defined() && mask.numel() != scores.size(0) * len * keys)
        throw ShapeError("softmax mask " + mask.describe() + " does not fit scores " + scores.describe());
    const Operation op(*this, f32Bytes(scores.numel()) + (mask.defined() ? f32Bytes(mask.numel()) : 0));
    float *sd = put<float>(scores);
    const float *md = mask.defined() ? put<float>(mask) : nullptr;
    cuda::scaledMaskedSoftmax(sd, scores.numel() / keys, keys, heads, len, divisor, md, m_stream.get());
    checkLaunch("scaledMaskedSoftmax");
    finish(scores, sd, "scaledMaskedSoftmax");
}

Tensor CudaBackendImpl::splitHeads(const Tensor &x, std::int64_t heads)
{
    if (x.dim() != 3 || heads <= 0 || x.size(2) % heads != 0)
        throw ShapeError("cannot split " + x.describe() + " into " + std::to_string(heads) + " heads");
    const std::int64_t b = x.size(0);
    const std::int64_t l = x.size(1);
    const std::int64_t d = x.size(2) / heads;
    Tensor out = Tensor::empty(DType::F32, {b, heads, l, d});
    if (out.numel() == 0)
        return out;
    const Operation op(*this, 2 * f32Bytes(out.numel()));
    const float *xd = put<float>(x);
    float *od = m_arena.take<float>(static_cast<std::size_t>(out.numel()));
    cuda::splitHeads(xd, b, l, heads, d, od, m_stream.get());
    checkLaunch("splitHeads");
    finish(out, od, "splitHeads");
    return out;
}

Tensor CudaBackendImpl::mergeHeads(const Tensor &x)
{
    if (x.dim() != 4)
        throw ShapeError("cannot merge heads of " + x.describe());
    const std::int64_t b = x.size(0);
    const std::int64_t heads = x.size(1);
    const std::int64_t l = x.size(2);
    const std::int64_t d = x.size(3);
    Tensor out = Tensor::empty(DType::F32, {b, l, heads * d});
    if (out.numel() == 0)
        return out;
    const Operation op(*this, 2 * f32Bytes(out.numel()));
    const float *xd = put<float>(x);
    float *od = m_arena.take<float>(static_cast<std::size_t>(out.numel()));
    cuda::mergeHeads(xd, b, heads, l, d, od, m_stream.get());
    checkLaunch("mergeHeads");
    finish(out, od, "mergeHeads");
    return out;
}

Tensor CudaBackendImpl::addLayerNorm(const Tensor &a, const Tensor &b, const Tensor &gamma, const Tensor &beta,
                                     float eps)
{
    if (b.defined() && b.shape() != a.shape())
        throw ShapeError("residual add of " + a.describe() + " and " + b.describe());
    const std::int64_t width = a.dim() > 0 ? a.size(-1) : 0;
    if (gamma.numel() != width || beta.numel() != width)
        throw ShapeError("LayerNorm weights do not match width " + std::to_string(width));
    Tensor out = Tensor::empty(DType::F32, a.shape());
    if (out.numel() == 0)
        return out;
    const Operation op(*this, (b.defined() ? 3 : 2) * f32Bytes(out.numel()) + 2 * f32Bytes(width));
    const float *ad = put<float>(a);
    const float *bd = b.defined() ? put<float>(b) : nullptr;
    const float *gd = put<float>(gamma);
    const float *bed = put<float>(beta);
    float *od = m_arena.take<float>(static_cast<std::size_t>(out.numel()));
    cuda::addLayerNorm(ad, bd, out.numel() / width, width, gd, bed, eps, od, m_stream.get());
    checkLaunch("addLayerNorm");
    finish(out, od, "addLayerNorm");
    return out;
}

std::unique_ptr<PackedLinear> CudaBackendImpl::packQuantizedLinear(const QuantizedTensor &weight, const Tensor &bias,
                                                                   Activation activation)
{
    const Tensor &codes = weight.codes;
    if (codes.dim() != 2 || codes.dtype() != DType::I8)
        throw ShapeError("INT8 linear weight must be s8 [out, in], got " + codes.describe());
    const std::int64_t n = codes.size(0);
    const std::int64_t k = codes.size(1);
    if (weight.scale.size() != 1 && (static_cast<std::int64_t>(weight.scale.size()) != n || weight.axis != 0))
        throw ShapeError("INT8 linear weight scales must be one or one per row (" + std::to_string(n) + ")");
    (void)plan::int8Gemm(1, n, k); // throws beyond the depth where the s32 sum could overflow
    const plan::Int8Padding pad = plan::int8Padding(k, n);
    const std::lock_guard lock(m_mutex);
    const DeviceGuard guard(m_index);
    const Tensor c = codes.contiguous();
    const DeviceMemory raw = uploadPersistent(c.rawData(), c.nbytes(), m_stream.get());
    DeviceMemory padded(static_cast<std::size_t>(pad.channels * pad.depth));
    cuda::padCodes(raw.as<std::int8_t>(), n, k, padded.as<std::int8_t>(), pad.channels, pad.depth, m_stream.get());
    checkLaunch("padCodes");
    m_stream.synchronize("packQuantizedLinear");
    std::vector<float> scales = weight.scale;
    if (scales.size() == 1)
        scales.assign(static_cast<std::size_t>(n), scales.front());
    return std::make_unique<CudaPackedLinearS8>(n, k, std::move(padded), std::move(scales),
                                                uploadBias(bias, n, m_stream.get()), activation);
}

Tensor CudaBackendImpl::quantizedLinear(const Tensor &x, const IntegerQuant &xq, const PackedLinear &w)
{
    auto &packed = const_cast<CudaPackedLinearS8 &>(dynamic_cast<const CudaPackedLinearS8 &>(w));
    const std::int64_t k = packed.inFeatures();
    const std::int64_t n = packed.outFeatures();
    if (x.dim() < 1 || x.size(-1) != k)
        throw ShapeError("linear input " + x.describe() + " does not have " + std::to_string(k) + " features");
    if (x.dtype() != DType::F32)
        throw ShapeError("INT8 operand must be f32, got " + x.describe());
    Shape outShape = x.shape();
    outShape.back() = n;
    Tensor y = Tensor::empty(DType::F32, outShape);
    if (y.numel() == 0)
        return y;
    const std::int64_t rows = y.numel() / n;
    const plan::Int8Padding pad = plan::int8Padding(k, n);
    const Operation op(*this, f32Bytes(rows * k) + Arena::aligned(static_cast<std::size_t>(rows * pad.depth)) +
                                  f32Bytes(rows * pad.channels) + f32Bytes(rows * n));
    cudaStream_t s = m_stream.get();
    const float *xd = put<float>(x);
    auto *codes = m_arena.take<std::int8_t>(static_cast<std::size_t>(rows * pad.depth));
    auto *acc = m_arena.take<std::int32_t>(static_cast<std::size_t>(rows * pad.channels));
    float *yd = m_arena.take<float>(static_cast<std::size_t>(rows * n));
    // reference §3.3 step 5: the codes of the CPU's quantizeS8 (scale, not the divisor)
    cuda::quantizeRows(xd, 1, rows, rows, k, xq.scale, xq.minLevel, xq.maxLevel, codes, pad.depth, s);
    checkLaunch("quantizeRows");
    m_lt.run(GemmType::S8, plan::int8Gemm(rows, n, k), packed.codes(), codes, acc);
    const float *scale = packed.rescale(xq.dequantDivisor(), s);
    cuda::int8Epilogue(acc, 1, rows, n, pad.channels, scale, 1, packed.bias(), deviceActivation(packed.activation()),
                       yd, s);
    checkLaunch("int8Epilogue");
    finish(y, yd, "quantizedLinear");
    return y;
}

Tensor CudaBackendImpl::quantizedMatmul(const Tensor &a, const IntegerQuant &qa, const Tensor &b,
                                        const IntegerQuant &qb)
{
    const Shape outShape = matmulShape(a, b);
    if (a.dtype() != DType::F32 || b.dtype() != DType::F32)
        throw ShapeError("INT8 operands must be f32, got " + a.describe() + " and " + b.describe());
    Tensor c = Tensor::empty(DType::F32, outShape);
    if (c.numel() == 0)
        return c;
    const std::int64_t m = a.size(-2);
    const std::int64_t k = a.size(-1);
    const std::int64_t n = b.size(-1);
    const std::int64_t batch = c.numel() / (m * n);
    const plan::GemmLayout layout = plan::int8Gemm(m, n, k, batch);
    const plan::Int8Padding pad = plan::int8Padding(k, n);
    const RightOperand right = rightOperand(b);
    const Operation op(*this, f32Bytes(batch * m * k) + f32Bytes(batch * k * n) +
                                  Arena::aligned(static_cast<std::size_t>(batch * m * pad.depth)) +
                                  Arena::aligned(static_cast<std::size_t>(batch * pad.channels * pad.depth)) +
                                  f32Bytes(batch * m * pad.channels) + f32Bytes(batch * m * n) + f32Bytes(1));
    cudaStream_t s = m_stream.get();
    const float *ad = put<float>(a);
    const float *bd = put<float>(right.data);
    auto *aCodes = m_arena.take<std::int8_t>(static_cast<std::size_t>(batch * m * pad.depth));
    auto *bCodes = m_arena.take<std::int8_t>(static_cast<std::size_t>(batch * pad.channels * pad.depth));
    auto *acc = m_arena.take<std::int32_t>(static_cast<std::size_t>(batch * m * pad.channels));
    float *cd = m_arena.take<float>(static_cast<std::size_t>(batch * m * n));
    const float *scale = put(std::vector<float>{plan::rescale(qa.dequantDivisor(), qb.dequantDivisor())});
    cuda::quantizeRows(ad, 1, batch * m, batch * m, k, qa.scale, qa.minLevel, qa.maxLevel, aCodes, pad.depth, s);
    if (right.isNK)
        cuda::quantizeRows(bd, batch, n, pad.channels, k, qb.scale, qb.minLevel, qb.maxLevel, bCodes, pad.depth, s);
    else
        cuda::quantizeTransposed(bd, batch, k, n, qb.scale, qb.minLevel, qb.maxLevel, bCodes, pad.depth, pad.channels,
                                 s);
    checkLaunch("quantizeRows");
    m_lt.run(GemmType::S8, layout, bCodes, aCodes, acc);
    cuda::int8Epilogue(acc, batch, m, n, pad.channels, scale, 0, nullptr, DeviceActivation::None, cd, s);
    checkLaunch("int8Epilogue");
    finish(c, cd, "quantizedMatmul");
    return c;
}

} // namespace qdq::kernels::cuda

#pragma once
// The one dispatch point between the model and the kernels (style.md: "one dispatch point").
// A Backend is chosen when a model is created; the model calls only these operations. Every
// tensor here is f32; inputs may be strided views, outputs are new contiguous tensors unless
// an operation says it works in place.

#include "qdq/device.h"
#include "qdq/kernel_types.h"
#include "qdq/tensor.h"

#include <memory>
#include <string>

namespace qdq::kernels {

// Element-wise activation fused after a linear (reference §5.4; HF ACT2FN names).
enum class Activation : std::uint8_t { None, GeluErf, GeluTanh, Relu, Silu, Tanh };

// A linear layer's weight and bias in the backend's preferred layout (packed once, reused).
class PackedLinear {
public:
    virtual ~PackedLinear() = default;
    [[nodiscard]] virtual std::int64_t inFeatures() const noexcept = 0;
    [[nodiscard]] virtual std::int64_t outFeatures() const noexcept = 0;
};

class Backend {
public:
    virtual ~Backend() = default;
    [[nodiscard]] virtual std::string name() const = 0;

    // weight [N,K] (any layout), bias [N] or undefined, activation applied after the bias.
    [[nodiscard]] virtual std::unique_ptr<PackedLinear> packLinear(const Tensor &weight, const Tensor &bias,
                                                                   Activation activation) = 0;
    // y[..., N] = act(x[..., K] · Wᵀ + b).
    [[nodiscard]] virtual Tensor linear(const Tensor &x, const PackedLinear &w) = 0;
    // c[batch..., M, N] = a[batch..., M, K] · b[batch..., K, N]; batch dims equal; any strides.
    [[nodiscard]] virtual Tensor matmul(const Tensor &a, const Tensor &b) = 0;
    // In place over the last dim of scores [B,h,L,S] (contiguous): softmax(scores / divisor + mask)
    // where mask [B,L,S] (contiguous, broadcast over heads) may be undefined (reference §5.2, §5.3).
    virtual void scaledMaskedSoftmax(Tensor &scores, float divisor, const Tensor &mask) = 0;
    // [B,L,h*d] (any layout) -> contiguous [B,h,L,d] (reference §5.3 head split) and back.
    [[nodiscard]] virtual Tensor splitHeads(const Tensor &x, std::int64_t heads) = 0;
    [[nodiscard]] virtual Tensor mergeHeads(const Tensor &x) = 0;
    // LayerNorm over the last dim of (a + b) (b may be undefined): biased variance, eps inside the sqrt.
    [[nodiscard]] virtual Tensor addLayerNorm(const Tensor &a, const Tensor &b, const Tensor &gamma, const Tensor &beta,
                                              float eps) = 0;

    // --- INT8 (precision int8; design.md "Precisions") -----------------------------------------
    // Activations are quantized per tensor by IntegerQuant (codes = clamp(rne(fl(x * s)), m, B),
    // the fake quant's codes, reference §3.3), multiplied as s8 x s8 -> s32 (exact) and rescaled
    // in f32: y = acc * fl(1 / (s_x * s_w)). A backend without integer kernels throws
    // UnsupportedError (never a silent fallback).
    //
    // weight: s8 codes [N,K] with one scale or one per row (dequantize as code / s_w); bias f32,
    // added after the rescale (never quantized, reference §1.2), then the activation.
    [[nodiscard]] virtual std::unique_ptr<PackedLinear> packQuantizedLinear(const QuantizedTensor &weight,
                                                                            const Tensor &bias, Activation activation);
    // y[..., N] = act(acc / (s_x * s_w[n]) + b), acc = Σ_k q_x[..., k] · q_w[n, k].
    [[nodiscard]] virtual Tensor quantizedLinear(const Tensor &x, const IntegerQuant &xq, const PackedLinear &w);
    // c = acc / (s_a * s_b), acc = a's codes · b's codes (shapes as matmul()).
    [[nodiscard]] virtual Tensor quantizedMatmul(const Tensor &a, const IntegerQuant &qa, const Tensor &b,
                                                 const IntegerQuant &qb);
};

// The backend that computes on `device` (kernels/backend.cpp): the one dispatch point from a
// device to its kernels. A new backend implements Backend and adds its case there.
// UnsupportedError when this build or machine has none for the device.
[[nodiscard]] std::unique_ptr<Backend> createBackend(const Device &device);
[[nodiscard]] std::unique_ptr<Backend> createCpuBackend(); // kernels/cpu/cpu_backend.cpp

} // namespace qdq::kernels

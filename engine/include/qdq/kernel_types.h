#pragma once
// Types the kernel interface speaks (kernels/backend.h), below the model: how the s8 kernels
// quantize an activation, and quantized weights. The model (model.h) and the quantizers use them.
// Which backend computes is a Device (qdq/device.h).

#include "qdq/tensor.h"

#include <cstdint>
#include <vector>

namespace qdq {

// How the s8 kernels quantize one activation tensor (reference §3.3 steps 3-5, §3.5):
// code = clamp(rne(fl(x * scale)), minLevel, maxLevel), dequantized as code / scale. So the
// codes are exactly those of the fake quant; only the float rescale after the GEMM differs.
struct IntegerQuant {
    float scale = 1.0F; // fl(B / amax); 0 for a tiny amax (every code 0, reference §3.3 step 4)
    float minLevel = -128.0F;
    float maxLevel = 127.0F;
    // The amax is stored (calibrated or overridden), not max|x| of this call: the same scale on
    // every call until the quantizers change, so a backend may build it into its kernels.
    bool fixed = false;
    // The divisor of the dequantization (step 6: 1 where the scale is 0).
    [[nodiscard]] float dequantDivisor() const noexcept { return scale == 0.0F ? 1.0F : scale; }
};

// An s8 / u8 tensor with its scales: dequantize as code / scale (per tensor, or per channel along
// `axis`). The quantizers make it (quant/fake_quant.h quantizeToInt), the kernels consume it.
struct QuantizedTensor {
    Tensor codes;             // I8 or U8
    std::vector<float> scale; // s per channel (size 1 for per-tensor)
    int axis = 0;             // channel axis when scale.size() > 1
};

} // namespace qdq

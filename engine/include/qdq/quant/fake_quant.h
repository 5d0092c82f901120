#pragma once
// Fake-quant kernels on f32 data (reference §3.3-§3.7). Every function does f32 arithmetic
// only, element by element, in the order the reference gives; there is no summation, so the
// results are bit-identical to the reference (signed zeros included).
//
// Three arithmetic forms exist (reference §3.7 table):
//   pytorch-quantization  y = clamp(rne(x * fl(B/a)), m, B) / fl(B/a)          fakeQuant*
//   PyTorch native        y = clamp(rne(x * fl(1/fl(a/B))), -B-1, B) * fl(a/B)  nativeFakeQuant*
//   ONNX Q/DQ             y = clamp(rne(x / fl(a/B)), -B-1, B) * fl(a/B)        onnxFakeQuant*
// (unsigned: floor 0 instead of -B-1 in the last two).

#include "qdq/kernel_types.h"
#include "qdq/quant/quant_descriptor.h"
#include "qdq/tensor.h"

#include <cstdint>
#include <span>
#include <vector>

namespace qdq {

// Amax of a quantizer: one value (per-tensor) or one per channel along `axis`.
struct AmaxView {
    std::span<const float> values; // size 1, or size of the input's `axis` dimension
    int axis = 0;                  // only used when values.size() > 1
};

// pytorch-quantization fake quant (reference §3.3; §3.4 for the pq-2.2-cuda profile) of a
// contiguous f32 tensor of `shape` from `in` to `out` (they may be the same buffer).
// Throws FormatError when amax < 0 (the reference's ValueError) or when an unsigned quantizer
// sees a negative input (TypeError in the reference); both tests use the NaN-propagating min
// of the reference (a NaN anywhere disables them). NaN amax gives NaN outputs on the Python
// path; under the pq-2.2-cuda range (cudaKernel) it throws FormatError, as the kernel's
// assertion `amax >= 0` fails there.
void fakeQuant(std::span<const float> in, std::span<float> out, const Shape &shape, AmaxView amax,
               const QuantRange &range);
// Convenience wrapper: a new contiguous f32 tensor.
[[nodiscard]] Tensor fakeQuant(const Tensor &x, AmaxView amax, const QuantRange &range);

// torch.fake_quantize_per_tensor_affine / _per_channel_affine as pytorch-quantization 2.1.x
// calls them in ONNX export mode (`use_fb_fake_quant`, reference §3.7): scale = a/B (per
// tensor: computed in double from amax.item() and rounded to f32 by the kernel; per channel:
// f32 division), zero point 0, range [-B-1, B] or [0, B]. Like PyTorch's CPU kernel, NaN,
// +-inf and values beyond int64 go through an int64 conversion that yields the minimum level.
void nativeFakeQuant(std::span<const float> in, std::span<float> out, const Shape &shape, AmaxView amax, int numBits,
                     bool isUnsigned);

// ONNX QuantizeLinear -> DequantizeLinear with scale = fl(a/B) (entries 0 replaced by 1, as
// the 2.2.x exporter does, reference §3.7), zero point 0, saturation to [-B-1, B] / [0, B].
// NaN inputs stay NaN (ONNX leaves NaN saturation unspecified).
void onnxFakeQuant(std::span<const float> in, std::span<float> out, const Shape &shape, AmaxView amax, int numBits,
                   bool isUnsigned);

// Integer codes for the INT8 kernels (QuantizedTensor, kernel_types.h): q = clamp(rne(x * s), m, B)
// with s = fl(B/a) (the pytorch-quantization arithmetic, so q / s reproduces fakeQuant bit for
// bit), s = 1 for tiny-amax channels (whose codes are 0). numBits <= 8; codes are I8 (signed) or
// U8 (unsigned).
// Throws FormatError for NaN inputs (no integer code exists) and the errors of fakeQuant.
[[nodiscard]] QuantizedTensor quantizeToInt(const Tensor &x, AmaxView amax, const QuantRange &range);

} // namespace qdq

#pragma once
// The engine's entry points into the CUDA backend. Implemented in kernels/cuda/ when the
// build has QDQ_WITH_CUDA, and by kernels/cuda_absent.cpp otherwise.

#include "qdq/device.h"

#include <cstdint>
#include <memory>

// Forward-declared, not included: cuda_device.cu includes this header and nvcc compiles the .cu
// files as C++17, which the engine's tensor header (std::span) is not.
namespace qdq::kernels {
class Backend;
} // namespace qdq::kernels

namespace qdq::detail {

CudaStatus queryCudaStatus();

// How the CUDA backend's f32 GEMMs (linear, matmul) multiply: in FP32 (TF32 off: every product
// and sum in f32, within ~1e-6 of the CPU) or in FP16 with FP32 accumulation (weights stored as
// f16 on the device, activations converted there; ~1e-3 relative). INT8 is unaffected.
enum class CudaGemmMath : std::uint8_t { Fp32, Fp16 };

// A backend on CUDA device `index` (FP32 GEMMs). Throws UnsupportedError when the build has no
// CUDA backend, no device `index` answers, or cuBLASLt cannot be loaded; never aborts.
[[nodiscard]] std::unique_ptr<kernels::Backend> createCudaBackend(int index);
[[nodiscard]] std::unique_ptr<kernels::Backend> createCudaBackend(int index, CudaGemmMath math);

} // namespace qdq::detail

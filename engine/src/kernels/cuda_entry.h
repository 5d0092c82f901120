#pragma once
// The engine's entry points into the CUDA backend. Implemented in kernels/cuda/ when the
// build has QDQ_WITH_CUDA, and by kernels/cuda_absent.cpp otherwise. nvcc compiles this header
// too, so the Backend is only declared here (kernels/backend.h).

#include "qdq/device.h"

#include <memory>

namespace qdq::kernels {
class Backend;
} // namespace qdq::kernels

namespace qdq::detail {

CudaStatus queryCudaStatus();

// The CUDA backend on device `index`: kernels::createBackend's CUDA case. UnsupportedError
// when this build or the machine cannot provide it.
std::unique_ptr<kernels::Backend> createCudaBackend(int index);

} // namespace qdq::detail

#pragma once
// The engine's entry points into the CUDA backend. Implemented in kernels/cuda/ when the
// build has QDQ_WITH_CUDA, and by kernels/cuda_absent.cpp otherwise.

#include "qdq/device.h"

namespace qdq::detail {

CudaStatus queryCudaStatus();

} // namespace qdq::detail

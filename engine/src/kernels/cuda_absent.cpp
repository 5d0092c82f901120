// Stand-ins for the CUDA entry points in a build without QDQ_WITH_CUDA.
#ifndef QDQ_HAVE_CUDA

#include "kernels/cuda_entry.h"

#include "kernels/backend.h"

#include "qdq/errors.h"

namespace qdq::detail {

CudaStatus queryCudaStatus()
{
    CudaStatus status;
    status.compiledIn = false;
    status.available = false;
    status.message = "this build has no CUDA backend (configure with -DQDQ_WITH_CUDA=ON)";
    return status;
}

std::unique_ptr<kernels::Backend> createCudaBackend(int index, CudaGemmMath /*math*/)
{
    throw UnsupportedError("this build has no CUDA backend (cuda:" + std::to_string(index) +
                           " requested; configure with -DQDQ_WITH_CUDA=ON)");
}

std::unique_ptr<kernels::Backend> createCudaBackend(int index)
{
    return createCudaBackend(index, CudaGemmMath::Fp32);
}

} // namespace qdq::detail

#endif

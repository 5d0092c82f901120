// Stand-ins for the CUDA entry points in a build without QDQ_WITH_CUDA.
#ifndef QDQ_HAVE_CUDA

#include "kernels/backend.h"
#include "kernels/cuda_entry.h"
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

std::unique_ptr<kernels::Backend> createCudaBackend(int /*index*/)
{
    throw UnsupportedError("this build has no CUDA backend (configure with -DQDQ_WITH_CUDA=ON)");
}

} // namespace qdq::detail

#endif

// Stand-ins for the CUDA entry points in a build without QDQ_WITH_CUDA.
#ifndef QDQ_HAVE_CUDA

#include "kernels/cuda_entry.h"

namespace qdq::detail {

CudaStatus queryCudaStatus()
{
    CudaStatus status;
    status.compiledIn = false;
    status.available = false;
    status.message = "this build has no CUDA backend (configure with -DQDQ_WITH_CUDA=ON)";
    return status;
}

} // namespace qdq::detail

#endif

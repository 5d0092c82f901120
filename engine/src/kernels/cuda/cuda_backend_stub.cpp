// The CUDA backend's entry point until the backend itself lands: a CUDA build links and says
// plainly that the device cannot compute yet. The real backend (kernels/cuda/) replaces this
// file; nothing else refers to it.
#include "kernels/backend.h"
#include "kernels/cuda_entry.h"
#include "qdq/errors.h"

namespace qdq::detail {

std::unique_ptr<kernels::Backend> createCudaBackend(int /*index*/)
{
    throw UnsupportedError("the CUDA backend is not implemented yet");
}

} // namespace qdq::detail

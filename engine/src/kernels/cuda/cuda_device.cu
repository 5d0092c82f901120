// CUDA device discovery. Must never abort: on a machine without a driver or a GPU the
// runtime returns an error code, which becomes CudaStatus::message.
#include "kernels/cuda_entry.h"

#include <cuda_runtime.h>

#include <string>

namespace qdq::detail {

CudaStatus queryCudaStatus()
{
    CudaStatus status;
    status.compiledIn = true;
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
        status.message = std::string("no usable CUDA device: ") + cudaGetErrorString(err);
        cudaGetLastError(); // clear the sticky error so later calls start clean
        return status;
    }
    if (count == 0) {
        status.message = "no CUDA device present";
        return status;
    }
    int runtime = 0;
    int driver = 0;
    cudaRuntimeGetVersion(&runtime);
    cudaDriverGetVersion(&driver);
    status.message = "CUDA runtime " + std::to_string(runtime / 1000) + "." + std::to_string(runtime % 1000 / 10) +
                     ", driver " + std::to_string(driver / 1000) + "." + std::to_string(driver % 1000 / 10);
    for (int i = 0; i < count; ++i) {
        cudaDeviceProp prop{};
        if (cudaGetDeviceProperties(&prop, i) != cudaSuccess)
            continue;
        CudaDeviceInfo info;
        info.index = i;
        info.name = prop.name;
        info.computeMajor = prop.major;
        info.computeMinor = prop.minor;
        info.totalMemory = prop.totalGlobalMem;
        std::size_t freeBytes = 0;
        std::size_t totalBytes = 0;
        if (cudaSetDevice(i) == cudaSuccess && cudaMemGetInfo(&freeBytes, &totalBytes) == cudaSuccess)
            info.freeMemory = freeBytes;
        status.devices.push_back(info);
    }
    status.available = !status.devices.empty();
    return status;
}

} // namespace qdq::detail

// CUDA runtime resources and status checks of the backend (cuda_support.h).
#include "kernels/cuda/cuda_support.h"

#include "qdq/errors.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <utility>

namespace qdq::kernels::cuda {

void check(cudaError_t status, const char *call)
{
    if (status == cudaSuccess)
        return;
    (void)cudaGetLastError(); // clear a non-sticky error so later calls start clean
    throw UnsupportedError(std::string("CUDA: ") + call + " failed: " + cudaGetErrorString(status) + " (" +
                           cudaGetErrorName(status) + ")");
}

void checkLaunch(const char *kernel)
{
    check(cudaGetLastError(), kernel);
}

DeviceGuard::DeviceGuard(int device)
{
    check(cudaGetDevice(&m_previous), "cudaGetDevice");
    if (m_previous != device) {
        check(cudaSetDevice(device), "cudaSetDevice");
        m_restore = true;
    }
}

DeviceGuard::~DeviceGuard()
{
    if (m_restore)
        (void)cudaSetDevice(m_previous); // a destructor does not throw; the next call reports
}

DeviceMemory::DeviceMemory(std::size_t bytes) : m_bytes(bytes)
{
    if (bytes > 0)
        check(cudaMalloc(&m_ptr, bytes), "cudaMalloc");
}

DeviceMemory::~DeviceMemory()
{
    if (m_ptr != nullptr)
        (void)cudaFree(m_ptr);
}

DeviceMemory::DeviceMemory(DeviceMemory &&other) noexcept
    : m_ptr(std::exchange(other.m_ptr, nullptr)), m_bytes(std::exchange(other.m_bytes, 0))
{
}

DeviceMemory &DeviceMemory::operator=(DeviceMemory &&other) noexcept
{
    if (this != &other) {
        if (m_ptr != nullptr)
            (void)cudaFree(m_ptr);
        m_ptr = std::exchange(other.m_ptr, nullptr);
        m_bytes = std::exchange(other.m_bytes, 0);
    }
    return *this;
}

Stream::Stream()
{
    check(cudaStreamCreateWithFlags(&m_stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
}

Stream::~Stream()
{
    if (m_stream != nullptr)
        (void)cudaStreamDestroy(m_stream);
}

void Stream::synchronize(const char *what) const
{
    const cudaError_t status = cudaStreamSynchronize(m_stream);
    if (status != cudaSuccess)
        check(status, (std::string("cudaStreamSynchronize after ") + what).c_str());
}

Event::Event()
{
    check(cudaEventCreate(&m_event), "cudaEventCreate");
}

Event::~Event()
{
    if (m_event != nullptr)
        (void)cudaEventDestroy(m_event);
}

void Event::record(cudaStream_t stream)
{
    check(cudaEventRecord(m_event, stream), "cudaEventRecord");
}

float Event::since(const Event &start) const
{
    check(cudaEventSynchronize(m_event), "cudaEventSynchronize");
    float ms = 0.0F;
    check(cudaEventElapsedTime(&ms, start.m_event, m_event), "cudaEventElapsedTime");
    return ms;
}

void Arena::reserve(std::size_t bytes)
{
    if (m_used != 0)
        throw UnsupportedError("CUDA arena: reserve() in the middle of an operation");
    if (bytes <= m_memory.size())
        return;
    // grow by at least half again, so a slowly growing sequence of shapes does not reallocate each time
    const std::size_t grown = std::max(aligned(bytes), m_memory.size() + m_memory.size() / 2);
    m_memory = DeviceMemory(); // free first: the old and the new block need not fit together
    m_memory = DeviceMemory(grown);
}

void *Arena::takeBytes(std::size_t bytes)
{
    const std::size_t size = aligned(bytes);
    if (m_used + size > m_memory.size())
        throw UnsupportedError("CUDA arena: an operation took more than it reserved (" + std::to_string(m_used + size) +
                               " of " + std::to_string(m_memory.size()) + " bytes)");
    void *p = static_cast<char *>(m_memory.get()) + m_used;
    m_used += size;
    return p;
}

void upload(void *dst, const void *src, std::size_t bytes, cudaStream_t stream)
{
    if (bytes > 0)
        check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream), "cudaMemcpyAsync (host to device)");
}

void download(void *dst, const void *src, std::size_t bytes, cudaStream_t stream)
{
    if (bytes > 0)
        check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream), "cudaMemcpyAsync (device to host)");
}

} // namespace qdq::kernels::cuda

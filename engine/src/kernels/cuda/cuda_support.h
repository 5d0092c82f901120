#pragma once
// CUDA runtime resources of the backend, each owned by one RAII object (device memory, stream,
// events), status checks that turn every CUDA error into a qdq error naming the call (never an
// abort), and the backend's device arena: one growing allocation carved per operation, so that
// no operation calls cudaMalloc once the arena is large enough.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace qdq::kernels::cuda {

// Throws UnsupportedError "CUDA: <call> failed: <error string> (<error name>)" when status is not
// cudaSuccess (after clearing the runtime's last error, so the next call starts clean).
void check(cudaError_t status, const char *call);
// After a kernel launch: the launch's own error (cudaGetLastError), named after the kernel.
void checkLaunch(const char *kernel);

// Makes `device` current for this thread for the object's lifetime (the previous one restored).
class DeviceGuard {
public:
    explicit DeviceGuard(int device);
    ~DeviceGuard();
    DeviceGuard(const DeviceGuard &) = delete;
    DeviceGuard &operator=(const DeviceGuard &) = delete;

private:
    int m_previous = 0;
    bool m_restore = false;
};

// Device memory of `bytes` (cudaMalloc), freed on destruction.
class DeviceMemory {
public:
    DeviceMemory() = default;
    explicit DeviceMemory(std::size_t bytes);
    ~DeviceMemory();
    DeviceMemory(DeviceMemory &&other) noexcept;
    DeviceMemory &operator=(DeviceMemory &&other) noexcept;
    DeviceMemory(const DeviceMemory &) = delete;
    DeviceMemory &operator=(const DeviceMemory &) = delete;

    [[nodiscard]] void *get() const noexcept { return m_ptr; }
    [[nodiscard]] std::size_t size() const noexcept { return m_bytes; }
    template <class T>
    [[nodiscard]] T *as() const noexcept
    {
        return static_cast<T *>(m_ptr);
    }

private:
    void *m_ptr = nullptr;
    std::size_t m_bytes = 0;
};

class Stream {
public:
    Stream();
    ~Stream();
    Stream(const Stream &) = delete;
    Stream &operator=(const Stream &) = delete;
    [[nodiscard]] cudaStream_t get() const noexcept { return m_stream; }
    void synchronize(const char *what) const;

private:
    cudaStream_t m_stream = nullptr;
};

class Event {
public:
    Event();
    ~Event();
    Event(const Event &) = delete;
    Event &operator=(const Event &) = delete;
    void record(cudaStream_t stream);
    // milliseconds from `start` to this event (both recorded and completed)
    [[nodiscard]] float since(const Event &start) const;

private:
    cudaEvent_t m_event = nullptr;
};

// The operation scratch of one backend. An operation begins with reset(), takes buffers with
// take() (256-byte aligned: every cuBLASLt and vector-load alignment rule holds), and ends after
// its stream has been synchronised (the backend's calls are synchronous), so the next operation
// reuses the same memory. reserve() grows the arena (one cudaMalloc) only when an operation needs
// more than any operation before it; it must be called before the first take() of an operation.
class Arena {
public:
    static constexpr std::size_t kAlign = 256;
    [[nodiscard]] static std::size_t aligned(std::size_t bytes) noexcept
    {
        return (bytes + kAlign - 1) / kAlign * kAlign;
    }

    void reserve(std::size_t bytes);
    void reset() noexcept { m_used = 0; }
    template <class T>
    [[nodiscard]] T *take(std::size_t count)
    {
        return static_cast<T *>(takeBytes(count * sizeof(T)));
    }
    [[nodiscard]] std::size_t capacity() const noexcept { return m_memory.size(); }

private:
    void *takeBytes(std::size_t bytes);
    DeviceMemory m_memory;
    std::size_t m_used = 0;
};

// Host -> device and device -> host copies on `stream` (asynchronous; pageable host memory makes
// the runtime stage them, the interface being host-facing today).
void upload(void *dst, const void *src, std::size_t bytes, cudaStream_t stream);
void download(void *dst, const void *src, std::size_t bytes, cudaStream_t stream);

} // namespace qdq::kernels::cuda

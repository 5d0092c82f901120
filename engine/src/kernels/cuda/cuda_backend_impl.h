#pragma once
// The CUDA backend's implementation class, shared by cuda_backend.cpp (the Backend operations) and
// cuda_backend_tools.cpp (fake quant, histograms, gather, the GEMM timing, the entry points).
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/cuda_support.h"
#include "kernels/cuda/lt_gemm.h"
#include "kernels/cuda_entry.h"

#include <cuda_runtime_api.h>

#include <mutex>
#include <string>

namespace qdq::kernels::cuda {

class CudaBackendImpl final : public CudaBackend {
public:
    CudaBackendImpl(int index, detail::CudaGemmMath math);
    ~CudaBackendImpl() override;

    [[nodiscard]] std::string name() const override { return m_name; }
    [[nodiscard]] int deviceIndex() const noexcept override { return m_index; }

    std::unique_ptr<PackedLinear> packLinear(const Tensor &weight, const Tensor &bias, Activation activation) override;
    Tensor linear(const Tensor &x, const PackedLinear &w) override;
    Tensor matmul(const Tensor &a, const Tensor &b) override;
    void scaledMaskedSoftmax(Tensor &scores, float divisor, const Tensor &mask) override;
    Tensor splitHeads(const Tensor &x, std::int64_t heads) override;
    Tensor mergeHeads(const Tensor &x) override;
    Tensor addLayerNorm(const Tensor &a, const Tensor &b, const Tensor &gamma, const Tensor &beta, float eps) override;
    std::unique_ptr<PackedLinear> packQuantizedLinear(const QuantizedTensor &weight, const Tensor &bias,
                                                      Activation activation) override;
    Tensor quantizedLinear(const Tensor &x, const IntegerQuant &xq, const PackedLinear &w) override;
    Tensor quantizedMatmul(const Tensor &a, const IntegerQuant &qa, const Tensor &b, const IntegerQuant &qb) override;

    Tensor fakeQuant(const Tensor &x, const plan::FakeQuantScales &scales, int axis, float minLevel,
                     float maxLevel) override;
    Tensor quantizeS8(const Tensor &x, const IntegerQuant &q) override;
    AbsStats absStats(const Tensor &x, bool skipZeros) override;
    std::vector<std::int64_t> histogram(const Tensor &x, const plan::HistogramBinning &binning) override;
    std::unique_ptr<PackedTable> packTable(const Tensor &table) override;
    Tensor gather(const PackedTable &table, const Tensor &ids) override;
    double gemmOnlyMs(BenchGemm kind, std::int64_t m, std::int64_t n, std::int64_t k, int repeats) override;

    // What every operation holds while it runs: the backend's lock (the arena and the stream are
    // shared), its device made current, and the arena grown to `scratchBytes` and emptied for the
    // operation's take()s. The pack operations, which use no scratch, take the lock and guard alone.
    class Operation {
    public:
        Operation(CudaBackendImpl &backend, std::size_t scratchBytes)
            : m_lock(backend.m_mutex), m_guard(backend.m_index)
        {
            backend.m_arena.reserve(scratchBytes);
            backend.m_arena.reset();
        }

    private:
        std::lock_guard<std::mutex> m_lock;
        DeviceGuard m_guard;
    };

    // --- helpers for the operations (the caller holds an Operation) ------------------------------
    // Bytes an f32 tensor of n values takes in the arena.
    [[nodiscard]] static std::size_t f32Bytes(std::int64_t n)
    {
        return Arena::aligned(static_cast<std::size_t>(n) * 4);
    }
    // Copies a host tensor (made contiguous) into the arena.
    template <class T>
    T *put(const Tensor &t)
    {
        const Tensor c = t.contiguous();
        T *p = m_arena.take<T>(static_cast<std::size_t>(c.numel()));
        upload(p, c.rawData(), c.nbytes(), m_stream.get());
        return p;
    }
    template <class T>
    T *put(const std::vector<T> &v)
    {
        T *p = m_arena.take<T>(v.size());
        upload(p, v.data(), v.size() * sizeof(T), m_stream.get());
        return p;
    }
    // Downloads into `out` and waits for the stream (the end of every operation).
    void finish(Tensor &out, const void *device, const char *what);
    void sync(const char *what) { m_stream.synchronize(what); }

private:
    int m_index;
    detail::CudaGemmMath m_math;
    std::string m_name;
    std::mutex m_mutex; // one operation at a time: the arena and the stream are shared
    Stream m_stream;
    Arena m_arena;
    LtGemm m_lt;
};

// Device memory (cudaMalloc'ed, RAII) holding a copy of `bytes` host bytes, copied on `stream` (the
// backend's: a non-blocking stream does not order with the legacy default stream of cudaMemcpy)
// and complete when this returns.
DeviceMemory uploadPersistent(const void *data, std::size_t bytes, cudaStream_t stream);

DeviceActivation deviceActivation(Activation a);

} // namespace qdq::kernels::cuda

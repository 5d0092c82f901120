#pragma once
// The CUDA backend's operations beyond kernels::Backend (plain C++: no CUDA header), for the
// engine code that will use them once the model speaks Device (issue #26), the CUDA tests and the
// GEMM benchmark. createCudaBackend (kernels/cuda_entry.h) returns a CudaBackend.
//
// Host-facing today: every Tensor in and out is a host f32 tensor. Weights (packLinear,
// packQuantizedLinear, packTable) are uploaded once and stay on the device; activations are
// uploaded, computed and downloaded per call, on the backend's one stream, in its device arena.
#include "kernels/backend.h"
#include "kernels/cuda_plan.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace qdq::kernels::cuda {

// An embedding table on the device.
class PackedTable {
public:
    virtual ~PackedTable() = default;
    [[nodiscard]] virtual std::int64_t rows() const noexcept = 0;
    [[nodiscard]] virtual std::int64_t width() const noexcept = 0;
};

// Max and min of |x| over the values a histogram counts (cuda_kernels.h's absStats).
struct AbsStats {
    float max = 0.0F;         // over all values
    float min = 0.0F;         // over the counted values (zeros skipped with skipZeros)
    std::int64_t counted = 0; // values counted
    bool finite = true;
};

enum class BenchGemm : std::uint8_t { Fp32, Fp16, Int8 };

class CudaBackend : public Backend {
public:
    [[nodiscard]] virtual int deviceIndex() const noexcept = 0;

    // pytorch-quantization fake quant (reference §3.3, §3.4) with scales from
    // plan::fakeQuantScales: one scale set (per tensor) or one per index of x's dimension `axis`.
    // An unsigned range (minLevel >= 0) throws FormatError for a negative input without NaN, as
    // quant/fake_quant.cpp.
    [[nodiscard]] virtual Tensor fakeQuant(const Tensor &x, const plan::FakeQuantScales &scales, int axis,
                                           float minLevel, float maxLevel) = 0;
    // The s8 codes of x (I8, x's shape) as the INT8 kernels quantize an activation.
    [[nodiscard]] virtual Tensor quantizeS8(const Tensor &x, const IntegerQuant &q) = 0;

    // Histogram collection on the device: the statistics that decide the bins (the calibrator's
    // own arithmetic on the host, cuda_plan.h), then the counts (exact: integer atomics).
    [[nodiscard]] virtual AbsStats absStats(const Tensor &x, bool skipZeros) = 0;
    [[nodiscard]] virtual std::vector<std::int64_t> histogram(const Tensor &x,
                                                              const plan::HistogramBinning &binning) = 0;

    // Embedding gather: out[..., :] = table[ids[...], :] (ids I64; ShapeError for an id outside).
    [[nodiscard]] virtual std::unique_ptr<PackedTable> packTable(const Tensor &table) = 0;
    [[nodiscard]] virtual Tensor gather(const PackedTable &table, const Tensor &ids) = 0;

    // Milliseconds per GEMM of the raw cuBLASLt call alone (device-resident operands, no upload,
    // quantization or epilogue) for C[m,n] = A[m,k] · B[n,k]ᵀ, averaged over `repeats` runs.
    [[nodiscard]] virtual double gemmOnlyMs(BenchGemm kind, std::int64_t m, std::int64_t n, std::int64_t k,
                                            int repeats) = 0;
};

} // namespace qdq::kernels::cuda

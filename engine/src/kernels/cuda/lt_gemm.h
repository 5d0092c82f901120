#pragma once
// cuBLASLt, loaded at run time, and the backend's GEMMs through it.
//
// libcublasLt is opened with dlopen ("libcublasLt.so.13", then "libcublasLt.so") when the first
// CUDA backend is created, not linked: qdq and qdq-inspector link the CUDA runtime statically, so
// with cuBLASLt loaded on demand they start (and run on the CPU) on machines without any CUDA
// library, and only `--device cuda` needs it, failing with a clear UnsupportedError otherwise.
#include "kernels/cuda_plan.h"

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>

namespace qdq::kernels::cuda {

// The cuBLASLt entry points the backend uses, resolved once per process.
struct LtApi {
    decltype(&::cublasLtCreate) create = nullptr;
    decltype(&::cublasLtDestroy) destroy = nullptr;
    decltype(&::cublasLtGetStatusString) statusString = nullptr;
    decltype(&::cublasLtGetStatusName) statusName = nullptr;
    decltype(&::cublasLtGetVersion) version = nullptr;
    decltype(&::cublasLtMatmulDescCreate) descCreate = nullptr;
    decltype(&::cublasLtMatmulDescDestroy) descDestroy = nullptr;
    decltype(&::cublasLtMatmulDescSetAttribute) descSet = nullptr;
    decltype(&::cublasLtMatrixLayoutCreate) layoutCreate = nullptr;
    decltype(&::cublasLtMatrixLayoutDestroy) layoutDestroy = nullptr;
    decltype(&::cublasLtMatrixLayoutSetAttribute) layoutSet = nullptr;
    decltype(&::cublasLtMatmulPreferenceCreate) prefCreate = nullptr;
    decltype(&::cublasLtMatmulPreferenceDestroy) prefDestroy = nullptr;
    decltype(&::cublasLtMatmulPreferenceSetAttribute) prefSet = nullptr;
    decltype(&::cublasLtMatmulAlgoGetHeuristic) heuristic = nullptr;
    decltype(&::cublasLtMatmul) matmul = nullptr;

    // The loaded library, or UnsupportedError naming what is missing (loaded once; a failure is
    // remembered and reported again).
    static const LtApi &get();
};

// Element types of one GEMM (alpha = 1, beta = 0, D = C):
//   F32  f32 x f32 -> f32, CUBLAS_COMPUTE_32F (not _FAST_TF32: TF32 is off)
//   F16  f16 x f16 -> f32, CUBLAS_COMPUTE_32F (FP32 accumulation)
//   S8   s8 x s8 -> s32, CUBLAS_COMPUTE_32I (exact; the layout must be plan::int8Gemm's "TN" form)
enum class GemmType : std::uint8_t { F32, F16, S8 };

// One cuBLASLt handle and workspace, bound to one stream; matmul descriptors, layouts and the
// heuristic's algorithm are cached per shape.
class LtGemm {
public:
    static constexpr std::size_t kWorkspaceBytes = std::size_t{32} << 20;

    explicit LtGemm(cudaStream_t stream);
    ~LtGemm();
    LtGemm(const LtGemm &) = delete;
    LtGemm &operator=(const LtGemm &) = delete;

    // c = op(a) · op(b) in cuBLAS terms of `layout` (cuda_plan.h's rowMajorGemm / int8Gemm).
    void run(GemmType type, const plan::GemmLayout &layout, const void *a, const void *b, void *c);

private:
    struct Plan;
    using Key = std::array<std::int64_t, 14>;
    Plan &planFor(GemmType type, const plan::GemmLayout &layout);

    const LtApi &m_api;
    cudaStream_t m_stream;
    cublasLtHandle_t m_handle = nullptr;
    void *m_workspace = nullptr;
    std::map<Key, std::unique_ptr<Plan>> m_plans;
};

} // namespace qdq::kernels::cuda

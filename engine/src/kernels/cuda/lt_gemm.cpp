// cuBLASLt loaded with dlopen, and the backend's GEMMs through it (lt_gemm.h).
#include "kernels/cuda/lt_gemm.h"

#include "kernels/cuda/cuda_support.h"
#include "qdq/errors.h"

#include <dlfcn.h>

#include <cstring>
#include <mutex>
#include <string>

namespace qdq::kernels::cuda {
namespace {

struct Loaded {
    LtApi api;
    std::string error; // empty when loaded
};

template <class Fn>
bool resolve(void *library, const char *name, Fn &fn, std::string &error)
{
    void *symbol = ::dlsym(library, name);
    if (symbol == nullptr) {
        error = std::string("libcublasLt has no ") + name;
        return false;
    }
    static_assert(sizeof(Fn) == sizeof(symbol));
    std::memcpy(&fn, &symbol, sizeof fn); // object pointer to function pointer (POSIX dlsym)
    return true;
}

Loaded loadLibrary()
{
    Loaded l;
    void *library = nullptr;
    std::string tried;
    for (const char *name : {"libcublasLt.so.13", "libcublasLt.so"}) {
        library = ::dlopen(name, RTLD_NOW | RTLD_LOCAL);
        if (library != nullptr)
            break;
        const char *why = ::dlerror();
        tried += std::string(tried.empty() ? "" : "; ") + (why != nullptr ? why : name);
    }
    if (library == nullptr) {
        l.error = "the CUDA backend needs cuBLASLt (libcublasLt.so.13 from the CUDA 13 toolkit or the "
                  "libcublaslt13 package; add its folder to LD_LIBRARY_PATH): " +
                  tried;
        return l;
    }
    LtApi &a = l.api;
    // the library stays loaded for the life of the process (no dlclose: handles may outlive us)
    const bool ok = resolve(library, "cublasLtCreate", a.create, l.error) &&
                    resolve(library, "cublasLtDestroy", a.destroy, l.error) &&
                    resolve(library, "cublasLtGetStatusString", a.statusString, l.error) &&
                    resolve(library, "cublasLtGetStatusName", a.statusName, l.error) &&
                    resolve(library, "cublasLtGetVersion", a.version, l.error) &&
                    resolve(library, "cublasLtMatmulDescCreate", a.descCreate, l.error) &&
                    resolve(library, "cublasLtMatmulDescDestroy", a.descDestroy, l.error) &&
                    resolve(library, "cublasLtMatmulDescSetAttribute", a.descSet, l.error) &&
                    resolve(library, "cublasLtMatrixLayoutCreate", a.layoutCreate, l.error) &&
                    resolve(library, "cublasLtMatrixLayoutDestroy", a.layoutDestroy, l.error) &&
                    resolve(library, "cublasLtMatrixLayoutSetAttribute", a.layoutSet, l.error) &&
                    resolve(library, "cublasLtMatmulPreferenceCreate", a.prefCreate, l.error) &&
                    resolve(library, "cublasLtMatmulPreferenceDestroy", a.prefDestroy, l.error) &&
                    resolve(library, "cublasLtMatmulPreferenceSetAttribute", a.prefSet, l.error) &&
                    resolve(library, "cublasLtMatmulAlgoGetHeuristic", a.heuristic, l.error) &&
                    resolve(library, "cublasLtMatmul", a.matmul, l.error);
    if (ok && a.version() / 10000 < 13)
        l.error = "libcublasLt " + std::to_string(a.version()) + " is older than CUDA 13's";
    return l;
}

void checkLt(const LtApi &api, cublasStatus_t status, const char *call)
{
    if (status == CUBLAS_STATUS_SUCCESS)
        return;
    throw UnsupportedError(std::string("cuBLASLt: ") + call + " failed: " + api.statusString(status) + " (" +
                           api.statusName(status) + ")");
}

cudaDataType_t inputType(GemmType t)
{
    return t == GemmType::F32 ? CUDA_R_32F : t == GemmType::F16 ? CUDA_R_16F : CUDA_R_8I;
}

} // namespace

const LtApi &LtApi::get()
{
    static const Loaded loaded = loadLibrary();
    if (!loaded.error.empty())
        throw UnsupportedError(loaded.error);
    return loaded.api;
}

struct LtGemm::Plan {
    const LtApi *api = nullptr;
    cublasLtMatmulDesc_t desc = nullptr;
    cublasLtMatrixLayout_t a = nullptr;
    cublasLtMatrixLayout_t b = nullptr;
    cublasLtMatrixLayout_t c = nullptr;
    cublasLtMatmulAlgo_t algo{};
    Plan() = default;
    Plan(const Plan &) = delete;
    Plan &operator=(const Plan &) = delete;
    ~Plan()
    {
        for (cublasLtMatrixLayout_t l : {a, b, c})
            if (l != nullptr)
                (void)api->layoutDestroy(l);
        if (desc != nullptr)
            (void)api->descDestroy(desc);
    }
};

LtGemm::LtGemm(cudaStream_t stream) : m_api(LtApi::get()), m_stream(stream)
{
    checkLt(m_api, m_api.create(&m_handle), "cublasLtCreate");
    const cudaError_t status = cudaMalloc(&m_workspace, kWorkspaceBytes);
    if (status != cudaSuccess) {
        (void)m_api.destroy(m_handle);
        check(status, "cudaMalloc (cuBLASLt workspace)");
    }
}

LtGemm::~LtGemm()
{
    m_plans.clear();
    if (m_workspace != nullptr)
        (void)cudaFree(m_workspace);
    if (m_handle != nullptr)
        (void)m_api.destroy(m_handle);
}

LtGemm::Plan &LtGemm::planFor(GemmType type, const plan::GemmLayout &g)
{
    const Key key{static_cast<std::int64_t>(type),
                  g.m,
                  g.n,
                  g.k,
                  g.transA ? 1 : 0,
                  g.a.ld,
                  g.b.ld,
                  g.c.ld,
                  g.batch,
                  g.a.batchStride,
                  g.b.batchStride,
                  g.c.batchStride,
                  g.a.rows,
                  g.b.rows};
    if (const auto it = m_plans.find(key); it != m_plans.end())
        return *it->second;
    auto p = std::make_unique<Plan>();
    p->api = &m_api;
    const cublasComputeType_t compute = type == GemmType::S8 ? CUBLAS_COMPUTE_32I : CUBLAS_COMPUTE_32F;
    const cudaDataType_t scaleType = type == GemmType::S8 ? CUDA_R_32I : CUDA_R_32F;
    const cudaDataType_t outType = type == GemmType::S8 ? CUDA_R_32I : CUDA_R_32F;
    checkLt(m_api, m_api.descCreate(&p->desc, compute, scaleType), "cublasLtMatmulDescCreate");
    const cublasOperation_t opA = g.transA ? CUBLAS_OP_T : CUBLAS_OP_N;
    const cublasOperation_t opB = g.transB ? CUBLAS_OP_T : CUBLAS_OP_N;
    checkLt(m_api, m_api.descSet(p->desc, CUBLASLT_MATMUL_DESC_TRANSA, &opA, sizeof opA),
            "cublasLtMatmulDescSetAttribute(TRANSA)");
    checkLt(m_api, m_api.descSet(p->desc, CUBLASLT_MATMUL_DESC_TRANSB, &opB, sizeof opB),
            "cublasLtMatmulDescSetAttribute(TRANSB)");
    const auto makeLayout = [&](cublasLtMatrixLayout_t &l, cudaDataType_t t, const plan::MatrixLayout &m) {
        checkLt(m_api,
                m_api.layoutCreate(&l, t, static_cast<std::uint64_t>(m.rows), static_cast<std::uint64_t>(m.cols), m.ld),
                "cublasLtMatrixLayoutCreate");
        if (g.batch > 1) {
            const auto count = static_cast<std::int32_t>(g.batch);
            checkLt(m_api, m_api.layoutSet(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof count),
                    "cublasLtMatrixLayoutSetAttribute(BATCH_COUNT)");
            const std::int64_t stride = m.batchStride;
            checkLt(m_api, m_api.layoutSet(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof stride),
                    "cublasLtMatrixLayoutSetAttribute(STRIDED_BATCH_OFFSET)");
        }
    };
    makeLayout(p->a, inputType(type), g.a);
    makeLayout(p->b, inputType(type), g.b);
    makeLayout(p->c, outType, g.c);

    cublasLtMatmulPreference_t pref = nullptr;
    checkLt(m_api, m_api.prefCreate(&pref), "cublasLtMatmulPreferenceCreate");
    const std::size_t workspace = kWorkspaceBytes;
    cublasLtMatmulHeuristicResult_t result{};
    int found = 0;
    cublasStatus_t status = m_api.prefSet(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace, sizeof workspace);
    if (status == CUBLAS_STATUS_SUCCESS)
        status = m_api.heuristic(m_handle, p->desc, p->a, p->b, p->c, p->c, pref, 1, &result, &found);
    (void)m_api.prefDestroy(pref);
    checkLt(m_api, status, "cublasLtMatmulAlgoGetHeuristic");
    if (found == 0)
        throw UnsupportedError("cuBLASLt has no algorithm for the " +
                               std::string(type == GemmType::S8    ? "INT8"
                                           : type == GemmType::F16 ? "FP16"
                                                                   : "FP32") +
                               " GEMM m=" + std::to_string(g.m) + " n=" + std::to_string(g.n) +
                               " k=" + std::to_string(g.k) + " batch=" + std::to_string(g.batch));
    p->algo = result.algo;
    return *m_plans.emplace(key, std::move(p)).first->second;
}

void LtGemm::run(GemmType type, const plan::GemmLayout &g, const void *a, const void *b, void *c)
{
    if (g.m == 0 || g.n == 0)
        return;
    Plan &p = planFor(type, g);
    const float oneF = 1.0F;
    const float zeroF = 0.0F;
    const std::int32_t oneI = 1;
    const std::int32_t zeroI = 0;
    const void *alpha = type == GemmType::S8 ? static_cast<const void *>(&oneI) : static_cast<const void *>(&oneF);
    const void *beta = type == GemmType::S8 ? static_cast<const void *>(&zeroI) : static_cast<const void *>(&zeroF);
    checkLt(m_api,
            m_api.matmul(m_handle, p.desc, alpha, a, p.a, b, p.b, beta, c, p.c, c, p.c, &p.algo, m_workspace,
                         kWorkspaceBytes, m_stream),
            "cublasLtMatmul");
}

} // namespace qdq::kernels::cuda

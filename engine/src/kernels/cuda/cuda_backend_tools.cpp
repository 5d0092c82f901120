// The CUDA backend's construction and entry points (kernels/cuda_entry.h), and its operations
// beyond kernels::Backend (cuda_backend.h): fake quant, s8 codes, histograms, embedding gather and
// the raw GEMM timing of the benchmark.
#include "kernels/cuda/cuda_backend_impl.h"

#include "qdq/errors.h"

#include <cuda_runtime_api.h>

#include <bit>
#include <utility>

namespace qdq::kernels::cuda {
namespace {

// Validates `index` and makes it the calling thread's device, before the stream and the cuBLASLt
// handle are created on it.
int selectDevice(int index)
{
    int count = 0;
    check(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
    if (index < 0 || index >= count)
        throw UnsupportedError("no CUDA device " + std::to_string(index) + " (" + std::to_string(count) + " present)");
    check(cudaSetDevice(index), "cudaSetDevice");
    return index;
}

std::string deviceName(int index, detail::CudaGemmMath math)
{
    cudaDeviceProp prop{};
    check(cudaGetDeviceProperties(&prop, index), "cudaGetDeviceProperties");
    return "cuda:" + std::to_string(index) + " (" + prop.name + ", cuBLASLt " +
           (math == detail::CudaGemmMath::Fp16 ? "FP16" : "FP32") + ")";
}

class CudaPackedTable final : public PackedTable {
public:
    CudaPackedTable(std::int64_t rows, std::int64_t width, DeviceMemory data)
        : m_rows(rows), m_width(width), m_data(std::move(data))
    {
    }
    [[nodiscard]] std::int64_t rows() const noexcept override { return m_rows; }
    [[nodiscard]] std::int64_t width() const noexcept override { return m_width; }
    [[nodiscard]] const float *data() const noexcept { return m_data.as<float>(); }

private:
    std::int64_t m_rows;
    std::int64_t m_width;
    DeviceMemory m_data;
};

} // namespace

CudaBackendImpl::CudaBackendImpl(int index, detail::CudaGemmMath math)
    : m_index(selectDevice(index)), m_math(math), m_name(deviceName(index, math)), m_lt(m_stream.get())
{
}

CudaBackendImpl::~CudaBackendImpl() = default;

Tensor CudaBackendImpl::fakeQuant(const Tensor &x, const plan::FakeQuantScales &scales, int axis, float minLevel,
                                  float maxLevel)
{
    if (x.dtype() != DType::F32)
        throw UnsupportedError("fake quant needs f32 input, got " + x.describe());
    const std::size_t channels = scales.quantScale.size();
    if (channels == 0 || scales.divScale.size() != channels || scales.zeroChannel.size() != channels)
        throw ShapeError("fake quant: inconsistent scales");
    std::int64_t outer = 1;
    std::int64_t inner = 1;
    if (channels == 1) {
        inner = x.numel();
    } else {
        if (axis < 0 || axis >= x.dim() || x.size(axis) != static_cast<std::int64_t>(channels))
            throw ShapeError("fake quant: " + std::to_string(channels) + " amax values for axis " +
                             std::to_string(axis) + " of " + x.describe());
        for (int d = 0; d < axis; ++d)
            outer *= x.size(d);
        for (int d = axis + 1; d < x.dim(); ++d)
            inner *= x.size(d);
    }
    Tensor out = Tensor::empty(DType::F32, x.shape());
    if (out.numel() == 0)
        return out;
    const bool checkUnsigned = minLevel >= 0.0F;
    const Operation op(*this,
                       2 * f32Bytes(x.numel()) + 3 * f32Bytes(static_cast<std::int64_t>(channels)) + f32Bytes(2));
    cudaStream_t s = m_stream.get();
    const float *xd = put<float>(x);
    float *od = m_arena.take<float>(static_cast<std::size_t>(x.numel()));
    const float *qs = put(scales.quantScale);
    const float *ds = put(scales.divScale);
    const std::uint8_t *zero = put(scales.zeroChannel);
    int *flags = m_arena.take<int>(2);
    check(cudaMemsetAsync(flags, 0, 2 * sizeof(int), s), "cudaMemsetAsync");
    cuda::fakeQuant(xd, od, outer, static_cast<std::int64_t>(channels), inner, qs, ds, zero, minLevel, maxLevel,
                    checkUnsigned ? flags : nullptr, s);
    checkLaunch("fakeQuant");
    int hostFlags[2] = {0, 0};
    download(hostFlags, flags, sizeof hostFlags, s);
    finish(out, od, "fakeQuant");
    // reference §3.3 step 1: `inputs.min() < 0` raises; torch.min propagates NaN
    if (checkUnsigned && hostFlags[0] != 0 && hostFlags[1] == 0)
        throw FormatError("negative values encountered in unsigned quantization");
    return out;
}

Tensor CudaBackendImpl::quantizeS8(const Tensor &x, const IntegerQuant &q)
{
    if (x.dtype() != DType::F32)
        throw ShapeError("INT8 operand must be f32, got " + x.describe());
    Tensor out = Tensor::empty(DType::I8, x.shape());
    if (out.numel() == 0)
        return out;
    const Operation op(*this, f32Bytes(x.numel()) + Arena::aligned(static_cast<std::size_t>(x.numel())));
    const float *xd = put<float>(x);
    auto *codes = m_arena.take<std::int8_t>(static_cast<std::size_t>(x.numel()));
    cuda::quantizeRows(xd, 1, 1, 1, x.numel(), q.scale, q.minLevel, q.maxLevel, codes, x.numel(), m_stream.get());
    checkLaunch("quantizeRows");
    finish(out, codes, "quantizeS8");
    return out;
}

AbsStats CudaBackendImpl::absStats(const Tensor &x, bool skipZeros)
{
    if (x.dtype() != DType::F32)
        throw UnsupportedError("histogram statistics need f32 input, got " + x.describe());
    AbsStats result;
    if (x.numel() == 0)
        return result;
    const Operation op(*this, f32Bytes(x.numel()) + f32Bytes(8));
    cudaStream_t s = m_stream.get();
    const float *xd = put<float>(x);
    const std::vector<unsigned long long> init{0, 0x7f800000ULL, 0, 0};
    unsigned long long *stats = put(init);
    cuda::absStats(xd, x.numel(), skipZeros, stats, s);
    checkLaunch("absStats");
    unsigned long long host[4] = {};
    download(host, stats, sizeof host, s);
    sync("absStats");
    result.max = std::bit_cast<float>(static_cast<std::uint32_t>(host[0]));
    result.counted = static_cast<std::int64_t>(host[3]);
    result.min = result.counted > 0 ? std::bit_cast<float>(static_cast<std::uint32_t>(host[1])) : 0.0F;
    result.finite = host[2] == 0;
    return result;
}

std::vector<std::int64_t> CudaBackendImpl::histogram(const Tensor &x, const plan::HistogramBinning &binning)
{
    if (x.dtype() != DType::F32)
        throw UnsupportedError("histogram needs f32 input, got " + x.describe());
    if (binning.bins < 1)
        throw UnsupportedError("histogram with no bins");
    if (binning.rule != plan::HistogramBinning::Rule::TorchHistc &&
        static_cast<std::int64_t>(binning.edges.size()) != binning.bins + 1)
        throw ShapeError("histogram: " + std::to_string(binning.edges.size()) + " edges for " +
                         std::to_string(binning.bins) + " bins");
    std::vector<unsigned long long> counts(static_cast<std::size_t>(binning.bins), 0);
    std::vector<std::int64_t> result(counts.size(), 0);
    if (x.numel() == 0)
        return result;
    const Operation op(*this, f32Bytes(x.numel()) + Arena::aligned(binning.edges.size() * sizeof(double)) +
                                  Arena::aligned(counts.size() * sizeof(unsigned long long)));
    cudaStream_t s = m_stream.get();
    const float *xd = put<float>(x);
    const double *edges = binning.edges.empty() ? nullptr : put(binning.edges);
    unsigned long long *cd = put(counts);
    cuda::histogram(xd, x.numel(), binning.rule, binning.bins, binning.lo, binning.hi, binning.span, edges,
                    static_cast<std::int64_t>(binning.edges.size()), binning.skipZeros, cd, s);
    checkLaunch("histogram");
    download(counts.data(), cd, counts.size() * sizeof(unsigned long long), s);
    sync("histogram");
    for (std::size_t i = 0; i < counts.size(); ++i)
        result[i] = static_cast<std::int64_t>(counts[i]);
    return result;
}

std::unique_ptr<PackedTable> CudaBackendImpl::packTable(const Tensor &table)
{
    if (table.dim() != 2 || table.dtype() != DType::F32)
        throw ShapeError("embedding table must be f32 [rows, width], got " + table.describe());
    const std::lock_guard lock(m_mutex);
    const DeviceGuard guard(m_index);
    const Tensor t = table.contiguous();
    return std::make_unique<CudaPackedTable>(t.size(0), t.size(1),
                                             uploadPersistent(t.rawData(), t.nbytes(), m_stream.get()));
}

Tensor CudaBackendImpl::gather(const PackedTable &table, const Tensor &ids)
{
    const auto &packed = dynamic_cast<const CudaPackedTable &>(table);
    if (ids.dtype() != DType::I64)
        throw ShapeError("embedding ids must be i64, got " + ids.describe());
    Shape outShape = ids.shape();
    outShape.push_back(packed.width());
    Tensor out = Tensor::empty(DType::F32, outShape);
    if (out.numel() == 0)
        return out;
    const Operation op(*this,
                       Arena::aligned(static_cast<std::size_t>(ids.numel()) * 8) + f32Bytes(out.numel()) + f32Bytes(1));
    cudaStream_t s = m_stream.get();
    const auto *idd = put<std::int64_t>(ids);
    float *od = m_arena.take<float>(static_cast<std::size_t>(out.numel()));
    int *bad = m_arena.take<int>(1);
    check(cudaMemsetAsync(bad, 0, sizeof(int), s), "cudaMemsetAsync");
    cuda::gatherRows(packed.data(), packed.rows(), packed.width(), idd, ids.numel(), od, bad, s);
    checkLaunch("gatherRows");
    int hostBad = 0;
    download(&hostBad, bad, sizeof hostBad, s);
    finish(out, od, "gather");
    if (hostBad != 0)
        throw ShapeError("embedding id outside the table's " + std::to_string(packed.rows()) + " rows");
    return out;
}

double CudaBackendImpl::gemmOnlyMs(BenchGemm kind, std::int64_t m, std::int64_t n, std::int64_t k, int repeats)
{
    if (m <= 0 || n <= 0 || k <= 0 || repeats <= 0)
        throw UnsupportedError("GEMM timing needs positive sizes and repeats");
    const std::lock_guard lock(m_mutex);
    const DeviceGuard guard(m_index);
    const GemmType type = kind == BenchGemm::Int8   ? GemmType::S8
                          : kind == BenchGemm::Fp16 ? GemmType::F16
                                                    : GemmType::F32;
    const plan::GemmLayout layout =
        kind == BenchGemm::Int8 ? plan::int8Gemm(m, n, k) : plan::rowMajorGemm(m, n, k, true);
    const std::size_t element = kind == BenchGemm::Int8 ? 1 : kind == BenchGemm::Fp16 ? 2 : 4;
    // operands as the layout stores them (padded for INT8), zero-filled: the timing does not depend on values
    const DeviceMemory a(static_cast<std::size_t>(layout.a.ld * layout.a.cols) * element);
    const DeviceMemory b(static_cast<std::size_t>(layout.b.ld * layout.b.cols) * element);
    const DeviceMemory c(static_cast<std::size_t>(layout.c.ld * layout.c.cols) * 4);
    cudaStream_t s = m_stream.get();
    check(cudaMemsetAsync(a.get(), 0, a.size(), s), "cudaMemsetAsync");
    check(cudaMemsetAsync(b.get(), 0, b.size(), s), "cudaMemsetAsync");
    m_lt.run(type, layout, a.get(), b.get(), c.get()); // warm-up: heuristic, kernel load
    Event start;
    Event stop;
    start.record(s);
    for (int i = 0; i < repeats; ++i)
        m_lt.run(type, layout, a.get(), b.get(), c.get());
    stop.record(s);
    const double ms = stop.since(start);
    sync("gemmOnlyMs");
    return ms / repeats;
}

} // namespace qdq::kernels::cuda

namespace qdq::detail {

std::unique_ptr<kernels::Backend> createCudaBackend(int index, CudaGemmMath math)
{
    return std::make_unique<kernels::cuda::CudaBackendImpl>(index, math);
}

std::unique_ptr<kernels::Backend> createCudaBackend(int index)
{
    return createCudaBackend(index, CudaGemmMath::Fp32);
}

} // namespace qdq::detail

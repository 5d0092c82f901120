// The CPU backend: oneDNN inner products (weights reordered once into the layout the primitive
// wants, bias and activation fused as post-ops), oneDNN batched matmuls and softmax, and plain
// loops (OpenMP, vectorisable) for the mask add and LayerNorm. Primitives are cached by shape.
// INT8 runs on oneDNN's s8 matmul only where it is exact (VNNI/AMX); elsewhere on qdq's own exact
// GEMM (int8_gemm.h). The choice is made once, from the CPU and QDQ_MAX_ISA (qdq/cpu_isa.h).
#include "kernels/backend.h"
#include "kernels/cpu/int8_gemm.h"
#include "kernels/cpu/packed_weights.h"

#include "kernels/cpu/quant_simd.h"
#include "qdq/cpu_isa.h"
#include "qdq/errors.h"
#include "qdq/threading.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <malloc.h>
#include <map>
#include <mutex>
#include <omp.h>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

namespace qdq::kernels {
namespace {

using dnnl::memory;
using Dims = memory::dims;

dnnl::algorithm eltwiseAlgorithm(Activation a)
{
    switch (a) {
    case Activation::GeluErf:
        return dnnl::algorithm::eltwise_gelu_erf;
    case Activation::GeluTanh:
        return dnnl::algorithm::eltwise_gelu_tanh;
    case Activation::Relu:
        return dnnl::algorithm::eltwise_relu;
    case Activation::Silu:
        return dnnl::algorithm::eltwise_swish; // x * sigmoid(alpha x), alpha = 1
    case Activation::Tanh:
        return dnnl::algorithm::eltwise_tanh;
    case Activation::None:
        break;
    }
    return dnnl::algorithm::undef;
}

// Element-wise passes over fewer values than this run on the calling thread: a parallel region
// costs a wake-up and a barrier, microseconds on an idle machine but up to a scheduler slice on a
// loaded one, while one thread streams 256K floats in well under 100 us (b1/s128 activations are
// 98K-393K values). With the long spin of free cores (threading.h: the other threads still spin
// when the next region starts) from 32K values: BERT-base INT8 b1/s128 37.4 -> 36.4 ms.
std::int64_t parallelMin()
{
    static const std::int64_t values = openMpSpinsLong() ? std::int64_t{1} << 15 : std::int64_t{1} << 18;
    return values;
}

// The mean of v[0, n) and the sum of squared deviations from it, both in double (reference §5.4).
// Sixteen partial sums, each in order, instead of one: a single double accumulator is bound by the
// add latency (~10 cycles a value); these vectorise. In double, the order changes the float mean
// and 1/std only when a result lies within ~1e-16 of a float rounding boundary. Every variant
// below does the same operations in the same order (no FMA is enabled), so all give the same bits.
__attribute__((always_inline)) inline void rowMeanAndSquaresBody(const float *v, std::int64_t n, double &mean,
                                                                 double &squares)
{
    constexpr int kLanes = 16;
    double acc[kLanes] = {};
    std::int64_t j = 0;
    for (; j + kLanes <= n; j += kLanes)
        for (int k = 0; k < kLanes; ++k)
            acc[k] += v[j + k];
    double sum = 0.0;
    for (const double a : acc)
        sum += a;
    for (; j < n; ++j)
        sum += v[j];
    mean = sum / static_cast<double>(n);
    double sq[kLanes] = {};
    for (j = 0; j + kLanes <= n; j += kLanes)
        for (int k = 0; k < kLanes; ++k) {
            const double d = v[j + k] - mean;
            sq[k] += d * d;
        }
    squares = 0.0;
    for (const double s : sq)
        squares += s;
    for (; j < n; ++j) {
        const double d = v[j] - mean;
        squares += d * d;
    }
}

// out[j] = (out[j] - mean) * rstd * g[j] + b[j], each step rounded (no FMA enabled in any variant).
__attribute__((always_inline)) inline void normalizeRowBody(float *row, std::int64_t n, float mean, float rstd,
                                                            const float *g, const float *b)
{
    for (std::int64_t j = 0; j < n; ++j)
        row[j] = (row[j] - mean) * rstd * g[j] + b[j];
}

void rowMeanAndSquaresBase(const float *v, std::int64_t n, double &mean, double &squares)
{
    rowMeanAndSquaresBody(v, n, mean, squares);
}
void normalizeRowBase(float *row, std::int64_t n, float mean, float rstd, const float *g, const float *b)
{
    normalizeRowBody(row, n, mean, rstd, g, b);
}
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("avx2"))) void rowMeanAndSquaresAvx2(const float *v, std::int64_t n, double &mean,
                                                           double &squares)
{
    rowMeanAndSquaresBody(v, n, mean, squares);
}
__attribute__((target("avx2"))) void normalizeRowAvx2(float *row, std::int64_t n, float mean, float rstd,
                                                      const float *g, const float *b)
{
    normalizeRowBody(row, n, mean, rstd, g, b);
}
#endif

struct RowPasses {
    void (*meanAndSquares)(const float *, std::int64_t, double &, double &) = rowMeanAndSquaresBase;
    void (*normalize)(float *, std::int64_t, float, float, const float *, const float *) = normalizeRowBase;
};

// Chosen once from cpuIsa() (QDQ_MAX_ISA caps it). AVX2 also serves AVX-512 CPUs: these passes
// are bound by memory, and a 512-bit variant would enable FMA contraction (other bits).
RowPasses rowPasses()
{
    RowPasses p;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    const CpuIsa isa = cpuIsa();
    if (isa >= CpuIsa::Avx2) {
        p.meanAndSquares = rowMeanAndSquaresAvx2;
        p.normalize = normalizeRowAvx2;
    }
#endif
    return p;
}

void *mutablePtr(const Tensor &t)
{
    // oneDNN takes non-const handles even for inputs it only reads.
    return const_cast<void *>(t.rawData());
}

// A weight read from a mapped checkpoint file is only read again when the quantizers change:
// once reordered, its pages are dropped from this process (qdq::releaseMappedPages), so that the
// packed copy does not double the resident weights (issue #14: peak RSS of BERT-base FP32 < 600
// MB). The f32 weights themselves are let go once packed: a fake-quantized copy (precision qdq,
// 340 MB for BERT-base) is freed; a layout wanted later comes from the packed copy (PackedWeights).
class CpuPackedLinear final : public PackedLinear {
public:
    CpuPackedLinear(Tensor weight, Tensor bias, Activation activation)
        : m_weight(std::move(weight)), m_out(m_weight.size(0)), m_in(m_weight.size(1)), m_bias(std::move(bias)),
          m_activation(activation)
    {
    }
    [[nodiscard]] std::int64_t inFeatures() const noexcept override { return m_in; }
    [[nodiscard]] std::int64_t outFeatures() const noexcept override { return m_out; }

    struct Plan {
        dnnl::inner_product_forward primitive;
        memory weights; // reordered for this primitive
    };

    const Plan &plan(std::int64_t rows, const dnnl::engine &engine, dnnl::stream &stream)
    {
        std::lock_guard lock(m_mutex);
        if (const auto it = m_plans.find(rows); it != m_plans.end())
            return it->second;
        const std::int64_t n = outFeatures();
        const std::int64_t k = inFeatures();
        const memory::desc src({rows, k}, memory::data_type::f32, memory::format_tag::ab);
        const memory::desc wAny({n, k}, memory::data_type::f32, memory::format_tag::any);
        const memory::desc dst({rows, n}, memory::data_type::f32, memory::format_tag::ab);
        const memory::desc bias =
            m_bias.defined() ? memory::desc({n}, memory::data_type::f32, memory::format_tag::a) : memory::desc();
        dnnl::primitive_attr attr;
        if (m_activation != Activation::None) {
            dnnl::post_ops ops;
            ops.append_eltwise(1.0f, eltwiseAlgorithm(m_activation), m_activation == Activation::Silu ? 1.0f : 0.0f,
                               0.0f);
            attr.set_post_ops(ops);
        }
        const dnnl::inner_product_forward::desc desc(dnnl::prop_kind::forward_inference, src, wAny, bias, dst);
        const dnnl::inner_product_forward::primitive_desc pd(desc, attr, engine);
        const memory::desc plain({n, k}, memory::data_type::f32, memory::format_tag::ab);
        const memory packed =
            m_packed.get(pd.weights_desc(), plain, m_weight.defined() ? mutablePtr(m_weight) : nullptr, engine, stream);
        if (m_weight.defined()) {
            releaseMappedPages(m_weight);
            m_weight = Tensor();
        }
        return m_plans.emplace(rows, Plan{dnnl::inner_product_forward(pd), packed}).first->second;
    }

    [[nodiscard]] const Tensor &bias() const noexcept { return m_bias; }

private:
    Tensor m_weight; // f32 [N,K] contiguous, until the first plan has packed it
    std::int64_t m_out;
    std::int64_t m_in;
    Tensor m_bias; // f32 [N] contiguous or undefined
    Activation m_activation;
    std::mutex m_mutex;
    std::unordered_map<std::int64_t, Plan> m_plans;
    PackedWeights m_packed;
};

// reference §3.3 step 5: code = clamp(rne(fl(x * s)), m, B), NaN -> the lowest level; the loop
// (scalar or AVX-512, the same bits) is kernels/cpu/quant_simd.h's.
void quantizeS8(const float *x, std::int8_t *out, std::int64_t n, const IntegerQuant &q)
{
#pragma omp parallel if (n > parallelMin())
    {
        const std::int64_t parts = omp_get_num_threads();
        const std::int64_t part = omp_get_thread_num();
        const std::int64_t begin = n * part / parts;
        const std::int64_t end = n * (part + 1) / parts;
        simd::quantizeS8Run(x + begin, out + begin, end - begin, q.scale, q.minLevel, q.maxLevel);
    }
}

// s8 codes of x with x's logical shape. A contiguous x, or the last-two-dims transpose of a
// contiguous tensor (the matmul_k site sees Kᵀ, reference §1.2 row 8), keeps its memory order;
// anything else is made contiguous first. Returns the codes and their strides.
struct S8Operand {
    Tensor codes; // physical storage (contiguous in its own shape)
    Dims dims;
    Dims strides;
};

S8Operand quantizeOperand(const Tensor &x, const IntegerQuant &q)
{
    if (x.dtype() != DType::F32)
        throw ShapeError("INT8 operand must be f32, got " + x.describe());
    S8Operand op;
    op.dims = Dims(x.shape());
    const int r = x.dim();
    Tensor src;
    bool transposed = false;
    if (x.isContiguous()) {
        src = x.alias();
    } else if (r >= 2 && x.transpose(r - 2, r - 1).isContiguous()) {
        src = x.transpose(r - 2, r - 1);
        transposed = true;
    } else {
        src = x.contiguous();
    }
    op.codes = Tensor::empty(DType::I8, src.shape());
    quantizeS8(src.data<float>(), op.codes.mutableData<std::int8_t>(), src.numel(), q);
    Dims st(src.strides());
    if (transposed)
        std::swap(st[static_cast<std::size_t>(r - 2)], st[static_cast<std::size_t>(r - 1)]);
    op.strides = st;
    return op;
}

// Rescale of the s32 accumulator: 1 / (s_a * s_b), in double then rounded once to f32.
float rescale(float sa, float sb)
{
    return static_cast<float>(1.0 / (static_cast<double>(sa) * static_cast<double>(sb)));
}

// The weight's scales s_w per output column and the rescale fl(1 / (s_x * s_w[n])) for the current
// input scale, recomputed only when s_x changes (a calibrated input quantizer keeps one s_x). The
// model runs one forward at a time (model.h).
class ColumnRescale {
public:
    explicit ColumnRescale(std::vector<float> weightScales) : m_scales(std::move(weightScales)) {}
    std::vector<float> &forInput(float sx)
    {
        if (m_out.empty() || sx != m_outFor) {
            m_out.resize(m_scales.size());
            for (std::size_t i = 0; i < m_scales.size(); ++i)
                m_out[i] = rescale(sx, m_scales[i]);
            m_outFor = sx;
        }
        return m_out;
    }

private:
    std::vector<float> m_scales; // s_w per column
    std::vector<float> m_out;
    float m_outFor = 0.0F;
};

// INT8 weights for qdq's exact GEMM: s16 panels (int8_gemm.h), packed once; the s8 codes are not
// kept. Same numbers as the oneDNN path: acc exact, then fl(fl(acc) * rescale) + bias.
class CpuPackedLinearExactS8 final : public PackedLinear {
public:
    CpuPackedLinearExactS8(const Tensor &codes, std::vector<float> scales, Tensor bias, Activation activation)
        : m_out(codes.size(0)), m_in(codes.size(1)), m_rescale(std::move(scales)), m_bias(std::move(bias)),
          m_activation(activation)
    {
        if (m_in > int8::kMaxDepth)
            throw UnsupportedError("INT8 linear with " + std::to_string(m_in) + " input features (at most " +
                                   std::to_string(int8::kMaxDepth) + ")");
        m_panels = int8::allocate(int8::packedSize(m_in, m_out));
        // codes [N,K] row-major: element (k, n) at n * K + k
        int8::packB(codes.data<std::int8_t>(), m_in, m_out, 1, m_in, m_panels.get());
    }
    [[nodiscard]] std::int64_t inFeatures() const noexcept override { return m_in; }
    [[nodiscard]] std::int64_t outFeatures() const noexcept override { return m_out; }
    [[nodiscard]] const std::int16_t *panels() const noexcept { return m_panels.get(); }
    [[nodiscard]] const Tensor &bias() const noexcept { return m_bias; }
    [[nodiscard]] Activation activation() const noexcept { return m_activation; }
    std::vector<float> &outScales(float sx) { return m_rescale.forInput(sx); }

private:
    std::int64_t m_out;
    std::int64_t m_in;
    std::shared_ptr<std::int16_t> m_panels;
    ColumnRescale m_rescale;
    Tensor m_bias;
    Activation m_activation;
};

class CpuPackedLinearS8 final : public PackedLinear {
public:
    CpuPackedLinearS8(Tensor codes, std::vector<float> scales, Tensor bias, Activation activation)
        : m_codes(std::move(codes)), m_rescale(std::move(scales)), m_bias(std::move(bias)), m_activation(activation)
    {
    }
    [[nodiscard]] std::int64_t inFeatures() const noexcept override { return m_codes.size(1); }
    [[nodiscard]] std::int64_t outFeatures() const noexcept override { return m_codes.size(0); }
    [[nodiscard]] const Tensor &bias() const noexcept { return m_bias; }
    std::vector<float> &outScales(float sx) { return m_rescale.forInput(sx); }

    struct Plan {
        dnnl::matmul primitive;
        memory weights; // s8 codes reordered (with the s8s8 compensation oneDNN wants) for this primitive
        bool runtimeScales = false;
    };

    // s8 [rows,K] x s8 [K,N] -> f32 [rows,N], then the rescale fl(f32(acc) * fl(1 / (s_x s_w)))
    // per column, the f32 bias and the activation. For a fixed s_x (a stored amax) the rescale is
    // the primitive's output scales, built in (one primitive per s_x); for max|x| per call it is a
    // binary multiply by a per-column f32 vector given at execution: runtime output scales would
    // make oneDNN 2.6 fall back from the VNNI brgemm kernel to gemm:jit, and a primitive per call
    // costs more than the multiply. Both round once, alike (tst_cpu_backend). The bias is a
    // binary add either way: oneDNN 2.6's own int8 bias is added before the output scale.
    const Plan &plan(std::int64_t rows, const IntegerQuant &xq, const dnnl::engine &engine, dnnl::stream &stream)
    {
        std::lock_guard lock(m_mutex);
        const float sx = xq.dequantDivisor();
        std::uint32_t sxBits = 0;
        if (xq.fixed)
            std::memcpy(&sxBits, &sx, sizeof sxBits);
        const PlanKey key{rows, xq.fixed, sxBits};
        if (const auto it = m_plans.find(key); it != m_plans.end())
            return it->second;
        if (xq.fixed && m_plans.size() >= kMaxPlans) // amax overrides tried one after another
            std::erase_if(m_plans, [](const auto &entry) { return std::get<1>(entry.first); });
        const std::int64_t n = outFeatures();
        const std::int64_t k = inFeatures();
        const memory::desc src({rows, k}, memory::data_type::s8, memory::format_tag::ab);
        const memory::desc wAny({k, n}, memory::data_type::s8, memory::format_tag::any);
        const memory::desc dst({rows, n}, memory::data_type::f32, memory::format_tag::ab);
        const memory::desc perColumn({1, n}, memory::data_type::f32, memory::format_tag::ab);
        dnnl::primitive_attr attr;
        dnnl::post_ops ops;
        if (xq.fixed)
            attr.set_output_scales(1 << 1, outScales(sx));
        else
            ops.append_binary(dnnl::algorithm::binary_mul, perColumn);
        if (m_bias.defined())
            ops.append_binary(dnnl::algorithm::binary_add, perColumn);
        if (m_activation != Activation::None)
            ops.append_eltwise(1.0f, eltwiseAlgorithm(m_activation), m_activation == Activation::Silu ? 1.0f : 0.0f,
                               0.0f);
        attr.set_post_ops(ops);
        const dnnl::matmul::desc desc(src, wAny, dst);
        const dnnl::matmul::primitive_desc pd(desc, attr, engine);
        // codes are [N,K] row-major = [K,N] with strides {1, K}
        const memory::desc plain({k, n}, memory::data_type::s8, memory::format_tag::ba);
        const memory packed = m_packed.get(pd.weights_desc(), plain, mutablePtr(m_codes), engine, stream);
        return m_plans.emplace(key, Plan{dnnl::matmul(pd), packed, !xq.fixed}).first->second;
    }

private:
    Tensor m_codes; // s8 [N,K] contiguous
    ColumnRescale m_rescale;
    Tensor m_bias;
    Activation m_activation;
    std::mutex m_mutex;
    using PlanKey = std::tuple<std::int64_t, bool, std::uint32_t>; // rows, fixed s_x, its bits
    static constexpr std::size_t kMaxPlans = 16;
    std::map<PlanKey, Plan> m_plans;
    PackedWeights m_packed;
};

std::string dimsKey(const Tensor &t)
{
    std::string key;
    for (std::int64_t v : t.shape())
        key += std::to_string(v) + ',';
    key += '/';
    for (std::int64_t v : t.strides())
        key += std::to_string(v) + ',';
    return key;
}

class CpuBackend final : public Backend {
public:
    // cpuIsa() first: it hands QDQ_MAX_ISA on to oneDNN, which must happen before oneDNN's engine
    // generates any kernel.
    CpuBackend() : m_int8(int8Gemm()), m_engine(dnnl::engine::kind::cpu, 0), m_stream(m_engine)
    {
        // Activations are fresh tensors per call (MBs for bert-base). Keep freed blocks in the heap
        // instead of returning them to the kernel, so a forward does not page-fault its buffers in
        // again each time (glibc would mmap / trim them).
        static std::once_flag once;
        std::call_once(once, [] {
            mallopt(M_MMAP_THRESHOLD, 256 << 20);
            mallopt(M_TRIM_THRESHOLD, 512 << 20);
        });
    }

    [[nodiscard]] std::string name() const override { return "cpu (oneDNN)"; }

    std::unique_ptr<PackedLinear> packLinear(const Tensor &weight, const Tensor &bias, Activation activation) override
    {
        if (weight.dim() != 2 || weight.dtype() != DType::F32)
            throw ShapeError("linear weight must be f32 [out, in], got " + weight.describe());
        Tensor b;
        if (bias.defined()) {
            if (bias.dim() != 1 || bias.size(0) != weight.size(0) || bias.dtype() != DType::F32)
                throw ShapeError("linear bias " + bias.describe() + " does not fit weight " + weight.describe());
            b = bias.contiguous();
        }
        return std::make_unique<CpuPackedLinear>(weight.contiguous(), std::move(b), activation);
    }

    Tensor linear(const Tensor &x, const PackedLinear &w) override
    {
        auto &packed = const_cast<CpuPackedLinear &>(static_cast<const CpuPackedLinear &>(w));
        const std::int64_t k = packed.inFeatures();
        if (x.dim() < 1 || x.size(-1) != k)
            throw ShapeError("linear input " + x.describe() + " does not have " + std::to_string(k) + " features");
        const Tensor src = x.contiguous();
        const std::int64_t rows = k > 0 ? src.numel() / k : 0;
        Shape outShape = x.shape();
        outShape.back() = packed.outFeatures();
        Tensor y = Tensor::empty(DType::F32, outShape);
        if (rows == 0)
            return y;
        const auto &plan = packed.plan(rows, m_engine, m_stream);
        const memory::desc srcMd({rows, k}, memory::data_type::f32, memory::format_tag::ab);
        const memory::desc dstMd({rows, packed.outFeatures()}, memory::data_type::f32, memory::format_tag::ab);
        memory srcMem(srcMd, m_engine, mutablePtr(src));
        memory dstMem(dstMd, m_engine, y.mutableRawData());
        std::unordered_map<int, memory> args{
            {DNNL_ARG_SRC, srcMem}, {DNNL_ARG_WEIGHTS, plan.weights}, {DNNL_ARG_DST, dstMem}};
        if (packed.bias().defined())
            args.emplace(DNNL_ARG_BIAS,
                         memory(memory::desc({packed.outFeatures()}, memory::data_type::f32, memory::format_tag::a),
                                m_engine, mutablePtr(packed.bias())));
        plan.primitive.execute(m_stream, args);
        m_stream.wait();
        return y;
    }

    Tensor matmul(const Tensor &a, const Tensor &b) override
    {
        if (a.dim() < 2 || a.dim() != b.dim() || a.size(-1) != b.size(-2))
            throw ShapeError("matmul of " + a.describe() + " and " + b.describe());
        for (int d = 0; d + 2 < a.dim(); ++d)
            if (a.size(d) != b.size(d))
                throw ShapeError("matmul batch dims differ: " + a.describe() + " and " + b.describe());
        Shape outShape = a.shape();
        outShape.back() = b.size(-1);
        Tensor c = Tensor::empty(DType::F32, outShape);
        if (c.numel() == 0)
            return c;
        if (a.size(-1) == 0) {
            Tensor zeros(DType::F32, outShape);
            return zeros;
        }
        const std::string key = dimsKey(a) + '|' + dimsKey(b);
        dnnl::matmul *prim = nullptr;
        {
            std::lock_guard lock(m_mutex);
            auto it = m_matmuls.find(key);
            if (it == m_matmuls.end()) {
                const memory::desc amd(Dims(a.shape()), memory::data_type::f32, Dims(a.strides()));
                const memory::desc bmd(Dims(b.shape()), memory::data_type::f32, Dims(b.strides()));
                const memory::desc cmd(Dims(c.shape()), memory::data_type::f32, Dims(c.strides()));
                const dnnl::matmul::desc desc(amd, bmd, cmd);
                it = m_matmuls.emplace(key, dnnl::matmul(dnnl::matmul::primitive_desc(desc, m_engine))).first;
            }
            prim = &it->second;
        }
        memory am(memory::desc(Dims(a.shape()), memory::data_type::f32, Dims(a.strides())), m_engine, mutablePtr(a));
        memory bm(memory::desc(Dims(b.shape()), memory::data_type::f32, Dims(b.strides())), m_engine, mutablePtr(b));
        memory cm(memory::desc(Dims(c.shape()), memory::data_type::f32, Dims(c.strides())), m_engine,
                  c.mutableRawData());
        prim->execute(m_stream, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
        m_stream.wait();
        return c;
    }

    void scaledMaskedSoftmax(Tensor &scores, float divisor, const Tensor &mask) override
    {
        if (scores.dim() != 4 || !scores.isContiguous())
            throw ShapeError("softmax expects contiguous [B,h,L,S] scores, got " + scores.describe());
        const std::int64_t batch = scores.size(0);
        const std::int64_t heads = scores.size(1);
        const std::int64_t len = scores.size(2);
        const std::int64_t keys = scores.size(3);
        if (scores.numel() == 0)
            return;
        float *s = scores.mutableData<float>();
        const float *m = mask.defined() ? mask.data<float>() : nullptr;
        const std::int64_t rows = batch * heads * len;
        // reference §5.3: scores / sqrt(d) (a division, as PyTorch does), then + mask (§5.2)
#pragma omp parallel for schedule(static) if (scores.numel() > parallelMin())
        for (std::int64_t r = 0; r < rows; ++r) {
            float *row = s + r * keys;
            const std::int64_t b = r / (heads * len);
            const std::int64_t l = r % len;
            const float *mrow = m ? m + (b * len + l) * keys : nullptr;
            if (mrow)
                for (std::int64_t j = 0; j < keys; ++j)
                    row[j] = row[j] / divisor + mrow[j];
            else
                for (std::int64_t j = 0; j < keys; ++j)
                    row[j] = row[j] / divisor;
        }
        const std::string key = "softmax" + dimsKey(scores);
        dnnl::softmax_forward *prim = nullptr;
        {
            std::lock_guard lock(m_mutex);
            auto it = m_softmax.find(key);
            if (it == m_softmax.end()) {
                const memory::desc md({rows, keys}, memory::data_type::f32, memory::format_tag::ab);
                const dnnl::softmax_forward::desc desc(dnnl::prop_kind::forward_inference, md, 1);
                it =
                    m_softmax.emplace(key, dnnl::softmax_forward(dnnl::softmax_forward::primitive_desc(desc, m_engine)))
                        .first;
            }
            prim = &it->second;
        }
        memory mem(memory::desc({rows, keys}, memory::data_type::f32, memory::format_tag::ab), m_engine, s);
        prim->execute(m_stream, {{DNNL_ARG_SRC, mem}, {DNNL_ARG_DST, mem}});
        m_stream.wait();
    }

    Tensor splitHeads(const Tensor &x, std::int64_t heads) override
    {
        const Tensor src = x.contiguous();
        const std::int64_t b = src.size(0);
        const std::int64_t l = src.size(1);
        const std::int64_t width = src.size(2);
        const std::int64_t d = width / heads;
        Tensor out = Tensor::empty(DType::F32, {b, heads, l, d});
        const float *s = src.data<float>();
        float *o = out.mutableData<float>();
#pragma omp parallel for collapse(2) schedule(static) if (out.numel() > parallelMin())
        for (std::int64_t bi = 0; bi < b; ++bi)
            for (std::int64_t hi = 0; hi < heads; ++hi)
                for (std::int64_t li = 0; li < l; ++li)
                    std::memcpy(o + ((bi * heads + hi) * l + li) * d, s + (bi * l + li) * width + hi * d,
                                static_cast<std::size_t>(d) * sizeof(float));
        return out;
    }

    Tensor mergeHeads(const Tensor &x) override
    {
        const Tensor src = x.contiguous();
        const std::int64_t b = src.size(0);
        const std::int64_t heads = src.size(1);
        const std::int64_t l = src.size(2);
        const std::int64_t d = src.size(3);
        Tensor out = Tensor::empty(DType::F32, {b, l, heads * d});
        const float *s = src.data<float>();
        float *o = out.mutableData<float>();
#pragma omp parallel for collapse(2) schedule(static) if (out.numel() > parallelMin())
        for (std::int64_t bi = 0; bi < b; ++bi)
            for (std::int64_t hi = 0; hi < heads; ++hi)
                for (std::int64_t li = 0; li < l; ++li)
                    std::memcpy(o + (bi * l + li) * heads * d + hi * d, s + ((bi * heads + hi) * l + li) * d,
                                static_cast<std::size_t>(d) * sizeof(float));
        return out;
    }

    Tensor addLayerNorm(const Tensor &a, const Tensor &b, const Tensor &gamma, const Tensor &beta, float eps) override
    {
        const Tensor x = a.contiguous();
        const Tensor y = b.defined() ? b.contiguous() : Tensor();
        if (y.defined() && y.shape() != x.shape())
            throw ShapeError("residual add of " + a.describe() + " and " + b.describe());
        const std::int64_t width = x.size(-1);
        if (gamma.numel() != width || beta.numel() != width)
            throw ShapeError("LayerNorm weights do not match width " + std::to_string(width));
        Tensor out = Tensor::empty(DType::F32, x.shape());
        const std::int64_t rows = width > 0 ? x.numel() / width : 0;
        const float *xp = x.data<float>();
        const float *yp = y.defined() ? y.data<float>() : nullptr;
        const float *g = gamma.data<float>();
        const float *be = beta.data<float>();
        float *o = out.mutableData<float>();
#pragma omp parallel for schedule(static) if (out.numel() > parallelMin())
        for (std::int64_t r = 0; r < rows; ++r) {
            float *orow = o + r * width;
            const float *xrow = xp + r * width;
            if (yp) {
                const float *yrow = yp + r * width;
                for (std::int64_t j = 0; j < width; ++j)
                    orow[j] = xrow[j] + yrow[j]; // reference §5.4: the residual sum is in float
            } else {
                for (std::int64_t j = 0; j < width; ++j)
                    orow[j] = xrow[j];
            }
            double mean = 0.0;
            double sq = 0.0;
            m_rows.meanAndSquares(orow, width, mean, sq);
            // reference §5.4: biased variance, eps inside the square root
            const auto rstd = static_cast<float>(1.0 / std::sqrt(sq / static_cast<double>(width) + eps));
            m_rows.normalize(orow, width, static_cast<float>(mean), rstd, g, be);
        }
        return out;
    }

    std::unique_ptr<PackedLinear> packQuantizedLinear(const QuantizedTensor &weight, const Tensor &bias,
                                                      Activation activation) override
    {
        const Tensor &codes = weight.codes;
        if (codes.dim() != 2 || codes.dtype() != DType::I8)
            throw ShapeError("INT8 linear weight must be s8 [out, in], got " + codes.describe());
        const std::int64_t n = codes.size(0);
        if (weight.scale.size() != 1 && (static_cast<std::int64_t>(weight.scale.size()) != n || weight.axis != 0))
            throw ShapeError("INT8 linear weight scales must be one or one per row (" + std::to_string(n) + ")");
        Tensor b;
        if (bias.defined()) {
            if (bias.dim() != 1 || bias.size(0) != n || bias.dtype() != DType::F32)
                throw ShapeError("linear bias " + bias.describe() + " does not fit weight " + codes.describe());
            b = bias.contiguous();
        }
        std::vector<float> scales = weight.scale;
        if (scales.size() == 1)
            scales.assign(static_cast<std::size_t>(n), scales.front());
        if (m_int8 != Int8Gemm::OneDnn)
            return std::make_unique<CpuPackedLinearExactS8>(codes.contiguous(), std::move(scales), std::move(b),
                                                            activation);
        return std::make_unique<CpuPackedLinearS8>(codes.contiguous(), std::move(scales), std::move(b), activation);
    }

    Tensor quantizedLinear(const Tensor &x, const IntegerQuant &xq, const PackedLinear &w) override
    {
        if (m_int8 != Int8Gemm::OneDnn)
            return exactLinear(x, xq,
                               const_cast<CpuPackedLinearExactS8 &>(dynamic_cast<const CpuPackedLinearExactS8 &>(w)));
        auto &packed = const_cast<CpuPackedLinearS8 &>(dynamic_cast<const CpuPackedLinearS8 &>(w));
        const std::int64_t k = packed.inFeatures();
        const std::int64_t n = packed.outFeatures();
        Tensor y = linearOutput(x, packed);
        const std::int64_t rows = k > 0 ? x.numel() / k : 0;
        if (rows == 0)
            return y;
        const Tensor src = x.contiguous();
        Tensor codes = Tensor::empty(DType::I8, {rows, k});
        const auto &plan = packed.plan(rows, xq, m_engine, m_stream);
        quantizeS8(src.data<float>(), codes.mutableData<std::int8_t>(), rows * k, xq);
        memory srcMem(memory::desc({rows, k}, memory::data_type::s8, memory::format_tag::ab), m_engine,
                      codes.mutableRawData());
        memory dstMem(memory::desc({rows, n}, memory::data_type::f32, memory::format_tag::ab), m_engine,
                      y.mutableRawData());
        const memory::desc perColumn({1, n}, memory::data_type::f32, memory::format_tag::ab);
        std::unordered_map<int, memory> args{
            {DNNL_ARG_SRC, srcMem}, {DNNL_ARG_WEIGHTS, plan.weights}, {DNNL_ARG_DST, dstMem}};
        int postOp = 0;
        if (plan.runtimeScales)
            args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(postOp++) | DNNL_ARG_SRC_1,
                         memory(perColumn, m_engine, packed.outScales(xq.dequantDivisor()).data()));
        if (packed.bias().defined())
            args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(postOp) | DNNL_ARG_SRC_1,
                         memory(perColumn, m_engine, mutablePtr(packed.bias())));
        plan.primitive.execute(m_stream, args);
        m_stream.wait();
        return y;
    }

    Tensor quantizedMatmul(const Tensor &a, const IntegerQuant &qa, const Tensor &b, const IntegerQuant &qb) override
    {
        if (a.dim() < 2 || a.dim() != b.dim() || a.size(-1) != b.size(-2))
            throw ShapeError("matmul of " + a.describe() + " and " + b.describe());
        for (int d = 0; d + 2 < a.dim(); ++d)
            if (a.size(d) != b.size(d))
                throw ShapeError("matmul batch dims differ: " + a.describe() + " and " + b.describe());
        Shape outShape = a.shape();
        outShape.back() = b.size(-1);
        if (shapeNumel(outShape) == 0 || a.size(-1) == 0)
            return Tensor(DType::F32, outShape);
        const S8Operand sa = quantizeOperand(a, qa);
        const S8Operand sb = quantizeOperand(b, qb);
        Tensor c = Tensor::empty(DType::F32, outShape);
        if (m_int8 != Int8Gemm::OneDnn) {
            exactMatmul(sa, sb, rescale(qa.dequantDivisor(), qb.dequantDivisor()), c);
            return c;
        }
        const memory::desc amd(sa.dims, memory::data_type::s8, sa.strides);
        const memory::desc bmd(sb.dims, memory::data_type::s8, sb.strides);
        const memory::desc cmd(Dims(c.shape()), memory::data_type::f32, Dims(c.strides()));
        const memory::desc scalarMd(Dims(static_cast<std::size_t>(c.dim()), 1), memory::data_type::f32,
                                    Dims(static_cast<std::size_t>(c.dim()), 1));
        std::string key = "s8";
        for (const Dims *d : {&sa.dims, &sa.strides, &sb.dims, &sb.strides}) {
            for (const auto v : *d)
                key += std::to_string(v) + ',';
            key += '/';
        }
        dnnl::matmul *prim = nullptr;
        {
            std::lock_guard lock(m_mutex);
            auto it = m_matmuls.find(key);
            if (it == m_matmuls.end()) {
                // the rescale as a binary multiply by a runtime scalar, not a runtime output scale
                // (which makes oneDNN 2.6 pick gemm:jit instead of the VNNI brgemm kernel)
                dnnl::primitive_attr attr;
                dnnl::post_ops ops;
                ops.append_binary(dnnl::algorithm::binary_mul, scalarMd);
                attr.set_post_ops(ops);
                const dnnl::matmul::desc desc(amd, bmd, cmd);
                it = m_matmuls.emplace(key, dnnl::matmul(dnnl::matmul::primitive_desc(desc, attr, m_engine))).first;
            }
            prim = &it->second;
        }
        float scale = rescale(qa.dequantDivisor(), qb.dequantDivisor());
        memory am(amd, m_engine, const_cast<void *>(sa.codes.rawData()));
        memory bm(bmd, m_engine, const_cast<void *>(sb.codes.rawData()));
        memory cm(cmd, m_engine, c.mutableRawData());
        memory sm(scalarMd, m_engine, &scale);
        prim->execute(m_stream, {{DNNL_ARG_SRC, am},
                                 {DNNL_ARG_WEIGHTS, bm},
                                 {DNNL_ARG_DST, cm},
                                 {DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, sm}});
        m_stream.wait();
        return c;
    }

private:
    // The uninitialised output [..., N] of an INT8 linear, after checking x's features.
    static Tensor linearOutput(const Tensor &x, const PackedLinear &w)
    {
        const std::int64_t k = w.inFeatures();
        if (x.dim() < 1 || x.size(-1) != k)
            throw ShapeError("linear input " + x.describe() + " does not have " + std::to_string(k) + " features");
        Shape outShape = x.shape();
        outShape.back() = w.outFeatures();
        return Tensor::empty(DType::F32, outShape);
    }

    // qdq's exact GEMM: codes of x (reference §3.3 step 5, the same loop as the oneDNN path),
    // widened to s16, times the packed panels; the rescale and bias in the GEMM's epilogue, the
    // activation after it by oneDNN's element-wise kernel (as the FP32 linear's post-op).
    Tensor exactLinear(const Tensor &x, const IntegerQuant &xq, CpuPackedLinearExactS8 &packed)
    {
        const std::int64_t k = packed.inFeatures();
        const std::int64_t n = packed.outFeatures();
        Tensor y = linearOutput(x, packed);
        if (y.numel() == 0)
            return y;
        const std::int64_t rows = y.numel() / n; // also for k == 0: then y = bias (every sum empty)
        const Tensor src = x.contiguous();
        std::vector<std::int8_t> codes(static_cast<std::size_t>(rows * k));
        quantizeS8(src.data<float>(), codes.data(), rows * k, xq);
        const std::shared_ptr<std::int16_t> a = int8::allocate(rows * int8::rowLength(k));
        int8::widenA(codes.data(), rows, k, k, 1, a.get());
        const std::vector<float> &scales = packed.outScales(xq.dequantDivisor());
        const int8::Epilogue epilogue{scales.data(), 1,
                                      packed.bias().defined() ? packed.bias().data<float>() : nullptr};
        int8::gemm(m_int8, a.get(), rows, packed.panels(), k, n, y.mutableData<float>(), n, epilogue, true);
        applyActivation(y, packed.activation());
        return y;
    }

    // c[batch..., M, N] = fl(fl(acc) * scale) for s8 operands of any strides (quantizeOperand).
    void exactMatmul(const S8Operand &sa, const S8Operand &sb, float scale, Tensor &c)
    {
        const std::size_t r = sa.dims.size();
        const std::int64_t m = sa.dims[r - 2];
        const std::int64_t k = sa.dims[r - 1];
        const std::int64_t n = sb.dims[r - 1];
        if (k > int8::kMaxDepth)
            throw UnsupportedError("INT8 matmul depth " + std::to_string(k) + " exceeds " +
                                   std::to_string(int8::kMaxDepth));
        std::int64_t batch = 1;
        for (std::size_t d = 0; d + 2 < r; ++d)
            batch *= sa.dims[d];
        // element offset of batch item `index` in an operand with these dims and strides
        const auto offset = [r](const S8Operand &op, std::int64_t index) {
            std::int64_t off = 0;
            for (std::size_t d = r - 2; d-- > 0;) {
                off += (index % op.dims[d]) * op.strides[d];
                index /= op.dims[d];
            }
            return off;
        };
        const std::int64_t lda = int8::rowLength(k);
        const std::int64_t aSize = m * lda;
        const std::int64_t bSize = int8::packedSize(k, n);
        const std::int8_t *ac = sa.codes.data<std::int8_t>();
        const std::int8_t *bc = sb.codes.data<std::int8_t>();
        float *out = c.mutableData<float>();
        const int8::Epilogue epilogue{&scale, 0, nullptr};
        // many small products (attention: batch x heads of L x d): one per thread at a time
        const bool perItem = batch > 1 && m * n * k * batch >= (std::int64_t{1} << 20);
        const int threads = perItem ? std::max(1, numThreads()) : 1;
        std::vector<std::shared_ptr<std::int16_t>> scratch(static_cast<std::size_t>(threads));
        for (auto &buffer : scratch)
            buffer = int8::allocate(aSize + bSize + 32); // B panels 64-byte aligned after A
        const std::int64_t bStart = (aSize + 31) / 32 * 32;
#pragma omp parallel for schedule(static) num_threads(threads) if (perItem)
        for (std::int64_t i = 0; i < batch; ++i) {
            std::int16_t *buffer = scratch[static_cast<std::size_t>(omp_get_thread_num())].get();
            std::int16_t *a16 = buffer;
            std::int16_t *b16 = buffer + bStart;
            int8::widenA(ac + offset(sa, i), m, k, sa.strides[r - 2], sa.strides[r - 1], a16);
            int8::packB(bc + offset(sb, i), k, n, sb.strides[r - 2], sb.strides[r - 1], b16);
            int8::gemm(m_int8, a16, m, b16, k, n, out + i * m * n, n, epilogue, !perItem);
        }
    }

    // In place, oneDNN's element-wise kernel (the FP32 linear's post-op algorithm and constants).
    void applyActivation(Tensor &y, Activation activation)
    {
        if (activation == Activation::None || y.numel() == 0)
            return;
        const memory::desc md({y.numel()}, memory::data_type::f32, memory::format_tag::a);
        const std::string key =
            "eltwise" + std::to_string(static_cast<int>(activation)) + ':' + std::to_string(y.numel());
        dnnl::eltwise_forward *prim = nullptr;
        {
            std::lock_guard lock(m_mutex);
            auto it = m_eltwise.find(key);
            if (it == m_eltwise.end()) {
                if (m_eltwise.size() >= 64) // one per output size: lengths tried one after another
                    m_eltwise.clear();
                const dnnl::eltwise_forward::desc desc(dnnl::prop_kind::forward_inference, eltwiseAlgorithm(activation),
                                                       md, activation == Activation::Silu ? 1.0f : 0.0f, 0.0f);
                it =
                    m_eltwise.emplace(key, dnnl::eltwise_forward(dnnl::eltwise_forward::primitive_desc(desc, m_engine)))
                        .first;
            }
            prim = &it->second;
        }
        memory mem(md, m_engine, y.mutableRawData());
        prim->execute(m_stream, {{DNNL_ARG_SRC, mem}, {DNNL_ARG_DST, mem}});
        m_stream.wait();
    }

    Int8Gemm m_int8;
    RowPasses m_rows = rowPasses();
    dnnl::engine m_engine;
    dnnl::stream m_stream;
    std::mutex m_mutex;
    std::unordered_map<std::string, dnnl::matmul> m_matmuls;
    std::unordered_map<std::string, dnnl::softmax_forward> m_softmax;
    std::unordered_map<std::string, dnnl::eltwise_forward> m_eltwise;
};

} // namespace

std::unique_ptr<Backend> createCpuBackend()
{
    return std::make_unique<CpuBackend>();
}

} // namespace qdq::kernels

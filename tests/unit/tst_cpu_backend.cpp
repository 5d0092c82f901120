// The CPU backend's fused INT8 kernels against the unfused computation written out here: s8
// codes (reference §3.3 steps 3-5), an exact integer accumulation, then the float rescale
// fl(1 / (s_x * s_w)), bias and activation one after the other. The oneDNN kernels apply the
// rescale, bias and activation as post-ops of one primitive (issue #14).
#include "kernels/backend.h"
#include "kernels/cpu/int8_gemm.h"
#include "kernels/cpu/packed_weights.h"

#include "qdq/cpu_isa.h"
#include "qdq/device.h"
#include "qdq/errors.h"

#include "qdq/quant/fake_quant.h"

#include <QTest>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

using namespace qdq;

class TestCpuBackend : public QObject {
    Q_OBJECT
private slots:
    void quantizedLinearMatchesUnfused_data();
    void quantizedLinearMatchesUnfused();
    void quantizedLinearFixedScaleEqualsRuntimeScale();
    void quantizedMatmulMatchesUnfused();
    void linearBiasActivationMatchesUnfused();
    void linearLaterLayoutsComeFromPackedCopy();
    void packedWeightsNewLayoutFromPackedCopy();
    void addLayerNormMatchesOnePass();
    void int8KernelFollowsIsa();
    void int8GemmAccumulatesExactly_data();
    void int8GemmAccumulatesExactly();
    void int8GemmEpilogueRoundsTwice();
    void quantizedLinearSaturatingCodesExact();
    void quantizedMatmulSaturatingCodesExact();
    void createBackendDispatchesOnDevice();
};

namespace {

Tensor randomTensor(const Shape &shape, std::mt19937 &rng, float spread)
{
    std::uniform_real_distribution<float> u(-spread, spread);
    Tensor t = Tensor::empty(DType::F32, shape);
    float *p = t.mutableData<float>();
    for (std::int64_t i = 0; i < t.numel(); ++i)
        p[i] = u(rng);
    return t;
}

// reference §3.3 steps 3-5 with a per-tensor scale: clamp(rne(fl(x * s)), -128, 127)
int code(float x, float scale)
{
    const float v = std::clamp(x * scale, -128.0F, 127.0F);
    return static_cast<int>(std::nearbyint(v));
}

float rescale(float sa, float sb)
{
    return static_cast<float>(1.0 / (static_cast<double>(sa) * static_cast<double>(sb)));
}

// Equal up to one f32 rounding of the last post-op (a fused multiply-add in the kernel).
bool close(float got, float want)
{
    return std::abs(got - want) <= 2e-6F * std::max(1.0F, std::abs(want));
}

} // namespace

void TestCpuBackend::quantizedLinearMatchesUnfused_data()
{
    QTest::addColumn<int>("rows");
    QTest::addColumn<bool>("withBias");
    QTest::addColumn<bool>("relu");
    QTest::addColumn<bool>("fixed");
    for (const bool fixed : {false, true}) {
        const char *kind = fixed ? "stored amax" : "amax per call";
        QTest::addRow("rows 7, bias, %s", kind) << 7 << true << false << fixed;
        QTest::addRow("rows 1, no bias, %s", kind) << 1 << false << false << fixed;
        QTest::addRow("rows 33, bias + relu, %s", kind) << 33 << true << true << fixed;
    }
}

void TestCpuBackend::quantizedLinearMatchesUnfused()
{
    QFETCH(int, rows);
    QFETCH(bool, withBias);
    QFETCH(bool, relu);
    QFETCH(bool, fixed);
    std::mt19937 rng(7);
    const std::int64_t k = 96;
    const std::int64_t n = 40;
    const Tensor w = randomTensor({n, k}, rng, 0.05F);
    std::vector<float> amax(static_cast<std::size_t>(n));
    for (std::int64_t r = 0; r < n; ++r)
        for (std::int64_t j = 0; j < k; ++j)
            amax[static_cast<std::size_t>(r)] =
                std::max(amax[static_cast<std::size_t>(r)], std::abs(w.data<float>()[r * k + j]));
    const QuantizedTensor q = quantizeToInt(w, AmaxView{amax, 0}, QuantRange{});
    const Tensor bias = withBias ? randomTensor({n}, rng, 0.5F) : Tensor();
    const Tensor x = randomTensor({rows, k}, rng, 3.0F);
    const IntegerQuant xq{127.0F / 2.5F, -128.0F, 127.0F, fixed}; // amax 2.5: some inputs clip

    const auto backend = kernels::createCpuBackend();
    const auto packed =
        backend->packQuantizedLinear(q, bias, relu ? kernels::Activation::Relu : kernels::Activation::None);
    const Tensor y = backend->quantizedLinear(x, xq, *packed);
    QCOMPARE(y.shape(), (Shape{rows, n}));

    const std::int8_t *wc = q.codes.data<std::int8_t>();
    for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t c = 0; c < n; ++c) {
            std::int64_t acc = 0;
            for (std::int64_t j = 0; j < k; ++j)
                acc += static_cast<std::int64_t>(code(x.data<float>()[r * k + j], xq.scale)) * wc[c * k + j];
            float want = static_cast<float>(acc) * rescale(xq.scale, q.scale[static_cast<std::size_t>(c)]);
            if (withBias)
                want += bias.data<float>()[c];
            if (relu)
                want = std::max(want, 0.0F);
            const float got = y.data<float>()[r * n + c];
            QVERIFY2(close(got, want), qPrintable(QString("row %1 col %2: %3 vs %4").arg(r).arg(c).arg(got).arg(want)));
        }
}

// The rescale built into the kernel for a stored amax (output scales) and the one given per call
// (a binary multiply) round alike: the same bits, for scale after scale (past the backend's plan
// cache, which drops the built-in ones beyond 16).
void TestCpuBackend::quantizedLinearFixedScaleEqualsRuntimeScale()
{
    std::mt19937 rng(5);
    const std::int64_t k = 64;
    const std::int64_t n = 48;
    const std::int64_t rows = 9;
    const Tensor w = randomTensor({n, k}, rng, 0.05F);
    const std::vector<float> amax{0.05F};
    const QuantizedTensor q = quantizeToInt(w, AmaxView{amax, 0}, QuantRange{});
    const Tensor bias = randomTensor({n}, rng, 0.5F);
    const Tensor x = randomTensor({rows, k}, rng, 3.0F);
    const auto backend = kernels::createCpuBackend();
    const auto packed = backend->packQuantizedLinear(q, bias, kernels::Activation::GeluErf);
    for (int step = 0; step < 20; ++step) {
        const float scale = 127.0F / (1.0F + 0.125F * static_cast<float>(step));
        const Tensor runtime = backend->quantizedLinear(x, IntegerQuant{scale, -128.0F, 127.0F, false}, *packed);
        const Tensor fixedScale = backend->quantizedLinear(x, IntegerQuant{scale, -128.0F, 127.0F, true}, *packed);
        QVERIFY(std::memcmp(runtime.data<float>(), fixedScale.data<float>(),
                            static_cast<std::size_t>(rows * n) * sizeof(float)) == 0);
        if (step == 0) { // and not a constant: a later scale gives other values
            const Tensor other =
                backend->quantizedLinear(x, IntegerQuant{scale * 0.5F, -128.0F, 127.0F, true}, *packed);
            QVERIFY(std::memcmp(other.data<float>(), fixedScale.data<float>(),
                                static_cast<std::size_t>(rows * n) * sizeof(float)) != 0);
        }
    }
}

void TestCpuBackend::quantizedMatmulMatchesUnfused()
{
    // scores = Q · Kᵀ with K given as the transpose view of a contiguous [B,h,S,d] (the layout of
    // the attention's matmul_k site), rescaled by one scalar
    std::mt19937 rng(11);
    const std::int64_t b = 2, h = 3, l = 5, s = 6, d = 16;
    const Tensor qh = randomTensor({b, h, l, d}, rng, 2.0F);
    const Tensor kh = randomTensor({b, h, s, d}, rng, 2.0F);
    const IntegerQuant qa{127.0F / 1.5F, -128.0F, 127.0F};
    const IntegerQuant qb{127.0F / 2.0F, -128.0F, 127.0F};
    const auto backend = kernels::createCpuBackend();
    const Tensor c = backend->quantizedMatmul(qh, qa, kh.transpose(2, 3), qb);
    QCOMPARE(c.shape(), (Shape{b, h, l, s}));
    const float r = rescale(qa.scale, qb.scale);
    for (std::int64_t bh = 0; bh < b * h; ++bh)
        for (std::int64_t i = 0; i < l; ++i)
            for (std::int64_t j = 0; j < s; ++j) {
                std::int64_t acc = 0;
                for (std::int64_t t = 0; t < d; ++t)
                    acc += static_cast<std::int64_t>(code(qh.data<float>()[(bh * l + i) * d + t], qa.scale)) *
                           code(kh.data<float>()[(bh * s + j) * d + t], qb.scale);
                // a single rounding: exactly the unfused product
                QCOMPARE(c.data<float>()[(bh * l + i) * s + j], static_cast<float>(acc) * r);
            }
}

void TestCpuBackend::linearBiasActivationMatchesUnfused()
{
    // f32 linear with bias and tanh fused as post-ops vs the unfused linear + bias + tanh
    std::mt19937 rng(3);
    const Tensor w = randomTensor({24, 32}, rng, 0.2F);
    const Tensor bias = randomTensor({24}, rng, 0.5F);
    const Tensor x = randomTensor({9, 32}, rng, 1.0F);
    const auto backend = kernels::createCpuBackend();
    const auto fused = backend->packLinear(w, bias, kernels::Activation::Tanh);
    const auto plain = backend->packLinear(w, Tensor(), kernels::Activation::None);
    const Tensor y = backend->linear(x, *fused);
    const Tensor z = backend->linear(x, *plain);
    for (std::int64_t r = 0; r < 9; ++r)
        for (std::int64_t c = 0; c < 24; ++c) {
            const float want = std::tanh(z.data<float>()[r * 24 + c] + bias.data<float>()[c]);
            QVERIFY(std::abs(y.data<float>()[r * 24 + c] - want) <= 1e-5F);
        }
}

// The backend lets the f32 weights go once packed (a fake-quantized copy is freed): a batch size
// whose primitive wants another layout gets it from the packed copy. Overwriting the caller's
// tensor after the first call shows that nothing reads the plain weights again; every batch size
// still gives the values of a fresh backend.
void TestCpuBackend::linearLaterLayoutsComeFromPackedCopy()
{
    std::mt19937 rng(9);
    const Tensor original = randomTensor({96, 128}, rng, 0.2F);
    Tensor w = Tensor::empty(DType::F32, original.shape()); // a copy of its own, overwritten below
    std::memcpy(w.mutableData<float>(), original.data<float>(), static_cast<std::size_t>(w.numel()) * sizeof(float));
    const Tensor bias = randomTensor({96}, rng, 0.5F);
    const auto backend = kernels::createCpuBackend();
    const auto packed = backend->packLinear(w, bias, kernels::Activation::GeluErf);
    const std::vector<std::int64_t> rows{3, 1, 64, 517};
    std::vector<Tensor> inputs;
    std::vector<Tensor> got;
    for (const std::int64_t r : rows) {
        inputs.push_back(randomTensor({r, 128}, rng, 1.0F));
        got.push_back(backend->linear(inputs.back(), *packed));
        if (got.size() == 1) // the plain weights are no longer read
            std::fill_n(w.mutableData<float>(), w.numel(), 1e6F);
    }
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto fresh = kernels::createCpuBackend();
        const Tensor want = fresh->linear(inputs[i], *fresh->packLinear(original, bias, kernels::Activation::GeluErf));
        QVERIFY2(std::memcmp(want.data<float>(), got[i].data<float>(), static_cast<std::size_t>(want.numel()) * 4) == 0,
                 qPrintable(QString("rows %1").arg(rows[i])));
    }
}

// A layout asked for after the plain weights are gone is reordered from the first packed copy:
// the same values (here a blocked layout first, then the plain transpose, read back).
void TestCpuBackend::packedWeightsNewLayoutFromPackedCopy()
{
    using dnnl::memory;
    std::mt19937 rng(13);
    const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    dnnl::stream stream(engine);
    // 15 KiB, and 2.25 MiB (a 2 MiB-aligned buffer with huge-page advice)
    for (const auto &[n, k] : {std::pair<std::int64_t, std::int64_t>{40, 96}, {768, 768}}) {
        const Tensor w = randomTensor({n, k}, rng, 1.0F);
        const memory::desc plain({n, k}, memory::data_type::f32, memory::format_tag::ab);
        const memory::desc blocked({n, k}, memory::data_type::f32, memory::format_tag::AB16b64a);
        const memory::desc transposed({n, k}, memory::data_type::f32, memory::format_tag::ba);
        kernels::PackedWeights packed;
        QVERIFY_THROWS_EXCEPTION(UnsupportedError, (void)packed.get(blocked, plain, nullptr, engine, stream));
        const memory first = packed.get(blocked, plain, const_cast<float *>(w.data<float>()), engine, stream);
        const memory again = packed.get(blocked, plain, nullptr, engine, stream);
        QCOMPARE(again.get_data_handle(), first.get_data_handle());
        if (n * k * 4 >= (std::int64_t{2} << 20))
            QCOMPARE(reinterpret_cast<std::uintptr_t>(first.get_data_handle()) % (std::uintptr_t{2} << 20),
                     std::uintptr_t{0});
        const memory t = packed.get(transposed, plain, nullptr, engine, stream);
        const auto *tv = static_cast<const float *>(t.get_data_handle());
        for (std::int64_t r = 0; r < n; ++r)
            for (std::int64_t c = 0; c < k; ++c)
                if (tv[c * n + r] != w.data<float>()[r * k + c])
                    QFAIL(qPrintable(QString("%1x%2: [%3,%4]").arg(n).arg(k).arg(r).arg(c)));
    }
}

// The fused residual add + LayerNorm (reference §5.4: float sum, biased variance, eps inside the
// square root) against the same arithmetic written out with one double accumulator per sum, the
// order of the earlier kernel: the vectorised partial sums give the same bits on these rows
// (widths around the 16-lane blocks, BERT's, one with a 200x outlier like BERT's FFN outputs).
void TestCpuBackend::addLayerNormMatchesOnePass()
{
    std::mt19937 rng(11);
    const auto backend = kernels::createCpuBackend();
    for (const std::int64_t width : {1, 15, 16, 17, 33, 384, 768, 1000}) {
        const std::int64_t rows = 37;
        Tensor a = randomTensor({rows, width}, rng, 3.0F);
        const Tensor b = randomTensor({rows, width}, rng, 1.0F);
        const Tensor gamma = randomTensor({width}, rng, 1.5F);
        const Tensor beta = randomTensor({width}, rng, 0.5F);
        a.mutableData<float>()[width / 2] = 200.0F;
        const float eps = 1e-12F;
        const Tensor y = backend->addLayerNorm(a, b, gamma, beta, eps);
        for (std::int64_t r = 0; r < rows; ++r) {
            std::vector<float> row(static_cast<std::size_t>(width));
            double sum = 0.0;
            for (std::int64_t j = 0; j < width; ++j) {
                row[static_cast<std::size_t>(j)] = a.data<float>()[r * width + j] + b.data<float>()[r * width + j];
                sum += row[static_cast<std::size_t>(j)];
            }
            const double mean = sum / static_cast<double>(width);
            double sq = 0.0;
            for (const float v : row)
                sq += (v - mean) * (v - mean);
            const auto rstd = static_cast<float>(1.0 / std::sqrt(sq / static_cast<double>(width) + eps));
            const auto meanF = static_cast<float>(mean);
            for (std::int64_t j = 0; j < width; ++j) {
                const float want =
                    (row[static_cast<std::size_t>(j)] - meanF) * rstd * gamma.data<float>()[j] + beta.data<float>()[j];
                const float got = y.data<float>()[r * width + j];
                QVERIFY2(got == want, qPrintable(QStringLiteral("width %1 row %2 col %3: %4 vs %5")
                                                     .arg(width)
                                                     .arg(r)
                                                     .arg(j)
                                                     .arg(double(got), 0, 'g', 9)
                                                     .arg(double(want), 0, 'g', 9)));
            }
        }
    }
}

// The INT8 GEMM that the backend runs, from the CPU's features and QDQ_MAX_ISA (the CTest entries
// run this suite once per cap: tests/CMakeLists.txt), read here with the compiler's own checks.
void TestCpuBackend::int8KernelFollowsIsa()
{
    const char *capEnv = std::getenv("QDQ_MAX_ISA");
    const std::string cap = capEnv != nullptr ? capEnv : "";
    const int capLevel = cap == "sse41" ? 0 : cap == "avx2" ? 1 : cap == "avx512_core" ? 2 : 3;
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const bool vnni = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
                      __builtin_cpu_supports("avx512vnni");
    Int8Gemm expected = Int8Gemm::Portable;
    if (vnni && capLevel >= 3)
        expected = Int8Gemm::OneDnn;
    else if (avx2 && capLevel >= 1)
        expected = Int8Gemm::Avx2;
    qInfo("QDQ_MAX_ISA '%s': %s", cap.c_str(), cpuIsaSummary().c_str());
    QCOMPARE(int8Gemm(), expected);
}

namespace {

// Codes in [-128, 127] with the extremes over-represented (a third each of -128 and 127): the
// pairs that make vpmaddubsw's s16 sums saturate ((-128)(-128) + (-128)(-128) = 32768).
std::vector<std::int8_t> extremeCodes(std::size_t count, std::mt19937 &rng)
{
    std::uniform_int_distribution<int> pick(0, 2);
    std::uniform_int_distribution<int> any(-128, 127);
    std::vector<std::int8_t> out(count);
    for (auto &v : out) {
        const int p = pick(rng);
        v = static_cast<std::int8_t>(p == 0 ? -128 : p == 1 ? 127 : any(rng));
    }
    return out;
}

std::int64_t dot(const std::int8_t *a, std::int64_t strideA, const std::int8_t *b, std::int64_t strideB, std::int64_t k)
{
    std::int64_t acc = 0;
    for (std::int64_t j = 0; j < k; ++j)
        acc += static_cast<std::int64_t>(a[j * strideA]) * b[j * strideB];
    return acc;
}

} // namespace

void TestCpuBackend::int8GemmAccumulatesExactly_data()
{
    QTest::addColumn<int>("kernel");
    QTest::addColumn<int>("m");
    QTest::addColumn<int>("k");
    QTest::addColumn<int>("n");
    QTest::addColumn<bool>("allMin");
    std::vector<std::pair<Int8Gemm, const char *>> kernels{{Int8Gemm::Portable, "portable"}};
    if (__builtin_cpu_supports("avx2"))
        kernels.emplace_back(Int8Gemm::Avx2, "avx2");
    for (const auto &[kernel, name] : kernels) {
        const int kv = static_cast<int>(kernel);
        QTest::addRow("%s 1x1x1", name) << kv << 1 << 1 << 1 << false;
        QTest::addRow("%s 7x33x17 (odd depth, partial panel)", name) << kv << 7 << 33 << 17 << false;
        QTest::addRow("%s 200x96x50 (two row blocks)", name) << kv << 200 << 96 << 50 << false;
        QTest::addRow("%s 13x1023x40 (two depth slices)", name) << kv << 13 << 1023 << 40 << false;
        // every product (-128)(-128): the sum 1023 * 2^14 < 2^24, so fl(acc) is acc
        QTest::addRow("%s 6x1023x16 all -128", name) << kv << 6 << 1023 << 16 << true;
    }
}

// acc = Σ a·b against an int64 sum, with scale 1: fl(acc) == acc for |acc| < 2^24, so the
// comparison is of the s32 accumulators themselves.
void TestCpuBackend::int8GemmAccumulatesExactly()
{
    QFETCH(int, kernel);
    QFETCH(int, m);
    QFETCH(int, k);
    QFETCH(int, n);
    QFETCH(bool, allMin);
    std::mt19937 rng(static_cast<unsigned>(m * 1000 + k));
    std::vector<std::int8_t> a = extremeCodes(static_cast<std::size_t>(m * k), rng);
    std::vector<std::int8_t> b = extremeCodes(static_cast<std::size_t>(n * k), rng); // [N,K], as weights
    if (allMin) {
        std::fill(a.begin(), a.end(), std::int8_t{-128});
        std::fill(b.begin(), b.end(), std::int8_t{-128});
    }
    const auto a16 = kernels::int8::allocate(m * kernels::int8::rowLength(k));
    kernels::int8::widenA(a.data(), m, k, k, 1, a16.get());
    const auto b16 = kernels::int8::allocate(kernels::int8::packedSize(k, n));
    kernels::int8::packB(b.data(), k, n, 1, k, b16.get());
    const float one = 1.0F;
    std::vector<float> c(static_cast<std::size_t>(m * n), -1.0F);
    kernels::int8::gemm(static_cast<Int8Gemm>(kernel), a16.get(), m, b16.get(), k, n, c.data(), n,
                        kernels::int8::Epilogue{&one, 0, nullptr}, true);
    for (int r = 0; r < m; ++r)
        for (int col = 0; col < n; ++col) {
            const std::int64_t want = dot(a.data() + r * k, 1, b.data() + col * k, 1, k);
            QVERIFY(std::abs(want) < (std::int64_t{1} << 24));
            const float got = c[static_cast<std::size_t>(r * n + col)];
            QVERIFY2(got == static_cast<float>(want),
                     qPrintable(QString("row %1 col %2: %3 vs %4").arg(r).arg(col).arg(got).arg(want)));
        }
    if (allMin)
        QCOMPARE(c[0], 1023.0F * 16384.0F);
}

// c = fl(fl(acc) * s[n]) + b[n]: two roundings, in that order (not a fused multiply-add).
void TestCpuBackend::int8GemmEpilogueRoundsTwice()
{
    const std::int64_t m = 3;
    const std::int64_t k = 5;
    const std::int64_t n = 20;
    std::mt19937 rng(3);
    const std::vector<std::int8_t> a = extremeCodes(static_cast<std::size_t>(m * k), rng);
    const std::vector<std::int8_t> b = extremeCodes(static_cast<std::size_t>(n * k), rng);
    std::vector<float> scale(static_cast<std::size_t>(n));
    std::vector<float> bias(static_cast<std::size_t>(n));
    std::uniform_real_distribution<float> u(-1.0F, 1.0F);
    for (std::size_t i = 0; i < scale.size(); ++i) {
        scale[i] = 1e-4F * (1.0F + u(rng));
        bias[i] = u(rng);
    }
    const auto a16 = kernels::int8::allocate(m * kernels::int8::rowLength(k));
    kernels::int8::widenA(a.data(), m, k, k, 1, a16.get());
    const auto b16 = kernels::int8::allocate(kernels::int8::packedSize(k, n));
    kernels::int8::packB(b.data(), k, n, 1, k, b16.get());
    std::vector<float> c(static_cast<std::size_t>(m * n));
    kernels::int8::gemm(cpuIsa() >= CpuIsa::Avx2 ? Int8Gemm::Avx2 : Int8Gemm::Portable, a16.get(), m, b16.get(), k, n,
                        c.data(), n, kernels::int8::Epilogue{scale.data(), 1, bias.data()}, false);
    for (std::int64_t r = 0; r < m; ++r)
        for (std::int64_t col = 0; col < n; ++col) {
            const auto acc = static_cast<float>(dot(a.data() + r * k, 1, b.data() + col * k, 1, k));
            volatile float product = acc * scale[static_cast<std::size_t>(col)]; // rounded here
            const float want = product + bias[static_cast<std::size_t>(col)];
            QCOMPARE(c[static_cast<std::size_t>(r * n + col)], want);
        }
}

// Through the backend, whichever kernel it chose (oneDNN on VNNI, ours below): x given as its own
// codes (scale 1), weights as s8 codes with scale 1, so y = fl(acc) and must equal the exact sum.
// Hand-worked rows first: (-128)(-128) x 2 = 32768 and 127 (-128) x 2 = -32512 overflow or
// saturate a pairwise s16 sum; then random extreme codes.
void TestCpuBackend::quantizedLinearSaturatingCodesExact()
{
    const std::int64_t k = 64;
    const std::int64_t n = 24;
    const std::int64_t rows = 5;
    std::mt19937 rng(17);
    std::vector<std::int8_t> w = extremeCodes(static_cast<std::size_t>(n * k), rng);
    std::fill(w.begin(), w.begin() + k, std::int8_t{-128}); // output column 0: all -128
    std::vector<std::int8_t> xc = extremeCodes(static_cast<std::size_t>(rows * k), rng);
    std::fill(xc.begin(), xc.begin() + k, std::int8_t{-128});        // row 0: all -128
    std::fill(xc.begin() + k, xc.begin() + 2 * k, std::int8_t{127}); // row 1: all 127
    QuantizedTensor q;
    q.codes = Tensor::empty(DType::I8, {n, k});
    std::memcpy(q.codes.mutableData<std::int8_t>(), w.data(), w.size());
    q.scale = {1.0F};
    Tensor x = Tensor::empty(DType::F32, {rows, k});
    for (std::size_t i = 0; i < xc.size(); ++i)
        x.mutableData<float>()[i] = xc[i];
    const auto backend = kernels::createCpuBackend();
    const auto packed = backend->packQuantizedLinear(q, Tensor(), kernels::Activation::None);
    for (const bool fixed : {false, true}) {
        const Tensor y = backend->quantizedLinear(x, IntegerQuant{1.0F, -128.0F, 127.0F, fixed}, *packed);
        QCOMPARE(y.data<float>()[0], 64.0F * 16384.0F);  // row 0 . column 0
        QCOMPARE(y.data<float>()[n], 64.0F * -16256.0F); // row 1 . column 0
        for (std::int64_t r = 0; r < rows; ++r)
            for (std::int64_t c = 0; c < n; ++c) {
                const std::int64_t want = dot(xc.data() + r * k, 1, w.data() + c * k, 1, k);
                QVERIFY2(y.data<float>()[r * n + c] == static_cast<float>(want),
                         qPrintable(QString("row %1 col %2: %3 vs %4 (%5)")
                                        .arg(r)
                                        .arg(c)
                                        .arg(y.data<float>()[r * n + c])
                                        .arg(want)
                                        .arg(QString::fromStdString(cpuIsaSummary()))));
            }
    }
}

// The attention's batched products with the same codes, K given as a transposed view.
void TestCpuBackend::quantizedMatmulSaturatingCodesExact()
{
    const std::int64_t b = 2, h = 2, l = 7, s = 9, d = 64;
    std::mt19937 rng(23);
    const std::vector<std::int8_t> qc = extremeCodes(static_cast<std::size_t>(b * h * l * d), rng);
    const std::vector<std::int8_t> kc = extremeCodes(static_cast<std::size_t>(b * h * s * d), rng);
    Tensor qt = Tensor::empty(DType::F32, {b, h, l, d});
    Tensor kt = Tensor::empty(DType::F32, {b, h, s, d});
    for (std::size_t i = 0; i < qc.size(); ++i)
        qt.mutableData<float>()[i] = qc[i];
    for (std::size_t i = 0; i < kc.size(); ++i)
        kt.mutableData<float>()[i] = kc[i];
    const IntegerQuant unit{1.0F, -128.0F, 127.0F};
    const auto backend = kernels::createCpuBackend();
    const Tensor c = backend->quantizedMatmul(qt, unit, kt.transpose(2, 3), unit);
    for (std::int64_t bh = 0; bh < b * h; ++bh)
        for (std::int64_t i = 0; i < l; ++i)
            for (std::int64_t j = 0; j < s; ++j) {
                const std::int64_t want = dot(qc.data() + (bh * l + i) * d, 1, kc.data() + (bh * s + j) * d, 1, d);
                QCOMPARE(c.data<float>()[(bh * l + i) * s + j], static_cast<float>(want));
            }
}

// One dispatch point from a device to its backend: the CPU is the CPU backend; a CUDA device
// this build or machine cannot compute on is an UnsupportedError, never a crash.
void TestCpuBackend::createBackendDispatchesOnDevice()
{
    QCOMPARE(kernels::createBackend(Device{})->name(), kernels::createCpuBackend()->name());
    const Device cuda{DeviceType::CUDA, 0};
    if (!cudaStatus().available)
        QVERIFY_THROWS_EXCEPTION(UnsupportedError, (void)kernels::createBackend(cuda));
}

QTEST_GUILESS_MAIN(TestCpuBackend)
#include "tst_cpu_backend.moc"

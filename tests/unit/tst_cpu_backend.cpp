// The CPU backend's fused INT8 kernels against the unfused computation written out here: s8
// codes (reference §3.3 steps 3-5), an exact integer accumulation, then the float rescale
// fl(1 / (s_x * s_w)), bias and activation one after the other. The oneDNN kernels apply the
// rescale, bias and activation as post-ops of one primitive (issue #14).
#include "kernels/backend.h"
#include "kernels/cpu/packed_weights.h"

#include "qdq/quant/fake_quant.h"

#include <QTest>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
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

QTEST_GUILESS_MAIN(TestCpuBackend)
#include "tst_cpu_backend.moc"

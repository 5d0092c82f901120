// The CUDA backend's host-side planning (engine/src/kernels/cuda_plan.h), which every build compiles:
// launch shapes, the INT8 epilogue's rescale (hand-worked and bit for bit against the CPU backend's
// own), the cuBLASLt layouts (hand-worked, and executed by a host column-major GEMM against the
// row-major product), the INT8 padding rules, the fake-quant scales and steps (bit for bit against
// qdq::fakeQuant for every version profile, and the s8 codes against quant_simd.h's loop), and the
// histogram bin rule (the same counts as the calibrator's three collection paths, growth included).
#include "support/test_support.h"

#include "kernels/backend.h"
#include "kernels/cpu/quant_simd.h"
#include "kernels/cuda_plan.h"

#include "qdq/errors.h"
#include "qdq/quant/calibrator.h"
#include "qdq/quant/fake_quant.h"
#include "qdq/quant/quant_descriptor.h"

#include <QTest>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

using namespace qdq;
namespace plan = qdq::kernels::plan;

class TestCudaPlan : public QObject {
    Q_OBJECT
private slots:
    void launchShapes();
    void rescaleHandWorked();
    void epilogueScalesMatchCpuBackend();
    void gemmLayoutsHandWorked();
    void gemmLayoutsComputeTheProduct();
    void int8Padding();
    void fakeQuantMatchesQdq_data();
    void fakeQuantMatchesQdq();
    void fakeQuantScaleErrors();
    void s8LevelsMatchCpuCodes();
    void histogramBinsMatchCalibrator_data();
    void histogramBinsMatchCalibrator();
};

namespace {

std::vector<float> randomValues(std::size_t n, float spread, unsigned seed)
{
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0F, spread);
    std::vector<float> v(n);
    for (float &x : v)
        x = dist(rng);
    return v;
}

// C[M,N] = A[M,K] · B (B [N,K] when bIsNK, else [K,N]) through the column-major description of
// `g`, element by element as cuBLAS defines it: C(i,j) = Σ_l op(A)(i,l) · op(B)(l,j).
std::vector<double> columnMajorProduct(const plan::GemmLayout &g, const std::vector<double> &ourA,
                                       const std::vector<double> &ourB, std::int64_t item)
{
    std::vector<double> c(static_cast<std::size_t>(g.c.ld * g.c.cols), 0.0);
    const auto opA = [&](std::int64_t i, std::int64_t l) { // cuBLAS A = our B
        const std::int64_t base = item * g.a.batchStride;
        return g.transA ? ourB[static_cast<std::size_t>(base + i * g.a.ld + l)]
                        : ourB[static_cast<std::size_t>(base + l * g.a.ld + i)];
    };
    const auto opB = [&](std::int64_t l, std::int64_t j) { // cuBLAS B = our A, not transposed
        return ourA[static_cast<std::size_t>(item * g.b.batchStride + j * g.b.ld + l)];
    };
    for (std::int64_t i = 0; i < g.m; ++i)
        for (std::int64_t j = 0; j < g.n; ++j) {
            double s = 0.0;
            for (std::int64_t l = 0; l < g.k; ++l)
                s += opA(i, l) * opB(l, j);
            c[static_cast<std::size_t>(j * g.c.ld + i)] = s;
        }
    return c;
}

} // namespace

void TestCudaPlan::launchShapes()
{
    QCOMPARE(plan::elementwiseLaunch(0).grid, 0U);
    QCOMPARE(plan::elementwiseLaunch(1).grid, 1U);
    QCOMPARE(plan::elementwiseLaunch(1).block, 256U);
    QCOMPARE(plan::elementwiseLaunch(256).grid, 1U);
    QCOMPARE(plan::elementwiseLaunch(257).grid, 2U);
    // BERT-base b32/s384 FFN activations: 32 * 384 * 3072 values, capped (grid-stride beyond)
    QCOMPARE(plan::elementwiseLaunch(std::int64_t{32} * 384 * 3072).grid, 65536U);
    QCOMPARE(plan::elementwiseLaunch(std::int64_t{1} << 40).grid, 65536U);

    QCOMPARE(plan::rowLaunch(0, 10).grid, 0U);
    QCOMPARE(plan::rowLaunch(7, 1).block, 32U);
    QCOMPARE(plan::rowLaunch(7, 32).block, 32U);
    QCOMPARE(plan::rowLaunch(7, 33).block, 64U);
    QCOMPARE(plan::rowLaunch(7, 128).block, 128U); // softmax over 128 keys
    QCOMPARE(plan::rowLaunch(7, 768).block, 256U); // LayerNorm over hidden 768
    QCOMPARE(plan::rowLaunch(7, 768).grid, 7U);
    QCOMPARE(plan::rowLaunch(std::int64_t{1} << 22, 384).grid, 1U << 20U);
}

void TestCudaPlan::rescaleHandWorked()
{
    QCOMPARE(plan::rescale(2.0F, 4.0F), 0.125F);
    QCOMPARE(plan::rescale(1.0F, 1.0F), 1.0F);
    // 1 / (127/3 * 127/5) = 15 / 16129, computed in double and rounded once
    const float sa = 127.0F / 3.0F;
    const float sb = 127.0F / 5.0F;
    QCOMPARE(plan::rescale(sa, sb), static_cast<float>(1.0 / (static_cast<double>(sa) * static_cast<double>(sb))));
    const std::vector<float> broadcast = plan::epilogueScales(2.0F, {4.0F}, 3);
    QCOMPARE(broadcast, (std::vector<float>{0.125F, 0.125F, 0.125F}));
    const std::vector<float> perChannel = plan::epilogueScales(2.0F, {1.0F, 0.5F, 8.0F}, 3);
    QCOMPARE(perChannel, (std::vector<float>{0.5F, 1.0F, 0.0625F}));
    QVERIFY_THROWS_EXCEPTION(ShapeError, (void)plan::epilogueScales(1.0F, {1.0F, 2.0F}, 3));
}

// With K = 1 and every weight code 1, the CPU backend's INT8 linear gives acc = 1 per channel, so
// its output is exactly its own rescale fl(1 / (s_x * s_w[n])): the plan must give the same bits.
void TestCudaPlan::epilogueScalesMatchCpuBackend()
{
    auto cpu = kernels::createCpuBackend();
    const std::int64_t n = 37;
    std::vector<float> sw(static_cast<std::size_t>(n));
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> amax(0.01F, 30.0F);
    for (float &s : sw)
        s = 127.0F / amax(rng);
    for (const bool perTensor : {false, true}) {
        QuantizedTensor w;
        w.codes = Tensor::empty(DType::I8, {n, 1});
        for (std::int64_t i = 0; i < n; ++i)
            w.codes.mutableData<std::int8_t>()[i] = 1;
        w.scale = perTensor ? std::vector<float>{sw.front()} : sw;
        const auto packed = cpu->packQuantizedLinear(w, Tensor(), kernels::Activation::None);
        for (const float sx : {127.0F / 3.7F, 127.0F / 0.013F, 1.0F}) {
            IntegerQuant q;
            q.scale = sx;
            const Tensor x = Tensor::fromValues<float>({1, 1}, {1.0F / sx}); // code rne(fl(1/sx * sx)) = 1
            const Tensor y = cpu->quantizedLinear(x, q, *packed);
            const std::vector<float> expected = plan::epilogueScales(q.dequantDivisor(), w.scale, n);
            for (std::int64_t i = 0; i < n; ++i)
                QCOMPARE(std::bit_cast<std::uint32_t>(y.data<float>()[i]),
                         std::bit_cast<std::uint32_t>(expected[static_cast<std::size_t>(i)]));
        }
    }
}

void TestCudaPlan::gemmLayoutsHandWorked()
{
    // linear: y[2,3] = x[2,4] · W[3,4]ᵀ
    const plan::GemmLayout l = plan::rowMajorGemm(2, 3, 4, true);
    QCOMPARE(l.m, 3);
    QCOMPARE(l.n, 2);
    QCOMPARE(l.k, 4);
    QVERIFY(l.transA);
    QVERIFY(!l.transB);
    QCOMPARE(l.a.rows, 4);
    QCOMPARE(l.a.cols, 3);
    QCOMPARE(l.a.ld, 4);
    QCOMPARE(l.b.rows, 4);
    QCOMPARE(l.b.cols, 2);
    QCOMPARE(l.b.ld, 4);
    QCOMPARE(l.c.rows, 3);
    QCOMPARE(l.c.cols, 2);
    QCOMPARE(l.c.ld, 3);
    QCOMPARE(l.a.batchStride, 0);
    // probs · V: c[5][2,3] = a[5][2,4] · b[5][4,3]
    const plan::GemmLayout m = plan::rowMajorGemm(2, 3, 4, false, 5);
    QVERIFY(!m.transA);
    QCOMPARE(m.a.rows, 3);
    QCOMPARE(m.a.cols, 4);
    QCOMPARE(m.a.ld, 3);
    QCOMPARE(m.batch, 5);
    QCOMPARE(m.a.batchStride, 12);
    QCOMPARE(m.b.batchStride, 8);
    QCOMPARE(m.c.batchStride, 6);
    QVERIFY_THROWS_EXCEPTION(ShapeError, (void)plan::rowMajorGemm(-1, 3, 4, true));
}

void TestCudaPlan::gemmLayoutsComputeTheProduct()
{
    std::mt19937 rng(3);
    std::uniform_int_distribution<int> value(-9, 9);
    for (const bool bIsNK : {true, false})
        for (const std::int64_t batch : {std::int64_t{1}, std::int64_t{3}}) {
            const std::int64_t m = 5;
            const std::int64_t n = 7;
            const std::int64_t k = 6;
            std::vector<double> a(static_cast<std::size_t>(batch * m * k));
            std::vector<double> b(static_cast<std::size_t>(batch * n * k));
            for (double &v : a)
                v = value(rng);
            for (double &v : b)
                v = value(rng);
            const plan::GemmLayout g = plan::rowMajorGemm(m, n, k, bIsNK, batch);
            for (std::int64_t item = 0; item < batch; ++item) {
                const std::vector<double> c = columnMajorProduct(g, a, b, item);
                for (std::int64_t i = 0; i < m; ++i)
                    for (std::int64_t j = 0; j < n; ++j) {
                        double expected = 0.0;
                        for (std::int64_t l = 0; l < k; ++l) {
                            const double bv = bIsNK ? b[static_cast<std::size_t>(item * n * k + j * k + l)]
                                                    : b[static_cast<std::size_t>(item * k * n + l * n + j)];
                            expected += a[static_cast<std::size_t>(item * m * k + i * k + l)] * bv;
                        }
                        // row-major C[i, j] is column-major Cᵀ at (j, i): offset i * ldc + j
                        QCOMPARE(c[static_cast<std::size_t>(i * g.c.ld + j)], expected);
                    }
            }
        }
}

void TestCudaPlan::int8Padding()
{
    QCOMPARE(plan::int8Padding(768, 3072).depth, 768);
    QCOMPARE(plan::int8Padding(768, 3072).channels, 3072);
    QCOMPARE(plan::int8Padding(1, 1).depth, 16);
    QCOMPARE(plan::int8Padding(1, 1).channels, 4);
    QCOMPARE(plan::int8Padding(17, 5).depth, 32);
    QCOMPARE(plan::int8Padding(17, 5).channels, 8);
    QCOMPARE(plan::int8Padding(0, 0).depth, 16);
    // attention Q·Kᵀ at head size 64, seq 127: [127, 64] x [127, 64]ᵀ
    const plan::GemmLayout g = plan::int8Gemm(127, 127, 64, 12);
    QVERIFY(g.transA); // "TN"
    QVERIFY(!g.transB);
    QCOMPARE(g.m, 128);
    QCOMPARE(g.n, 127);
    QCOMPARE(g.k, 64);
    QCOMPARE(g.a.batchStride, 128 * 64);
    QCOMPARE(g.b.batchStride, 127 * 64);
    QCOMPARE(g.c.batchStride, 127 * 128);
    for (const auto &[m, n, k] : {std::tuple{1, 1, 1}, std::tuple{3, 5, 17}, std::tuple{128, 768, 3072},
                                  std::tuple{384, 30522, 768}, std::tuple{9, 2, 250}}) {
        const plan::GemmLayout l = plan::int8Gemm(m, n, k, 2);
        // cuBLASLt's IMMA rules for the regular order: leading dimensions and m, k multiples of 4,
        // 16-byte aligned rows and batch items
        QCOMPARE(l.a.ld % 4, 0);
        QCOMPARE(l.b.ld % 4, 0);
        QCOMPARE(l.c.ld % 4, 0);
        QCOMPARE(l.m % 4, 0);
        QCOMPARE(l.k % 16, 0);
        QCOMPARE(l.a.batchStride % 16, 0);
        QCOMPARE(l.b.batchStride % 16, 0);
        QCOMPARE(l.c.batchStride * 4 % 16, 0);
        QVERIFY(l.m >= n);
        QVERIFY(l.k >= k);
    }
    QVERIFY_THROWS_EXCEPTION(UnsupportedError, (void)plan::int8Gemm(1, 1, (std::int64_t{1} << 17) + 1));
}

void TestCudaPlan::fakeQuantMatchesQdq_data()
{
    qdq::test::addFakeQuantRows();
}

// The plan's scales and roundClamp (the code the CUDA kernel runs) give qdq::fakeQuant's bits.
void TestCudaPlan::fakeQuantMatchesQdq()
{
    QFETCH(int, profile);
    QFETCH(bool, perChannel);
    QFETCH(bool, isUnsigned);
    QFETCH(bool, narrow);
    QuantDescriptor desc;
    desc.isUnsigned = isUnsigned;
    desc.narrowRange = narrow;
    const QuantRange range = quantRange(desc, static_cast<VersionProfile>(profile));
    const std::int64_t channels = 6;
    const std::int64_t inner = 301;
    std::vector<float> x = randomValues(static_cast<std::size_t>(channels * inner), 2.0F, 11);
    // ties of the code grid, signed zeros, infinities (NaN is left out: the unsigned check)
    x[0] = 0.0F;
    x[1] = -0.0F;
    x[2] = std::numeric_limits<float>::infinity();
    x[3] = -std::numeric_limits<float>::infinity();
    if (isUnsigned)
        for (float &v : x)
            v = std::fabs(v);
    std::vector<float> amax = perChannel ? std::vector<float>{1.7F, 0.0F, 3e-8F, 5.9604644775390625e-08F, 9.0F, 0.02F}
                                         : std::vector<float>{2.5F};
    const Tensor xt = Tensor::fromValues<float>({channels, inner}, x);
    const Tensor expected = fakeQuant(xt, AmaxView{amax, 0}, range);
    const plan::FakeQuantScales s = plan::fakeQuantScales(amax, range.maxLevel, range.strictTinyTest, range.cudaKernel);
    for (std::int64_t i = 0; i < channels * inner; ++i) {
        const auto c = static_cast<std::size_t>(perChannel ? i / inner : 0);
        const float v = x[static_cast<std::size_t>(i)];
        const float got = s.zeroChannel[c] != 0
                              ? 0.0F
                              : plan::roundClamp(v * s.quantScale[c], range.minLevel, range.maxLevel) / s.divScale[c];
        const float want = expected.data<float>()[i];
        if (std::isnan(want)) {
            QVERIFY2(std::isnan(got), qPrintable(QString::number(i)));
            continue;
        }
        QCOMPARE(std::bit_cast<std::uint32_t>(got), std::bit_cast<std::uint32_t>(want));
    }
}

void TestCudaPlan::fakeQuantScaleErrors()
{
    QVERIFY_THROWS_EXCEPTION(FormatError, (void)plan::fakeQuantScales({1.0F, -1.0F}, 127.0F, false, false));
    const float nan = std::numeric_limits<float>::quiet_NaN();
    QVERIFY_THROWS_EXCEPTION(FormatError, (void)plan::fakeQuantScales({nan}, 127.0F, true, true));
    const plan::FakeQuantScales s = plan::fakeQuantScales({nan}, 127.0F, false, false); // Python path: NaN scale
    QVERIFY(std::isnan(s.quantScale[0]));
    QVERIFY_THROWS_EXCEPTION(ShapeError, (void)plan::fakeQuantScales({}, 127.0F, false, false));
}

void TestCudaPlan::s8LevelsMatchCpuCodes()
{
    std::vector<float> x = randomValues(5000, 3.0F, 5);
    const float scale = 127.0F / 2.9F;
    for (int k = -200; k <= 200; ++k)
        x.push_back((static_cast<float>(k) + 0.5F) / scale); // ties
    x.push_back(std::numeric_limits<float>::quiet_NaN());
    x.push_back(std::numeric_limits<float>::infinity());
    x.push_back(-std::numeric_limits<float>::infinity());
    x.push_back(-0.0F);
    for (const auto &[lo, hi] : {std::pair{-128.0F, 127.0F}, std::pair{-127.0F, 127.0F}, std::pair{-8.0F, 7.0F}}) {
        std::vector<std::int8_t> cpu(x.size());
        simd::quantizeS8RunScalar(x.data(), cpu.data(), static_cast<std::int64_t>(x.size()), scale, lo, hi);
        for (std::size_t i = 0; i < x.size(); ++i) {
            const float product = x[i] * scale;
            QCOMPARE(static_cast<int>(plan::s8Level(product, lo, hi)), static_cast<int>(cpu[i]));
        }
    }
}

void TestCudaPlan::histogramBinsMatchCalibrator_data()
{
    qdq::test::addHistogramRows();
}

// Two batches (the second with a larger max, so the histogram grows): the bins that the plan's
// rule gives each batch's values add up to the calibrator's counts.
void TestCudaPlan::histogramBinsMatchCalibrator()
{
    QFETCH(int, collection);
    QFETCH(bool, skipZeros);
    HistogramOptions options;
    options.numBins = 128;
    options.skipZeros = skipZeros;
    options.collection = static_cast<HistogramCollection>(collection);
    HistogramCalibrator cal(8, false, options);
    const auto count = [&](const std::vector<float> &x, const plan::HistogramBinning &b) {
        std::vector<std::int64_t> h(static_cast<std::size_t>(b.bins), 0);
        for (const float v : x) {
            const float a = std::fabs(v);
            if (b.skipZeros && a == 0.0F)
                continue;
            const std::int64_t bin = plan::histogramBin(b.rule, b.bins, b.lo, b.hi, b.span, b.edges.data(),
                                                        static_cast<std::int64_t>(b.edges.size()), a);
            if (bin >= 0)
                ++h[static_cast<std::size_t>(bin)];
        }
        return h;
    };
    std::vector<float> first = randomValues(20000, 1.0F, 21);
    for (std::size_t i = 0; i < first.size(); i += 7)
        first[i] = 0.0F;
    // the host statistics the device computes with absStats
    float maxAbs = 0.0F;
    float minCounted = std::numeric_limits<float>::infinity();
    for (const float v : first) {
        maxAbs = std::max(maxAbs, std::fabs(v));
        if (!skipZeros || v != 0.0F)
            minCounted = std::min(minCounted, std::fabs(v));
    }
    cal.collect(Tensor::fromValues<float>({static_cast<std::int64_t>(first.size())}, first));
    const plan::HistogramBinning b1 =
        options.collection == HistogramCollection::Torch
            ? plan::torchHistcBinning(options.numBins, 0.0F, maxAbs, minCounted, maxAbs, skipZeros)
            : plan::numpyFirstBinning(options.numBins, minCounted, maxAbs,
                                      options.collection == HistogramCollection::NumPyFromZero, skipZeros);
    const std::vector<std::int64_t> c1 = cal.counts();
    QCOMPARE(count(first, b1), c1);

    std::vector<float> second = randomValues(20000, 2.5F, 22);
    cal.collect(Tensor::fromValues<float>({static_cast<std::int64_t>(second.size())}, second));
    const std::vector<std::int64_t> c2 = cal.counts();
    QVERIFY(c2.size() > c1.size()); // grown
    const plan::HistogramBinning b2 =
        options.collection == HistogramCollection::Torch
            ? plan::torchHistcBinning(static_cast<std::int64_t>(c2.size()), 0.0F,
                                      static_cast<float>(cal.edges().back()), 0.0F, 0.0F, skipZeros)
            : plan::sortedEdgesBinning(cal.edges(), skipZeros);
    const std::vector<std::int64_t> h2 = count(second, b2);
    for (std::size_t k = 0; k < c2.size(); ++k)
        QCOMPARE(h2[k], c2[k] - (k < c1.size() ? c1[k] : 0));
}

QTEST_GUILESS_MAIN(TestCudaPlan)
#include "tst_cuda_plan.moc"

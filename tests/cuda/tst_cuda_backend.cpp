// The CUDA backend (engine/src/kernels/cuda/) against the CPU backend and qdq's own quantization on
// random tensors: FP32 linear (every activation), matmul, softmax, add + LayerNorm, head split /
// merge within 1e-4 (max-norm relative); INT8 linear and matmul bit for bit (see int8Linear);
// fake quant, s8 codes and histogram counts bit for bit; FP16 GEMMs within 1e-2. Skipped (the only
// skip) when the machine has no CUDA device.
#include "support/test_support.h"

#include "kernels/backend.h"
#include "kernels/cpu/quant_simd.h"
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda_entry.h"
#include "kernels/cuda_plan.h"

#include "qdq/device.h"
#include "qdq/errors.h"
#include "qdq/quant/calibrator.h"
#include "qdq/quant/fake_quant.h"
#include "qdq/quant/quant_descriptor.h"

#include <QTest>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

using namespace qdq;
using kernels::Activation;
namespace plan = qdq::kernels::plan;

class TestCudaBackend : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void badDeviceIndex();
    void linear_data();
    void linear();
    void matmul();
    void softmax();
    void addLayerNorm();
    void heads();
    void gather();
    void int8Linear_data();
    void int8Linear();
    void int8Matmul();
    void s8Codes();
    void fakeQuant_data();
    void fakeQuant();
    void histogram_data();
    void histogram();
    void fp16Gemms();

private:
    std::unique_ptr<kernels::Backend> m_cpu;
    std::unique_ptr<kernels::Backend> m_gpu;
    std::unique_ptr<kernels::Backend> m_gpu16;
    kernels::cuda::CudaBackend *m_cuda = nullptr;
};

namespace {

Tensor randomTensor(const Shape &shape, unsigned seed, float spread = 1.0F)
{
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0F, spread);
    Tensor t = Tensor::empty(DType::F32, shape);
    float *p = t.mutableData<float>();
    for (std::int64_t i = 0; i < t.numel(); ++i)
        p[i] = dist(rng);
    return t;
}

// max |a - b| / max |b| over all elements (1e-30 floor), NaN if a NaN appears in either
double relativeError(const Tensor &got, const Tensor &want)
{
    const std::vector<float> a = got.toFloatVector();
    const std::vector<float> b = want.toFloatVector();
    if (a.size() != b.size() || got.shape() != want.shape())
        return std::numeric_limits<double>::infinity();
    double diff = 0.0;
    double scale = 1e-30;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
        scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
        if (std::isnan(a[i]) || std::isnan(b[i]))
            return std::numeric_limits<double>::quiet_NaN();
    }
    return diff / scale;
}

#define QCOMPARE_REL(got, want, tol)                                                                                   \
    do {                                                                                                               \
        const double err_ = relativeError(got, want);                                                                  \
        QVERIFY2(err_ <= (tol), qPrintable(QStringLiteral("relative error %1 > %2").arg(err_).arg(tol)));              \
    } while (false)

// Same bits everywhere (NaN equal to NaN).
void compareBits(const Tensor &got, const Tensor &want)
{
    QCOMPARE(got.shape(), want.shape());
    const std::vector<float> a = got.toFloatVector();
    const std::vector<float> b = want.toFloatVector();
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::isnan(b[i])) {
            QVERIFY2(std::isnan(a[i]), qPrintable(QString::number(i)));
            continue;
        }
        if (std::bit_cast<std::uint32_t>(a[i]) != std::bit_cast<std::uint32_t>(b[i]))
            QFAIL(qPrintable(QStringLiteral("element %1: %2 != %3").arg(i).arg(a[i], 0, 'g', 9).arg(b[i], 0, 'g', 9)));
    }
}

QuantizedTensor randomCodes(std::int64_t n, std::int64_t k, bool perRow, unsigned seed)
{
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> code(-127, 127);
    std::uniform_real_distribution<float> amax(0.05F, 4.0F);
    QuantizedTensor w;
    w.codes = Tensor::empty(DType::I8, {n, k});
    for (std::int64_t i = 0; i < n * k; ++i)
        w.codes.mutableData<std::int8_t>()[i] = static_cast<std::int8_t>(code(rng));
    w.scale.resize(perRow ? static_cast<std::size_t>(n) : 1);
    for (float &s : w.scale)
        s = 127.0F / amax(rng);
    return w;
}

} // namespace

void TestCudaBackend::initTestCase()
{
    const CudaStatus status = cudaStatus();
    if (!status.available)
        QSKIP("no CUDA device");
    qInfo("%s: %s", status.devices.front().name.c_str(), status.message.c_str());
    m_cpu = kernels::createCpuBackend();
    m_gpu = detail::createCudaBackend(0);
    m_gpu16 = detail::createCudaBackend(0, detail::CudaGemmMath::Fp16);
    m_cuda = dynamic_cast<kernels::cuda::CudaBackend *>(m_gpu.get());
    QVERIFY(m_cuda != nullptr);
    qInfo("%s", m_gpu->name().c_str());
}

void TestCudaBackend::badDeviceIndex()
{
    QVERIFY_THROWS_EXCEPTION(UnsupportedError, (void)detail::createCudaBackend(1000));
}

void TestCudaBackend::linear_data()
{
    QTest::addColumn<int>("activation");
    QTest::addColumn<bool>("bias");
    for (int a = 0; a <= static_cast<int>(Activation::Tanh); ++a)
        for (const bool bias : {true, false})
            QTest::addRow("act%d/%s", a, bias ? "bias" : "nobias") << a << bias;
}

void TestCudaBackend::linear()
{
    QFETCH(int, activation);
    QFETCH(bool, bias);
    const auto act = static_cast<Activation>(activation);
    for (const auto &[rows, k, n] : {std::tuple{7, 33, 45}, std::tuple{256, 768, 3072}, std::tuple{1, 1, 1}}) {
        const Tensor w = randomTensor({n, k}, 1, 0.05F);
        const Tensor b = bias ? randomTensor({n}, 2) : Tensor();
        const Tensor x = randomTensor({1, rows, k}, 3);
        const auto pc = m_cpu->packLinear(w, b, act);
        const auto pg = m_gpu->packLinear(w, b, act);
        QCOMPARE_REL(m_gpu->linear(x, *pg), m_cpu->linear(x, *pc), 1e-4);
    }
}

void TestCudaBackend::matmul()
{
    const Tensor a = randomTensor({2, 3, 17, 24}, 4);
    const Tensor b = randomTensor({2, 3, 24, 19}, 5);
    QCOMPARE_REL(m_gpu->matmul(a, b), m_cpu->matmul(a, b), 1e-4);
    // attention's Q · Kᵀ: b a transposed view of a contiguous [B,h,S,d]
    const Tensor keys = randomTensor({2, 3, 19, 24}, 6);
    const Tensor kt = keys.transpose(2, 3);
    QCOMPARE_REL(m_gpu->matmul(a, kt), m_cpu->matmul(a, kt), 1e-4);
    const Tensor big = randomTensor({8, 12, 128, 64}, 7);
    const Tensor bigK = randomTensor({8, 12, 128, 64}, 8).transpose(2, 3);
    QCOMPARE_REL(m_gpu->matmul(big, bigK), m_cpu->matmul(big, bigK), 1e-4);
}

void TestCudaBackend::softmax()
{
    const std::int64_t batch = 3;
    const std::int64_t heads = 4;
    const std::int64_t len = 9;
    const std::int64_t keys = 300;
    Tensor mask = Tensor::empty(DType::F32, {batch, len, keys});
    for (std::int64_t i = 0; i < mask.numel(); ++i)
        mask.mutableData<float>()[i] = (i % keys) > 250 - (i / keys) % 7 ? std::numeric_limits<float>::lowest() : 0.0F;
    for (const bool masked : {false, true}) {
        const Tensor scores = randomTensor({batch, heads, len, keys}, 9, 4.0F);
        Tensor cpu = scores.clone();
        Tensor gpu = scores.clone();
        const Tensor m = masked ? mask.alias() : Tensor();
        m_cpu->scaledMaskedSoftmax(cpu, 8.0F, m);
        m_gpu->scaledMaskedSoftmax(gpu, 8.0F, m);
        QCOMPARE_REL(gpu, cpu, 1e-4);
    }
}

void TestCudaBackend::addLayerNorm()
{
    const Tensor a = randomTensor({4, 33, 768}, 10, 3.0F);
    const Tensor b = randomTensor({4, 33, 768}, 11);
    const Tensor gamma = randomTensor({768}, 12);
    const Tensor beta = randomTensor({768}, 13);
    QCOMPARE_REL(m_gpu->addLayerNorm(a, b, gamma, beta, 1e-12F), m_cpu->addLayerNorm(a, b, gamma, beta, 1e-12F), 1e-4);
    QCOMPARE_REL(m_gpu->addLayerNorm(a, Tensor(), gamma, beta, 1e-5F),
                 m_cpu->addLayerNorm(a, Tensor(), gamma, beta, 1e-5F), 1e-4);
}

void TestCudaBackend::heads()
{
    const Tensor x = randomTensor({2, 13, 96}, 14);
    const Tensor split = m_gpu->splitHeads(x, 6);
    compareBits(split, m_cpu->splitHeads(x, 6)); // a copy: exact
    compareBits(m_gpu->mergeHeads(split), m_cpu->mergeHeads(split));
    compareBits(m_gpu->mergeHeads(split), x);
}

void TestCudaBackend::gather()
{
    const Tensor table = randomTensor({50, 24}, 15);
    const auto packed = m_cuda->packTable(table);
    const Tensor ids = Tensor::fromValues<std::int64_t>({2, 3}, {0, 49, 7, 7, 3, 12});
    const Tensor out = m_cuda->gather(*packed, ids);
    QCOMPARE(out.shape(), (Shape{2, 3, 24}));
    const std::vector<std::int64_t> idv = ids.toInt64Vector();
    for (std::size_t r = 0; r < idv.size(); ++r)
        for (std::int64_t j = 0; j < 24; ++j)
            QCOMPARE(out.data<float>()[static_cast<std::int64_t>(r) * 24 + j], table.data<float>()[idv[r] * 24 + j]);
    const Tensor bad = Tensor::fromValues<std::int64_t>({1}, {50});
    QVERIFY_THROWS_EXCEPTION(ShapeError, (void)m_cuda->gather(*packed, bad));
}

void TestCudaBackend::int8Linear_data()
{
    QTest::addColumn<int>("activation");
    QTest::addColumn<bool>("perRow");
    for (int a = 0; a <= static_cast<int>(Activation::Tanh); ++a)
        for (const bool perRow : {true, false})
            QTest::addRow("act%d/%s", a, perRow ? "per-row" : "per-tensor") << a << perRow;
}

// The s32 sums are exact on both sides and the epilogue does the same f32 operations in the same
// order (fl(fl(acc) * rescale), then + bias, each rounded once), so without an activation the
// outputs are compared bit for bit: any difference is a wrong code, sum or rescale, never
// rounding. An activation is a different libm (oneDNN's eltwise vs CUDA's erff / tanhf / expf),
// so activated outputs are compared within 1e-5 (their inputs being bit-identical).
void TestCudaBackend::int8Linear()
{
    QFETCH(int, activation);
    QFETCH(bool, perRow);
    const auto act = static_cast<Activation>(activation);
    for (const auto &[rows, k, n] :
         {std::tuple{5, 33, 45}, std::tuple{128, 768, 3072}, std::tuple{3, 3072, 768}, std::tuple{1, 1, 1}}) {
        const QuantizedTensor w = randomCodes(n, k, perRow, 16);
        const Tensor bias = randomTensor({n}, 17);
        const Tensor x = randomTensor({1, rows, k}, 18, 2.0F);
        IntegerQuant q;
        q.scale = 127.0F / 5.3F;
        q.minLevel = -127.0F;
        const auto pc = m_cpu->packQuantizedLinear(w, bias, act);
        const auto pg = m_gpu->packQuantizedLinear(w, bias, act);
        const Tensor want = m_cpu->quantizedLinear(x, q, *pc);
        const Tensor got = m_gpu->quantizedLinear(x, q, *pg);
        if (act == Activation::None)
            compareBits(got, want);
        else
            QCOMPARE_REL(got, want, 1e-5);
        // a second input scale: the per-channel rescale is recomputed
        q.scale = 127.0F / 0.7F;
        compareBits(m_gpu->quantizedLinear(x, q, *pg), m_cpu->quantizedLinear(x, q, *pc));
        if (QTest::currentTestFailed())
            return;
    }
}

void TestCudaBackend::int8Matmul()
{
    IntegerQuant qa;
    qa.scale = 127.0F / 3.1F;
    IntegerQuant qb;
    qb.scale = 127.0F / 2.2F;
    qb.minLevel = -127.0F;
    const Tensor a = randomTensor({2, 3, 17, 24}, 19);
    const Tensor b = randomTensor({2, 3, 24, 19}, 20);
    compareBits(m_gpu->quantizedMatmul(a, qa, b, qb), m_cpu->quantizedMatmul(a, qa, b, qb));
    const Tensor kt = randomTensor({2, 3, 19, 24}, 21).transpose(2, 3); // Kᵀ view
    compareBits(m_gpu->quantizedMatmul(a, qa, kt, qb), m_cpu->quantizedMatmul(a, qa, kt, qb));
    const Tensor q = randomTensor({4, 12, 128, 64}, 22);
    const Tensor k = randomTensor({4, 12, 128, 64}, 23).transpose(2, 3);
    compareBits(m_gpu->quantizedMatmul(q, qa, k, qb), m_cpu->quantizedMatmul(q, qa, k, qb));
    const Tensor probs = randomTensor({4, 12, 128, 128}, 24, 0.1F);
    const Tensor v = randomTensor({4, 12, 128, 64}, 25);
    compareBits(m_gpu->quantizedMatmul(probs, qa, v, qb), m_cpu->quantizedMatmul(probs, qa, v, qb));
}

void TestCudaBackend::s8Codes()
{
    Tensor x = randomTensor({10007}, 26, 3.0F);
    float *p = x.mutableData<float>();
    p[0] = std::numeric_limits<float>::quiet_NaN();
    p[1] = std::numeric_limits<float>::infinity();
    p[2] = -std::numeric_limits<float>::infinity();
    const float scale = 127.0F / 2.9F;
    for (int i = 0; i < 400; ++i)
        p[3 + i] = (static_cast<float>(i - 200) + 0.5F) / scale; // ties
    for (const float lo : {-128.0F, -127.0F}) {
        IntegerQuant q;
        q.scale = scale;
        q.minLevel = lo;
        const Tensor got = m_cuda->quantizeS8(x, q);
        std::vector<std::int8_t> want(static_cast<std::size_t>(x.numel()));
        simd::quantizeS8RunScalar(p, want.data(), x.numel(), scale, lo, 127.0F);
        for (std::int64_t i = 0; i < x.numel(); ++i)
            QCOMPARE(static_cast<int>(got.data<std::int8_t>()[i]), static_cast<int>(want[static_cast<std::size_t>(i)]));
    }
}

void TestCudaBackend::fakeQuant_data()
{
    qdq::test::addFakeQuantRows();
}

void TestCudaBackend::fakeQuant()
{
    QFETCH(int, profile);
    QFETCH(bool, perChannel);
    QFETCH(bool, isUnsigned);
    QFETCH(bool, narrow);
    QuantDescriptor desc;
    desc.isUnsigned = isUnsigned;
    desc.narrowRange = narrow;
    const QuantRange range = quantRange(desc, static_cast<VersionProfile>(profile));
    // [3, 6, 129]: per channel along axis 1 (outer 3, inner 129)
    Tensor x = randomTensor({3, 6, 129}, 27, 2.0F);
    float *p = x.mutableData<float>();
    p[0] = 0.0F;
    p[1] = -0.0F;
    p[2] = std::numeric_limits<float>::infinity();
    p[3] = std::numeric_limits<float>::quiet_NaN();
    if (isUnsigned)
        for (std::int64_t i = 0; i < x.numel(); ++i)
            p[i] = std::fabs(p[i]);
    const std::vector<float> amax = perChannel
                                        ? std::vector<float>{1.7F, 0.0F, 3e-8F, 5.9604644775390625e-08F, 9.0F, 0.02F}
                                        : std::vector<float>{2.5F};
    const Tensor want = qdq::fakeQuant(x, AmaxView{amax, 1}, range);
    const plan::FakeQuantScales s = plan::fakeQuantScales(amax, range.maxLevel, range.strictTinyTest, range.cudaKernel);
    compareBits(m_cuda->fakeQuant(x, s, 1, range.minLevel, range.maxLevel), want);
    if (isUnsigned) {
        Tensor negative = x.clone();
        negative.mutableData<float>()[3] = -1.0F; // no NaN left, one negative value
        QVERIFY_THROWS_EXCEPTION(FormatError, (void)m_cuda->fakeQuant(negative, s, 1, range.minLevel, range.maxLevel));
    }
}

void TestCudaBackend::histogram_data()
{
    qdq::test::addHistogramRows();
}

// Two batches through the calibrator (the second grows the histogram) and through the device:
// statistics, bins from the plan, counts on the device; the counts add up to the calibrator's.
void TestCudaBackend::histogram()
{
    QFETCH(int, collection);
    QFETCH(bool, skipZeros);
    HistogramOptions options;
    options.numBins = 2048;
    options.skipZeros = skipZeros;
    options.collection = static_cast<HistogramCollection>(collection);
    HistogramCalibrator cal(8, false, options);
    Tensor first = randomTensor({64, 1000}, 28);
    for (std::int64_t i = 0; i < first.numel(); i += 5)
        first.mutableData<float>()[i] = 0.0F;
    const kernels::cuda::AbsStats st = m_cuda->absStats(first, skipZeros);
    QVERIFY(st.finite);
    cal.collect(first);
    QCOMPARE(st.max, cal.runningMax());
    const plan::HistogramBinning b1 =
        options.collection == HistogramCollection::Torch
            ? plan::torchHistcBinning(options.numBins, 0.0F, st.max, st.min, st.max, skipZeros)
            : plan::numpyFirstBinning(options.numBins, st.min, st.max,
                                      options.collection == HistogramCollection::NumPyFromZero, skipZeros);
    const std::vector<std::int64_t> c1 = cal.counts();
    QCOMPARE(m_cuda->histogram(first, b1), c1);

    const Tensor second = randomTensor({64, 1000}, 29, 3.0F);
    cal.collect(second);
    const std::vector<std::int64_t> c2 = cal.counts();
    const plan::HistogramBinning b2 =
        options.collection == HistogramCollection::Torch
            ? plan::torchHistcBinning(static_cast<std::int64_t>(c2.size()), 0.0F,
                                      static_cast<float>(cal.edges().back()), 0.0F, 0.0F, skipZeros)
            : plan::sortedEdgesBinning(cal.edges(), skipZeros);
    const std::vector<std::int64_t> h2 = m_cuda->histogram(second, b2);
    QCOMPARE(h2.size(), c2.size());
    for (std::size_t k = 0; k < c2.size(); ++k)
        QCOMPARE(h2[k], c2[k] - (k < c1.size() ? c1[k] : 0));

    Tensor bad = first.clone();
    bad.mutableData<float>()[17] = std::numeric_limits<float>::infinity();
    QVERIFY(!m_cuda->absStats(bad, skipZeros).finite);
}

void TestCudaBackend::fp16Gemms()
{
    const Tensor w = randomTensor({3072, 768}, 30, 0.05F);
    const Tensor b = randomTensor({3072}, 31);
    const Tensor x = randomTensor({2, 64, 768}, 32);
    const auto pc = m_cpu->packLinear(w, b, Activation::GeluErf);
    const auto pg = m_gpu16->packLinear(w, b, Activation::GeluErf);
    QCOMPARE_REL(m_gpu16->linear(x, *pg), m_cpu->linear(x, *pc), 1e-2);
    const Tensor q = randomTensor({2, 12, 64, 64}, 33);
    const Tensor k = randomTensor({2, 12, 64, 64}, 34).transpose(2, 3);
    QCOMPARE_REL(m_gpu16->matmul(q, k), m_cpu->matmul(q, k), 1e-2);
}

QTEST_GUILESS_MAIN(TestCudaBackend)
#include "tst_cuda_backend.moc"

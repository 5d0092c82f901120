// TensorQuantizer and fake-quant kernels on hand-computed cases: the worked example of
// reference §3.8, ties (half to even), +-amax and beyond, signed zeros, NaN/Inf policy, each
// version profile's clamp (§3.5), per-channel axis 0 with [out, 1] amax, dynamic amax (§2.4),
// and the calibrators' bounded memory (§4.3).
#include "qdq/quant/calibrator.h"
#include "qdq/quant/fake_quant.h"
#include "qdq/quant/tensor_quantizer.h"

#include <QTest>

#include <bit>
#include <cmath>
#include <limits>

using namespace qdq;

namespace {

Tensor vec(std::initializer_list<float> v)
{
    return Tensor::fromValues<float>({static_cast<std::int64_t>(v.size())}, v);
}

std::vector<float> quant(const TensorQuantizer &q, std::initializer_list<float> v)
{
    return q.apply(vec(v)).toFloatVector();
}

bool sameBits(float a, float b)
{
    return std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b);
}

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

} // namespace

class TestFakeQuant : public QObject {
    Q_OBJECT
private slots:
    void profileNamesAndDefaults();
    void workedExample();
    void tiesRoundHalfToEven();
    void amaxBoundaryAndBeyond();
    void signedZeros();
    void nanAndInfPolicy();
    void tinyAmaxPerProfile();
    void errors();
    void perChannelAxis0();
    void dynamicAmaxAndScale();
    void disabledIsIdentity();
    void exportForms();
    void integerCodes();
    void maxCalibrator();
    void histogramMemoryIsBounded();
    void percentileHandComputed();
};

void TestFakeQuant::profileNamesAndDefaults()
{
    for (const auto p :
         {VersionProfile::Pq210, VersionProfile::Pq21x, VersionProfile::Pq22Cpu, VersionProfile::Pq22Cuda})
        QCOMPARE(parseVersionProfile(versionProfileName(p)), std::optional<VersionProfile>(p));
    QVERIFY(!parseVersionProfile("pq-3").has_value());
    QCOMPARE(versionProfileName(kDefaultVersionProfile), std::string_view("pq-2.1.x"));
    const QuantDescriptor d; // signed int8, narrow_range from the profile (reference §3.5 table)
    QCOMPARE(quantRange(d, VersionProfile::Pq210).minLevel, -127.0F);
    QCOMPARE(quantRange(d, VersionProfile::Pq21x).minLevel, -128.0F);
    QCOMPARE(quantRange(d, VersionProfile::Pq22Cpu).minLevel, -128.0F);
    QCOMPARE(quantRange(d, VersionProfile::Pq22Cuda).minLevel, -127.0F);
    QuantDescriptor wide = d;
    wide.narrowRange = false;
    QCOMPARE(quantRange(wide, VersionProfile::Pq210).minLevel, -128.0F);
    QCOMPARE(quantRange(wide, VersionProfile::Pq22Cuda).minLevel, -127.0F); // kernel ignores narrow_range
    QuantDescriptor narrow = d;
    narrow.narrowRange = true;
    QCOMPARE(quantRange(narrow, VersionProfile::Pq22Cpu).minLevel, -127.0F);
    QuantDescriptor u = d;
    u.isUnsigned = true;
    QCOMPARE(quantRange(u, VersionProfile::Pq22Cuda).minLevel, 0.0F);
    QCOMPARE(quantRange(u, VersionProfile::Pq21x).maxLevel, 255.0F);
    QuantDescriptor b4 = d;
    b4.numBits = 4;
    QCOMPARE(quantRange(b4, VersionProfile::Pq21x).maxLevel, 7.0F);
    QuantDescriptor b16 = d;
    b16.numBits = 16;
    QCOMPARE(quantRange(b16, VersionProfile::Pq21x).minLevel, -32768.0F);
    QuantDescriptor bad = d;
    bad.numBits = 17;
    QVERIFY_THROWS_EXCEPTION(UnsupportedError, (void)quantRange(bad, VersionProfile::Pq21x));
    QCOMPARE(usesTorchHistogram(VersionProfile::Pq21x), false);
    QCOMPARE(usesTorchHistogram(VersionProfile::Pq22Cuda), true);
}

void TestFakeQuant::workedExample()
{
    // reference §3.8: a = 2, s = 63.5
    TensorQuantizer cpu(QuantDescriptor{}, VersionProfile::Pq21x);
    cpu.setAmax(2.0F);
    const std::vector<float> y = quant(cpu, {0.3F, 64.0F / 63.5F, -2.5F});
    QCOMPARE(y[0], 19.0F / 63.5F);
    QCOMPARE(y[0], 0.29921260F);
    QCOMPARE(y[1], 64.0F / 63.5F);
    QCOMPARE(y[2], -128.0F / 63.5F); // -2.0157480 on 2.1.1+ / CPU
    QCOMPARE(y[2], -2.0157480F);
    TensorQuantizer cuda(QuantDescriptor{}, VersionProfile::Pq22Cuda);
    cuda.setAmax(2.0F);
    QCOMPARE(quant(cuda, {-2.5F})[0], -2.0F); // -127 / 63.5
    TensorQuantizer old(QuantDescriptor{}, VersionProfile::Pq210);
    old.setAmax(2.0F);
    QCOMPARE(quant(old, {-2.5F})[0], -2.0F);
    // divide by s, not multiply by a/B: for a = 2, 16 of the 256 levels differ in f32
    int differ = 0;
    for (int level = -128; level < 128; ++level)
        differ += sameBits(static_cast<float>(level) / 63.5F, static_cast<float>(level) * (2.0F / 127.0F)) ? 0 : 1;
    QCOMPARE(differ, 16);
}

void TestFakeQuant::tiesRoundHalfToEven()
{
    TensorQuantizer q; // a = 127 -> s = 1: x * s = x exactly
    q.setAmax(127.0F);
    const std::vector<float> y = quant(q, {0.5F, 1.5F, 2.5F, -0.5F, -1.5F, -2.5F, 126.5F, -127.5F, -128.5F});
    const std::vector<float> want{0.0F, 2.0F, 2.0F, -0.0F, -2.0F, -2.0F, 126.0F, -128.0F, -128.0F};
    for (std::size_t i = 0; i < want.size(); ++i)
        QVERIFY2(sameBits(y[i], want[i]), std::to_string(i).c_str());
    // -127.5 rounds to the even -128, reachable only without narrow range (§3.5)
    TensorQuantizer narrow(QuantDescriptor{}, VersionProfile::Pq210);
    narrow.setAmax(127.0F);
    QCOMPARE(quant(narrow, {-127.5F})[0], -127.0F);
}

void TestFakeQuant::amaxBoundaryAndBeyond()
{
    TensorQuantizer q;
    q.setAmax(2.0F);
    const std::vector<float> y = quant(q, {2.0F, -2.0F, 2.0000002F, 3.0F, -3.0F, 1e30F});
    QCOMPARE(y[0], 2.0F); // 127 / 63.5
    QCOMPARE(y[1], -2.0F);
    QCOMPARE(y[2], 2.0F);
    QCOMPARE(y[3], 2.0F);
    QCOMPARE(y[4], -128.0F / 63.5F);
    QCOMPARE(y[5], 2.0F);
}

void TestFakeQuant::signedZeros()
{
    TensorQuantizer q;
    q.setAmax(2.0F);
    const std::vector<float> y = quant(q, {-0.0F, 0.0F, -1e-3F, 1e-3F});
    QVERIFY(sameBits(y[0], -0.0F));
    QVERIFY(sameBits(y[1], 0.0F));
    QVERIFY(sameBits(y[2], -0.0F)); // torch.round(-0.0635) = -0
    QVERIFY(sameBits(y[3], 0.0F));
}

void TestFakeQuant::nanAndInfPolicy()
{
    TensorQuantizer q;
    q.setAmax(2.0F);
    const std::vector<float> y = quant(q, {kInf, -kInf, kNaN});
    QCOMPARE(y[0], 2.0F);
    QCOMPARE(y[1], -128.0F / 63.5F);
    QVERIFY(std::isnan(y[2]));
    // NaN amax (load_calib_amax(strict=False) on an empty calibrator): every output NaN (§3.3)
    TensorQuantizer nanAmax;
    nanAmax.setAmax(kNaN);
    for (const float v : quant(nanAmax, {0.0F, 1.0F, -kInf}))
        QVERIFY(std::isnan(v));
}

void TestFakeQuant::tinyAmaxPerProfile()
{
    // Python path: a <= 2^-24 -> scale 0 then 1: signed zeros, inf * 0 = NaN (§3.3 steps 4, 6)
    for (const float a : {0.0F, kTinyAmax}) {
        TensorQuantizer q(QuantDescriptor{}, VersionProfile::Pq21x);
        q.setAmax(a);
        const std::vector<float> y = quant(q, {1.0F, -1.0F, kInf});
        QVERIFY(sameBits(y[0], 0.0F));
        QVERIFY(sameBits(y[1], -0.0F));
        QVERIFY(std::isnan(y[2]));
    }
    // CUDA kernel: a < 2^-24 -> +0 for everything; exactly 2^-24 is quantized normally (§3.4)
    TensorQuantizer cuda(QuantDescriptor{}, VersionProfile::Pq22Cuda);
    cuda.setAmax(kTinyAmax / 2.0F);
    for (const float v : quant(cuda, {1.0F, -1.0F, kInf}))
        QVERIFY(sameBits(v, 0.0F));
    cuda.setAmax(kTinyAmax);
    const std::vector<float> y = quant(cuda, {kTinyAmax, -1.0F});
    QCOMPARE(y[0], kTinyAmax);
    QCOMPARE(y[1], -kTinyAmax);
    TensorQuantizer py(QuantDescriptor{}, VersionProfile::Pq22Cpu);
    py.setAmax(kTinyAmax);
    QVERIFY(sameBits(quant(py, {kTinyAmax})[0], 0.0F));
}

void TestFakeQuant::errors()
{
    TensorQuantizer neg;
    neg.setAmax(-1.0F);
    QVERIFY_THROWS_EXCEPTION(FormatError, (void)neg.apply(vec({1.0F})));
    QuantDescriptor u;
    u.isUnsigned = true;
    TensorQuantizer uq(u);
    uq.setAmax(1.0F);
    QVERIFY_THROWS_EXCEPTION(FormatError, (void)uq.apply(vec({0.5F, -0.1F})));
    QCOMPARE(quant(uq, {0.5F, 2.0F})[1], 1.0F);
    // a NaN input hides the negative one, as torch.min propagates NaN
    QCOMPARE(uq.apply(vec({kNaN, -0.1F})).numel(), std::int64_t{2});
    TensorQuantizer perTensor;
    QVERIFY_THROWS_EXCEPTION(ShapeError, perTensor.setAmax(Tensor::fromValues<float>({2, 1}, {1.0F, 2.0F})));
}

void TestFakeQuant::perChannelAxis0()
{
    QuantDescriptor d;
    d.axis = 0;
    TensorQuantizer q(d);
    q.setAmax(Tensor::fromValues<float>({3, 1}, {2.0F, 127.0F, 0.0F}));
    const Tensor w = Tensor::fromValues<float>({3, 2}, {0.3F, -2.5F, 2.5F, -200.0F, 5.0F, -5.0F});
    const std::vector<float> y = q.apply(w).toFloatVector();
    QCOMPARE(y[0], 19.0F / 63.5F);
    QCOMPARE(y[1], -128.0F / 63.5F);
    QCOMPARE(y[2], 2.0F); // s = 1: 2.5 -> 2 (half to even)
    QCOMPARE(y[3], -128.0F);
    QVERIFY(sameBits(y[4], 0.0F)); // zero-amax row
    QVERIFY(sameBits(y[5], -0.0F));
    QVERIFY_THROWS_EXCEPTION(ShapeError, (void)q.apply(Tensor::fromValues<float>({2, 2}, {1, 2, 3, 4})));
    // a NaN channel makes the NaN-propagating min skip the zero-amax mask: 0 * inf = NaN
    q.setAmax(Tensor::fromValues<float>({3, 1}, {kNaN, 1.0F, 0.0F}));
    const std::vector<float> z = q.apply(w).toFloatVector();
    QVERIFY(std::isnan(z[0]));
    QCOMPARE(z[4], 127.0F / std::numeric_limits<float>::infinity());
}

void TestFakeQuant::dynamicAmaxAndScale()
{
    TensorQuantizer q; // no amax: max|x| per call (§2.4)
    const Tensor x = vec({0.5F, -4.0F, 1.0F});
    QCOMPARE(q.effectiveAmax(x), std::vector<float>{4.0F});
    const std::vector<float> y = q.apply(x).toFloatVector();
    QCOMPARE(y[1], -4.0F); // no clipping with dynamic amax
    QuantDescriptor rows;
    rows.axis = 0;
    rows.scaleAmax = 0.5F;
    TensorQuantizer r(rows);
    const Tensor w = Tensor::fromValues<float>({2, 2}, {1.0F, -3.0F, 0.5F, 0.25F});
    QCOMPARE(r.effectiveAmax(w), (std::vector<float>{1.5F, 0.25F}));
    QVERIFY(!r.hasAmax());
    r.setAmax(Tensor::fromValues<float>({2, 1}, {2.0F, 2.0F}));
    QCOMPARE(r.effectiveAmax(w), (std::vector<float>{1.0F, 1.0F}));
    r.clearAmax();
    QVERIFY(!r.hasAmax());
}

void TestFakeQuant::disabledIsIdentity()
{
    TensorQuantizer q;
    q.setAmax(1.0F);
    q.setEnabled(false);
    Tensor x = vec({0.123F, 5.0F});
    const Tensor y = q.apply(x);
    QCOMPARE(y.toFloatVector(), x.toFloatVector());
    q.applyInPlace(x);
    QCOMPARE(x.toFloatVector()[1], 5.0F);
}

void TestFakeQuant::exportForms()
{
    const std::vector<float> x{0.3F, -2.5F, 2.5F / 63.5F, -1e-3F, kNaN};
    const std::vector<float> a{2.0F};
    std::vector<float> native(x.size());
    std::vector<float> onnx(x.size());
    nativeFakeQuant(x, native, {5}, AmaxView{a, 0}, 8, false);
    onnxFakeQuant(x, onnx, {5}, AmaxView{a, 0}, 8, false);
    const float sc = 2.0F / 127.0F;
    QCOMPARE(native[0], 19.0F * sc);    // dequantize multiplies by a/B
    QCOMPARE(native[1], -128.0F * sc);  // floor -128 always
    QCOMPARE(native[2], 2.0F * sc);     // tie 2.5 -> 2
    QVERIFY(sameBits(native[3], 0.0F)); // through int64: no negative zero
    QCOMPARE(native[4], -128.0F * sc);  // NaN -> int64 min -> floor
    QCOMPARE(onnx[0], 19.0F * sc);
    QCOMPARE(onnx[1], -128.0F * sc);
    QVERIFY(sameBits(onnx[3], -0.0F));
    QVERIFY(std::isnan(onnx[4]));
}

void TestFakeQuant::integerCodes()
{
    QuantDescriptor d;
    d.axis = 0;
    const Tensor w = Tensor::fromValues<float>({2, 3}, {0.3F, -2.5F, 1.0F, 2.5F, -200.0F, 0.0F});
    const std::vector<float> amax{2.0F, 127.0F};
    const QuantRange range = quantRange(d, VersionProfile::Pq21x);
    const QuantizedTensor qt = quantizeToInt(w, AmaxView{amax, 0}, range);
    QCOMPARE(qt.codes.dtype(), DType::I8);
    QCOMPARE(qt.codes.toInt64Vector(), (std::vector<std::int64_t>{19, -128, 64, 2, -128, 0}));
    QCOMPARE(qt.scale, (std::vector<float>{63.5F, 1.0F}));
    // q / s reproduces the fake quant bit for bit
    const std::vector<float> fq = fakeQuant(w, AmaxView{amax, 0}, range).toFloatVector();
    const std::vector<std::int64_t> codes = qt.codes.toInt64Vector();
    for (std::size_t i = 0; i < codes.size(); ++i)
        QVERIFY(sameBits(static_cast<float>(codes[i]) / qt.scale[i / 3] + 0.0F, fq[i] + 0.0F));
    const std::vector<float> one{1.0F};
    QVERIFY_THROWS_EXCEPTION(FormatError, (void)quantizeToInt(vec({kNaN}), AmaxView{one, 0}, range));
}

void TestFakeQuant::maxCalibrator()
{
    MaxCalibrator perTensor;
    QVERIFY(perTensor.empty());
    QVERIFY(!perTensor.amaxTensor().defined());
    perTensor.collect(vec({1.0F, -3.0F}));
    perTensor.collect(vec({2.0F}));
    QCOMPARE(perTensor.amax(), std::vector<float>{3.0F});
    QCOMPARE(perTensor.amaxTensor().dim(), 0);
    MaxCalibrator rows(0);
    rows.collect(Tensor::fromValues<float>({2, 2}, {1.0F, -3.0F, 0.5F, 0.25F}));
    rows.collect(Tensor::fromValues<float>({2, 2}, {4.0F, 0.0F, 0.0F, -0.125F}));
    QCOMPARE(rows.amax(), (std::vector<float>{4.0F, 0.5F}));
    QCOMPARE(rows.amaxTensor().shape(), (Shape{2, 1}));
    QVERIFY_THROWS_EXCEPTION(ShapeError, rows.collect(Tensor::fromValues<float>({3, 1}, {1, 2, 3})));
}

void TestFakeQuant::histogramMemoryIsBounded()
{
    // 10,000 batches: the histogram holds at most the bins the data range needs, not samples.
    for (const auto collection : {HistogramCollection::NumPy, HistogramCollection::Torch}) {
        HistogramOptions o;
        o.collection = collection;
        HistogramCalibrator h(8, false, o);
        MaxCalibrator m;
        std::vector<float> batch(256);
        std::uint32_t state = 12345;
        std::size_t bytesAfterFirst = 0;
        for (int b = 0; b < 10000; ++b) {
            for (float &v : batch) {
                state = state * 1664525U + 1013904223U;
                v = (static_cast<float>(state >> 8) / 16777216.0F - 0.5F) * 6.0F; // [-3, 3)
            }
            const Tensor t = Tensor::fromValues<float>({256}, std::span<const float>(batch));
            h.collect(t);
            m.collect(t);
            if (b == 0)
                bytesAfterFirst = h.memoryBytes();
        }
        QVERIFY(h.counts().size() <= 2048 + 16);
        QVERIFY(h.edges().size() <= 2048 + 17);
        QVERIFY(h.memoryBytes() <= 2 * bytesAfterFirst + 1024);
        std::int64_t total = 0;
        for (const auto c : h.counts())
            total += c;
        QVERIFY(total <= 2560000);
        QVERIFY(total > 2500000); // NumPy path drops only values below the first batch's min
        QCOMPARE(m.amax().size(), std::size_t{1});
    }
}

void TestFakeQuant::percentileHandComputed()
{
    // torch path: 4 bins over [0, 4]; values 0.5, 1.5, 2.5, 3.5 once each
    HistogramOptions o;
    o.collection = HistogramCollection::Torch;
    o.numBins = 4;
    HistogramCalibrator h(8, false, o);
    QVERIFY(!h.computeAmax(CalibMethod::Percentile).has_value());
    h.collect(vec({0.5F, -1.5F, 2.5F, 4.0F}));
    QCOMPARE(h.counts(), (std::vector<std::int64_t>{1, 1, 1, 1}));
    AmaxOptions p;
    p.percentile = 50.0; // cdf 0.25, 0.5 -> bin 1 -> LEFT edge 1.0
    QCOMPARE(*h.computeAmax(CalibMethod::Percentile, p), 1.0F);
    p.percentile = 100.0;
    QCOMPARE(*h.computeAmax(CalibMethod::Percentile, p), 3.0F);
    QCOMPARE(*h.computeAmax(CalibMethod::Max), 4.0F);
    p.percentile = 101.0;
    QVERIFY_THROWS_EXCEPTION(UnsupportedError, (void)h.computeAmax(CalibMethod::Percentile, p));
    // fewer bins than start_bin: no candidates (the reference fails on argmin of nothing)
    QVERIFY_THROWS_EXCEPTION(UnsupportedError, (void)h.computeAmax(CalibMethod::Mse));
    // growth keeps the width: max 6 -> ceil(6 / 1) = 6 bins, edges 0..6
    h.collect(vec({6.0F}));
    QCOMPARE(h.counts(), (std::vector<std::int64_t>{1, 1, 1, 1, 0, 1}));
    QCOMPARE(h.edges().back(), 6.0);
    QCOMPARE(parseCalibMethod("entropy"), std::optional<CalibMethod>(CalibMethod::Entropy));
}

QTEST_GUILESS_MAIN(TestFakeQuant)
#include "tst_fake_quant.moc"

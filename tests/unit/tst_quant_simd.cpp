// The vector loops (AVX-512 or AVX2, as cpuIsa() picks) of fake quant and of the s8 codes
// (engine/src/kernels/cpu/quant_simd.h) against hand-worked values (reference §3.3: round half to even, clamp, divide;
// §3.8) and bit for bit against the scalar loops on edge cases (ties, signed zeros, NaN, infinities, huge values, every
// tail length, unaligned starts) and random data, for several integer ranges.
#include "kernels/cpu/quant_simd.h"

#include <QTest>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

using namespace qdq;

class TestQuantSimd : public QObject {
    Q_OBJECT
private slots:
    void vectorPathSelected();
    void handWorkedFakeQuant();
    void handWorkedCodes();
    void fakeQuantMatchesScalar_data();
    void fakeQuantMatchesScalar();
    void codesMatchScalar_data();
    void codesMatchScalar();
};

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Values whose product with the scale lands on ties, on the bounds, beyond them, on signed
// zeros, NaN, infinities and float extremes, followed by random values.
std::vector<float> edgeAndRandom(float scale, std::size_t randomCount, unsigned seed)
{
    std::vector<float> v = {0.0F,
                            -0.0F,
                            kNaN,
                            -kNaN,
                            kInf,
                            -kInf,
                            std::numeric_limits<float>::max(),
                            -std::numeric_limits<float>::max(),
                            std::numeric_limits<float>::denorm_min(),
                            -std::numeric_limits<float>::denorm_min(),
                            1e30F,
                            -1e30F,
                            4194304.5F,
                            -8388609.0F};
    for (int k = -300; k <= 300; ++k) {
        const float tie = (static_cast<float>(k) + 0.5F) / scale;
        v.push_back(tie);
        v.push_back(std::nextafter(tie, kInf));
        v.push_back(std::nextafter(tie, -kInf));
        v.push_back(static_cast<float>(k) / scale);
    }
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0F, 1.0F);
    for (std::size_t i = 0; i < randomCount; ++i)
        v.push_back(normal(rng) * (i % 3 == 0 ? 300.0F : 100.0F) / scale);
    return v;
}

bool sameFloat(float a, float b)
{
    if (std::isnan(a) || std::isnan(b))
        return std::isnan(a) && std::isnan(b);
    return std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b); // -0 differs from +0
}

struct Range {
    float lo;
    float hi;
};

} // namespace

// The loops follow the CPU's features, lowered by QDQ_MAX_ISA (the CTest entries run this suite
// once per cap: tests/CMakeLists.txt) or QDQ_SCALAR_QUANT=1.
void TestQuantSimd::vectorPathSelected()
{
    const char *env = std::getenv("QDQ_SCALAR_QUANT");
    const bool forcedScalar = env != nullptr && std::strcmp(env, "1") == 0;
    const char *capEnv = std::getenv("QDQ_MAX_ISA");
    const std::string cap = capEnv != nullptr ? capEnv : "";
    const int capLevel = cap == "sse41" ? 0 : cap == "avx2" ? 1 : 2;
#if defined(__x86_64__)
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#else
    const bool avx2 = false;
    const bool avx512 = false;
#endif
    const char *expected = "scalar";
    if (!forcedScalar && avx512 && capLevel >= 2)
        expected = "avx512";
    else if (!forcedScalar && avx2 && capLevel >= 1)
        expected = "avx2";
    qInfo("AVX2 %s, AVX-512 %s, QDQ_MAX_ISA '%s'; loops in use: %s", avx2 ? "yes" : "no", avx512 ? "yes" : "no",
          cap.c_str(), simd::loopsName());
    QCOMPARE(std::string(simd::loopsName()), std::string(expected));
    QCOMPARE(simd::vectorized(), std::string(expected) != "scalar");
}

void TestQuantSimd::handWorkedFakeQuant()
{
    // scale 1 (amax = B): x * 1 rounds half to even, then clamps to [-127, 127]; divide by 1.
    const std::vector<float> in = {0.5F, 1.5F, 2.5F, -0.5F, -1.5F, -2.5F, 126.5F, 127.49F, 200.F, -200.F, -0.0F, -0.3F,
                                   kInf, -kInf, kNaN, 3.25F,
                                   // the same with an odd tail
                                   2.5F, -3.5F};
    const std::vector<float> want = {0.0F,   2.0F,  2.0F,  -0.0F,  -2.0F,  -2.0F, 126.0F, 127.0F, 127.0F,
                                     -127.F, -0.0F, -0.0F, 127.0F, -127.F, kNaN,  3.0F,   2.0F,   -4.0F};
    std::vector<float> out(in.size());
    simd::fakeQuantRun(in.data(), out.data(), static_cast<std::int64_t>(in.size()), 1.0F, 1.0F, -127.0F, 127.0F);
    for (std::size_t i = 0; i < in.size(); ++i)
        QVERIFY2(sameFloat(out[i], want[i]),
                 qPrintable(QStringLiteral("fq(%1) = %2, want %3").arg(in[i]).arg(out[i]).arg(want[i])));
    // amax 2.0, 8 bits narrow: scale 63.5, so 1.0 -> 63.5, a tie -> 64 (even), divided: 64 / 63.5
    const float x = 1.0F;
    float y = 0.0F;
    simd::fakeQuantRun(&x, &y, 1, 127.0F / 2.0F, 127.0F / 2.0F, -127.0F, 127.0F);
    QCOMPARE(y, 64.0F / 63.5F);
}

void TestQuantSimd::handWorkedCodes()
{
    std::vector<float> in = {0.5F,    1.5F, 2.5F, -0.5F, -1.5F, -2.5F, 126.5F, 300.F, -300.F,
                             -127.5F, kNaN, kInf, -kInf, -0.0F, 0.49F, 63.5F,  64.5F};
    const std::vector<int> want = {0, 2, 2, 0, -2, -2, 126, 127, -128, -128, -128, 127, -128, 0, 0, 64, 64};
    std::vector<std::int8_t> out(in.size());
    simd::quantizeS8Run(in.data(), out.data(), static_cast<std::int64_t>(in.size()), 1.0F, -128.0F, 127.0F);
    for (std::size_t i = 0; i < in.size(); ++i)
        QVERIFY2(out[i] == want[i],
                 qPrintable(QStringLiteral("code(%1) = %2, want %3").arg(in[i]).arg(out[i]).arg(want[i])));
    // narrow range: -127 is the lowest code
    const float low = -1000.0F;
    std::int8_t code = 0;
    simd::quantizeS8Run(&low, &code, 1, 1.0F, -127.0F, 127.0F);
    QCOMPARE(int(code), -127);
}

void TestQuantSimd::fakeQuantMatchesScalar_data()
{
    QTest::addColumn<float>("quantScale");
    QTest::addColumn<float>("divScale");
    QTest::addColumn<float>("lo");
    QTest::addColumn<float>("hi");
    QTest::newRow("8-bit narrow") << 127.0F / 3.7F << 127.0F / 3.7F << -127.0F << 127.0F;
    QTest::newRow("8-bit full") << 127.0F / 0.81F << 127.0F / 0.81F << -128.0F << 127.0F;
    QTest::newRow("8-bit unsigned") << 255.0F / 5.5F << 255.0F / 5.5F << 0.0F << 255.0F;
    QTest::newRow("4-bit") << 7.0F / 1.3F << 7.0F / 1.3F << -7.0F << 7.0F;
    QTest::newRow("16-bit") << 32767.0F / 12.0F << 32767.0F / 12.0F << -32767.0F << 32767.0F;
    QTest::newRow("tiny amax") << 0.0F << 1.0F << -127.0F << 127.0F;
}

void TestQuantSimd::fakeQuantMatchesScalar()
{
    QFETCH(float, quantScale);
    QFETCH(float, divScale);
    QFETCH(float, lo);
    QFETCH(float, hi);
    const std::vector<float> in = edgeAndRandom(quantScale == 0.0F ? 1.0F : quantScale, 20000, 7);
    std::vector<float> got(in.size() + 1);
    std::vector<float> want(in.size() + 1);
    // every tail length and start offset of the 16-lane loop
    for (std::size_t offset = 0; offset < 17; ++offset) {
        for (std::size_t length : {std::size_t{0}, std::size_t{1}, std::size_t{15}, std::size_t{16}, std::size_t{17},
                                   std::size_t{31}, std::size_t{33}, in.size() - offset}) {
            simd::fakeQuantRun(in.data() + offset, got.data() + 1, static_cast<std::int64_t>(length), quantScale,
                               divScale, lo, hi);
            simd::fakeQuantRunScalar(in.data() + offset, want.data() + 1, static_cast<std::int64_t>(length), quantScale,
                                     divScale, lo, hi);
            for (std::size_t i = 0; i < length; ++i)
                QVERIFY2(sameFloat(got[i + 1], want[i + 1]), qPrintable(QStringLiteral("x = %1: vector %2, scalar %3")
                                                                            .arg(double(in[offset + i]), 0, 'g', 9)
                                                                            .arg(double(got[i + 1]), 0, 'g', 9)
                                                                            .arg(double(want[i + 1]), 0, 'g', 9)));
        }
    }
}

void TestQuantSimd::codesMatchScalar_data()
{
    QTest::addColumn<float>("scale");
    QTest::addColumn<float>("lo");
    QTest::addColumn<float>("hi");
    QTest::newRow("8-bit narrow") << 127.0F / 3.7F << -127.0F << 127.0F;
    QTest::newRow("8-bit full") << 127.0F / 0.81F << -128.0F << 127.0F;
    QTest::newRow("4-bit") << 7.0F / 1.3F << -7.0F << 7.0F;
    QTest::newRow("tiny amax") << 0.0F << -127.0F << 127.0F;
}

void TestQuantSimd::codesMatchScalar()
{
    QFETCH(float, scale);
    QFETCH(float, lo);
    QFETCH(float, hi);
    const std::vector<float> in = edgeAndRandom(scale == 0.0F ? 1.0F : scale, 20000, 11);
    std::vector<std::int8_t> got(in.size());
    std::vector<std::int8_t> want(in.size());
    for (std::size_t offset = 0; offset < 17; ++offset) {
        const auto n = static_cast<std::int64_t>(in.size() - offset);
        simd::quantizeS8Run(in.data() + offset, got.data(), n, scale, lo, hi);
        simd::quantizeS8RunScalar(in.data() + offset, want.data(), n, scale, lo, hi);
        for (std::int64_t i = 0; i < n; ++i)
            QVERIFY2(got[static_cast<std::size_t>(i)] == want[static_cast<std::size_t>(i)],
                     qPrintable(
                         QStringLiteral("x = %1: vector %2, scalar %3")
                             .arg(double(in[static_cast<std::size_t>(offset) + static_cast<std::size_t>(i)]), 0, 'g', 9)
                             .arg(int(got[static_cast<std::size_t>(i)]))
                             .arg(int(want[static_cast<std::size_t>(i)]))));
    }
}

QTEST_APPLESS_MAIN(TestQuantSimd)
#include "tst_quant_simd.moc"

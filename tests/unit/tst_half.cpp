// f16 / bf16 <-> f32 conversions, checked exhaustively on all 65536 bit patterns and on a
// sweep of f32 patterns against independent references: the compiler's _Float16 (libgcc's
// IEEE conversions) for f16, and a nearest-value search in double arithmetic for bf16.
#include "qdq/half.h"

#include <QTest>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

using namespace qdq;

namespace {

std::uint16_t bitsOf(_Float16 h)
{
    std::uint16_t b;
    std::memcpy(&b, &h, 2);
    return b;
}
_Float16 halfOf(std::uint16_t b)
{
    _Float16 h;
    std::memcpy(&h, &b, 2);
    return h;
}

// bf16 value of a bit pattern computed from its fields, without bit tricks.
double bf16Decode(std::uint16_t b)
{
    const int sign = (b >> 15) ? -1 : 1;
    const int exp = (b >> 7) & 0xFF;
    const int mant = b & 0x7F;
    if (exp == 0)
        return sign * std::ldexp(mant / 128.0, -126);
    if (exp == 0xFF)
        return mant ? std::nan("") : sign * std::numeric_limits<double>::infinity();
    return sign * std::ldexp(1.0 + mant / 128.0, exp - 127);
}

// Nearest bf16 to a finite float by searching the two neighbours in double; ties to even.
std::uint16_t bf16Nearest(float f)
{
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(f);
    const auto lo = static_cast<std::uint16_t>(bits >> 16); // truncation: toward zero
    const auto hi = static_cast<std::uint16_t>(lo + 1);     // next away from zero
    // IEEE 754 rounds as if the exponent were unbounded: the neighbour above the largest
    // finite value is 2^128, which then overflows to infinity.
    const double hiValue =
        (hi & 0x7FFF) == 0x7F80 ? std::copysign(std::ldexp(1.0, 128), static_cast<double>(f)) : bf16Decode(hi);
    const double dlo = std::fabs(bf16Decode(lo) - static_cast<double>(f));
    const double dhi = std::fabs(hiValue - static_cast<double>(f));
    if (dlo < dhi)
        return lo;
    if (dhi < dlo)
        return hi;
    return (lo & 1) ? hi : lo;
}

// ~1.05 million f32 patterns spread over the whole space, plus hand-picked edge cases.
template <class Fn>
void sweepFloats(Fn &&fn)
{
    for (std::uint64_t b = 0; b <= 0xFFFFFFFFULL; b += 4093)
        fn(std::bit_cast<float>(static_cast<std::uint32_t>(b)));
    const float edges[] = {0.f,
                           -0.f,
                           1.f,
                           65504.f,
                           65519.99f,
                           65520.f,
                           65536.f,
                           6.103515625e-05f,
                           5.960464477539063e-08f,
                           2.9802322387695312e-08f,
                           2.98023259e-08f,
                           1.f + 1.f / 2048.f,
                           1.f + 3.f / 2048.f,
                           1.f + 1.f / 256.f,
                           1.f + 3.f / 256.f,
                           3.3895313892515355e+38f,
                           INFINITY,
                           -INFINITY};
    for (float e : edges) {
        fn(e);
        fn(-e);
    }
}

} // namespace

class TestHalf : public QObject {
    Q_OBJECT
private slots:
    void halfToFloatAllPatterns();
    void halfRoundTripAllPatterns();
    void floatToHalfMatchesCompiler();
    void floatToHalfHandWorked();
    void bf16ToFloatAllPatterns();
    void bf16RoundTripAllPatterns();
    void floatToBf16MatchesNearestSearch();
    void bulkMatchesScalar();
};

void TestHalf::halfToFloatAllPatterns()
{
    int nans = 0;
    for (std::uint32_t b = 0; b < 65536; ++b) {
        const auto h = static_cast<std::uint16_t>(b);
        const float mine = halfToFloat(h);
        const auto ref = static_cast<float>(halfOf(h));
        if (std::isnan(ref)) {
            QVERIFY2(std::isnan(mine), qPrintable(QString::number(b, 16)));
            ++nans;
            continue;
        }
        if (std::bit_cast<std::uint32_t>(mine) != std::bit_cast<std::uint32_t>(ref))
            QFAIL(qPrintable(QString("f16 0x%1: %2 != %3").arg(b, 4, 16, QChar('0')).arg(mine).arg(ref)));
    }
    QCOMPARE(nans, 2 * 1023);
}

void TestHalf::halfRoundTripAllPatterns()
{
    for (std::uint32_t b = 0; b < 65536; ++b) {
        const auto h = static_cast<std::uint16_t>(b);
        if (floatToHalf(halfToFloat(h)) != h)
            QFAIL(qPrintable(QString("f16 0x%1 does not round-trip").arg(b, 4, 16, QChar('0'))));
    }
}

void TestHalf::floatToHalfMatchesCompiler()
{
    long checked = 0;
    sweepFloats([&](float f) {
        const std::uint16_t ref = bitsOf(static_cast<_Float16>(f));
        const std::uint16_t mine = floatToHalf(f);
        if (std::isnan(f)) {
            QVERIFY((mine & 0x7C00) == 0x7C00 && (mine & 0x3FF) != 0);
            return;
        }
        if (mine != ref)
            QFAIL(qPrintable(QString("f32 %1 (0x%2): 0x%3 != 0x%4")
                                 .arg(static_cast<double>(f), 0, 'g', 9)
                                 .arg(std::bit_cast<std::uint32_t>(f), 8, 16, QChar('0'))
                                 .arg(mine, 4, 16)
                                 .arg(ref, 4, 16)));
        ++checked;
    });
    QVERIFY(checked > 1000000);
}

void TestHalf::floatToHalfHandWorked()
{
    QCOMPARE(floatToHalf(1.f), std::uint16_t(0x3C00));
    QCOMPARE(floatToHalf(1.f + 1.f / 2048.f), std::uint16_t(0x3C00)); // tie -> even (down)
    QCOMPARE(floatToHalf(1.f + 3.f / 2048.f), std::uint16_t(0x3C02)); // tie -> even (up)
    QCOMPARE(floatToHalf(65504.f), std::uint16_t(0x7BFF));
    QCOMPARE(floatToHalf(65520.f), std::uint16_t(0x7C00));                 // rounds to inf
    QCOMPARE(floatToHalf(5.960464477539063e-08f), std::uint16_t(0x0001));  // smallest subnormal
    QCOMPARE(floatToHalf(2.9802322387695312e-08f), std::uint16_t(0x0000)); // half of it: tie -> 0
    QCOMPARE(floatToHalf(-0.f), std::uint16_t(0x8000));
}

void TestHalf::bf16ToFloatAllPatterns()
{
    for (std::uint32_t b = 0; b < 65536; ++b) {
        const auto h = static_cast<std::uint16_t>(b);
        const double ref = bf16Decode(h);
        const float mine = bf16ToFloat(h);
        if (std::isnan(ref)) {
            QVERIFY(std::isnan(mine));
            continue;
        }
        if (static_cast<double>(mine) != ref || std::signbit(mine) != std::signbit(ref))
            QFAIL(qPrintable(QString("bf16 0x%1: %2 != %3").arg(b, 4, 16).arg(mine).arg(ref)));
    }
}

void TestHalf::bf16RoundTripAllPatterns()
{
    for (std::uint32_t b = 0; b < 65536; ++b) {
        const auto h = static_cast<std::uint16_t>(b);
        if (floatToBf16(bf16ToFloat(h)) != h)
            QFAIL(qPrintable(QString("bf16 0x%1 does not round-trip").arg(b, 4, 16, QChar('0'))));
    }
}

void TestHalf::floatToBf16MatchesNearestSearch()
{
    sweepFloats([&](float f) {
        const std::uint16_t mine = floatToBf16(f);
        if (std::isnan(f)) {
            QVERIFY(std::isnan(bf16ToFloat(mine)));
            return;
        }
        const std::uint16_t ref =
            std::isinf(f) ? static_cast<std::uint16_t>(std::bit_cast<std::uint32_t>(f) >> 16) : bf16Nearest(f);
        if (mine != ref)
            QFAIL(qPrintable(QString("f32 %1: 0x%2 != 0x%3")
                                 .arg(static_cast<double>(f), 0, 'g', 9)
                                 .arg(mine, 4, 16)
                                 .arg(ref, 4, 16)));
    });
    QCOMPARE(floatToBf16(1.f + 1.f / 256.f), std::uint16_t(0x3F80)); // tie -> even (down)
    QCOMPARE(floatToBf16(1.f + 3.f / 256.f), std::uint16_t(0x3F82)); // tie -> even (up)
}

void TestHalf::bulkMatchesScalar()
{
    std::vector<std::uint16_t> bits(65536);
    for (std::size_t i = 0; i < bits.size(); ++i)
        bits[i] = static_cast<std::uint16_t>(i);
    std::vector<float> f(bits.size());
    halfToFloat(bits.data(), f.data(), bits.size());
    std::vector<std::uint16_t> back(bits.size());
    floatToHalf(f.data(), back.data(), f.size());
    QCOMPARE(back, bits);
    bf16ToFloat(bits.data(), f.data(), bits.size());
    floatToBf16(f.data(), back.data(), f.size());
    QCOMPARE(back, bits);
}

QTEST_APPLESS_MAIN(TestHalf)
#include "tst_half.moc"

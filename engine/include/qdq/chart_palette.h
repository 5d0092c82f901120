#pragma once
// The colours of the analysis charts, shared by the GUI's interactive charts (ui/charts, Qt
// Charts) and the report's painters (engine/src/export), so a report and the app draw a chart
// alike. Plain RGB triples: the GUI and the report each turn them into their own colour type.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>

namespace qdq::chart {

struct Rgb {
    std::uint8_t red;
    std::uint8_t green;
    std::uint8_t blue;
};

// The dashed line at the first divergent layer.
inline constexpr Rgb kFirstDivergence{200, 40, 40};
// The outline of a histogram's counts.
inline constexpr Rgb kHistogramCounts{70, 110, 170};
// Line series, in order: Qt Charts' light theme, which the GUI's line charts get by default.
inline constexpr Rgb kSeries[] = {
    {0x20, 0x9f, 0xdf}, {0x99, 0xca, 0x53}, {0xf6, 0xa6, 0x25}, {0x6d, 0x5f, 0xd5}, {0xbf, 0x59, 0x3e}};

// The amax marker of a calibration method ("max", "percentile", "mse", "entropy"; grey otherwise).
[[nodiscard]] constexpr Rgb calibMethodColour(std::string_view method)
{
    if (method == "max")
        return {200, 40, 40};
    if (method == "percentile")
        return {30, 130, 60};
    if (method == "mse")
        return {150, 80, 200};
    if (method == "entropy")
        return {230, 140, 0};
    return {90, 90, 90};
}

// Chart furniture is the background moved towards the text colour by these fractions (so it
// follows the light and dark themes): the frame, the grid, the minor grid and the axis lines.
inline constexpr double kFrameMix = 0.15;
inline constexpr double kGridMix = 0.14;
inline constexpr double kMinorGridMix = 0.07;
inline constexpr double kAxisLineMix = 0.45;

// A value axis over data in [lo, hi] (both finite; nothing yet: pass 0 and 1): an 8 % margin,
// then round ends on a step of 1, 2 or 5 x 10^k (about five steps), never past `upperBound` (a
// cosine stops at 1). Both charts of the per-layer divergence use it, the GUI's and the report's.
struct ValueAxis {
    double lo = 0.0;
    double hi = 1.0;
    double step = 0.2;
    int decimals = 1; // of the tick labels
    [[nodiscard]] int ticks() const { return static_cast<int>(std::lround((hi - lo) / step)) + 1; }
};

[[nodiscard]] inline double niceStep(double raw)
{
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    const double f = raw / magnitude;
    return (f < 1.5 ? 1.0 : f < 3.0 ? 2.0 : f < 7.0 ? 5.0 : 10.0) * magnitude;
}

[[nodiscard]] inline ValueAxis valueAxis(double lo, double hi, std::optional<double> upperBound = std::nullopt)
{
    const double span = hi - lo;
    const double pad = span > 1e-9 ? span * 0.08 : std::max(std::fabs(hi) * 0.01, 1e-3);
    lo -= pad;
    hi += pad;
    if (upperBound) {
        hi = std::min(hi, *upperBound);
        lo = std::min(lo, hi - pad);
    }
    ValueAxis axis;
    axis.step = niceStep((hi - lo) / 5.0);
    axis.lo = std::floor(lo / axis.step + 1e-9) * axis.step;
    axis.hi = std::ceil(hi / axis.step - 1e-9) * axis.step;
    if (upperBound)
        axis.hi = std::min(axis.hi, *upperBound);
    axis.decimals = std::max(0, static_cast<int>(-std::floor(std::log10(axis.step) + 1e-9)));
    return axis;
}

} // namespace qdq::chart

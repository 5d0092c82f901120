#pragma once
// The colours of the analysis charts, shared by the GUI's interactive charts (ui/charts, Qt
// Charts) and the report's painters (engine/src/export), so a report and the app draw a chart
// alike. Plain RGB triples: the GUI and the report each turn them into their own colour type.

#include <cstdint>
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

} // namespace qdq::chart

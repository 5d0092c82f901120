#pragma once
// The report's charts, painted with QPainter into images (Qt Gui, no Widgets): a line chart per
// layer, a histogram with calibration markers and an attention heatmap. They draw what the GUI's
// interactive charts show (ui/charts, ui/heatmap_widget) in the same colours (qdq/chart_palette.h),
// black on white as a printed page wants, whatever the app's theme.

#include <QImage>
#include <QString>
#include <QStringList>

#include <map>
#include <optional>
#include <vector>

namespace qdq::report {

struct LineSeries {
    QString name;
    std::vector<std::optional<double>> values; // per layer; nullopt = no point
};

// One line per series over the layers (x), the y axis on round ticks ending at `yUpperBound` at
// most (1 for a cosine); `markedLayer` gets a dashed red line (the first divergence).
[[nodiscard]] QImage lineChart(int width, int height, const QString &title, const QString &yTitle,
                               const std::vector<LineSeries> &series, std::optional<int> markedLayer,
                               std::optional<double> yUpperBound = std::nullopt);

// counts[i] for the bin [edges[i], edges[i+1]) on a log axis, a dashed marker per calibration
// method (name -> amax) and a solid one for the amax in use (none for a dynamic quantizer).
[[nodiscard]] QImage histogramChart(int width, int height, const QString &title, const std::vector<double> &counts,
                                    const std::vector<double> &edges, const std::map<QString, double> &methods,
                                    std::optional<double> amaxInUse);

// rows x cols values (row-major) with token labels and a colour legend; colours span [lo, hi]:
// white to deep blue from 0, blue-white-red when lo < 0.
[[nodiscard]] QImage heatmap(int width, int height, const std::vector<float> &values, int rows, int cols,
                             const QStringList &rowLabels, const QStringList &colLabels, float lo, float hi);

} // namespace qdq::report

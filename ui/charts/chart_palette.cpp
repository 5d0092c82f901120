#include "chart_palette.h"

#include "qdq/chart_palette.h"

#include <QAbstractAxis>
#include <QChart>
#include <QChartView>
#include <QLegend>
#include <QPen>

namespace qdq::ui {

namespace {

// `a` moved towards `b` by `t` (0..1).
QColor mix(const QColor &a, const QColor &b, double t)
{
    const auto channel = [t](int x, int y) { return static_cast<int>(x + (y - x) * t + 0.5); };
    return QColor(channel(a.red(), b.red()), channel(a.green(), b.green()), channel(a.blue(), b.blue()));
}

} // namespace

void applyChartPalette(QChart &chart, QChartView &view, const QPalette &palette)
{
    const QColor base = palette.color(QPalette::Base);
    const QColor text = palette.color(QPalette::Text);
    view.setBackgroundBrush(palette.color(QPalette::Window));
    chart.setBackgroundBrush(base);
    chart.setBackgroundPen(QPen(mix(base, text, qdq::chart::kFrameMix), 1));
    chart.setTitleBrush(text);
    chart.legend()->setLabelColor(text);
    chart.legend()->setBorderColor(Qt::transparent);
    const QColor grid = mix(base, text, qdq::chart::kGridMix);
    const QColor line = mix(base, text, qdq::chart::kAxisLineMix);
    for (QAbstractAxis *axis : chart.axes()) {
        axis->setLabelsBrush(text);
        axis->setTitleBrush(text);
        axis->setGridLineColor(grid);
        axis->setMinorGridLineColor(mix(base, text, qdq::chart::kMinorGridMix));
        axis->setLinePenColor(line);
    }
}

} // namespace qdq::ui

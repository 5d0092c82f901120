#pragma once
// Colours of a Qt chart from a widget palette, so charts follow the light and dark themes
// (ui/theme.h): background, title, axis labels and lines, grid and legend. Series keep their own
// colours (qdq/chart_palette.h, shared with the report's charts), chosen to read on both.

#include <QPalette>

QT_BEGIN_NAMESPACE
class QChart;
class QChartView;
QT_END_NAMESPACE

namespace qdq::ui {

void applyChartPalette(QChart &chart, QChartView &view, const QPalette &palette);

} // namespace qdq::ui

#include "report_charts.h"

#include "qdq/chart_palette.h"

#include <QFont>
#include <QFontMetrics>
#include <QPainter>
#include <QPainterPath>
#include <QPen>

#include <algorithm>
#include <cmath>
#include <iterator>

namespace qdq::report {
namespace {

// Font sizes in pixels, so the charts look the same whatever the image's resolution.
constexpr int kLabelPixels = 12;
constexpr int kTitlePixels = 15;
constexpr int kPad = 8;
constexpr int kSwatch = 12;

const QColor kBackground(Qt::white);
const QColor kText(Qt::black);

QColor colour(qdq::chart::Rgb c)
{
    return {c.red, c.green, c.blue};
}

// The background moved towards the text colour by `t` (0..1), as the GUI's chart palette does.
QColor furniture(double t)
{
    const auto channel = [t](int x, int y) { return static_cast<int>(x + (y - x) * t + 0.5); };
    return {channel(kBackground.red(), kText.red()), channel(kBackground.green(), kText.green()),
            channel(kBackground.blue(), kText.blue())};
}

QFont labelFont()
{
    QFont f;
    f.setPixelSize(kLabelPixels);
    return f;
}

QFont titleFont()
{
    QFont f;
    f.setPixelSize(kTitlePixels);
    f.setBold(true);
    return f;
}

QImage blankImage(int width, int height)
{
    QImage image(width, height, QImage::Format_ARGB32);
    image.fill(kBackground);
    return image;
}

// 1, 2 or 5 times a power of ten, near `raw` (as the GUI's divergence chart).
struct LegendItem {
    QColor colour;
    QString text;
};

// Rows of legend items that fit in `width`.
std::vector<std::vector<const LegendItem *>> legendRows(const std::vector<LegendItem> &items, const QFontMetrics &fm,
                                                        int width)
{
    std::vector<std::vector<const LegendItem *>> rows(1);
    int used = 0;
    for (const LegendItem &item : items) {
        const int w = kSwatch + 4 + fm.horizontalAdvance(item.text) + 2 * kPad;
        if (!rows.back().empty() && used + w > width) {
            rows.emplace_back();
            used = 0;
        }
        rows.back().push_back(&item);
        used += w;
    }
    return rows;
}

int legendHeight(const std::vector<LegendItem> &items, const QFontMetrics &fm, int width)
{
    const auto rows = legendRows(items, fm, width);
    return static_cast<int>(rows.size()) * (fm.height() + 4);
}

// The legend centred in `area`, one colour swatch and name per item.
void drawLegend(QPainter &p, const std::vector<LegendItem> &items, const QRect &area)
{
    const QFontMetrics fm(p.font());
    int y = area.top();
    for (const auto &row : legendRows(items, fm, area.width())) {
        int rowWidth = 0;
        for (const LegendItem *item : row)
            rowWidth += kSwatch + 4 + fm.horizontalAdvance(item->text) + 2 * kPad;
        int x = area.left() + std::max(0, (area.width() - rowWidth) / 2) + kPad;
        for (const LegendItem *item : row) {
            const int mid = y + (fm.height() + 4) / 2;
            p.fillRect(QRect(x, mid - kSwatch / 2, kSwatch, kSwatch), item->colour);
            p.setPen(kText);
            p.drawText(QRect(x + kSwatch + 4, y, fm.horizontalAdvance(item->text) + 1, fm.height() + 4),
                       Qt::AlignLeft | Qt::AlignVCenter, item->text);
            x += kSwatch + 4 + fm.horizontalAdvance(item->text) + 2 * kPad;
        }
        y += fm.height() + 4;
    }
}

// Title at the top, legend at the bottom, the frame around; returns the room left between them.
QRect drawFrame(QPainter &p, const QString &title, const std::vector<LegendItem> &legend, int width, int height)
{
    p.setPen(QPen(furniture(qdq::chart::kFrameMix), 1));
    p.setBrush(Qt::NoBrush);
    p.drawRoundedRect(QRectF(0.5, 0.5, width - 1.0, height - 1.0), 4, 4);
    p.setFont(titleFont());
    const QFontMetrics tm(p.font());
    const QRect titleRect(kPad, kPad, width - 2 * kPad, tm.height());
    p.setPen(kText);
    p.drawText(titleRect, Qt::AlignCenter, tm.elidedText(title, Qt::ElideRight, titleRect.width()));
    p.setFont(labelFont());
    const QFontMetrics fm(p.font());
    const int lh = legendHeight(legend, fm, width - 2 * kPad);
    drawLegend(p, legend, QRect(kPad, height - kPad - lh, width - 2 * kPad, lh));
    return QRect(kPad, titleRect.bottom() + kPad, width - 2 * kPad, height - lh - titleRect.bottom() - 3 * kPad);
}

struct Tick {
    double value;
    QString label;
};

// The plot area inside `room`, leaving space for the axis titles and the y tick labels.
QRect plotRect(const QRect &room, const QFontMetrics &fm, const std::vector<Tick> &yTicks)
{
    int labelWidth = 0;
    for (const Tick &t : yTicks)
        labelWidth = std::max(labelWidth, fm.horizontalAdvance(t.label));
    const int left = room.left() + fm.height() + 4 + labelWidth + 6;          // y title, labels
    const int bottom = room.bottom() - (fm.height() + 4) - (fm.height() + 2); // x title, labels
    return QRect(QPoint(left, room.top() + fm.height() / 2), QPoint(room.right() - kPad, bottom));
}

// Grid, axis lines, tick labels (at their pixel positions) and axis titles around `plot`.
void drawAxes(QPainter &p, const QRect &plot, const QString &xTitle, const QString &yTitle,
              const std::vector<std::pair<double, Tick>> &xTicks, const std::vector<std::pair<double, Tick>> &yTicks)
{
    const QFontMetrics fm(p.font());
    // grid, then the axis lines over it
    p.setPen(QPen(furniture(qdq::chart::kGridMix), 1));
    for (const auto &[y, tick] : yTicks)
        p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y));
    for (const auto &[x, tick] : xTicks)
        p.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()));
    p.setPen(QPen(furniture(qdq::chart::kAxisLineMix), 1));
    p.drawLine(plot.bottomLeft(), plot.bottomRight());
    p.drawLine(plot.bottomLeft(), plot.topLeft());
    p.setPen(kText);
    for (const auto &[y, tick] : yTicks) {
        const QRectF r(0, y - fm.height() / 2.0, plot.left() - 6, fm.height());
        p.drawText(r, Qt::AlignRight | Qt::AlignVCenter, tick.label);
    }
    for (const auto &[x, tick] : xTicks) {
        const int w = fm.horizontalAdvance(tick.label) + 2;
        p.drawText(QRectF(x - w / 2.0, plot.bottom() + 2, w, fm.height()), Qt::AlignCenter, tick.label);
    }
    p.drawText(QRect(plot.left(), plot.bottom() + fm.height() + 4, plot.width(), fm.height() + 2), Qt::AlignCenter,
               xTitle);
    p.save();
    p.translate(kPad, plot.center().y());
    p.rotate(-90);
    p.drawText(QRect(-plot.height() / 2, 0, plot.height(), fm.height()), Qt::AlignCenter, yTitle);
    p.restore();
}

} // namespace

QImage lineChart(int width, int height, const QString &title, const QString &yTitle,
                 const std::vector<LineSeries> &series, std::optional<int> markedLayer,
                 std::optional<double> yUpperBound)
{
    QImage image = blankImage(width, height);
    QPainter p(&image);
    p.setRenderHint(QPainter::Antialiasing);
    p.setRenderHint(QPainter::TextAntialiasing);

    // the y range: a margin around the data, then round ticks (1, 2 or 5 x 10^k), never past the
    // upper bound (the GUI's divergence chart does the same)
    double lo = INFINITY;
    double hi = -INFINITY;
    int layers = 0;
    for (const LineSeries &s : series) {
        for (const auto &v : s.values)
            if (v && std::isfinite(*v)) {
                lo = std::min(lo, *v);
                hi = std::max(hi, *v);
            }
        layers = std::max(layers, static_cast<int>(s.values.size()));
    }
    if (!std::isfinite(lo)) {
        lo = 0.0;
        hi = 1.0;
    }
    const qdq::chart::ValueAxis axis = qdq::chart::valueAxis(lo, hi, yUpperBound);
    lo = axis.lo;
    hi = axis.hi;
    const double step = axis.step;
    const int decimals = axis.decimals;
    std::vector<Tick> yTicks;
    const int yCount = axis.ticks();
    for (int i = 0; i < yCount; ++i) {
        const double v = lo + i * step;
        yTicks.push_back({v, QString::number(v, 'f', decimals)});
    }

    std::vector<LegendItem> legend;
    for (std::size_t i = 0; i < series.size(); ++i)
        legend.push_back({colour(qdq::chart::kSeries[i % std::size(qdq::chart::kSeries)]), series[i].name});
    if (markedLayer && *markedLayer >= 0)
        legend.push_back(
            {colour(qdq::chart::kFirstDivergence), QStringLiteral("first divergence: layer %1").arg(*markedLayer)});
    const QRect room = drawFrame(p, title, legend, width, height);
    const QFontMetrics fm(p.font());
    const QRect plot = plotRect(room, fm, yTicks);
    const double xLo = -0.5;
    const double xHi = std::max(layers, 1) - 0.5;
    const auto toX = [&](double x) { return plot.left() + (x - xLo) / (xHi - xLo) * plot.width(); };
    const auto toY = [&](double y) { return plot.bottom() - (y - lo) / (hi - lo) * plot.height(); };

    std::vector<std::pair<double, Tick>> xs;
    const int interval = std::max(1, (layers + 11) / 12); // ticks on whole layers
    for (int layer = 0; layer < std::max(layers, 1); layer += interval)
        xs.push_back({toX(layer), {static_cast<double>(layer), QString::number(layer)}});
    std::vector<std::pair<double, Tick>> ys;
    for (const Tick &t : yTicks)
        ys.push_back({toY(t.value), t});
    drawAxes(p, plot, QStringLiteral("layer"), yTitle, xs, ys);

    p.setClipRect(plot.adjusted(-4, -4, 4, 4));
    for (std::size_t i = 0; i < series.size(); ++i) {
        const QColor c = colour(qdq::chart::kSeries[i % std::size(qdq::chart::kSeries)]);
        QPainterPath path;
        std::vector<QPointF> points;
        for (std::size_t layer = 0; layer < series[i].values.size(); ++layer) {
            const auto &v = series[i].values[layer];
            if (!v || !std::isfinite(*v))
                continue; // the line joins the points on either side, as a Qt Charts line series does
            const QPointF pt(toX(static_cast<double>(layer)), toY(*v));
            if (points.empty())
                path.moveTo(pt);
            else
                path.lineTo(pt);
            points.push_back(pt);
        }
        p.setPen(QPen(c, 2));
        p.setBrush(Qt::NoBrush);
        p.drawPath(path);
        p.setBrush(c);
        for (const QPointF &pt : points)
            p.drawEllipse(pt, 3.0, 3.0);
    }
    if (markedLayer && *markedLayer >= 0) {
        p.setPen(QPen(colour(qdq::chart::kFirstDivergence), 2, Qt::DashLine));
        const double x = toX(*markedLayer);
        p.drawLine(QPointF(x, toY(lo)), QPointF(x, toY(hi)));
    }
    return image;
}

QImage histogramChart(int width, int height, const QString &title, const std::vector<double> &counts,
                      const std::vector<double> &edges, const std::map<QString, double> &methods,
                      std::optional<double> amaxInUse)
{
    QImage image = blankImage(width, height);
    QPainter p(&image);
    p.setRenderHint(QPainter::Antialiasing);
    p.setRenderHint(QPainter::TextAntialiasing);

    // counts on a log axis: empty bins sit on its floor (a log axis cannot show 0)
    double top = 1.0;
    for (std::size_t i = 0; i < counts.size() && i + 1 < edges.size(); ++i)
        top = std::max(top, counts[i]);
    const double yMin = 0.5;
    const double yMax = top * 2.0;
    const double xLo = edges.empty() ? 0.0 : edges.front();
    double xHi = edges.empty() ? 1.0 : edges.back();
    for (const auto &[name, v] : methods)
        xHi = std::max(xHi, v);
    if (xHi <= xLo)
        xHi = xLo + 1.0;

    std::vector<LegendItem> legend{{colour(qdq::chart::kHistogramCounts), QStringLiteral("count")}};
    for (const auto &[name, v] : methods)
        legend.push_back({colour(qdq::chart::calibMethodColour(name.toStdString())),
                          QStringLiteral("%1 %2").arg(name).arg(v, 0, 'g', 4)});
    if (amaxInUse)
        legend.push_back({kText, QStringLiteral("in use %1").arg(*amaxInUse, 0, 'g', 4)});
    const QRect room = drawFrame(p, title, legend, width, height);
    const QFontMetrics fm(p.font());

    std::vector<Tick> yTicks; // powers of ten, as Qt Charts' log axis (base 10, "%g")
    for (double v = 1.0; v <= yMax; v *= 10.0)
        yTicks.push_back({v, QString::asprintf("%g", v)});
    const QRect plot = plotRect(room, fm, yTicks);
    const double logLo = std::log10(yMin);
    const double logHi = std::log10(yMax);
    const auto toX = [&](double x) { return plot.left() + (x - xLo) / (xHi - xLo) * plot.width(); };
    const auto toY = [&](double y) {
        return plot.bottom() - (std::log10(std::max(y, yMin)) - logLo) / (logHi - logLo) * plot.height();
    };

    std::vector<std::pair<double, Tick>> xs;
    const double xStep = qdq::chart::niceStep((xHi - xLo) / 5.0);
    for (double v = std::ceil(xLo / xStep - 1e-9) * xStep; v <= xHi + 1e-9 * xStep; v += xStep)
        xs.push_back({toX(v), {v, QString::number(std::fabs(v) < 1e-12 * xStep ? 0.0 : v, 'g', 4)}});
    std::vector<std::pair<double, Tick>> ys;
    for (const Tick &t : yTicks)
        ys.push_back({toY(t.value), t});
    drawAxes(p, plot, QStringLiteral("|x|"), QStringLiteral("count (log)"), xs, ys);

    p.setClipRect(plot.adjusted(-2, -2, 2, 2));
    QPainterPath outline; // a step outline over the bins
    for (std::size_t i = 0; i < counts.size() && i + 1 < edges.size(); ++i) {
        const double y = toY(std::max(counts[i], yMin));
        if (i == 0)
            outline.moveTo(toX(edges[i]), y);
        else
            outline.lineTo(toX(edges[i]), y);
        outline.lineTo(toX(edges[i + 1]), y);
    }
    p.setPen(QPen(colour(qdq::chart::kHistogramCounts), 1));
    p.setBrush(Qt::NoBrush);
    p.drawPath(outline);
    const auto vertical = [&](double x, const QPen &pen) {
        p.setPen(pen);
        p.drawLine(QPointF(toX(x), toY(yMin)), QPointF(toX(x), toY(yMax)));
    };
    for (const auto &[name, v] : methods)
        vertical(v, QPen(colour(qdq::chart::calibMethodColour(name.toStdString())), 1.5, Qt::DashLine));
    if (amaxInUse)
        vertical(*amaxInUse, QPen(kText, 2.5));
    return image;
}

namespace {

// As ui/heatmap_widget.cpp: sequential white -> deep blue from lo, or diverging blue-white-red.
QColor heatColour(float value, float lo, float hi)
{
    if (!std::isfinite(value))
        return {128, 128, 128};
    if (lo < 0.F) {
        const float m = std::max(std::fabs(lo), std::fabs(hi));
        const float t = std::clamp(value / m, -1.F, 1.F);
        const int k = static_cast<int>(std::lround(255.F * (1.F - std::fabs(t))));
        return t >= 0 ? QColor(255, k, k) : QColor(k, k, 255);
    }
    const float t = std::clamp((value - lo) / (hi - lo), 0.F, 1.F);
    return QColor::fromRgbF(1.F - 0.85F * t, 1.F - 0.65F * t, 1.F - 0.25F * t);
}

} // namespace

QImage heatmap(int width, int height, const std::vector<float> &values, int rows, int cols,
               const QStringList &rowLabels, const QStringList &colLabels, float lo, float hi)
{
    constexpr int kLegendWidth = 14;
    constexpr int kMargin = 4;
    if (!(hi > lo))
        hi = lo + 1.F;
    QImage cells(std::max(cols, 1), std::max(rows, 1), QImage::Format_RGB32);
    cells.fill(Qt::white);
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c)
            cells.setPixel(
                c, r,
                heatColour(
                    values[static_cast<std::size_t>(r) * static_cast<std::size_t>(cols) + static_cast<std::size_t>(c)],
                    lo, hi)
                    .rgb());

    QImage image = blankImage(width, height);
    QPainter p(&image);
    p.setFont(labelFont());
    const QFontMetrics fm(p.font());
    int labelW = 0;
    for (const QString &l : rowLabels)
        labelW = std::max(labelW, fm.horizontalAdvance(l));
    int labelH = 0;
    for (const QString &l : colLabels)
        labelH = std::max(labelH, fm.horizontalAdvance(l));
    const int left = labelW + 2 * kMargin;
    const int topEdge = labelH + 2 * kMargin;
    const QString hiText = QString::number(static_cast<double>(hi), 'g', 3);
    const QString loText = QString::number(static_cast<double>(lo), 'g', 3);
    // room for the legend's range labels, at least "0.000" (as the GUI's heatmap keeps)
    const int rangeW = std::max(
        {fm.horizontalAdvance(QStringLiteral("0.000")), fm.horizontalAdvance(hiText), fm.horizontalAdvance(loText)});
    const int avail = std::min(width - left - kLegendWidth - 6 * kMargin - rangeW, height - topEdge - kMargin);
    const int cell = std::max(1, avail / std::max({rows, cols, 1}));
    const QRect r(left, topEdge, cell * std::max(cols, 1), cell * std::max(rows, 1));
    p.drawImage(r, cells);
    if (rows == 0)
        return image;
    p.setPen(kText);
    const double ch = static_cast<double>(r.height()) / rows;
    const double cw = static_cast<double>(r.width()) / cols;
    if (ch >= fm.height() * 0.8)
        for (int i = 0; i < rows && i < rowLabels.size(); ++i)
            p.drawText(QRectF(0, r.top() + i * ch, r.left() - kMargin, ch), Qt::AlignRight | Qt::AlignVCenter,
                       rowLabels[i]);
    if (cw >= fm.height() * 0.8) {
        p.save();
        p.rotate(-90);
        for (int j = 0; j < cols && j < colLabels.size(); ++j)
            p.drawText(QRectF(-r.top() + kMargin, r.left() + j * cw, r.top() - 2 * kMargin, cw),
                       Qt::AlignLeft | Qt::AlignVCenter, colLabels[j]);
        p.restore();
    }
    // legend: the colour bar with its range
    const QRect legend(r.right() + 3 * kMargin, r.top(), kLegendWidth, r.height());
    for (int y = 0; y < legend.height(); ++y) {
        const float v = hi - (hi - lo) * static_cast<float>(y) / static_cast<float>(std::max(1, legend.height() - 1));
        p.setPen(heatColour(v, lo, hi));
        p.drawLine(legend.left(), legend.top() + y, legend.right(), legend.top() + y);
    }
    p.setPen(QColor(170, 170, 170));
    p.drawRect(legend);
    p.setPen(kText);
    p.drawText(legend.right() + kMargin, legend.top() + fm.ascent(), hiText);
    p.drawText(legend.right() + kMargin, legend.bottom(), loText);
    return image;
}

} // namespace qdq::report

#include "histogram_chart.h"

#include "chart_palette.h"

#include "qdq/chart_palette.h"

#include <QChart>
#include <QChartView>
#include <QEvent>
#include <QLegendMarker>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QMouseEvent>
#include <QPen>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <cmath>

namespace qdq::ui {

struct HistogramChart::Impl {
    QChart *chart = nullptr;
    QChartView *view = nullptr;
    QLineSeries *bars = nullptr;
    QValueAxis *x = nullptr;
    QLogValueAxis *y = nullptr;
    std::map<QString, double> methods;
    std::vector<QLineSeries *> markers;
    QLineSeries *inUse = nullptr;
    double yMin = 1.0;
    double yMax = 10.0;
};

namespace {

QColor qcolour(qdq::chart::Rgb c)
{
    return {c.red, c.green, c.blue};
}

QColor methodColour(const QString &method)
{
    return qcolour(qdq::chart::calibMethodColour(method.toStdString()));
}

} // namespace

HistogramChart::HistogramChart(QWidget *parent) : QWidget(parent), d(new Impl)
{
    setObjectName("histogramChart");
    d->chart = new QChart;
    d->chart->legend()->setAlignment(Qt::AlignBottom);
    d->bars = new QLineSeries;
    d->bars->setName(tr("count"));
    d->bars->setPen(QPen(qcolour(qdq::chart::kHistogramCounts), 1));
    d->chart->addSeries(d->bars);
    d->x = new QValueAxis;
    d->x->setTitleText(tr("|x|"));
    d->y = new QLogValueAxis;
    d->y->setTitleText(tr("count (log)"));
    d->y->setBase(10);
    d->y->setLabelFormat("%g");
    d->chart->addAxis(d->x, Qt::AlignBottom);
    d->chart->addAxis(d->y, Qt::AlignLeft);
    d->bars->attachAxis(d->x);
    d->bars->attachAxis(d->y);
    d->view = new QChartView(d->chart, this);
    d->view->setRenderHint(QPainter::Antialiasing);
    d->view->viewport()->installEventFilter(this);
    d->view->viewport()->setMouseTracking(true);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(d->view);
    applyChartPalette(*d->chart, *d->view, palette());
}

void HistogramChart::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::PaletteChange) {
        applyChartPalette(*d->chart, *d->view, palette());
        redrawMarkers(); // the in-use line is drawn in the text colour
    }
    QWidget::changeEvent(event);
}

HistogramChart::~HistogramChart()
{
    delete d;
}

void HistogramChart::setHistogram(const QString &title, const std::vector<double> &counts,
                                  const std::vector<double> &edges)
{
    d->chart->setTitle(title);
    m_counts.clear();
    QList<QPointF> points;
    points.reserve(static_cast<qsizetype>(2 * counts.size()));
    double top = 1.0;
    for (std::size_t i = 0; i < counts.size() && i + 1 < edges.size(); ++i) {
        // a step outline; empty bins sit on the axis floor (log axes cannot show 0)
        const double c = std::max(counts[i], 0.5);
        points.append(QPointF(edges[i], c));
        points.append(QPointF(edges[i + 1], c));
        m_counts.push_back(counts[i]);
        top = std::max(top, counts[i]);
    }
    d->bars->replace(points);
    d->yMin = 0.5;
    d->yMax = top * 2.0;
    d->y->setRange(d->yMin, d->yMax);
    const double lo = edges.empty() ? 0.0 : edges.front();
    double hi = edges.empty() ? 1.0 : edges.back();
    for (const auto &[name, v] : d->methods)
        hi = std::max(hi, v);
    d->x->setRange(lo, hi > lo ? hi : lo + 1.0);
    redrawMarkers();
}

void HistogramChart::setMethodMarkers(const std::map<QString, double> &amax)
{
    d->methods = amax;
    redrawMarkers();
}

void HistogramChart::setAmaxInUse(std::optional<double> amax)
{
    m_inUse = amax;
    redrawMarkers();
}

int HistogramChart::markerCount() const
{
    return static_cast<int>(d->markers.size()) + (d->inUse ? 1 : 0);
}

void HistogramChart::redrawMarkers()
{
    for (QLineSeries *s : d->markers) {
        d->chart->removeSeries(s);
        delete s;
    }
    d->markers.clear();
    if (d->inUse) {
        d->chart->removeSeries(d->inUse);
        delete d->inUse;
        d->inUse = nullptr;
    }
    auto vertical = [this](double x, const QString &name, const QPen &pen) {
        auto *s = new QLineSeries;
        s->setName(name);
        s->setPen(pen);
        s->append(x, d->yMin);
        s->append(x, d->yMax);
        d->chart->addSeries(s);
        s->attachAxis(d->x);
        s->attachAxis(d->y);
        return s;
    };
    for (const auto &[name, v] : d->methods)
        d->markers.push_back(vertical(v, QStringLiteral("%1 %2").arg(name).arg(v, 0, 'g', 4),
                                      QPen(methodColour(name), 1.5, Qt::DashLine)));
    if (m_inUse)
        d->inUse = vertical(*m_inUse, tr("in use %1 (drag)").arg(*m_inUse, 0, 'g', 4),
                            QPen(palette().color(QPalette::Text), 2.5));
}

QPointF HistogramChart::valueToPosition(double x) const
{
    const QPointF scene = d->chart->mapToPosition(QPointF(x, std::sqrt(d->yMin * d->yMax)), d->bars);
    return d->view->mapFromScene(scene);
}

double HistogramChart::positionToValue(const QPointF &pos) const
{
    return d->chart->mapToValue(d->view->mapToScene(pos.toPoint()), d->bars).x();
}

bool HistogramChart::eventFilter(QObject *watched, QEvent *event)
{
    if (watched != d->view->viewport() || !m_inUse)
        return QWidget::eventFilter(watched, event);
    switch (event->type()) {
    case QEvent::MouseButtonPress: {
        auto *e = static_cast<QMouseEvent *>(event);
        if (e->button() == Qt::LeftButton && std::fabs(e->position().x() - valueToPosition(*m_inUse).x()) <= 6.0) {
            m_dragging = true;
            return true;
        }
        break;
    }
    case QEvent::MouseMove: {
        auto *e = static_cast<QMouseEvent *>(event);
        const bool near = std::fabs(e->position().x() - valueToPosition(*m_inUse).x()) <= 6.0;
        d->view->viewport()->setCursor(near || m_dragging ? Qt::SizeHorCursor : Qt::ArrowCursor);
        if (m_dragging) {
            const double v = std::max(positionToValue(e->position()), 1e-12);
            setAmaxInUse(v);
            emit amaxDragged(v);
            return true;
        }
        break;
    }
    case QEvent::MouseButtonRelease:
        if (m_dragging) {
            m_dragging = false;
            return true;
        }
        break;
    default:
        break;
    }
    return QWidget::eventFilter(watched, event);
}

} // namespace qdq::ui

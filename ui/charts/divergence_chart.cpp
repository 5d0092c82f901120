#include "divergence_chart.h"

#include "chart_palette.h"

#include "qdq/chart_palette.h"

#include <QChart>
#include <QChartView>
#include <QEvent>
#include <QGraphicsScene>
#include <QGraphicsTextItem>
#include <QLegend>
#include <QLegendMarker>
#include <QLineSeries>
#include <QPen>
#include <QScatterSeries>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <cmath>

namespace qdq::ui {

struct DivergenceChart::Impl {
    QChart *chart = nullptr;
    QChartView *view = nullptr;
    QValueAxis *y = nullptr;
    double yStep = 1.0;
    int count = 0;
};

DivergenceChart::DivergenceChart(QWidget *parent) : QWidget(parent), d(new Impl)
{
    d->chart = new QChart;
    d->chart->legend()->setAlignment(Qt::AlignBottom);
    d->chart->legend()->setShowToolTips(true); // the full name where a narrow window elides one
    d->view = new QChartView(d->chart, this);
    d->view->setRenderHint(QPainter::Antialiasing);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(d->view);
    applyChartPalette(*d->chart, *d->view, palette());
}

void DivergenceChart::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::PaletteChange)
        applyChartPalette(*d->chart, *d->view, palette());
    QWidget::changeEvent(event);
}

DivergenceChart::~DivergenceChart()
{
    delete d;
}

int DivergenceChart::seriesCount() const
{
    return d->count;
}

double DivergenceChart::yMin() const
{
    return d->y ? d->y->min() : 0.0;
}

double DivergenceChart::yMax() const
{
    return d->y ? d->y->max() : 0.0;
}

double DivergenceChart::yTickStep() const
{
    return d->yStep;
}

QStringList DivergenceChart::legendTexts() const
{
    QStringList texts;
    for (QLegendMarker *m : d->chart->legend()->markers())
        texts << m->label();
    return texts;
}

bool DivergenceChart::legendFits() const
{
    // the labels as drawn: the legend elides them ("...") when one row is too narrow for all
    QStringList drawn;
    for (QGraphicsItem *item : d->chart->scene()->items())
        if (auto *text = qgraphicsitem_cast<QGraphicsTextItem *>(item); text && d->chart->legend()->isAncestorOf(text))
            drawn << text->toPlainText();
    const QStringList full = legendTexts();
    for (const QString &label : full)
        if (!drawn.contains(label))
            return false;
    return !full.isEmpty();
}

void DivergenceChart::setSeries(const QString &title, const QString &yTitle, const std::vector<Series> &series,
                                std::optional<int> markedLayer, std::optional<double> yUpperBound)
{
    d->chart->removeAllSeries();
    for (QAbstractAxis *axis : d->chart->axes()) {
        d->chart->removeAxis(axis); // gives the axis back to us
        delete axis;
    }
    d->chart->setTitle(title);
    m_marked = markedLayer;
    auto *x = new QValueAxis;
    x->setTitleText(tr("layer"));
    x->setLabelFormat("%d");
    auto *y = new QValueAxis;
    d->y = y;
    y->setTitleText(yTitle);
    d->chart->addAxis(x, Qt::AlignBottom);
    d->chart->addAxis(y, Qt::AlignLeft);
    double lo = INFINITY;
    double hi = -INFINITY;
    int layers = 0;
    d->count = 0;
    for (const Series &s : series) {
        auto *line = new QLineSeries;
        line->setName(s.name);
        line->setPointsVisible(true);
        for (std::size_t i = 0; i < s.values.size(); ++i)
            if (s.values[i] && std::isfinite(*s.values[i])) {
                line->append(static_cast<double>(i), *s.values[i]);
                lo = std::min(lo, *s.values[i]);
                hi = std::max(hi, *s.values[i]);
            }
        layers = std::max(layers, static_cast<int>(s.values.size()));
        d->chart->addSeries(line);
        line->attachAxis(x);
        line->attachAxis(y);
        connect(line, &QLineSeries::clicked, this,
                [this](const QPointF &p) { emit layerClicked(static_cast<int>(std::lround(p.x()))); });
        ++d->count;
    }
    if (!std::isfinite(lo)) {
        lo = 0.0;
        hi = 1.0;
    }
    // a margin around the data, then round ticks (1, 2 or 5 x 10^k), never past the upper bound
    const qdq::chart::ValueAxis axis = qdq::chart::valueAxis(lo, hi, yUpperBound);
    d->yStep = axis.step;
    y->setRange(axis.lo, axis.hi);
    // both ends are multiples of the step: evenly spaced fixed ticks land on them exactly (dynamic
    // ticks, added up step by step, can miss the top one by a rounding error)
    y->setTickCount(axis.ticks());
    y->setLabelFormat(QStringLiteral("%.%1f").arg(axis.decimals));
    x->setRange(-0.5, std::max(layers, 1) - 0.5);
    // ticks on whole layers (a fixed tick count would put them between layers)
    x->setTickType(QValueAxis::TicksDynamic);
    x->setTickAnchor(0.0);
    x->setTickInterval(std::max(1, (layers + 11) / 12));
    if (markedLayer && *markedLayer >= 0) {
        auto *mark = new QLineSeries;
        mark->setName(tr("first divergence: layer %1").arg(*markedLayer));
        const qdq::chart::Rgb red = qdq::chart::kFirstDivergence;
        mark->setPen(QPen(QColor(red.red, red.green, red.blue), 2, Qt::DashLine));
        mark->append(*markedLayer, lo);
        mark->append(*markedLayer, hi);
        d->chart->addSeries(mark);
        mark->attachAxis(x);
        mark->attachAxis(y);
    }
    applyChartPalette(*d->chart, *d->view, palette()); // the new axes
}

} // namespace qdq::ui

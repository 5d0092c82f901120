#include "divergence_chart.h"

#include <QChart>
#include <QChartView>
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
    int count = 0;
};

DivergenceChart::DivergenceChart(QWidget *parent) : QWidget(parent), d(new Impl)
{
    d->chart = new QChart;
    d->chart->legend()->setAlignment(Qt::AlignBottom);
    d->view = new QChartView(d->chart, this);
    d->view->setRenderHint(QPainter::Antialiasing);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(d->view);
}

DivergenceChart::~DivergenceChart()
{
    delete d;
}

int DivergenceChart::seriesCount() const
{
    return d->count;
}

void DivergenceChart::setSeries(const QString &title, const QString &yTitle, const std::vector<Series> &series,
                                std::optional<int> markedLayer)
{
    d->chart->removeAllSeries();
    for (QAbstractAxis *axis : d->chart->axes())
        d->chart->removeAxis(axis);
    d->chart->setTitle(title);
    m_marked = markedLayer;
    auto *x = new QValueAxis;
    x->setTitleText(tr("layer"));
    x->setLabelFormat("%d");
    auto *y = new QValueAxis;
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
    const double pad = std::max((hi - lo) * 0.08, 1e-6);
    y->setRange(lo - pad, hi + pad);
    x->setRange(-0.5, std::max(layers, 1) - 0.5);
    // ticks on whole layers (a fixed tick count would put them between layers)
    x->setTickType(QValueAxis::TicksDynamic);
    x->setTickAnchor(0.0);
    x->setTickInterval(std::max(1, (layers + 11) / 12));
    if (markedLayer && *markedLayer >= 0) {
        auto *mark = new QLineSeries;
        mark->setName(tr("first divergence: layer %1").arg(*markedLayer));
        mark->setPen(QPen(QColor(200, 40, 40), 2, Qt::DashLine));
        mark->append(*markedLayer, lo - pad);
        mark->append(*markedLayer, hi + pad);
        d->chart->addSeries(mark);
        mark->attachAxis(x);
        mark->attachAxis(y);
    }
}

} // namespace qdq::ui

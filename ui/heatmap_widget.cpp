#include "heatmap_widget.h"

#include <QHelpEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>

#include <algorithm>
#include <cmath>

namespace qdq::ui {

namespace {
constexpr int kLegendWidth = 14;
constexpr int kMargin = 4;
} // namespace

HeatmapWidget::HeatmapWidget(QWidget *parent) : QWidget(parent)
{
    setMouseTracking(true);
    setMinimumSize(80, 80);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
}

void HeatmapWidget::setMatrix(std::vector<float> values, int rows, int cols, QStringList rowLabels,
                              QStringList colLabels, float lo, float hi)
{
    m_values = std::move(values);
    m_rows = rows;
    m_cols = cols;
    m_rowLabels = std::move(rowLabels);
    m_colLabels = std::move(colLabels);
    m_lo = lo;
    m_hi = hi > lo ? hi : lo + 1.f;
    rebuildImage();
    update();
}

void HeatmapWidget::setCompact(bool compact)
{
    m_compact = compact;
    update();
}

float HeatmapWidget::valueAt(int row, int col) const
{
    if (row < 0 || col < 0 || row >= m_rows || col >= m_cols)
        return std::nanf("");
    return m_values[static_cast<std::size_t>(row * m_cols + col)];
}

QColor HeatmapWidget::colourFor(float value, float lo, float hi)
{
    if (!std::isfinite(value))
        return QColor(128, 128, 128);
    if (lo < 0.f) { // diverging: blue (negative) - white - red (positive)
        const float m = std::max(std::fabs(lo), std::fabs(hi));
        const float t = std::clamp(value / m, -1.f, 1.f);
        const int k = static_cast<int>(std::lround(255.f * (1.f - std::fabs(t))));
        return t >= 0 ? QColor(255, k, k) : QColor(k, k, 255);
    }
    // sequential: white -> deep blue
    const float t = std::clamp((value - lo) / (hi - lo), 0.f, 1.f);
    return QColor::fromRgbF(1.f - 0.85f * t, 1.f - 0.65f * t, 1.f - 0.25f * t);
}

void HeatmapWidget::rebuildImage()
{
    m_image = QImage(std::max(m_cols, 1), std::max(m_rows, 1), QImage::Format_RGB32);
    m_image.fill(Qt::white);
    for (int r = 0; r < m_rows; ++r)
        for (int c = 0; c < m_cols; ++c)
            m_image.setPixel(c, r, colourFor(valueAt(r, c), m_lo, m_hi).rgb());
}

QRect HeatmapWidget::matrixRect() const
{
    if (m_compact)
        return rect().adjusted(1, 1, -1, -1);
    const QFontMetrics fm(font());
    int labelW = 0;
    for (const QString &l : m_rowLabels)
        labelW = std::max(labelW, fm.horizontalAdvance(l));
    int labelH = 0;
    for (const QString &l : m_colLabels)
        labelH = std::max(labelH, fm.horizontalAdvance(l));
    const int left = labelW + 2 * kMargin;
    const int top = labelH + 2 * kMargin;
    const int avail =
        std::min(width() - left - kLegendWidth - 6 * kMargin - fm.horizontalAdvance("0.000"), height() - top - kMargin);
    const int cell = std::max(1, avail / std::max({m_rows, m_cols, 1}));
    return QRect(left, top, cell * std::max(m_cols, 1), cell * std::max(m_rows, 1));
}

QPoint HeatmapWidget::cellAt(const QPoint &pos) const
{
    const QRect r = matrixRect();
    if (!r.contains(pos) || m_rows == 0 || m_cols == 0)
        return {-1, -1};
    return {(pos.x() - r.left()) * m_cols / r.width(), (pos.y() - r.top()) * m_rows / r.height()};
}

void HeatmapWidget::paintEvent(QPaintEvent *)
{
    QPainter p(this);
    const QRect r = matrixRect();
    p.drawImage(r, m_image);
    if (m_compact || m_rows == 0)
        return;
    const QFontMetrics fm(font());
    p.setPen(palette().color(QPalette::WindowText));
    const double ch = static_cast<double>(r.height()) / m_rows;
    const double cw = static_cast<double>(r.width()) / m_cols;
    if (ch >= fm.height() * 0.8)
        for (int i = 0; i < m_rows && i < m_rowLabels.size(); ++i)
            p.drawText(QRectF(0, r.top() + i * ch, r.left() - kMargin, ch), Qt::AlignRight | Qt::AlignVCenter,
                       m_rowLabels[i]);
    if (cw >= fm.height() * 0.8) {
        p.save();
        p.rotate(-90);
        for (int j = 0; j < m_cols && j < m_colLabels.size(); ++j)
            p.drawText(QRectF(-r.top() + kMargin, r.left() + j * cw, r.top() - 2 * kMargin, cw),
                       Qt::AlignLeft | Qt::AlignVCenter, m_colLabels[j]);
        p.restore();
    }
    // legend: colour bar with its range
    const QRect legend(r.right() + 3 * kMargin, r.top(), kLegendWidth, r.height());
    for (int y = 0; y < legend.height(); ++y) {
        const float v =
            m_hi - (m_hi - m_lo) * static_cast<float>(y) / static_cast<float>(std::max(1, legend.height() - 1));
        p.setPen(colourFor(v, m_lo, m_hi));
        p.drawLine(legend.left(), legend.top() + y, legend.right(), legend.top() + y);
    }
    p.setPen(palette().color(QPalette::Mid));
    p.drawRect(legend);
    p.setPen(palette().color(QPalette::WindowText));
    p.drawText(legend.right() + kMargin, legend.top() + fm.ascent(),
               QString::number(static_cast<double>(m_hi), 'g', 3));
    p.drawText(legend.right() + kMargin, legend.bottom(), QString::number(static_cast<double>(m_lo), 'g', 3));
}

bool HeatmapWidget::event(QEvent *event)
{
    if (event->type() == QEvent::ToolTip) {
        auto *help = static_cast<QHelpEvent *>(event);
        const QPoint cell = cellAt(help->pos());
        if (cell.x() >= 0) {
            const QString row = cell.y() < m_rowLabels.size() ? m_rowLabels[cell.y()] : QString::number(cell.y());
            const QString col = cell.x() < m_colLabels.size() ? m_colLabels[cell.x()] : QString::number(cell.x());
            QToolTip::showText(
                help->globalPos(),
                tr("%1 → %2: %3").arg(row, col).arg(static_cast<double>(valueAt(cell.y(), cell.x())), 0, 'g', 6));
        } else {
            QToolTip::hideText();
        }
        return true;
    }
    return QWidget::event(event);
}

void HeatmapWidget::mousePressEvent(QMouseEvent *event)
{
    if (event->button() == Qt::LeftButton)
        emit clicked();
    QWidget::mousePressEvent(event);
}

} // namespace qdq::ui

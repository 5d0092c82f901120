#pragma once
// A matrix as a heatmap (style.md: plain QWidget + QImage, exact and fast): token labels on
// both axes, a colour legend, the exact value of the cell under the mouse as a tooltip.

#include <QImage>
#include <QStringList>
#include <QWidget>

#include <vector>

namespace qdq::ui {

class HeatmapWidget : public QWidget {
    Q_OBJECT
public:
    explicit HeatmapWidget(QWidget *parent = nullptr);

    // rows × cols values, row-major; colours span [lo, hi] (sequential scale from 0 when lo = 0,
    // diverging blue-white-red when lo < 0).
    void setMatrix(std::vector<float> values, int rows, int cols, QStringList rowLabels, QStringList colLabels,
                   float lo, float hi);
    void setCompact(bool compact); // thumbnails: no labels, no legend
    [[nodiscard]] float valueAt(int row, int col) const;
    [[nodiscard]] int rows() const { return m_rows; }
    [[nodiscard]] int cols() const { return m_cols; }
    // The cell under a widget position, or (-1, -1).
    [[nodiscard]] QPoint cellAt(const QPoint &pos) const;
    [[nodiscard]] static QColor colourFor(float value, float lo, float hi);

signals:
    void clicked();

protected:
    void paintEvent(QPaintEvent *event) override;
    bool event(QEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;

private:
    [[nodiscard]] QRect matrixRect() const;
    void rebuildImage();

    std::vector<float> m_values;
    int m_rows = 0;
    int m_cols = 0;
    QStringList m_rowLabels;
    QStringList m_colLabels;
    float m_lo = 0.f;
    float m_hi = 1.f;
    bool m_compact = false;
    QImage m_image;
};

} // namespace qdq::ui

#pragma once
// Activation histogram of one quantizer (Qt Charts, isolated here per style.md): counts on a log
// axis, a vertical marker for the amax each calibration method chooses, and the amax in use as
// a marker the user can drag (what-if). Colours follow the palette (light and dark themes).

#include <QString>
#include <QWidget>

#include <map>
#include <optional>
#include <vector>

namespace qdq::ui {

class HistogramChart : public QWidget {
    Q_OBJECT
public:
    explicit HistogramChart(QWidget *parent = nullptr);
    ~HistogramChart() override;

    // counts[i] for the bin [edges[i], edges[i+1]); edges.size() == counts.size() + 1.
    void setHistogram(const QString &title, const std::vector<double> &counts, const std::vector<double> &edges);
    // Markers by method name ("max", "percentile", "mse", "entropy").
    void setMethodMarkers(const std::map<QString, double> &amax);
    // The amax in use (draggable); nullopt hides it.
    void setAmaxInUse(std::optional<double> amax);
    [[nodiscard]] std::optional<double> amaxInUse() const { return m_inUse; }
    // Maps a value on the x axis to widget coordinates and back (for tests and dragging).
    [[nodiscard]] QPointF valueToPosition(double x) const;
    [[nodiscard]] double positionToValue(const QPointF &pos) const;
    [[nodiscard]] int markerCount() const;
    // The counts drawn, one per bin (for tests).
    [[nodiscard]] const std::vector<double> &counts() const { return m_counts; }

signals:
    // The user dragged the in-use marker to `amax` (emitted while dragging).
    void amaxDragged(double amax);

protected:
    bool eventFilter(QObject *watched, QEvent *event) override;
    void changeEvent(QEvent *event) override;

private:
    struct Impl;
    void redrawMarkers();
    Impl *d;
    std::optional<double> m_inUse;
    std::vector<double> m_counts;
    bool m_dragging = false;
};

} // namespace qdq::ui

#pragma once
// Per-layer divergence (Qt Charts, isolated here per style.md): one line per series (e.g. SQNR of
// FP32 vs qdq cumulative, local, FP32 vs int8), the first divergent layer marked, click a point
// to pick its layer. Colours follow the palette (light and dark themes).

#include <QString>
#include <QStringList>
#include <QWidget>

#include <optional>
#include <vector>

namespace qdq::ui {

class DivergenceChart : public QWidget {
    Q_OBJECT
public:
    struct Series {
        QString name;
        std::vector<std::optional<double>> values; // per layer; nullopt = no point
    };

    explicit DivergenceChart(QWidget *parent = nullptr);
    ~DivergenceChart() override;

    // The y axis gets round ticks and ends at `yUpperBound` at most (1 for a cosine similarity).
    void setSeries(const QString &title, const QString &yTitle, const std::vector<Series> &series,
                   std::optional<int> markedLayer, std::optional<double> yUpperBound = std::nullopt);
    [[nodiscard]] int seriesCount() const;
    [[nodiscard]] std::optional<int> markedLayer() const { return m_marked; }
    // The y axis range and tick step drawn (for tests).
    [[nodiscard]] double yMin() const;
    [[nodiscard]] double yMax() const;
    [[nodiscard]] double yTickStep() const;
    // Legend entries, and whether every one is drawn in full (none elided).
    [[nodiscard]] QStringList legendTexts() const;
    [[nodiscard]] bool legendFits() const;

signals:
    void layerClicked(int layer);

protected:
    void changeEvent(QEvent *event) override;

private:
    struct Impl;
    Impl *d;
    std::optional<int> m_marked;
};

} // namespace qdq::ui

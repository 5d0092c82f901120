#pragma once
// Per-layer divergence (Qt Charts, isolated here per style.md): one line per series (e.g. SQNR of
// FP32 vs qdq cumulative, local, FP32 vs int8), the first divergent layer marked, click a point
// to pick its layer.

#include <QString>
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

    void setSeries(const QString &title, const QString &yTitle, const std::vector<Series> &series,
                   std::optional<int> markedLayer);
    [[nodiscard]] int seriesCount() const;
    [[nodiscard]] std::optional<int> markedLayer() const { return m_marked; }

signals:
    void layerClicked(int layer);

private:
    struct Impl;
    Impl *d;
    std::optional<int> m_marked;
};

} // namespace qdq::ui

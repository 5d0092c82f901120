#pragma once
// Layers view: per-layer divergence of the quantized model from FP32 (SQNR and cosine;
// cumulative, local, int8, simulated vs real), the first divergent layer marked, and the task
// agreement, from an analysis run (Tools ▸ Analyze…). Clicking a layer filters the quantizers.

#include "qdq/analysis.h"

#include <QWidget>

#include <memory>

class QLabel;

namespace qdq::ui {

class DivergenceChart;

class LayersView : public QWidget {
    Q_OBJECT
public:
    explicit LayersView(QWidget *parent = nullptr);

    void setReport(std::shared_ptr<const qdq::AnalysisReport> report);
    [[nodiscard]] std::shared_ptr<const qdq::AnalysisReport> report() const { return m_report; }
    [[nodiscard]] DivergenceChart *sqnrChart() const { return m_sqnr; }
    [[nodiscard]] DivergenceChart *cosineChart() const { return m_cosine; }
    [[nodiscard]] QString summary() const;

    // The first-divergence link's action (for tests): emits firstDivergenceActivated.
    void activateFirstDivergence();

signals:
    void layerClicked(int layer);
    // The summary's first-divergence link: rank that layer's quantizers (Sensitivity view).
    void firstDivergenceActivated(int layer);

private:
    std::shared_ptr<const qdq::AnalysisReport> m_report;
    QLabel *m_summary = nullptr;
    DivergenceChart *m_sqnr = nullptr;
    DivergenceChart *m_cosine = nullptr;
};

} // namespace qdq::ui

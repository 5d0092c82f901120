#pragma once
// The Sensitivity view (issue 28): the quantizers ranked by their effect on the task output
// (Tools ▸ Analyze… with "per-quantizer sensitivity"; qdq/sensitivity.h), a "Keep FP32" check box
// per row that disables that quantizer in the Quantizers view's configuration (the playground
// re-runs), the greedy suggestion, the layer / kind sweeps (the fast first pass) and the result
// of the last Tools ▸ Repair….

#include "qdq/analysis.h"
#include "qdq/quant/quant_config.h"
#include "qdq/sensitivity.h"

#include <QWidget>

#include <memory>

class QLabel;
class QPushButton;
class QTableWidget;

namespace qdq::ui {

class SensitivityView : public QWidget {
    Q_OBJECT
public:
    enum Column { Rank, KeepFp32, Quantizer, Layer, Kind, Relief, Without, Only, Top1Without, ColumnCount };

    explicit SensitivityView(QWidget *parent = nullptr);

    // nullptr, or an analysis without sensitivity, shows what to run.
    void setAnalysis(std::shared_ptr<const qdq::AnalysisReport> report);
    void setRepair(std::shared_ptr<const qdq::RepairResult> result, const QString &folder);
    // The configuration the Keep FP32 boxes reflect (checked = the quantizer is disabled).
    void setQuantConfig(const qdq::QuantConfig &config);
    // Only the rows of one layer (-1: all), e.g. from the Layers view's first-divergence marker.
    void showLayer(int layer);
    [[nodiscard]] int shownLayer() const noexcept { return m_layer; }

    [[nodiscard]] QTableWidget *quantizerTable() const { return m_table; }
    [[nodiscard]] QTableWidget *sweepTable() const { return m_sweeps; }
    [[nodiscard]] QTableWidget *repairTable() const { return m_repair; }

signals:
    // The user checked (keepFp32 = true) or cleared a row's Keep FP32 box, or applied the suggestion.
    void keepFp32Toggled(const qdq::QuantizerSite &site, bool keepFp32);
    // "Open Repaired Checkpoint" after a repair.
    void openRequested(const QString &folder);

private:
    void fill();
    void applySuggestion();

    std::shared_ptr<const qdq::AnalysisReport> m_report;
    std::shared_ptr<const qdq::RepairResult> m_repairResult;
    qdq::QuantConfig m_config;
    bool m_filling = false;
    int m_layer = -1;
    QLabel *m_summary = nullptr;
    QLabel *m_suggestion = nullptr;
    QPushButton *m_apply = nullptr;
    QTableWidget *m_table = nullptr;
    QTableWidget *m_sweeps = nullptr;
    QLabel *m_repairSummary = nullptr;
    QTableWidget *m_repair = nullptr;
    QPushButton *m_openRepaired = nullptr;
    QString m_repairFolder;
};

} // namespace qdq::ui

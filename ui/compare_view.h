#pragma once
// Compare view: a second checkpoint (B) against the open one (A): every quantizer's amax side
// by side with their ratio, how far each weight moved, and - on a data file - both models'
// per-layer divergence from their own FP32 (qdq and int8) in one chart.

#include "qdq/analysis.h"
#include "qdq/checkpoint.h"
#include "qdq/compare.h"

#include <QAbstractTableModel>
#include <QFutureWatcher>
#include <QWidget>

#include <memory>

class QLabel;
class QPushButton;

namespace qdq::ui {

class DivergenceChart;
class LoadJob;

class QuantizerCompareModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Layer, Site, AmaxA, AmaxB, Ratio, ChannelShift, ColumnCount };
    explicit QuantizerCompareModel(QObject *parent = nullptr);
    void setComparison(std::shared_ptr<const qdq::CheckpointComparison> comparison);
    [[nodiscard]] int rowCount(const QModelIndex &parent = {}) const override;
    [[nodiscard]] int columnCount(const QModelIndex &parent = {}) const override;
    [[nodiscard]] QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    [[nodiscard]] QVariant headerData(int section, Qt::Orientation orientation,
                                      int role = Qt::DisplayRole) const override;

private:
    std::shared_ptr<const qdq::CheckpointComparison> m_comparison;
};

class TensorCompareModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Name, MaxAbs, RelativeL2, ColumnCount };
    explicit TensorCompareModel(QObject *parent = nullptr);
    void setComparison(std::shared_ptr<const qdq::CheckpointComparison> comparison);
    [[nodiscard]] int rowCount(const QModelIndex &parent = {}) const override;
    [[nodiscard]] int columnCount(const QModelIndex &parent = {}) const override;
    [[nodiscard]] QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    [[nodiscard]] QVariant headerData(int section, Qt::Orientation orientation,
                                      int role = Qt::DisplayRole) const override;

private:
    std::shared_ptr<const qdq::CheckpointComparison> m_comparison;
};

class CompareView : public QWidget {
    Q_OBJECT
public:
    explicit CompareView(QWidget *parent = nullptr);

    void setCheckpointA(std::shared_ptr<const qdq::Checkpoint> a);
    // Loads B (file, folder or zip) on a worker thread, then compares.
    void openB(const QString &path);
    [[nodiscard]] QuantizerCompareModel *quantizerModel() const { return m_quantizers; }
    [[nodiscard]] TensorCompareModel *tensorModel() const { return m_tensors; }
    // Analyses A and B on `dataFile` (the first `samples` examples) on a worker thread and shows
    // their per-layer SQNR side by side (divergenceReady or errorOccurred follow).
    void analyzeBoth(const QString &dataFile, int samples = 16);
    [[nodiscard]] DivergenceChart *divergenceChart() const { return m_divergence; }
    // The analyses behind the chart (A, B); null before analyzeBoth() finished.
    [[nodiscard]] std::shared_ptr<const qdq::AnalysisReport> divergenceA() const { return m_divA; }
    [[nodiscard]] std::shared_ptr<const qdq::AnalysisReport> divergenceB() const { return m_divB; }

signals:
    void compared();
    void divergenceReady();
    void errorOccurred(const QString &message);

private:
    void compare();
    struct Divergences {
        std::shared_ptr<const qdq::AnalysisReport> a;
        std::shared_ptr<const qdq::AnalysisReport> b;
        QString error;
    };
    QFutureWatcher<Divergences> m_analysis;
    DivergenceChart *m_divergence = nullptr;
    std::shared_ptr<const qdq::AnalysisReport> m_divA;
    std::shared_ptr<const qdq::AnalysisReport> m_divB;
    QPushButton *m_analyze = nullptr;

    std::shared_ptr<const qdq::Checkpoint> m_a;
    std::shared_ptr<const qdq::Checkpoint> m_b;
    LoadJob *m_load = nullptr;
    QFutureWatcher<std::shared_ptr<const qdq::CheckpointComparison>> m_watcher;
    QuantizerCompareModel *m_quantizers = nullptr;
    TensorCompareModel *m_tensors = nullptr;
    QLabel *m_status = nullptr;
    QPushButton *m_open = nullptr;
};

} // namespace qdq::ui

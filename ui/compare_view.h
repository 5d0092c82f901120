#pragma once
// Compare view: a second checkpoint (B) against the open one (A): every quantizer's amax side
// by side with their ratio, and how far each weight moved.

#include "qdq/checkpoint.h"
#include "qdq/compare.h"

#include <QAbstractTableModel>
#include <QFutureWatcher>
#include <QWidget>

#include <memory>

class QLabel;
class QPushButton;

namespace qdq::ui {

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

signals:
    void compared();
    void errorOccurred(const QString &message);

private:
    void compare();

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

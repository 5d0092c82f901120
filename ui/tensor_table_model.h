#pragma once
// Every tensor of a loaded checkpoint as a table: name, dtype, shape, bytes, role.

#include "qdq/checkpoint.h"

#include <QAbstractTableModel>

#include <memory>
#include <vector>

namespace qdq::ui {

class TensorTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Name, DTypeColumn, ShapeColumn, Bytes, Role, ColumnCount };
    enum Roles { SortRole = Qt::UserRole + 1 };

    explicit TensorTableModel(QObject *parent = nullptr);

    void setCheckpoint(std::shared_ptr<const qdq::Checkpoint> checkpoint);

    [[nodiscard]] int rowCount(const QModelIndex &parent = {}) const override;
    [[nodiscard]] int columnCount(const QModelIndex &parent = {}) const override;
    [[nodiscard]] QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    [[nodiscard]] QVariant headerData(int section, Qt::Orientation orientation,
                                      int role = Qt::DisplayRole) const override;

private:
    struct Row {
        QString name;
        QString dtype;
        QString shape;
        qint64 bytes = 0;
        QString role;
    };
    std::shared_ptr<const qdq::Checkpoint> m_checkpoint;
    std::vector<Row> m_rows;
};

} // namespace qdq::ui

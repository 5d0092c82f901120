#pragma once
// Every quantizer of the loaded model (reference §1.2): layer, site, kind, amax (scalar, or
// min / median / max of a per-channel amax) and whether it is calibrated or dynamic.

#include "qdq/checkpoint.h"

#include <QAbstractTableModel>

#include <memory>
#include <vector>

namespace qdq::ui {

class QuantizerTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Layer, Block, Site, Kind, Amax, State, ShapeColumn, ColumnCount };
    enum Roles { SortRole = Qt::UserRole + 1, AmaxKeyRole };

    explicit QuantizerTableModel(QObject *parent = nullptr);

    void setCheckpoint(std::shared_ptr<const qdq::Checkpoint> checkpoint);

    [[nodiscard]] int rowCount(const QModelIndex &parent = {}) const override;
    [[nodiscard]] int columnCount(const QModelIndex &parent = {}) const override;
    [[nodiscard]] QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    [[nodiscard]] QVariant headerData(int section, Qt::Orientation orientation,
                                      int role = Qt::DisplayRole) const override;

private:
    struct Row {
        int layer = 0;
        QString block;
        QString site;
        QString kind;
        QString amaxText;
        double amaxSort = -1.0; // max amax; -1 when dynamic
        bool calibrated = false;
        QString shape;
        QString amaxKey;
    };
    std::vector<Row> m_rows;
};

} // namespace qdq::ui

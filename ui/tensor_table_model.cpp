#include "tensor_table_model.h"

#include "qdq/quantizer_site.h"

#include <QLocale>

namespace qdq::ui {

TensorTableModel::TensorTableModel(QObject *parent) : QAbstractTableModel(parent) {}

void TensorTableModel::setCheckpoint(std::shared_ptr<const qdq::Checkpoint> checkpoint)
{
    beginResetModel();
    m_checkpoint = std::move(checkpoint);
    m_rows.clear();
    if (m_checkpoint) {
        m_rows.reserve(m_checkpoint->tensors.size());
        for (const auto &[name, tensor] : m_checkpoint->tensors) {
            Row row;
            row.name = QString::fromStdString(name);
            row.dtype = QString::fromLatin1(dtypeName(tensor.dtype()));
            row.shape = QString::fromStdString(shapeString(tensor.shape()));
            row.bytes = static_cast<qint64>(tensor.nbytes());
            if (const auto site = QuantizerSite::fromKey(name))
                row.role = tr("%1 quantizer amax").arg(QString::fromLatin1(siteKindName(site->kind())));
            else
                row.role = tr("weight");
            m_rows.push_back(std::move(row));
        }
    }
    endResetModel();
}

int TensorTableModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_rows.size());
}

int TensorTableModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant TensorTableModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Row &row = m_rows[static_cast<std::size_t>(index.row())];
    if (role == Qt::DisplayRole || role == Qt::ToolTipRole) {
        switch (index.column()) {
        case Name:
            return row.name;
        case DTypeColumn:
            return row.dtype;
        case ShapeColumn:
            return row.shape;
        case Bytes:
            return QLocale().formattedDataSize(row.bytes);
        case Role:
            return row.role;
        default:
            return {};
        }
    }
    if (role == SortRole)
        return index.column() == Bytes ? QVariant(row.bytes) : data(index, Qt::DisplayRole);
    if (role == Qt::TextAlignmentRole && index.column() == Bytes)
        return QVariant(Qt::AlignRight | Qt::AlignVCenter);
    return {};
}

QVariant TensorTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case Name:
        return tr("Tensor");
    case DTypeColumn:
        return tr("Type");
    case ShapeColumn:
        return tr("Shape");
    case Bytes:
        return tr("Size");
    case Role:
        return tr("Role");
    default:
        return {};
    }
}

} // namespace qdq::ui

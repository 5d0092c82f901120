#include "quantizer_table_model.h"

#include <QBrush>
#include <QPalette>

#include <algorithm>

namespace qdq::ui {

namespace {

QString formatAmax(double v)
{
    return QString::number(v, 'g', 5);
}

} // namespace

QuantizerTableModel::QuantizerTableModel(QObject *parent) : QAbstractTableModel(parent) {}

void QuantizerTableModel::setCheckpoint(std::shared_ptr<const qdq::Checkpoint> checkpoint)
{
    beginResetModel();
    m_rows.clear();
    if (checkpoint) {
        m_rows.reserve(checkpoint->quantizers.size());
        for (const QuantizerInfo &q : checkpoint->quantizers) {
            Row row;
            row.layer = q.site.layer;
            const bool ffn = static_cast<int>(q.site.id) >= kCrossAttentionSites;
            row.block = ffn ? tr("ffn") : (q.site.crossAttention ? tr("cross-attention") : tr("attention"));
            row.site = QString::fromLatin1(siteRelativeName(q.site.id));
            row.kind = QString::fromLatin1(siteKindName(q.site.kind()));
            row.calibrated = q.calibrated;
            row.amaxKey = QString::fromStdString(q.amaxKey);
            if (q.calibrated && checkpoint->has(q.amaxKey)) {
                std::vector<float> v = checkpoint->get(q.amaxKey).toFloatVector();
                row.shape = QString::fromStdString(shapeString(q.amaxShape));
                if (v.size() == 1) {
                    row.amaxText = formatAmax(v[0]);
                    row.amaxSort = v[0];
                } else if (!v.empty()) {
                    std::sort(v.begin(), v.end());
                    row.amaxText = tr("%1 … %2 … %3 (%4 channels)")
                                       .arg(formatAmax(v.front()), formatAmax(v[v.size() / 2]), formatAmax(v.back()))
                                       .arg(v.size());
                    row.amaxSort = v.back();
                }
            } else {
                row.amaxText = tr("per call");
                row.shape = q.site.kind() == SiteKind::Weight ? tr("[out, 1]") : tr("[]");
            }
            m_rows.push_back(std::move(row));
        }
    }
    endResetModel();
}

int QuantizerTableModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_rows.size());
}

int QuantizerTableModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant QuantizerTableModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Row &row = m_rows[static_cast<std::size_t>(index.row())];
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case Layer:
            return row.layer;
        case Block:
            return row.block;
        case Site:
            return row.site;
        case Kind:
            return row.kind;
        case Amax:
            return row.amaxText;
        case State:
            return row.calibrated ? tr("calibrated") : tr("dynamic");
        case ShapeColumn:
            return row.shape;
        default:
            return {};
        }
    case SortRole:
        if (index.column() == Layer)
            return index.row(); // rows are in layer and dataflow order
        if (index.column() == Amax)
            return row.amaxSort;
        return data(index, Qt::DisplayRole);
    case AmaxKeyRole:
        return row.amaxKey;
    case Qt::ToolTipRole:
        return row.calibrated ? row.amaxKey
                              : tr("No stored amax: computed from each input as max |x| (reference §2.4)");
    case Qt::ForegroundRole:
        if (!row.calibrated && index.column() == Amax)
            return QBrush(QPalette().color(QPalette::PlaceholderText));
        return {};
    case Qt::TextAlignmentRole:
        if (index.column() == Layer)
            return QVariant(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    default:
        return {};
    }
}

QVariant QuantizerTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case Layer:
        return tr("Layer");
    case Block:
        return tr("Block");
    case Site:
        return tr("Quantizer");
    case Kind:
        return tr("Kind");
    case Amax:
        return tr("Amax");
    case State:
        return tr("State");
    case ShapeColumn:
        return tr("Shape");
    default:
        return {};
    }
}

} // namespace qdq::ui

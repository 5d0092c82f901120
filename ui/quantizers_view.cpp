#include "quantizers_view.h"

#include "filtered_table.h"
#include "quantizer_table_model.h"

#include <QRegularExpression>
#include <QSortFilterProxyModel>
#include <QTableView>

namespace qdq::ui {

QuantizersView::QuantizersView(QWidget *parent) : QWidget(parent)
{
    setObjectName("quantizersView");
    m_model = new QuantizerTableModel(this);
    const FilteredTable page = addFilteredTable(
        this, m_model, QuantizerTableModel::SortRole, QuantizerTableModel::Site, QuantizerTableModel::Site,
        tr("Filter quantizers (e.g. matmul or weight)"), QStringLiteral("quantizerTable"));
    m_proxy = page.proxy;
    m_table = page.view;
    connect(m_table->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            [this](const QModelIndex &current) {
                const QModelIndex source = m_proxy->mapToSource(current);
                if (source.isValid())
                    emit siteSelected(m_model->siteAt(source.row()), m_model->amaxInUse(source.row()));
            });
}

void QuantizersView::selectRow(int row)
{
    m_table->setCurrentIndex(m_proxy->mapFromSource(m_model->index(row, 0)));
}

bool QuantizersView::selectSite(const qdq::QuantizerSite &site)
{
    const int row = m_model->rowOf(site);
    if (row < 0)
        return false;
    selectRow(row);
    return true;
}

void QuantizersView::setLayerFilter(int layer)
{
    m_proxy->setFilterKeyColumn(QuantizerTableModel::Layer);
    m_proxy->setFilterRegularExpression(QRegularExpression(QStringLiteral("^%1$").arg(layer)));
}

void QuantizersView::overrideAmax(const qdq::QuantizerSite &site, double amax)
{
    const int row = m_model->rowOf(site);
    if (row >= 0)
        m_model->setData(m_model->index(row, QuantizerTableModel::Amax), QString::number(amax, 'g', 8));
}

void QuantizersView::keepFp32(const qdq::QuantizerSite &site, bool keep)
{
    const int row = m_model->rowOf(site);
    if (row >= 0)
        m_model->setData(m_model->index(row, QuantizerTableModel::State), keep ? Qt::Unchecked : Qt::Checked,
                         Qt::CheckStateRole);
}

std::optional<double> QuantizersView::amaxInUse(const qdq::QuantizerSite &site) const
{
    const int row = m_model->rowOf(site);
    return row >= 0 ? m_model->amaxInUse(row) : std::nullopt;
}

} // namespace qdq::ui

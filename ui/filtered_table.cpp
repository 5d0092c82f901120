#include "filtered_table.h"

#include "table_columns.h"

#include <QHeaderView>
#include <QLineEdit>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QVBoxLayout>

namespace qdq::ui {

FilteredTable addFilteredTable(QWidget *page, QAbstractItemModel *model, int sortRole, int filterColumn,
                               int stretchColumn, const QString &placeholder, const QString &objectName)
{
    auto *layout = new QVBoxLayout(page);
    auto *filter = new QLineEdit;
    filter->setObjectName(objectName + "Filter");
    filter->setPlaceholderText(placeholder);
    filter->setClearButtonEnabled(true);
    auto *proxy = new QSortFilterProxyModel(page);
    proxy->setSourceModel(model);
    proxy->setSortRole(sortRole);
    proxy->setFilterKeyColumn(filterColumn);
    proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);
    QObject::connect(filter, &QLineEdit::textChanged, proxy, &QSortFilterProxyModel::setFilterFixedString);
    auto *view = new QTableView;
    view->setObjectName(objectName);
    view->setModel(proxy);
    view->setSortingEnabled(true);
    view->sortByColumn(-1, Qt::AscendingOrder);
    view->setSelectionBehavior(QAbstractItemView::SelectRows);
    view->setAlternatingRowColors(true);
    view->setWordWrap(false);
    view->verticalHeader()->hide();
    view->verticalHeader()->setDefaultSectionSize(view->fontMetrics().height() + 6);
    fitColumnsToContents(view, stretchColumn);
    layout->addWidget(filter);
    layout->addWidget(view);
    return {filter, proxy, view};
}

} // namespace qdq::ui

#pragma once
// A filter field over a sortable table of an item model: the page of the Quantizers and the
// Tensors views.

class QAbstractItemModel;
class QLineEdit;
class QSortFilterProxyModel;
class QString;
class QTableView;
class QWidget;

namespace qdq::ui {

struct FilteredTable {
    QLineEdit *filter = nullptr;
    QSortFilterProxyModel *proxy = nullptr; // a child of the page
    QTableView *view = nullptr;
};

// Lays out in `page` (which has no layout yet) a filter field named objectName + "Filter", matching
// `filterColumn` case-insensitively, over a table named `objectName` that sorts by `sortRole` and
// keeps its columns fitted to their contents, `stretchColumn` taking the room left over.
FilteredTable addFilteredTable(QWidget *page, QAbstractItemModel *model, int sortRole, int filterColumn,
                               int stretchColumn, const QString &placeholder, const QString &objectName);

} // namespace qdq::ui

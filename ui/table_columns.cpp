#include "table_columns.h"

#include <QAbstractItemModel>
#include <QEvent>
#include <QHeaderView>
#include <QTableView>
#include <QTimer>

#include <algorithm>

namespace qdq::ui {

namespace {

class ColumnFitter : public QObject {
public:
    ColumnFitter(QTableView *view, int stretchColumn) : QObject(view), m_view(view), m_stretch(stretchColumn)
    {
        m_timer.setSingleShot(true);
        m_timer.setInterval(0);
        connect(&m_timer, &QTimer::timeout, this, &ColumnFitter::fit);
        view->viewport()->installEventFilter(this);
        QHeaderView *header = view->horizontalHeader();
        header->setStretchLastSection(false);
        header->setSectionResizeMode(QHeaderView::ResizeToContents);
        header->setSectionResizeMode(m_stretch, QHeaderView::Interactive);
        QAbstractItemModel *model = view->model();
        const auto later = [this] { m_timer.start(); };
        connect(model, &QAbstractItemModel::modelReset, this, later);
        connect(model, &QAbstractItemModel::layoutChanged, this, later);
        connect(model, &QAbstractItemModel::rowsInserted, this, later);
        connect(model, &QAbstractItemModel::dataChanged, this, later);
        m_timer.start();
    }

protected:
    bool eventFilter(QObject *watched, QEvent *event) override
    {
        if (event->type() == QEvent::Resize)
            fit(); // at once: a view shown for a screenshot is grabbed before a timer fires
        return QObject::eventFilter(watched, event);
    }

private:
    [[nodiscard]] int contentWidth(int column) const
    {
        // sizeHintForColumn is public in QAbstractItemView (QTableView overrides it protected)
        const QAbstractItemView *view = m_view;
        return std::max(m_view->horizontalHeader()->sectionSizeHint(column), view->sizeHintForColumn(column));
    }

    void fit()
    {
        QHeaderView *header = m_view->horizontalHeader();
        const int columns = header->count();
        if (m_stretch < 0 || m_stretch >= columns)
            return;
        int others = 0;
        for (int c = 0; c < columns; ++c)
            if (c != m_stretch && !header->isSectionHidden(c))
                others += contentWidth(c);
        header->resizeSection(m_stretch, std::max(contentWidth(m_stretch), m_view->viewport()->width() - others));
    }

    QTableView *m_view;
    int m_stretch;
    QTimer m_timer;
};

} // namespace

void fitColumnsToContents(QTableView *view, int stretchColumn)
{
    new ColumnFitter(view, stretchColumn);
}

} // namespace qdq::ui

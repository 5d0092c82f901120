#include "recent_files_model.h"

#include "app_settings.h"

#include <QDir>
#include <QFileInfo>

namespace qdq::ui {

RecentFilesModel::RecentFilesModel(QObject *parent) : QAbstractListModel(parent)
{
    reload();
}

int RecentFilesModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_paths.size());
}

QVariant RecentFilesModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const QString &path = m_paths.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
        return QFileInfo(path).fileName().isEmpty() ? path : QFileInfo(path).fileName();
    case Qt::ToolTipRole:
    case PathRole:
        return QDir::toNativeSeparators(path);
    default:
        return {};
    }
}

QString RecentFilesModel::pathAt(int row) const
{
    return row >= 0 && row < m_paths.size() ? m_paths.at(row) : QString();
}

void RecentFilesModel::add(const QString &path)
{
    AppSettings().addRecentFile(path);
    reload();
}

void RecentFilesModel::remove(const QString &path)
{
    AppSettings().removeRecentFile(path);
    reload();
}

void RecentFilesModel::clear()
{
    AppSettings().clearRecentFiles();
    reload();
}

void RecentFilesModel::reload()
{
    beginResetModel();
    m_paths = AppSettings().recentFiles();
    endResetModel();
}

} // namespace qdq::ui

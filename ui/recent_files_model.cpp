#include "recent_files_model.h"

#include "app_settings.h"

#include <QDir>

#include <vector>

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
        return m_labels.value(index.row(), path);
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
    m_labels = labels(m_paths, QDir::homePath());
    endResetModel();
}

namespace {

// A parent up to this long is shown whole; a longer one by its last kParentFolders folders.
constexpr qsizetype kShortParent = 40;
constexpr qsizetype kParentFolders = 2;

struct Entry {
    QString name;
    QStringList parent; // folders of the parent, root first ("~" for the home folder)
};

Entry entryOf(const QString &path, const QString &home)
{
    const QString clean = QDir::cleanPath(QDir::fromNativeSeparators(path));
    const QString homeClean = QDir::cleanPath(QDir::fromNativeSeparators(home));
    const qsizetype slash = clean.lastIndexOf('/');
    Entry e;
    e.name = clean.mid(slash + 1);
    QString parent = slash > 0 ? clean.left(slash) : (slash == 0 ? QStringLiteral("/") : QString());
    if (!homeClean.isEmpty() && homeClean != QLatin1String("/") &&
        (parent == homeClean || parent.startsWith(homeClean + '/')))
        parent = QStringLiteral("~") + parent.mid(homeClean.size());
    if (parent.startsWith('/'))
        e.parent = QStringList{QStringLiteral("")} + parent.mid(1).split('/', Qt::SkipEmptyParts);
    else
        e.parent = parent.split('/', Qt::SkipEmptyParts);
    return e;
}

// The last `count` folders of `parent`, with "…/" when some are left out.
QString parentTail(const QStringList &parent, qsizetype count)
{
    if (count >= parent.size()) {
        const QString joined = parent.join('/');
        return joined.isEmpty() ? QStringLiteral("/") : joined;
    }
    return QStringLiteral("…/") + parent.mid(parent.size() - count).join('/');
}

} // namespace

QStringList RecentFilesModel::labels(const QStringList &paths, const QString &home)
{
    std::vector<Entry> entries;
    entries.reserve(static_cast<std::size_t>(paths.size()));
    for (const QString &p : paths)
        entries.push_back(entryOf(p, home));
    QStringList out;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const Entry &e = entries[i];
        if (e.parent.isEmpty()) { // a relative name without folder
            out << e.name;
            continue;
        }
        // then as many more folders as it takes to differ from every other entry of the same name
        qsizetype count =
            parentTail(e.parent, e.parent.size()).size() <= kShortParent ? e.parent.size() : kParentFolders;
        for (std::size_t j = 0; j < entries.size(); ++j) {
            if (j == i || entries[j].name != e.name)
                continue;
            while (count < e.parent.size() && parentTail(e.parent, count) == parentTail(entries[j].parent, count))
                ++count;
        }
        out << QStringLiteral("%1 — %2").arg(e.name, parentTail(e.parent, count));
    }
    return out;
}

} // namespace qdq::ui

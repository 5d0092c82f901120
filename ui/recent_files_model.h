#pragma once
// Recent files as a list model (style.md: "recent files are a model"), backing both the
// File ▸ Open Recent menu and the start page list. Each entry reads "name — parent folder": home
// as ~, long parents shortened to their last folders, but always far enough to tell apart
// entries of the same name (four "tiny-qdqbert" folders); the tooltip is the full path.

#include <QAbstractListModel>
#include <QStringList>

namespace qdq::ui {

class RecentFilesModel : public QAbstractListModel {
    Q_OBJECT
public:
    enum Roles { PathRole = Qt::UserRole + 1 };

    explicit RecentFilesModel(QObject *parent = nullptr);

    [[nodiscard]] int rowCount(const QModelIndex &parent = {}) const override;
    [[nodiscard]] QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;

    [[nodiscard]] QString pathAt(int row) const;
    // Records `path` as most recent (persisted through AppSettings).
    void add(const QString &path);
    void remove(const QString &path);
    void clear();
    // Re-reads the persisted list.
    void reload();

    // The labels of `paths` as described above, in order (exposed for tests).
    [[nodiscard]] static QStringList labels(const QStringList &paths, const QString &home);

private:
    QStringList m_paths;
    QStringList m_labels;
};

} // namespace qdq::ui

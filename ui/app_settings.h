#pragma once
// The one typed wrapper around QSettings (style.md): every persisted preference goes
// through here, so keys and defaults live in one place.

#include <QByteArray>
#include <QSettings>
#include <QString>
#include <QStringList>

namespace qdq::ui {

class AppSettings {
public:
    static constexpr int kMaxRecentFiles = 10;

    AppSettings();

    [[nodiscard]] QStringList recentFiles() const;
    // Moves `path` to the front, dropping duplicates and the oldest beyond kMaxRecentFiles.
    void addRecentFile(const QString &path);
    void removeRecentFile(const QString &path);
    void clearRecentFiles();

    // 0 = all hardware threads.
    [[nodiscard]] int threads() const;
    void setThreads(int threads);

    [[nodiscard]] QByteArray windowGeometry() const;
    void setWindowGeometry(const QByteArray &geometry);
    [[nodiscard]] QByteArray windowState() const;
    void setWindowState(const QByteArray &state);

private:
    QSettings m_settings;
};

} // namespace qdq::ui

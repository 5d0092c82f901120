#include "app_settings.h"

#include <QFileInfo>

namespace qdq::ui {

namespace {
const QString kRecentFiles = QStringLiteral("recentFiles");
const QString kThreads = QStringLiteral("engine/threads");
const QString kGeometry = QStringLiteral("window/geometry");
const QString kState = QStringLiteral("window/state");
} // namespace

AppSettings::AppSettings() = default;

QStringList AppSettings::recentFiles() const
{
    return m_settings.value(kRecentFiles).toStringList();
}

void AppSettings::addRecentFile(const QString &path)
{
    const QString absolute = QFileInfo(path).absoluteFilePath();
    QStringList files = recentFiles();
    files.removeAll(absolute);
    files.prepend(absolute);
    while (files.size() > kMaxRecentFiles)
        files.removeLast();
    m_settings.setValue(kRecentFiles, files);
}

void AppSettings::removeRecentFile(const QString &path)
{
    QStringList files = recentFiles();
    files.removeAll(QFileInfo(path).absoluteFilePath());
    m_settings.setValue(kRecentFiles, files);
}

void AppSettings::clearRecentFiles()
{
    m_settings.remove(kRecentFiles);
}

int AppSettings::threads() const
{
    return m_settings.value(kThreads, 0).toInt();
}
void AppSettings::setThreads(int threads)
{
    m_settings.setValue(kThreads, threads);
}

QByteArray AppSettings::windowGeometry() const
{
    return m_settings.value(kGeometry).toByteArray();
}
void AppSettings::setWindowGeometry(const QByteArray &geometry)
{
    m_settings.setValue(kGeometry, geometry);
}
QByteArray AppSettings::windowState() const
{
    return m_settings.value(kState).toByteArray();
}
void AppSettings::setWindowState(const QByteArray &state)
{
    m_settings.setValue(kState, state);
}

} // namespace qdq::ui

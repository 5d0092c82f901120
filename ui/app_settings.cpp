#include "app_settings.h"

#include <QFileInfo>

namespace qdq::ui {

namespace {
const QString kRecentFiles = QStringLiteral("recentFiles");
const QString kThreads = QStringLiteral("engine/threads");
const QString kDevice = QStringLiteral("engine/device");
const QString kPrecision = QStringLiteral("engine/defaultPrecision");
const QString kProfile = QStringLiteral("quant/versionProfile");
const QString kBins = QStringLiteral("quant/histogramBins");
const QString kTheme = QStringLiteral("ui/theme");
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

QString AppSettings::device() const
{
    return m_settings.value(kDevice, QStringLiteral("cpu")).toString();
}
void AppSettings::setDevice(const QString &device)
{
    m_settings.setValue(kDevice, device);
}
QString AppSettings::defaultPrecision() const
{
    return m_settings.value(kPrecision, QStringLiteral("int8")).toString();
}
qdq::Precision AppSettings::precision() const
{
    return qdq::parsePrecision(defaultPrecision().toStdString()).value_or(qdq::Precision::Int8);
}
void AppSettings::setDefaultPrecision(const QString &precision)
{
    m_settings.setValue(kPrecision, precision);
}
QString AppSettings::versionProfile() const
{
    return m_settings.value(kProfile, QString::fromLatin1(qdq::versionProfileName(qdq::kDefaultVersionProfile)))
        .toString();
}
void AppSettings::setVersionProfile(const QString &profile)
{
    m_settings.setValue(kProfile, profile);
}
qdq::VersionProfile AppSettings::profile() const
{
    return qdq::parseVersionProfile(versionProfile().toStdString()).value_or(qdq::kDefaultVersionProfile);
}
QString AppSettings::theme() const
{
    return m_settings.value(kTheme, QStringLiteral("system")).toString();
}
void AppSettings::setTheme(const QString &theme)
{
    m_settings.setValue(kTheme, theme);
}
int AppSettings::histogramBins() const
{
    return m_settings.value(kBins, 2048).toInt();
}
void AppSettings::setHistogramBins(int bins)
{
    m_settings.setValue(kBins, bins);
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

#pragma once
// The one typed wrapper around QSettings (style.md): every persisted preference goes
// through here, so keys and defaults live in one place.

#include "qdq/quant/quant_config.h"
#include "qdq/quant/quant_descriptor.h"

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

    // "cpu" or "cuda:N" as saved; compute_devices.h says which of them this build can run on.
    [[nodiscard]] QString device() const;
    void setDevice(const QString &device);
    // "fp32", "qdq" or "int8": what the playground runs beside FP32 ("fp32": FP32 alone). INT8 by
    // default, the precision a TensorRT deployment runs.
    [[nodiscard]] QString defaultPrecision() const;
    void setDefaultPrecision(const QString &precision);
    // The same, parsed (INT8 for an unknown saved name).
    [[nodiscard]] qdq::Precision precision() const;
    // pytorch-quantization version profile (reference §3.5), e.g. "pq-2.1.x"
    [[nodiscard]] QString versionProfile() const;
    void setVersionProfile(const QString &profile);
    // The same, parsed (the default profile for an unknown saved name): the profile of every
    // run, analysis, calibration and export the GUI starts.
    [[nodiscard]] qdq::VersionProfile profile() const;
    // "system", "light" or "dark"
    [[nodiscard]] QString theme() const;
    void setTheme(const QString &theme);
    [[nodiscard]] int histogramBins() const;
    void setHistogramBins(int bins);

    [[nodiscard]] QByteArray windowGeometry() const;
    void setWindowGeometry(const QByteArray &geometry);
    [[nodiscard]] QByteArray windowState() const;
    void setWindowState(const QByteArray &state);

private:
    QSettings m_settings;
};

} // namespace qdq::ui

#pragma once
// Histogram view: the activation histogram of the selected quantizer (from the checkpoint's
// calibration statistics, calibration.safetensors), with the amax each calibration method
// chooses and the amax in use, which can be dragged (what-if).

#include "qdq/calibration.h"
#include "qdq/quantizer_site.h"

#include <QWidget>

#include <memory>
#include <optional>

class QLabel;

namespace qdq::ui {

class HistogramChart;

class HistogramView : public QWidget {
    Q_OBJECT
public:
    explicit HistogramView(QWidget *parent = nullptr);

    // nullptr: the checkpoint has no calibration statistics (`reason` says what to do).
    void setCalibration(std::shared_ptr<const qdq::CalibrationFile> calibration, const QString &reason = {});
    [[nodiscard]] bool hasCalibration() const { return m_calibration != nullptr; }
    // Shows `site` with `amaxInUse` (nullopt: dynamic or disabled).
    void showSite(const qdq::QuantizerSite &site, std::optional<double> amaxInUse);
    [[nodiscard]] std::optional<qdq::QuantizerSite> site() const { return m_site; }
    [[nodiscard]] HistogramChart *chart() const { return m_chart; }

signals:
    // The user dragged the in-use amax of `site` to `amax`.
    void amaxDragged(const qdq::QuantizerSite &site, double amax);

private:
    std::shared_ptr<const qdq::CalibrationFile> m_calibration;
    std::optional<qdq::QuantizerSite> m_site;
    HistogramChart *m_chart = nullptr;
    QLabel *m_info = nullptr;
};

} // namespace qdq::ui

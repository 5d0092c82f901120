#pragma once
// Histogram view: the activation histogram of the selected quantizer, from one of two sources —
// the checkpoint's calibration statistics (calibration.safetensors) or the last analysis
// (Tools ▸ Analyze…, which collects a histogram at every activation quantizer) — with the amax
// each calibration method chooses and the amax in use, which can be dragged (what-if).

#include "qdq/analysis.h"
#include "qdq/calibration.h"
#include "qdq/quantizer_site.h"

#include <QWidget>

#include <memory>
#include <optional>
#include <vector>

class QComboBox;
class QLabel;

namespace qdq::ui {

class HistogramChart;

class HistogramView : public QWidget {
    Q_OBJECT
public:
    enum class Source { Calibration, Analysis };

    explicit HistogramView(QWidget *parent = nullptr);

    // nullptr: the checkpoint has no calibration statistics (`reason` says why).
    void setCalibration(std::shared_ptr<const qdq::CalibrationFile> calibration, const QString &reason = {});
    [[nodiscard]] bool hasCalibration() const { return m_calibration != nullptr; }
    // The last analysis of the open model (nullptr: none); a new one becomes the source shown.
    void setAnalysis(std::shared_ptr<const qdq::AnalysisReport> analysis);
    [[nodiscard]] bool hasAnalysis() const { return m_analysis != nullptr; }
    // false when that source has no data.
    bool setSource(Source source);
    [[nodiscard]] Source source() const { return m_source; }
    // Shows `site` with `amaxInUse` (nullopt: dynamic or disabled).
    void showSite(const qdq::QuantizerSite &site, std::optional<double> amaxInUse);
    [[nodiscard]] std::optional<qdq::QuantizerSite> site() const { return m_site; }
    [[nodiscard]] HistogramChart *chart() const { return m_chart; }
    // The source selector and the quantizers of the current source that have a histogram.
    [[nodiscard]] QComboBox *sourceBox() const { return m_sourceBox; }
    [[nodiscard]] QComboBox *siteBox() const { return m_siteBox; }

signals:
    // The user dragged the in-use amax of `site` to `amax`.
    void amaxDragged(const qdq::QuantizerSite &site, double amax);
    // The user picked `site` in the view's own quantizer list.
    void siteChosen(const qdq::QuantizerSite &site);

private:
    void updateSources();
    void fillSites();
    void render();

    std::shared_ptr<const qdq::CalibrationFile> m_calibration;
    std::shared_ptr<const qdq::AnalysisReport> m_analysis;
    QString m_noCalibrationReason;
    Source m_source = Source::Calibration;
    std::optional<qdq::QuantizerSite> m_site;
    std::optional<double> m_amaxInUse;
    std::vector<qdq::QuantizerSite> m_sites; // of m_siteBox's entries
    QComboBox *m_sourceBox = nullptr;
    QComboBox *m_siteBox = nullptr;
    HistogramChart *m_chart = nullptr;
    QLabel *m_info = nullptr;
};

} // namespace qdq::ui

#include "histogram_view.h"

#include "charts/histogram_chart.h"

#include <QLabel>
#include <QVBoxLayout>

namespace qdq::ui {

HistogramView::HistogramView(QWidget *parent) : QWidget(parent)
{
    setObjectName("histogramView");
    auto *layout = new QVBoxLayout(this);
    m_info = new QLabel;
    m_info->setWordWrap(true);
    m_chart = new HistogramChart;
    layout->addWidget(m_info);
    layout->addWidget(m_chart, 1);
    connect(m_chart, &HistogramChart::amaxDragged, this, [this](double amax) {
        if (m_site)
            emit amaxDragged(*m_site, amax);
    });
    setCalibration(nullptr, tr("Open a checkpoint with calibration statistics (a folder written by qdq calibrate, "
                               "or run Tools ▸ Calibrate…) to see activation histograms."));
}

void HistogramView::setCalibration(std::shared_ptr<const qdq::CalibrationFile> calibration, const QString &reason)
{
    m_calibration = std::move(calibration);
    m_site.reset();
    m_chart->setVisible(m_calibration != nullptr);
    m_info->setText(m_calibration ? tr("Select a quantizer in the Quantizers view.") : reason);
}

void HistogramView::showSite(const qdq::QuantizerSite &site, std::optional<double> amaxInUse)
{
    if (!m_calibration)
        return;
    m_site = site;
    const std::string name = site.modulePath("bert.");
    const qdq::CalibrationFile::Site *found = nullptr;
    for (const auto &s : m_calibration->sites)
        if (s.site && *s.site == site)
            found = &s;
    if (!found || !found->histogram) {
        m_chart->setHistogram(QString::fromStdString(name), {}, {});
        m_chart->setMethodMarkers({});
        m_chart->setAmaxInUse(std::nullopt);
        m_info->setText(
            site.kind() == qdq::SiteKind::Weight
                ? tr("%1 is a weight quantizer: its amax is the per-row max |w| (no histogram is collected, "
                     "reference §4.1).")
                      .arg(QString::fromStdString(name))
                : tr("No histogram was collected for %1.").arg(QString::fromStdString(name)));
        return;
    }
    const std::vector<std::int64_t> counts = found->histogram->counts();
    std::vector<double> c(counts.begin(), counts.end());
    std::map<QString, double> methods;
    for (const auto &[method, value] : found->amaxByMethod)
        methods[QString::fromStdString(method)] = static_cast<double>(value);
    m_chart->setMethodMarkers(methods);
    m_chart->setHistogram(QString::fromStdString(name), c, found->histogram->edges());
    m_chart->setAmaxInUse(amaxInUse);
    QString text = tr("<b>%1</b> · %2 bins · ").arg(QString::fromStdString(name)).arg(counts.size());
    for (const auto &[method, value] : methods)
        text += QStringLiteral("%1 %2 · ").arg(method).arg(value, 0, 'g', 5);
    text += amaxInUse ? tr("in use %1 (drag the black line to try another)").arg(*amaxInUse, 0, 'g', 5)
                      : tr("in use: dynamic (max |x| per call)");
    m_info->setText(text);
}

} // namespace qdq::ui

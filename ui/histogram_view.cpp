#include "histogram_view.h"

#include "charts/analysis_charts.h"
#include "charts/histogram_chart.h"

#include "qdq/quant/calibrator.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSignalBlocker>
#include <QStandardItemModel>
#include <QVBoxLayout>

namespace qdq::ui {

namespace {

QString methodsText(const std::map<QString, double> &methods)
{
    QString text;
    for (const auto &[method, value] : methods)
        text += QStringLiteral("%1 %2 · ").arg(method).arg(value, 0, 'g', 5);
    return text;
}

QString inUseText(std::optional<double> amaxInUse)
{
    return amaxInUse ? HistogramView::tr("in use %1 (drag the line to try another)").arg(*amaxInUse, 0, 'g', 5)
                     : HistogramView::tr("in use: dynamic (max |x| per call)");
}

} // namespace

HistogramView::HistogramView(QWidget *parent) : QWidget(parent)
{
    setObjectName("histogramView");
    auto *layout = new QVBoxLayout(this);
    auto *bar = new QHBoxLayout;
    m_sourceBox = new QComboBox;
    m_sourceBox->setObjectName("histogramSource");
    m_sourceBox->setToolTip(tr("Histograms collected by calibration (calibration.safetensors) or by the last "
                               "Tools ▸ Analyze… run"));
    m_sourceBox->addItem(tr("Calibration statistics"), static_cast<int>(Source::Calibration));
    m_sourceBox->addItem(tr("Last analysis"), static_cast<int>(Source::Analysis));
    m_siteBox = new QComboBox;
    m_siteBox->setObjectName("histogramSite");
    m_siteBox->setToolTip(tr("The activation quantizers this source has a histogram of"));
    m_siteBox->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    bar->addWidget(new QLabel(tr("Source")));
    bar->addWidget(m_sourceBox);
    bar->addSpacing(12);
    bar->addWidget(new QLabel(tr("Quantizer")));
    bar->addWidget(m_siteBox);
    bar->addStretch(1);
    m_info = new QLabel;
    m_info->setWordWrap(true);
    m_chart = new HistogramChart;
    layout->addLayout(bar);
    layout->addWidget(m_info);
    layout->addWidget(m_chart, 1);
    connect(m_chart, &HistogramChart::amaxDragged, this, [this](double amax) {
        m_amaxInUse = amax;
        if (m_site)
            emit amaxDragged(*m_site, amax);
    });
    connect(m_sourceBox, &QComboBox::activated, this,
            [this](int index) { setSource(static_cast<Source>(m_sourceBox->itemData(index).toInt())); });
    connect(m_siteBox, &QComboBox::activated, this, [this](int index) {
        if (index >= 0 && static_cast<std::size_t>(index) < m_sites.size())
            emit siteChosen(m_sites[static_cast<std::size_t>(index)]);
    });
    setCalibration(nullptr, tr("Open a checkpoint to see its activation histograms."));
}

void HistogramView::setCalibration(std::shared_ptr<const qdq::CalibrationFile> calibration, const QString &reason)
{
    m_calibration = std::move(calibration);
    m_noCalibrationReason = reason;
    m_site.reset();
    m_amaxInUse.reset();
    if (m_calibration)
        m_source = Source::Calibration;
    updateSources();
}

void HistogramView::setAnalysis(std::shared_ptr<const qdq::AnalysisReport> analysis)
{
    m_analysis = std::move(analysis);
    if (m_analysis)
        m_source = Source::Analysis; // what was just measured, with the current settings
    updateSources();
}

bool HistogramView::setSource(Source source)
{
    if ((source == Source::Calibration && !m_calibration) || (source == Source::Analysis && !m_analysis))
        return false;
    m_source = source;
    updateSources();
    return true;
}

// Enables the sources that have data, keeps the current one when it has, and refills the list.
void HistogramView::updateSources()
{
    if (m_source == Source::Calibration && !m_calibration && m_analysis)
        m_source = Source::Analysis;
    if (m_source == Source::Analysis && !m_analysis)
        m_source = Source::Calibration;
    auto *model = qobject_cast<QStandardItemModel *>(m_sourceBox->model());
    model->item(0)->setEnabled(m_calibration != nullptr);
    model->item(1)->setEnabled(m_analysis != nullptr);
    m_sourceBox->setItemText(1, m_analysis ? tr("Last analysis (%1 samples)").arg(m_analysis->samples)
                                           : tr("Last analysis"));
    {
        const QSignalBlocker block(m_sourceBox);
        m_sourceBox->setCurrentIndex(m_source == Source::Calibration ? 0 : 1);
    }
    m_sourceBox->setEnabled(m_calibration || m_analysis);
    fillSites();
    render();
}

void HistogramView::fillSites()
{
    m_sites.clear();
    QStringList names;
    if (m_source == Source::Calibration && m_calibration) {
        for (const auto &s : m_calibration->sites)
            if (s.site && s.histogram) {
                m_sites.push_back(*s.site);
                names << QString::fromStdString(s.site->modulePath());
            }
    } else if (m_source == Source::Analysis && m_analysis) {
        for (const qdq::SiteAnalysis &s : m_analysis->sites)
            if (s.histogram) {
                m_sites.push_back(s.site);
                names << QString::fromStdString(s.name);
            }
    }
    const QSignalBlocker block(m_siteBox);
    m_siteBox->clear();
    m_siteBox->addItems(names);
    m_siteBox->setEnabled(!m_sites.empty());
}

void HistogramView::showSite(const qdq::QuantizerSite &site, std::optional<double> amaxInUse)
{
    m_site = site;
    m_amaxInUse = amaxInUse;
    render();
}

void HistogramView::render()
{
    {
        const QSignalBlocker block(m_siteBox);
        int index = -1;
        for (std::size_t i = 0; m_site && i < m_sites.size(); ++i)
            if (m_sites[i] == *m_site)
                index = static_cast<int>(i);
        m_siteBox->setCurrentIndex(index);
    }
    if (!m_calibration && !m_analysis) {
        m_chart->setVisible(false);
        m_info->setText(m_noCalibrationReason + QLatin1Char(' ') +
                        tr("Run Tools ▸ Analyze… to collect a histogram at every activation quantizer on your data, "
                           "or Tools ▸ Calibrate… to write a calibrated folder with its statistics."));
        return;
    }
    m_chart->setVisible(true);
    if (!m_site) {
        m_chart->setHistogram({}, {}, {});
        m_chart->setMethodMarkers({});
        m_chart->setAmaxInUse(std::nullopt);
        m_info->setText(tr("Select a quantizer in the Quantizers view or in the list above."));
        return;
    }
    const QString name = QString::fromStdString(m_site->modulePath("bert."));
    const auto noHistogram = [&] {
        m_chart->setHistogram(name, {}, {});
        m_chart->setMethodMarkers({});
        m_chart->setAmaxInUse(std::nullopt);
        m_info->setText(m_site->kind() == qdq::SiteKind::Weight
                            ? tr("%1 is a weight quantizer: its amax is the per-row max |w| (no histogram is "
                                 "collected, reference §4.1).")
                                  .arg(name)
                            : tr("No histogram was collected for %1.").arg(name));
    };

    if (m_source == Source::Analysis) {
        const qdq::SiteAnalysis *found = nullptr;
        for (const qdq::SiteAnalysis &s : m_analysis->sites)
            if (s.site == *m_site)
                found = &s;
        if (!found || !showSiteHistogram(*m_chart, *found)) {
            noHistogram();
            return;
        }
        m_chart->setAmaxInUse(m_amaxInUse);
        std::map<QString, double> methods;
        for (qdq::CalibMethod m :
             {qdq::CalibMethod::Max, qdq::CalibMethod::Percentile, qdq::CalibMethod::Mse, qdq::CalibMethod::Entropy})
            if (const auto &v = found->candidateAmax[static_cast<std::size_t>(m)])
                methods[QString::fromLatin1(qdq::calibMethodName(m))] = *v;
        m_info->setText(tr("<b>%1</b> · %2 bins from the last analysis (%3 samples) · ")
                            .arg(name)
                            .arg(found->histogram->counts.size())
                            .arg(m_analysis->samples) +
                        methodsText(methods) + inUseText(m_amaxInUse));
        return;
    }

    const qdq::CalibrationFile::Site *found = nullptr;
    for (const auto &s : m_calibration->sites)
        if (s.site && *s.site == *m_site)
            found = &s;
    if (!found || !found->histogram) {
        noHistogram();
        return;
    }
    const std::vector<std::int64_t> counts = found->histogram->counts();
    std::map<QString, double> methods;
    for (const auto &[method, value] : found->amaxByMethod)
        methods[QString::fromStdString(method)] = static_cast<double>(value);
    m_chart->setMethodMarkers(methods);
    m_chart->setHistogram(name, std::vector<double>(counts.begin(), counts.end()), found->histogram->edges());
    m_chart->setAmaxInUse(m_amaxInUse);
    m_info->setText(tr("<b>%1</b> · %2 bins from calibration.safetensors · ").arg(name).arg(counts.size()) +
                    methodsText(methods) + inUseText(m_amaxInUse));
}

} // namespace qdq::ui

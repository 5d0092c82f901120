#include "layers_view.h"

#include "charts/analysis_charts.h"
#include "charts/divergence_chart.h"

#include <QLabel>
#include <QSplitter>
#include <QVBoxLayout>

namespace qdq::ui {

namespace {
QString noAnalysisText()
{
    return LayersView::tr("Run Tools ▸ Analyze… to measure how far each layer's output moves from FP32.");
}
} // namespace

LayersView::LayersView(QWidget *parent) : QWidget(parent)
{
    setObjectName("layersView");
    auto *layout = new QVBoxLayout(this);
    m_summary = new QLabel(noAnalysisText());
    m_summary->setWordWrap(true);
    m_summary->setTextFormat(Qt::RichText);
    m_summary->setTextInteractionFlags(Qt::LinksAccessibleByMouse | Qt::LinksAccessibleByKeyboard);
    connect(m_summary, &QLabel::linkActivated, this, [this](const QString &link) {
        if (link.startsWith(QLatin1String("sensitivity:")))
            emit firstDivergenceActivated(link.section(':', 1).toInt());
    });
    layout->addWidget(m_summary);
    auto *split = new QSplitter(Qt::Vertical);
    m_sqnr = new DivergenceChart;
    m_cosine = new DivergenceChart;
    split->addWidget(m_sqnr);
    split->addWidget(m_cosine);
    layout->addWidget(split, 1);
    connect(m_sqnr, &DivergenceChart::layerClicked, this, &LayersView::layerClicked);
    connect(m_cosine, &DivergenceChart::layerClicked, this, &LayersView::layerClicked);
}

void LayersView::activateFirstDivergence()
{
    if (m_report && m_report->firstDivergence.layer >= 0)
        emit firstDivergenceActivated(m_report->firstDivergence.layer);
}

QString LayersView::summary() const
{
    return m_summary->text();
}

void LayersView::setReport(std::shared_ptr<const qdq::AnalysisReport> report)
{
    m_report = std::move(report);
    if (!m_report) { // a new model: nothing measured yet
        m_sqnr->setSeries({}, {}, {}, std::nullopt);
        m_cosine->setSeries({}, {}, {}, std::nullopt);
        m_summary->setText(noAnalysisText());
        return;
    }
    showLayerSqnr(*m_sqnr, *m_report);
    showLayerCosine(*m_cosine, *m_report);
    QString text = tr("<b>%1</b> samples, %2 tokens, %3 forward passes in %4 s. ")
                       .arg(m_report->samples)
                       .arg(m_report->tokens)
                       .arg(m_report->forwardPasses)
                       .arg(m_report->seconds, 0, 'f', 1);
    text += m_report->firstDivergence.layer >= 0
                ? tr("First divergence: <b>layer %1</b> — %2 (<a href=\"sensitivity:%1\">its quantizers by "
                     "sensitivity</a>). ")
                      .arg(m_report->firstDivergence.layer)
                      .arg(QString::fromStdString(m_report->firstDivergence.reason).toHtmlEscaped())
                : tr("No layer stands out: the error grows gradually. ");
    for (const qdq::TaskAgreement &t : m_report->taskAgreement) {
        text += tr("%1: ").arg(QString::fromLatin1(qdq::precisionName(t.precision)).toUpper());
        if (t.top1Agreement)
            text += tr("top-1 agreement %1%").arg(100.0 * *t.top1Agreement, 0, 'f', 1);
        if (t.meanKl)
            text += tr(", KL %1").arg(*t.meanKl, 0, 'g', 3);
        text += QStringLiteral(". ");
    }
    m_summary->setText(text);
}

} // namespace qdq::ui

#include "analyze_dialog.h"

#include "app_settings.h"
#include "compute_devices.h"

#include "browse_field.h"
#include "guarded_job.h"

#include "qdq/errors.h"
#include "qdq/report_writer.h"
#include "qdq/session.h"

#include <QCheckBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QtConcurrent>

namespace qdq::ui {

AnalyzeDialog::AnalyzeDialog(std::shared_ptr<const qdq::Checkpoint> checkpoint, qdq::QuantConfig config, qdq::Task task,
                             QWidget *parent, Mode mode)
    : QDialog(parent), m_checkpoint(std::move(checkpoint)), m_config(std::move(config)), m_task(task), m_mode(mode)
{
    qRegisterMetaType<std::shared_ptr<const qdq::AnalysisReport>>();
    const bool report = mode == Mode::Report;
    setObjectName(report ? "reportDialog" : "analyzeDialog");
    setWindowTitle(report ? tr("Export Report") : tr("Analyze"));
    auto *form = new QFormLayout(this);
    m_samples = new QSpinBox;
    m_samples->setRange(1, 100000);
    m_samples->setValue(32);
    m_maxLength = new QSpinBox;
    m_maxLength->setRange(8, 512);
    m_maxLength->setValue(128);
    m_sensitivity = new QCheckBox(tr("Sensitivity sweeps (one pass per layer and kind; slower)"));
    m_perQuantizer = new QCheckBox(tr("Per-quantizer sensitivity (two passes per quantizer; slowest)"));
    m_perQuantizer->setObjectName("perQuantizer");
    m_perQuantizer->setToolTip(tr("Ranks every quantizer by the task output with only it quantized and with all but "
                                  "it, and suggests which to keep in FP32 (the Sensitivity view)"));
    connect(m_perQuantizer, &QCheckBox::toggled, this, [this](bool on) {
        if (on)
            m_sensitivity->setChecked(true);
    });
    m_bar = new QProgressBar;
    m_bar->setRange(0, 100);
    m_status = new QLabel(tr("Compares FP32 with fake quant (qdq) and INT8 on the same inputs, layer by layer, "
                             "with the Quantizers view's current settings."));
    m_status->setWordWrap(true);
    m_data = addDataFileRow(form, this, tr("Analysis Data"));
    form->addRow(tr("Samples"), m_samples);
    form->addRow(tr("Max length"), m_maxLength);
    form->addRow(m_sensitivity);
    form->addRow(m_perQuantizer);
    if (report) {
        m_folder = addOutputFolderRow(form, this, tr("Report Folder"),
                                      tr("folder for report.html, report.pdf, report.json, *.csv, report.zip"));
        m_folder->setText(besideCheckpoint(m_checkpoint.get(), QStringLiteral("report")));
        auto *formats = new QHBoxLayout;
        for (const char *name : {"HTML", "PDF", "JSON", "CSV", "zip"}) {
            auto *box = new QCheckBox(QString::fromLatin1(name));
            box->setObjectName(QStringLiteral("format") + QString::fromLatin1(name).toLower());
            box->setChecked(true);
            formats->addWidget(box);
            m_formatBoxes.push_back(box);
        }
        form->addRow(tr("Formats"), formats);
    }
    form->addRow(m_bar);
    form->addRow(m_status);
    m_run = addJobButtons(
        form, this, report ? tr("Export") : tr("Analyze"), [this] { return isRunning(); }, [this] { cancel(); });
    connect(m_run, &QPushButton::clicked, this, &AnalyzeDialog::start);
    connect(&m_watcher, &QFutureWatcher<Outcome>::finished, this, &AnalyzeDialog::onFinished);
}

AnalyzeDialog::~AnalyzeDialog()
{
    cancel();
    m_watcher.waitForFinished();
}

void AnalyzeDialog::setDataFile(const QString &path)
{
    m_data->setText(path);
}
void AnalyzeDialog::setSamples(int samples)
{
    m_samples->setValue(samples);
}
void AnalyzeDialog::setSensitivity(bool on)
{
    m_sensitivity->setChecked(on);
}
void AnalyzeDialog::setPerQuantizer(bool on)
{
    m_perQuantizer->setChecked(on);
}
void AnalyzeDialog::setOutputFolder(const QString &folder)
{
    if (m_folder)
        m_folder->setText(folder);
}

void AnalyzeDialog::setFormats(unsigned formats)
{
    for (std::size_t i = 0; i < m_formatBoxes.size(); ++i)
        m_formatBoxes[i]->setChecked((formats & (1U << i)) != 0);
}

unsigned AnalyzeDialog::formats() const
{
    unsigned formats = 0;
    for (std::size_t i = 0; i < m_formatBoxes.size(); ++i)
        formats |= m_formatBoxes[i]->isChecked() ? (1U << i) : 0U;
    return formats;
}

bool AnalyzeDialog::isRunning() const
{
    return m_watcher.isRunning();
}

void AnalyzeDialog::cancel()
{
    if (m_progress)
        m_progress->cancel();
}

void AnalyzeDialog::start()
{
    if (isRunning() || !m_checkpoint)
        return;
    qdq::AnalysisOptions options;
    options.task = m_task;
    options.sensitivity = m_sensitivity->isChecked() || m_perQuantizer->isChecked();
    options.quantizerSensitivity = m_perQuantizer->isChecked();
    options.maxLength = m_maxLength->value();
    options.quant = m_config;
    options.numBins = AppSettings().histogramBins();
    const std::string dataFile = m_data->text().toStdString();
    const std::int64_t samples = m_samples->value();
    m_progress = std::make_shared<qdq::Progress>();
    m_progress->setCallback([this](const qdq::ProgressEvent &e) {
        const int percent = e.total > 0 ? static_cast<int>(100 * e.done / e.total) : 0;
        QMetaObject::invokeMethod(
            this, [this, percent] { m_bar->setValue(percent); }, Qt::QueuedConnection);
    });
    const bool report = m_mode == Mode::Report;
    if (report && (m_folder->text().trimmed().isEmpty() || formats() == 0)) {
        m_status->setText(tr("Choose an output folder and at least one format."));
        return;
    }
    m_run->setEnabled(false);
    m_status->setText(tr("Analyzing…"));
    m_writing = false;
    m_watcher.setFuture(QtConcurrent::run([ck = m_checkpoint, device = computeDevice(AppSettings().device()).device,
                                           progress = m_progress, options, dataFile, samples, report] {
        Outcome outcome;
        const JobEnd end = runGuarded([&] {
            if (dataFile.empty())
                throw qdq::IoError("choose a data file");
            const qdq::Session session(ck, {device});
            const auto examples = session.readExamples({dataFile, {}, samples, std::nullopt, {}}).examples;
            outcome.report =
                std::make_shared<const qdq::AnalysisReport>(session.analyze(examples, options, progress.get()));
            if (report) {
                qdq::ReportOptions reportOptions;
                reportOptions.dataFile = dataFile;
                for (std::size_t i = 0; i < examples.size() && i < 2; ++i)
                    reportOptions.attentionTexts.push_back(examples[i].text);
                outcome.fullReport = std::make_shared<qdq::Report>(
                    qdq::buildReport(*ck, session.tokenizer(), *outcome.report, *options.quant, reportOptions));
            }
        });
        if (end.cancelled)
            outcome.error = tr("Analysis was cancelled.");
        else if (!end.error.isEmpty())
            outcome.error = end.error;
        return outcome;
    }));
}

void AnalyzeDialog::finishWith(const QString &error)
{
    m_writing = false;
    m_run->setEnabled(true);
    m_status->setText(error);
    emit failed(error);
}

void AnalyzeDialog::onFinished()
{
    const Outcome outcome = m_watcher.result();
    if (m_writing) { // report mode, files written (or not)
        m_writing = false;
        if (!outcome.error.isEmpty()) {
            finishWith(tr("The report was not written: %1").arg(outcome.error));
            return;
        }
        m_bar->setValue(100);
        emit reportWritten(outcome.written);
        accept();
        return;
    }
    if (!outcome.report) {
        finishWith(outcome.error);
        return;
    }
    emit analyzed(outcome.report);
    if (m_mode == Mode::Analyze) {
        m_run->setEnabled(true);
        m_bar->setValue(100);
        accept();
        return;
    }
    // The engine's report writer draws the charts (QPainter, any thread) and writes the files: on a worker.
    m_status->setText(tr("Writing the report…"));
    m_writing = true;
    m_watcher.setFuture(QtConcurrent::run(
        [report = outcome.fullReport, folder = m_folder->text().trimmed(), formats = formats(), progress = m_progress] {
            Outcome written;
            const JobEnd end = runGuarded([&] {
                const ReportImages images = renderReportImages(*report);
                for (const std::string &file :
                     writeReport(*report, images, folder.toStdString(), formats, {}, progress.get()))
                    written.written << QString::fromStdString(file);
            });
            written.error = end.cancelled ? tr("cancelled") : end.error;
            return written;
        }));
}

} // namespace qdq::ui

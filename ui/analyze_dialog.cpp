#include "analyze_dialog.h"

#include "browse_field.h"

#include "qdq/calibration_data.h"
#include "qdq/errors.h"
#include "qdq/text_task.h"
#include "qdq/threading.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QFileDialog>
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
                             QWidget *parent)
    : QDialog(parent), m_checkpoint(std::move(checkpoint)), m_config(std::move(config)), m_task(task)
{
    qRegisterMetaType<std::shared_ptr<const qdq::AnalysisReport>>();
    setObjectName("analyzeDialog");
    setWindowTitle(tr("Analyze"));
    auto *form = new QFormLayout(this);
    m_data = new QLineEdit;
    m_data->setPlaceholderText(tr("text (one example per line), JSONL or CSV/TSV with a \"text\" column"));
    QWidget *row = withBrowseButton(m_data, [this] {
        const QString f = QFileDialog::getOpenFileName(this, tr("Analysis Data"));
        if (!f.isEmpty())
            m_data->setText(f);
    });
    m_samples = new QSpinBox;
    m_samples->setRange(1, 100000);
    m_samples->setValue(32);
    m_maxLength = new QSpinBox;
    m_maxLength->setRange(8, 512);
    m_maxLength->setValue(128);
    m_sensitivity = new QCheckBox(tr("Sensitivity sweeps (one pass per layer and kind; slower)"));
    m_bar = new QProgressBar;
    m_bar->setRange(0, 100);
    m_status = new QLabel(tr("Compares FP32 with fake quant (qdq) and INT8 on the same inputs, layer by layer, "
                             "with the Quantizers view's current settings."));
    m_status->setWordWrap(true);
    form->addRow(tr("Data file"), row);
    form->addRow(tr("Samples"), m_samples);
    form->addRow(tr("Max length"), m_maxLength);
    form->addRow(m_sensitivity);
    form->addRow(m_bar);
    form->addRow(m_status);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Cancel);
    m_run = buttons->addButton(tr("Analyze"), QDialogButtonBox::AcceptRole);
    connect(m_run, &QPushButton::clicked, this, &AnalyzeDialog::start);
    connect(buttons, &QDialogButtonBox::rejected, this, [this] {
        if (isRunning())
            cancel();
        else
            reject();
    });
    form->addRow(buttons);
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
    options.sensitivity = m_sensitivity->isChecked();
    options.maxLength = m_maxLength->value();
    options.quant = m_config;
    const std::string dataFile = m_data->text().toStdString();
    const std::int64_t samples = m_samples->value();
    m_progress = std::make_shared<qdq::Progress>();
    m_progress->setCallback([this](const qdq::ProgressEvent &e) {
        const int percent = e.total > 0 ? static_cast<int>(100 * e.done / e.total) : 0;
        QMetaObject::invokeMethod(
            this, [this, percent] { m_bar->setValue(percent); }, Qt::QueuedConnection);
    });
    m_run->setEnabled(false);
    m_status->setText(tr("Analyzing…"));
    m_watcher.setFuture(QtConcurrent::run([ck = m_checkpoint, progress = m_progress, options, dataFile, samples] {
        Outcome outcome;
        try {
            qdq::applyNumThreads();
            if (dataFile.empty())
                throw qdq::IoError("choose a data file");
            const auto examples = qdq::selectExamples(qdq::readCalibrationData(dataFile), samples);
            const qdq::Tokenizer tokenizer = qdq::tokenizerForCheckpoint(*ck);
            outcome.report = std::make_shared<const qdq::AnalysisReport>(
                qdq::analyzeQuantization(*ck, examples, tokenizer, options, progress.get()));
        } catch (const qdq::CancelledError &) {
            outcome.error = tr("Analysis was cancelled.");
        } catch (const std::exception &e) {
            outcome.error = QString::fromStdString(e.what());
        }
        return outcome;
    }));
}

void AnalyzeDialog::onFinished()
{
    const Outcome outcome = m_watcher.result();
    m_run->setEnabled(true);
    if (!outcome.report) {
        m_status->setText(outcome.error);
        emit failed(outcome.error);
        return;
    }
    m_bar->setValue(100);
    emit analyzed(outcome.report);
    accept();
}

} // namespace qdq::ui

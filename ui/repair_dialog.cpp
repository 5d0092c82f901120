#include "repair_dialog.h"

#include "app_settings.h"
#include "browse_field.h"
#include "compute_devices.h"
#include "guarded_job.h"

#include "qdq/errors.h"
#include "qdq/session.h"

#include <QCheckBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QtConcurrent>

namespace qdq::ui {
// --- Tools ▸ Repair… ------------------------------------------------------------------------------

RepairDialog::RepairDialog(std::shared_ptr<const qdq::Checkpoint> checkpoint, qdq::QuantConfig config, qdq::Task task,
                           QWidget *parent)
    : QDialog(parent), m_checkpoint(std::move(checkpoint)), m_config(std::move(config)), m_task(task)
{
    qRegisterMetaType<std::shared_ptr<const qdq::RepairResult>>();
    setObjectName("repairDialog");
    setWindowTitle(tr("Repair"));
    auto *form = new QFormLayout(this);
    m_data = addDataFileRow(form, this, tr("Repair Data"));
    m_samples = new QSpinBox;
    m_samples->setRange(1, 100000);
    m_samples->setValue(32);
    form->addRow(tr("Samples"), m_samples);
    m_candidates = new QSpinBox;
    m_candidates->setRange(0, 10000);
    m_candidates->setValue(16);
    m_candidates->setToolTip(tr("Quantizers whose amax is re-chosen among max, percentile, MSE and entropy, worst "
                                "first"));
    form->addRow(tr("Quantizers to re-calibrate"), m_candidates);
    m_maxDisabled = new QSpinBox;
    m_maxDisabled->setRange(0, 10000);
    m_maxDisabled->setValue(2);
    m_maxDisabled->setToolTip(tr("At most this many quantizers are left in FP32, and only while top-1 agreement is "
                                 "below the target"));
    form->addRow(tr("At most in FP32"), m_maxDisabled);
    m_target = new QDoubleSpinBox;
    m_target->setRange(0.0, 1.0);
    m_target->setSingleStep(0.01);
    m_target->setDecimals(3);
    m_target->setValue(0.99);
    form->addRow(tr("Target top-1 agreement"), m_target);
    m_folder = addOutputFolderRow(form, this, tr("Output Folder"), tr("folder for the repaired checkpoint"));
    m_folder->setText(besideCheckpoint(m_checkpoint.get(), QStringLiteral("repaired")));
    m_bar = new QProgressBar;
    m_bar->setRange(0, 100);
    m_status = new QLabel(tr("Ranks the quantizers by what they do to the task output, tries each calibration "
                             "method's amax for the worst, and writes a repaired checkpoint with a before/after "
                             "report (repair.md)."));
    m_status->setWordWrap(true);
    form->addRow(m_bar);
    form->addRow(m_status);
    m_run = addJobButtons(
        form, this, tr("Repair"), [this] { return isRunning(); }, [this] { cancel(); });
    connect(m_run, &QPushButton::clicked, this, &RepairDialog::start);
    connect(&m_watcher, &QFutureWatcher<Outcome>::finished, this, &RepairDialog::onFinished);
}

RepairDialog::~RepairDialog()
{
    cancel();
    m_watcher.waitForFinished();
}

void RepairDialog::setDataFile(const QString &path)
{
    m_data->setText(path);
}
void RepairDialog::setOutputFolder(const QString &folder)
{
    m_folder->setText(folder);
}
void RepairDialog::setSamples(int samples)
{
    m_samples->setValue(samples);
}
void RepairDialog::setCandidates(int candidates)
{
    m_candidates->setValue(candidates);
}
void RepairDialog::setMaxDisabled(int quantizers)
{
    m_maxDisabled->setValue(quantizers);
}

bool RepairDialog::isRunning() const
{
    return m_watcher.isRunning();
}

void RepairDialog::cancel()
{
    if (m_progress)
        m_progress->cancel();
}

void RepairDialog::start()
{
    if (isRunning() || !m_checkpoint)
        return;
    const std::string dataFile = m_data->text().trimmed().toStdString();
    const QString folder = m_folder->text().trimmed();
    if (dataFile.empty() || folder.isEmpty()) {
        m_status->setText(tr("Choose a data file and an output folder."));
        return;
    }
    qdq::RepairOptions options;
    options.task = m_task;
    options.quant = m_config;
    options.candidates = m_candidates->value();
    options.maxDisabled = m_maxDisabled->value();
    options.targetAgreement = m_target->value();
    const std::int64_t samples = m_samples->value();
    m_progress = std::make_shared<qdq::Progress>();
    m_progress->setCallback([this](const qdq::ProgressEvent &e) {
        const int percent = e.total > 0 ? static_cast<int>(100 * e.done / e.total) : 0;
        const QString stage = QString::fromStdString(e.stage);
        QMetaObject::invokeMethod(
            this,
            [this, percent, stage] {
                m_bar->setValue(percent);
                m_status->setText(tr("%1…").arg(stage));
            },
            Qt::QueuedConnection);
    });
    m_run->setEnabled(false);
    m_status->setText(tr("Repairing…"));
    m_watcher.setFuture(QtConcurrent::run([ck = m_checkpoint, device = computeDevice(AppSettings().device()).device,
                                           progress = m_progress, options, dataFile, samples,
                                           model = QString::fromStdString(m_checkpoint->source.string()), folder] {
        Outcome outcome;
        const JobEnd end = runGuarded([&] {
            const qdq::Session session(ck, {device});
            const auto examples = session.readExamples({dataFile, {}, samples, std::nullopt, {}}).examples;
            auto result =
                std::make_shared<qdq::RepairResult>(session.repair(examples, options, 8, 128, progress.get()));
            qdq::QuantizedOutput output;
            output.directory = folder.toStdString();
            session.writeRepaired(*result, output, model.toStdString(), dataFile, progress.get());
            outcome.result = std::move(result);
        });
        outcome.error = end.cancelled ? tr("Repair was cancelled; nothing was written.") : end.error;
        return outcome;
    }));
}

void RepairDialog::onFinished()
{
    const Outcome outcome = m_watcher.result();
    m_run->setEnabled(true);
    if (!outcome.result || !outcome.error.isEmpty()) {
        m_status->setText(outcome.error);
        emit failed(outcome.error);
        return;
    }
    m_bar->setValue(100);
    emit repaired(outcome.result, m_folder->text().trimmed());
    accept();
}

// --- File ▸ Import Scales… -----------------------------------------------------------------------

ImportScalesDialog::ImportScalesDialog(std::shared_ptr<const qdq::Checkpoint> checkpoint, qdq::VersionProfile profile,
                                       QWidget *parent)
    : QDialog(parent), m_checkpoint(std::move(checkpoint)), m_profile(profile)
{
    setObjectName("importScalesDialog");
    setWindowTitle(tr("Import Scales from ONNX"));
    auto *form = new QFormLayout(this);
    m_onnx = new QLineEdit;
    m_onnx->setPlaceholderText(tr("a Q/DQ ONNX file (this tool's export or pytorch-quantization's)"));
    form->addRow(tr("ONNX file"), withBrowseButton(m_onnx, [this] {
                     const QString f = QFileDialog::getOpenFileName(this, tr("Q/DQ ONNX File"), QString(),
                                                                    tr("ONNX (*.onnx);;All files (*)"));
                     if (!f.isEmpty())
                         m_onnx->setText(f);
                 }));
    m_folder =
        addOutputFolderRow(form, this, tr("Output Folder"), tr("folder for the checkpoint with the imported amax"));
    m_folder->setText(besideCheckpoint(m_checkpoint.get(), QStringLiteral("onnx-scales")));
    m_disableMissing = new QCheckBox(tr("Disable the quantizers without Q/DQ in the file (as TensorRT runs them)"));
    form->addRow(m_disableMissing);
    m_status = new QLabel(tr("amax = scale × 127 per quantizer; the mapping report (onnx-import.json) is written "
                             "beside the weights."));
    m_status->setWordWrap(true);
    form->addRow(m_status);
    m_run = addJobButtons(
        form, this, tr("Import"), [this] { return isRunning(); }, [] {});
    connect(m_run, &QPushButton::clicked, this, &ImportScalesDialog::start);
    connect(&m_watcher, &QFutureWatcher<Outcome>::finished, this, &ImportScalesDialog::onFinished);
}

ImportScalesDialog::~ImportScalesDialog()
{
    m_watcher.waitForFinished();
}

void ImportScalesDialog::setOnnxFile(const QString &path)
{
    m_onnx->setText(path);
}
void ImportScalesDialog::setOutputFolder(const QString &folder)
{
    m_folder->setText(folder);
}
bool ImportScalesDialog::isRunning() const
{
    return m_watcher.isRunning();
}

void ImportScalesDialog::start()
{
    if (isRunning() || !m_checkpoint)
        return;
    const std::string onnx = m_onnx->text().trimmed().toStdString();
    const std::string folder = m_folder->text().trimmed().toStdString();
    if (onnx.empty() || folder.empty()) {
        m_status->setText(tr("Choose an ONNX file and an output folder."));
        return;
    }
    m_run->setEnabled(false);
    m_watcher.setFuture(QtConcurrent::run(
        [ck = m_checkpoint, profile = m_profile, onnx, folder, disableMissing = m_disableMissing->isChecked()] {
            Outcome outcome;
            const JobEnd end = runGuarded([&] {
                qdq::QuantizedOutput output;
                output.directory = folder;
                const qdq::OnnxAmaxApplied applied =
                    qdq::Session(ck).importOnnxScales(onnx, {}, profile, disableMissing, output).applied;
                outcome.summary = tr("%1 quantizers set from the ONNX file, %2 kept, %3 disabled")
                                      .arg(applied.set)
                                      .arg(applied.kept)
                                      .arg(applied.disabled);
            });
            outcome.error = end.error;
            return outcome;
        }));
}

void ImportScalesDialog::onFinished()
{
    const Outcome outcome = m_watcher.result();
    m_run->setEnabled(true);
    if (!outcome.error.isEmpty()) {
        m_status->setText(outcome.error);
        emit failed(outcome.error);
        return;
    }
    emit imported(m_folder->text().trimmed(), outcome.summary);
    accept();
}

} // namespace qdq::ui

#include "calibrate_dialog.h"

#include "app_settings.h"
#include "browse_field.h"
#include "compute_devices.h"
#include "guarded_job.h"

#include "qdq/calibration.h"
#include "qdq/errors.h"
#include "qdq/session.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QtConcurrent>

namespace qdq::ui {

CalibrateDialog::CalibrateDialog(std::shared_ptr<const qdq::Checkpoint> checkpoint, QWidget *parent)
    : QDialog(parent), m_checkpoint(std::move(checkpoint))
{
    setObjectName("calibrateDialog");
    setWindowTitle(tr("Calibrate"));
    auto *form = new QFormLayout(this);
    m_method = new QComboBox;
    for (const char *m : {"percentile", "max", "mse", "entropy"})
        m_method->addItem(QString::fromLatin1(m));
    m_percentile = new QDoubleSpinBox;
    m_percentile->setDecimals(3);
    m_percentile->setRange(50.0, 100.0);
    m_percentile->setValue(99.99); // the HF QDQBERT example's value (reference §4.8)
    m_samples = new QSpinBox;
    m_samples->setRange(1, 1000000);
    m_samples->setValue(128); // reference §4.1: the HF example calibrates on 128 samples
    m_bar = new QProgressBar;
    m_bar->setRange(0, 100);
    m_bar->setValue(0);
    m_status = new QLabel;
    m_status->setWordWrap(true);
    m_data = addDataFileRow(form, this, tr("Calibration Data"));
    form->addRow(tr("Method"), m_method);
    form->addRow(tr("Percentile"), m_percentile);
    form->addRow(tr("Samples"), m_samples);
    m_output = addOutputFolderRow(form, this, tr("Output Folder"));
    m_output->setText(besideCheckpoint(m_checkpoint.get(), QStringLiteral("calibrated")));
    form->addRow(m_bar);
    form->addRow(m_status);
    m_run = addJobButtons(
        form, this, tr("Calibrate"), [this] { return isRunning(); }, [this] { cancel(); });
    connect(m_run, &QPushButton::clicked, this, &CalibrateDialog::start);
    connect(m_method, &QComboBox::currentTextChanged, this,
            [this](const QString &m) { m_percentile->setEnabled(m == QLatin1String("percentile")); });
    connect(&m_watcher, &QFutureWatcher<QString>::finished, this, &CalibrateDialog::onFinished);
}

CalibrateDialog::~CalibrateDialog()
{
    cancel();
    m_watcher.waitForFinished();
}

void CalibrateDialog::setDataFile(const QString &path)
{
    m_data->setText(path);
}
void CalibrateDialog::setOutputFolder(const QString &path)
{
    m_output->setText(path);
}
void CalibrateDialog::setMethod(const QString &method)
{
    m_method->setCurrentText(method);
}
void CalibrateDialog::setSamples(int samples)
{
    m_samples->setValue(samples);
}
bool CalibrateDialog::isRunning() const
{
    return m_watcher.isRunning();
}
QString CalibrateDialog::outputFolder() const
{
    return m_output->text();
}

void CalibrateDialog::cancel()
{
    if (m_progress)
        m_progress->cancel();
}

void CalibrateDialog::start()
{
    if (isRunning() || !m_checkpoint)
        return;
    const auto method = qdq::parseCalibMethod(m_method->currentText().toStdString());
    const AppSettings settings;
    qdq::CalibrationOptions options;
    options.numBins = settings.histogramBins();
    options.profile = settings.profile();
    qdq::CalibratedOutput output;
    output.directory = m_output->text().toStdString();
    output.method = method.value_or(qdq::CalibMethod::Percentile);
    output.amax.percentile = m_percentile->value();
    output.metadata["data"] = m_data->text().toStdString();
    const std::string dataFile = m_data->text().toStdString();
    const std::int64_t samples = m_samples->value();
    m_progress = std::make_shared<qdq::Progress>();
    m_progress->setCallback([this](const qdq::ProgressEvent &e) {
        const int percent = e.total > 0 ? static_cast<int>(100 * e.done / e.total) : 0;
        QMetaObject::invokeMethod(
            this,
            [this, percent, stage = QString::fromStdString(e.stage)] {
                m_bar->setValue(percent);
                m_bar->setFormat(stage + QStringLiteral(" %p%"));
            },
            Qt::QueuedConnection);
    });
    m_run->setEnabled(false);
    m_status->setText(tr("Calibrating…"));
    m_watcher.setFuture(QtConcurrent::run([ck = m_checkpoint, device = computeDevice(AppSettings().device()).device,
                                           progress = m_progress, options, output, dataFile, samples] {
        const JobEnd end = runGuarded([&] {
            if (dataFile.empty())
                throw qdq::IoError("choose a calibration data file");
            const qdq::Session session(ck, {device});
            const auto calibrator = session.calibrate(
                session.readExamples({dataFile, {}, samples, std::nullopt, {}}).examples, options, progress.get());
            qdq::writeCalibratedCheckpoint(*ck, *calibrator, output, progress.get());
        });
        return end.cancelled ? tr("Calibration was cancelled; nothing was written.") : end.error;
    }));
}

void CalibrateDialog::onFinished()
{
    const QString error = m_watcher.result();
    m_run->setEnabled(true);
    if (!error.isEmpty()) {
        m_status->setText(error);
        emit failed(error);
        return;
    }
    m_bar->setValue(100);
    m_status->setText(tr("Wrote %1").arg(m_output->text()));
    emit calibrated(m_output->text());
    accept();
}

} // namespace qdq::ui

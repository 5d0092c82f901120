#pragma once
// Tools ▸ Calibrate…: one pass over a data file collects histograms at every quantizer site,
// then a calibrated Hugging Face folder (with calibration.safetensors) is written atomically.
// Runs on a worker thread with progress; Cancel leaves no output (reference §4).

#include "qdq/checkpoint.h"
#include "qdq/progress.h"

#include <QDialog>
#include <QFutureWatcher>

#include <memory>

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;

namespace qdq::ui {

class CalibrateDialog : public QDialog {
    Q_OBJECT
public:
    CalibrateDialog(std::shared_ptr<const qdq::Checkpoint> checkpoint, QWidget *parent = nullptr);
    ~CalibrateDialog() override;

    void setDataFile(const QString &path);
    void setOutputFolder(const QString &path);
    void setMethod(const QString &method); // max, percentile, mse, entropy
    void setSamples(int samples);
    // Starts the calibration (what the Calibrate button does).
    void start();
    void cancel();
    [[nodiscard]] bool isRunning() const;
    [[nodiscard]] QString outputFolder() const;

signals:
    // The calibrated folder was written.
    void calibrated(const QString &folder);
    void failed(const QString &message);

private:
    void onFinished();

    std::shared_ptr<const qdq::Checkpoint> m_checkpoint;
    std::shared_ptr<qdq::Progress> m_progress;
    QFutureWatcher<QString> m_watcher; // error message, empty on success
    QLineEdit *m_data = nullptr;
    QLineEdit *m_output = nullptr;
    QComboBox *m_method = nullptr;
    QDoubleSpinBox *m_percentile = nullptr;
    QSpinBox *m_samples = nullptr;
    QProgressBar *m_bar = nullptr;
    QLabel *m_status = nullptr;
    QPushButton *m_run = nullptr;
};

} // namespace qdq::ui

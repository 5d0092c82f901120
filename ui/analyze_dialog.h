#pragma once
// Tools ▸ Analyze…: where and why the quantized model diverges (issue "Quantization analysis"),
// over a data file, on a worker thread with progress and Cancel.

#include "qdq/analysis.h"
#include "qdq/checkpoint.h"
#include "qdq/model.h"
#include "qdq/progress.h"
#include "qdq/quant/quant_config.h"

#include <QDialog>
#include <QFutureWatcher>

#include <memory>

class QCheckBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;

namespace qdq::ui {

class AnalyzeDialog : public QDialog {
    Q_OBJECT
public:
    AnalyzeDialog(std::shared_ptr<const qdq::Checkpoint> checkpoint, qdq::QuantConfig config, qdq::Task task,
                  QWidget *parent = nullptr);
    ~AnalyzeDialog() override;

    void setDataFile(const QString &path);
    void setSamples(int samples);
    void setSensitivity(bool on);
    void start();
    void cancel();
    [[nodiscard]] bool isRunning() const;

signals:
    void analyzed(std::shared_ptr<const qdq::AnalysisReport> report);
    void failed(const QString &message);

private:
    struct Outcome {
        std::shared_ptr<const qdq::AnalysisReport> report;
        QString error;
    };
    void onFinished();

    std::shared_ptr<const qdq::Checkpoint> m_checkpoint;
    qdq::QuantConfig m_config;
    qdq::Task m_task;
    std::shared_ptr<qdq::Progress> m_progress;
    QFutureWatcher<Outcome> m_watcher;
    QLineEdit *m_data = nullptr;
    QSpinBox *m_samples = nullptr;
    QSpinBox *m_maxLength = nullptr;
    QCheckBox *m_sensitivity = nullptr;
    QProgressBar *m_bar = nullptr;
    QLabel *m_status = nullptr;
    QPushButton *m_run = nullptr;
};

} // namespace qdq::ui

Q_DECLARE_METATYPE(std::shared_ptr<const qdq::AnalysisReport>)

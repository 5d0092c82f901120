#pragma once
// Tools ▸ Analyze…: where and why the quantized model diverges (issue "Quantization analysis"),
// over a data file, on a worker thread with progress and Cancel.
// File ▸ Export ▸ Report… is the same dialog in Mode::Report: after the analysis (worker) it
// builds the report model (worker), then the engine's report writer (qdq/report_writer.h) draws
// the charts and writes the chosen formats into a folder (worker), each file atomically.

#include "qdq/analysis.h"
#include "qdq/checkpoint.h"
#include "qdq/model.h"
#include "qdq/progress.h"
#include "qdq/quant/quant_config.h"
#include "qdq/report.h"

#include <QDialog>
#include <QFutureWatcher>

#include <cstdint>
#include <memory>
#include <vector>

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
    enum class Mode : std::uint8_t { Analyze, Report };
    AnalyzeDialog(std::shared_ptr<const qdq::Checkpoint> checkpoint, qdq::QuantConfig config, qdq::Task task,
                  QWidget *parent = nullptr, Mode mode = Mode::Analyze);
    ~AnalyzeDialog() override;

    // The quantizers analysed (the Quantizers view's settings and the Settings' profile).
    [[nodiscard]] const qdq::QuantConfig &quantConfig() const { return m_config; }
    void setDataFile(const QString &path);
    void setSamples(int samples);
    void setSensitivity(bool on);
    void setPerQuantizer(bool on); // per-quantizer sweeps (implies the sensitivity sweeps)
    // Report mode: the output folder and formats (qdq/report_writer.h ReportFormat bits).
    void setOutputFolder(const QString &folder);
    void setFormats(unsigned formats);
    [[nodiscard]] unsigned formats() const;
    void start();
    void cancel();
    [[nodiscard]] bool isRunning() const;

signals:
    void analyzed(std::shared_ptr<const qdq::AnalysisReport> report);
    void failed(const QString &message);
    // Report mode: every file written.
    void reportWritten(const QStringList &files);

private:
    struct Outcome {
        std::shared_ptr<const qdq::AnalysisReport> report;
        std::shared_ptr<qdq::Report> fullReport; // report mode
        QStringList written;                     // report mode, after writing
        QString error;
    };
    void onFinished();
    void finishWith(const QString &error);

    std::shared_ptr<const qdq::Checkpoint> m_checkpoint;
    qdq::QuantConfig m_config;
    qdq::Task m_task;
    Mode m_mode;
    bool m_writing = false; // report mode: the second worker (writing files) runs
    std::shared_ptr<qdq::Progress> m_progress;
    QFutureWatcher<Outcome> m_watcher;
    QLineEdit *m_data = nullptr;
    QSpinBox *m_samples = nullptr;
    QSpinBox *m_maxLength = nullptr;
    QCheckBox *m_sensitivity = nullptr;
    QCheckBox *m_perQuantizer = nullptr;
    QProgressBar *m_bar = nullptr;
    QLabel *m_status = nullptr;
    QPushButton *m_run = nullptr;
    QLineEdit *m_folder = nullptr;          // report mode
    std::vector<QCheckBox *> m_formatBoxes; // report mode: html, pdf, json, csv, zip
};

} // namespace qdq::ui

Q_DECLARE_METATYPE(std::shared_ptr<const qdq::AnalysisReport>)

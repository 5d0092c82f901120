#pragma once
// Tools ▸ Repair… (issue 28; qdq/sensitivity.h repairQuantization, the same call as `qdq repair`):
// on a data file, on a worker thread with progress and Cancel, re-chooses the amax of the
// quantizers that hurt the task output most and leaves a few in FP32 within a budget; writes the
// repaired checkpoint (repair.json, repair.md beside it) and hands the result to the Sensitivity
// view.

#include "qdq/checkpoint.h"
#include "qdq/model.h"
#include "qdq/progress.h"
#include "qdq/quant/quant_config.h"
#include "qdq/sensitivity.h"

#include <QDialog>
#include <QFutureWatcher>

#include <memory>

class QCheckBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;

namespace qdq::ui {

class RepairDialog : public QDialog {
    Q_OBJECT
public:
    RepairDialog(std::shared_ptr<const qdq::Checkpoint> checkpoint, qdq::QuantConfig config, qdq::Task task,
                 QWidget *parent = nullptr);
    ~RepairDialog() override;

    void setDataFile(const QString &path);
    void setOutputFolder(const QString &folder);
    void setSamples(int samples);
    void setCandidates(int candidates);
    void setMaxDisabled(int quantizers);
    void start();
    void cancel();
    [[nodiscard]] bool isRunning() const;

signals:
    void repaired(std::shared_ptr<const qdq::RepairResult> result, const QString &folder);
    void failed(const QString &message);

private:
    struct Outcome {
        std::shared_ptr<const qdq::RepairResult> result;
        QString error;
    };
    void onFinished();

    std::shared_ptr<const qdq::Checkpoint> m_checkpoint;
    qdq::QuantConfig m_config;
    qdq::Task m_task;
    std::shared_ptr<qdq::Progress> m_progress;
    QFutureWatcher<Outcome> m_watcher;
    QLineEdit *m_data = nullptr;
    QLineEdit *m_folder = nullptr;
    QSpinBox *m_samples = nullptr;
    QSpinBox *m_candidates = nullptr;
    QSpinBox *m_maxDisabled = nullptr;
    QDoubleSpinBox *m_target = nullptr;
    QProgressBar *m_bar = nullptr;
    QLabel *m_status = nullptr;
    QPushButton *m_run = nullptr;
};

// File ▸ Import Scales…: the amax of a Q/DQ ONNX file written into a copy of the open checkpoint
// (qdq/quant/onnx_amax.h, the same as `qdq import-onnx-amax`), with the mapping report
// onnx-import.json beside it; on a worker thread.
class ImportScalesDialog : public QDialog {
    Q_OBJECT
public:
    ImportScalesDialog(std::shared_ptr<const qdq::Checkpoint> checkpoint, qdq::VersionProfile profile,
                       QWidget *parent = nullptr);
    ~ImportScalesDialog() override;

    void setOnnxFile(const QString &path);
    void setOutputFolder(const QString &folder);
    void start();
    [[nodiscard]] bool isRunning() const;

signals:
    // `summary`: one line (quantizers set, kept, disabled).
    void imported(const QString &folder, const QString &summary);
    void failed(const QString &message);

private:
    struct Outcome {
        QString summary;
        QString error;
    };
    void onFinished();

    std::shared_ptr<const qdq::Checkpoint> m_checkpoint;
    qdq::VersionProfile m_profile;
    QFutureWatcher<Outcome> m_watcher;
    QLineEdit *m_onnx = nullptr;
    QLineEdit *m_folder = nullptr;
    QCheckBox *m_disableMissing = nullptr;
    QLabel *m_status = nullptr;
    QPushButton *m_run = nullptr;
};

} // namespace qdq::ui

Q_DECLARE_METATYPE(std::shared_ptr<const qdq::RepairResult>)

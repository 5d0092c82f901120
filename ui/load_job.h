#pragma once
// Loads a checkpoint on a worker thread (style.md: workers), reporting progress through
// signals and cancellable from the GUI thread. The engine call is the same one the CLI makes.

#include "qdq/calibration.h"
#include "qdq/checkpoint.h"
#include "qdq/progress.h"
#include "qdq/tokenizer.h"

#include <QFutureWatcher>
#include <QObject>
#include <QString>

#include <memory>

namespace qdq::ui {

// What a load produces: the checkpoint and, when the checkpoint has a vocabulary, its tokenizer.
struct LoadedModel {
    std::shared_ptr<const qdq::Checkpoint> checkpoint;
    std::shared_ptr<const qdq::Tokenizer> tokenizer;
    QString tokenizerProblem; // why there is no tokenizer
    // calibration statistics written beside the weights by `qdq calibrate`, when present
    std::shared_ptr<const qdq::CalibrationFile> calibration;
    QString calibrationProblem;
};

class LoadJob : public QObject {
    Q_OBJECT
public:
    explicit LoadJob(QObject *parent = nullptr);
    ~LoadJob() override;

    void start(const QString &path);
    void cancel();
    [[nodiscard]] bool isRunning() const;
    [[nodiscard]] QString path() const { return m_path; }

signals:
    void progressChanged(const QString &stage, int percent);
    void loaded(const qdq::ui::LoadedModel &model);
    void failed(const QString &message);
    void cancelled();

private:
    struct Result {
        LoadedModel model;
        QString error;
        bool cancelled = false;
    };
    void onFinished();

    QString m_path;
    std::shared_ptr<qdq::Progress> m_progress;
    QFutureWatcher<Result> m_watcher;
};

} // namespace qdq::ui

#pragma once
// Runs task heads for the GUI on a thread of its own (style.md: workers): the playground and the
// attention view send requests, the latest result comes back as a signal. Models are built once
// per task and reused; a newer request supersedes an older one that has not started.

#include "qdq/checkpoint.h"
#include "qdq/model.h"
#include "qdq/text_task.h"
#include "qdq/tokenizer.h"

#include <QObject>
#include <QString>
#include <QThread>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace qdq::ui {

struct InferenceRequest {
    quint64 id = 0;
    qdq::Task task = qdq::Task::Base;
    std::vector<qdq::TextExample> examples;
    int maxLength = 128;
    int topK = 5;
    bool attentions = true;
};

// One layer's attention probabilities of the first sequence: [heads, L, L] row-major.
struct AttentionMaps {
    int heads = 0;
    int length = 0;
    std::vector<std::vector<float>> layers;
};

struct InferenceResult {
    quint64 id = 0;
    qdq::Task task = qdq::Task::Base;
    QString precision; // "FP32"
    QString error;     // set when the run failed
    std::vector<qdq::TaskResult> results;
    std::vector<qdq::Encoding> encodings;
    std::vector<qdq::TextExample> examples;
    AttentionMaps attention;
    double milliseconds = 0.0;
};

class InferenceWorker : public QObject {
    Q_OBJECT
public:
    explicit InferenceWorker(QObject *parent = nullptr);
    ~InferenceWorker() override;

    void setModel(std::shared_ptr<const qdq::Checkpoint> checkpoint, std::shared_ptr<const qdq::Tokenizer> tokenizer);
    // Queues `request`; only the newest queued request runs.
    void submit(InferenceRequest request);
    [[nodiscard]] bool isBusy() const;

signals:
    void finished(std::shared_ptr<const qdq::ui::InferenceResult> result);

private:
    class Runner;
    QThread m_thread;
    Runner *m_runner = nullptr;
};

} // namespace qdq::ui

Q_DECLARE_METATYPE(std::shared_ptr<const qdq::ui::InferenceResult>)

#pragma once
// Runs task heads for the GUI on a thread of its own (style.md: workers): the playground and the
// attention view send requests, the latest result comes back as a signal. Models are built once
// per task and reused; a newer request supersedes an older one that has not started.

#include "qdq/checkpoint.h"
#include "qdq/model.h"
#include "qdq/quant/quant_config.h"
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
    // Run with each precision in turn on the same inputs (FP32 and a quantized one side by side).
    std::vector<qdq::Precision> precisions{qdq::Precision::Fp32};
};

// One layer's attention probabilities of the first sequence: [heads, L, L] row-major.
struct AttentionMaps {
    int heads = 0;
    int length = 0;
    std::vector<std::vector<float>> layers;
};

// One precision's run of a request.
struct PrecisionRun {
    qdq::Precision precision = qdq::Precision::Fp32;
    qdq::VersionProfile profile = qdq::kDefaultVersionProfile; // of the model that ran
    qdq::Device device;                                        // where it ran
    QString error;                                             // set when this run failed
    std::vector<qdq::TaskResult> results;
    AttentionMaps attention;
    double milliseconds = 0.0;
};

struct InferenceResult {
    quint64 id = 0;
    qdq::Task task = qdq::Task::Base;
    QString error; // set when nothing could run (no model, tokenization failed)
    std::vector<qdq::Encoding> encodings;
    std::vector<qdq::TextExample> examples;
    std::vector<PrecisionRun> runs; // in the requested order

    [[nodiscard]] const PrecisionRun *run(qdq::Precision precision) const
    {
        for (const PrecisionRun &r : runs)
            if (r.precision == precision)
                return &r;
        return nullptr;
    }
};

class InferenceWorker : public QObject {
    Q_OBJECT
public:
    explicit InferenceWorker(QObject *parent = nullptr);
    ~InferenceWorker() override;

    void setModel(std::shared_ptr<const qdq::Checkpoint> checkpoint, std::shared_ptr<const qdq::Tokenizer> tokenizer);
    // Quantizer settings (calibration, overrides, version profile) of the quantized precisions;
    // takes effect at the next run, without touching the checkpoint. FP32 runs follow only the
    // profile (2.2.x applies `_pre_quant_scale` also with every quantizer disabled, reference §2.1).
    void setQuantConfig(const qdq::QuantConfig &config);
    // The device of the next runs (the device setting, compute_devices.h).
    void setDevice(qdq::Device device);
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

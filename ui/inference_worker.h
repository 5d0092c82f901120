#pragma once
// Runs task heads for the GUI on a thread of its own (style.md: workers): the playground and the
// attention view send requests, the latest result comes back as a signal. The work is the
// engine's Session::runText (session.h, shared with `qdq run`), whose models are built once per
// task and precision; a newer request supersedes an older one that has not started.

#include "qdq/checkpoint.h"
#include "qdq/device.h"
#include "qdq/quant/quant_config.h"
#include "qdq/session.h"
#include "qdq/tokenizer.h"

#include <QObject>
#include <QString>
#include <QThread>

#include <memory>

namespace qdq::ui {

// The engine's text run (session.h) with the playground's request id; only the newest request
// runs. The playground's defaults: 128 tokens, top 5.
struct InferenceRequest : qdq::TextRunRequest {
    InferenceRequest()
    {
        maxLength = 128;
        attentions = true;
    }
    quint64 id = 0;
};

using qdq::AttentionMaps;
using qdq::PrecisionRun;

struct InferenceResult : qdq::TextRunResult {
    quint64 id = 0;
    QString error; // set when nothing could run (no model, tokenization failed)
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
    // The device of the next runs (the device setting, compute_devices.h); the models are
    // rebuilt there.
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

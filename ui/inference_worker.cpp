#include "inference_worker.h"

#include "qdq/threading.h"

#include <QMetaObject>

#include <atomic>

namespace qdq::ui {

// Lives on the worker thread; everything it touches there is its own.
class InferenceWorker::Runner : public QObject {
public:
    std::mutex mutex;
    std::optional<InferenceRequest> pending; // newest request not yet started
    std::shared_ptr<const qdq::Checkpoint> checkpoint;
    std::shared_ptr<const qdq::Tokenizer> tokenizer;
    // models per task, each with the checkpoint it was built over (the model views its tensors)
    struct BuiltModel {
        std::shared_ptr<const qdq::Checkpoint> checkpoint;
        std::unique_ptr<qdq::QDQBertModel> model;
    };
    std::map<qdq::Task, BuiltModel> models;
    std::atomic<bool> busy{false};
    InferenceWorker *owner = nullptr;

    void runPending()
    {
        std::optional<InferenceRequest> request;
        std::shared_ptr<const qdq::Checkpoint> ck;
        std::shared_ptr<const qdq::Tokenizer> tok;
        {
            std::lock_guard lock(mutex);
            request.swap(pending);
            ck = checkpoint;
            tok = tokenizer;
        }
        if (!request)
            return;
        busy = true;
        auto result = std::make_shared<InferenceResult>();
        result->id = request->id;
        result->task = request->task;
        result->precision = QStringLiteral("FP32");
        result->examples = request->examples;
        try {
            if (!ck || !tok)
                throw qdq::UnsupportedError("no model with a vocabulary is loaded");
            qdq::applyNumThreads();
            BuiltModel &built = models[request->task];
            if (!built.model || built.checkpoint != ck) {
                built.model.reset();
                built.model = std::make_unique<qdq::QDQBertModel>(*ck, qdq::ModelOptions{request->task});
                built.checkpoint = ck;
            }
            const std::unique_ptr<qdq::QDQBertModel> &model = built.model;
            qdq::EncodedText text = qdq::encodeForTask(*tok, ck->config, request->task, request->examples,
                                                       static_cast<std::size_t>(request->maxLength));
            text.inputs.outputAttentions = request->attentions;
            const qdq::ForwardOutputs out = model->forward(text.inputs);
            result->results = qdq::interpretOutputs(*model, out, request->topK, tok.get(), &text);
            result->milliseconds = out.milliseconds;
            result->encodings = text.encodings;
            if (request->attentions && !out.attentions.empty()) {
                // first sequence (first choice for multiple-choice): [h, L, L] of its real tokens
                const qdq::Tensor &a0 = out.attentions.front();
                const auto h = a0.size(1);
                const auto l = static_cast<std::int64_t>(text.encodings.front().size());
                result->attention.heads = static_cast<int>(h);
                result->attention.length = static_cast<int>(l);
                for (const qdq::Tensor &a : out.attentions) {
                    const qdq::Tensor first = a.select(0, 0).slice(1, 0, l).slice(2, 0, l).contiguous();
                    result->attention.layers.push_back(first.toFloatVector());
                }
            }
        } catch (const std::exception &e) {
            result->error = QString::fromStdString(e.what());
        }
        busy = false;
        QMetaObject::invokeMethod(
            owner, [o = owner, r = std::shared_ptr<const InferenceResult>(result)] { emit o->finished(r); },
            Qt::QueuedConnection);
    }
};

InferenceWorker::InferenceWorker(QObject *parent) : QObject(parent), m_runner(new Runner)
{
    qRegisterMetaType<std::shared_ptr<const qdq::ui::InferenceResult>>();
    m_runner->owner = this;
    m_runner->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_runner, &QObject::deleteLater);
    m_thread.setObjectName("inference");
    m_thread.start();
}

InferenceWorker::~InferenceWorker()
{
    {
        std::lock_guard lock(m_runner->mutex);
        m_runner->pending.reset();
    }
    m_thread.quit();
    m_thread.wait();
}

void InferenceWorker::setModel(std::shared_ptr<const qdq::Checkpoint> checkpoint,
                               std::shared_ptr<const qdq::Tokenizer> tokenizer)
{
    std::lock_guard lock(m_runner->mutex);
    m_runner->pending.reset();
    m_runner->checkpoint = std::move(checkpoint);
    m_runner->tokenizer = std::move(tokenizer);
}

void InferenceWorker::submit(InferenceRequest request)
{
    {
        std::lock_guard lock(m_runner->mutex);
        m_runner->pending = std::move(request);
    }
    QMetaObject::invokeMethod(
        m_runner, [r = m_runner] { r->runPending(); }, Qt::QueuedConnection);
}

bool InferenceWorker::isBusy() const
{
    return m_runner->busy.load();
}

} // namespace qdq::ui

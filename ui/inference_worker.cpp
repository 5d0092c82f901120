#include "inference_worker.h"

#include "qdq/errors.h"

#include <QMetaObject>

#include <atomic>
#include <mutex>
#include <optional>

namespace qdq::ui {

// Lives on the worker thread; the session and its models are touched only there. The setters
// leave their values under the mutex; the next run applies them to the session.
class InferenceWorker::Runner : public QObject {
public:
    std::mutex mutex;
    std::optional<InferenceRequest> pending; // newest request not yet started
    std::shared_ptr<const qdq::Checkpoint> checkpoint;
    std::shared_ptr<const qdq::Tokenizer> tokenizer;
    std::optional<qdq::QuantConfig> quantConfig; // nullopt: from the checkpoint
    quint64 quantVersion = 0;
    qdq::Device device{};

    // worker thread only
    std::optional<qdq::Session> session;
    std::optional<quint64> sessionQuantVersion; // the settings the session has
    std::atomic<bool> busy{false};
    InferenceWorker *owner = nullptr;

    void runPending()
    {
        std::optional<InferenceRequest> request;
        std::shared_ptr<const qdq::Checkpoint> ck;
        std::shared_ptr<const qdq::Tokenizer> tok;
        std::optional<qdq::QuantConfig> config;
        quint64 version = 0;
        qdq::Device wantedDevice{};
        {
            std::lock_guard lock(mutex);
            request.swap(pending);
            ck = checkpoint;
            tok = tokenizer;
            config = quantConfig;
            version = quantVersion;
            wantedDevice = device;
        }
        if (!request)
            return;
        busy = true;
        auto result = std::make_shared<InferenceResult>();
        result->id = request->id;
        result->task = request->task;
        result->examples = request->examples;
        try {
            if (!ck || !tok)
                throw qdq::UnsupportedError("no model with a vocabulary is loaded");
            if (!session || session->sharedCheckpoint() != ck || session->sharedTokenizer() != tok) {
                session.emplace(ck, qdq::SessionOptions{}, tok);
                sessionQuantVersion.reset();
            }
            session->setDevice(wantedDevice);
            if (sessionQuantVersion != version) {
                session->setQuantConfig(config);
                sessionQuantVersion = version;
            }
            const quint64 id = result->id;
            static_cast<qdq::TextRunResult &>(*result) = session->runText(*request);
            result->id = id;
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
    m_runner->quantConfig.reset();
    ++m_runner->quantVersion;
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

void InferenceWorker::setQuantConfig(const qdq::QuantConfig &config)
{
    std::lock_guard lock(m_runner->mutex);
    m_runner->quantConfig = config;
    ++m_runner->quantVersion;
}

void InferenceWorker::setDevice(qdq::Device device)
{
    std::lock_guard lock(m_runner->mutex);
    m_runner->device = device;
}

bool InferenceWorker::isBusy() const
{
    return m_runner->busy.load();
}

} // namespace qdq::ui

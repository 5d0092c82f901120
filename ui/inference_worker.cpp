#include "inference_worker.h"

#include "qdq/threading.h"

#include <QMetaObject>

#include <atomic>

namespace qdq::ui {

namespace {

// Attention probabilities of the first sequence (first choice for multiple-choice): [h, L, L]
// of its real tokens, per layer.
AttentionMaps firstSequenceAttention(const qdq::ForwardOutputs &out, std::int64_t length)
{
    AttentionMaps maps;
    maps.heads = static_cast<int>(out.attentions.front().size(1));
    maps.length = static_cast<int>(length);
    for (const qdq::Tensor &a : out.attentions) {
        const qdq::Tensor first = a.select(0, 0).slice(1, 0, length).slice(2, 0, length).contiguous();
        maps.layers.push_back(first.toFloatVector());
    }
    return maps;
}

} // namespace

// Lives on the worker thread; everything it touches there is its own.
class InferenceWorker::Runner : public QObject {
public:
    std::mutex mutex;
    std::optional<InferenceRequest> pending; // newest request not yet started
    std::shared_ptr<const qdq::Checkpoint> checkpoint;
    std::shared_ptr<const qdq::Tokenizer> tokenizer;
    std::optional<qdq::QuantConfig> quantConfig; // nullopt: from the checkpoint
    quint64 quantVersion = 0;
    qdq::Device device;
    // models per task, each with the checkpoint it was built over (the model views its tensors)
    struct BuiltModel {
        std::shared_ptr<const qdq::Checkpoint> checkpoint;
        std::unique_ptr<qdq::QDQBertModel> model;
        quint64 quantVersion = 0;
        qdq::VersionProfile profile = qdq::kDefaultVersionProfile;
        qdq::Device device;
    };
    std::map<std::pair<qdq::Task, qdq::Precision>, BuiltModel> models;

    qdq::QDQBertModel &modelFor(qdq::Task task, qdq::Precision precision,
                                const std::shared_ptr<const qdq::Checkpoint> &ck,
                                const std::optional<qdq::QuantConfig> &config, quint64 version,
                                const qdq::Device &modelDevice)
    {
        BuiltModel &built = models[{task, precision}];
        const bool quantized = precision != qdq::Precision::Fp32;
        const qdq::VersionProfile profile = config ? config->profile() : qdq::kDefaultVersionProfile;
        // quantized: the configured quantizers; FP32: all disabled anyway, only the profile counts
        const auto wanted = [&] {
            return quantized && config ? *config : qdq::QuantConfig::fromCheckpoint(*ck, profile);
        };
        if (!built.model || built.checkpoint != ck || built.device != modelDevice) {
            built.model.reset();
            qdq::ModelOptions options{task};
            options.precision = precision;
            options.device = modelDevice;
            options.quant = wanted();
            built.model = std::make_unique<qdq::QDQBertModel>(*ck, options);
            built.checkpoint = ck;
            built.device = modelDevice;
        } else if (quantized ? built.quantVersion != version : built.profile != profile) {
            built.model->setQuantConfig(wanted());
        }
        built.quantVersion = version;
        built.profile = profile;
        return *built.model;
    }
    std::atomic<bool> busy{false};
    InferenceWorker *owner = nullptr;

    void runPending()
    {
        std::optional<InferenceRequest> request;
        std::shared_ptr<const qdq::Checkpoint> ck;
        std::shared_ptr<const qdq::Tokenizer> tok;
        std::optional<qdq::QuantConfig> config;
        quint64 version = 0;
        qdq::Device runDevice;
        {
            std::lock_guard lock(mutex);
            request.swap(pending);
            ck = checkpoint;
            tok = tokenizer;
            config = quantConfig;
            version = quantVersion;
            runDevice = device;
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
            qdq::applyNumThreads();
            qdq::EncodedText text = qdq::encodeForTask(*tok, ck->config, request->task, request->examples,
                                                       static_cast<std::size_t>(request->maxLength));
            text.inputs.outputAttentions = request->attentions;
            result->encodings = text.encodings;
            for (qdq::Precision precision : request->precisions) {
                PrecisionRun run;
                run.precision = precision;
                try {
                    qdq::QDQBertModel &model = modelFor(request->task, precision, ck, config, version, runDevice);
                    run.profile = model.quantConfig().profile();
                    run.device = runDevice;
                    const qdq::ForwardOutputs out = model.forward(text.inputs);
                    run.results = qdq::interpretOutputs(model, out, request->topK, tok.get(), &text);
                    run.milliseconds = out.milliseconds;
                    if (request->attentions && !out.attentions.empty())
                        run.attention =
                            firstSequenceAttention(out, static_cast<std::int64_t>(text.encodings.front().size()));
                } catch (const std::exception &e) {
                    run.error = QString::fromStdString(e.what());
                }
                result->runs.push_back(std::move(run));
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

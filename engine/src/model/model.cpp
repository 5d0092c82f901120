// QDQBertModel, the public class: construction (config, backend, quantizers, weights) and
// accessors. Where the rest lives: model_impl.h.
#include "qdq/model.h"

#include "model/model_impl.h"
#include "qdq/quant/quant_hooks.h"

namespace qdq {

QDQBertModel::QDQBertModel(const Checkpoint &checkpoint, ModelOptions options) : m_impl(std::make_unique<Impl>())
{
    m_impl->config = checkpoint.config;
    m_impl->config.validate(checkpoint.source.string());
    m_impl->backend = kernels::createBackend(options.device);
    m_impl->quant = options.quant ? *options.quant : QuantConfig::fromCheckpoint(checkpoint);
    options.quant.reset(); // kept once, in m_impl->quant
    m_impl->options = std::move(options);
    m_impl->hooks = siteHooksFor(m_impl->quant, m_impl->options.precision);
    if (!m_impl->hooks)
        m_impl->hooks = std::make_shared<SiteHooks>();
    m_impl->load(checkpoint);
}

Precision QDQBertModel::precision() const noexcept
{
    return m_impl->options.precision;
}

const QuantConfig &QDQBertModel::quantConfig() const noexcept
{
    return m_impl->quant;
}

void QDQBertModel::setQuantConfig(QuantConfig config)
{
    m_impl->quant = std::move(config);
    setSiteHooks(siteHooksFor(m_impl->quant, m_impl->options.precision));
}

std::vector<SiteExecution> QDQBertModel::executionPlan() const
{
    return m_impl->quant.executionPlan(m_impl->options.precision);
}

QDQBertModel::~QDQBertModel() = default;
QDQBertModel::QDQBertModel(QDQBertModel &&) noexcept = default;
QDQBertModel &QDQBertModel::operator=(QDQBertModel &&) noexcept = default;

const BertConfig &QDQBertModel::config() const noexcept
{
    return m_impl->config;
}
Task QDQBertModel::task() const noexcept
{
    return m_impl->options.task;
}
const ModelOptions &QDQBertModel::options() const noexcept
{
    return m_impl->options;
}
std::string QDQBertModel::backendName() const
{
    return m_impl->backend->name();
}
const std::string &QDQBertModel::prefix() const noexcept
{
    return m_impl->prefix;
}

void QDQBertModel::setSiteHooks(std::shared_ptr<SiteHooks> hooks)
{
    m_impl->hooks = hooks ? std::move(hooks) : std::make_shared<SiteHooks>();
    m_impl->prepared = false;
}

void QDQBertModel::setObserver(TensorObserver *observer) noexcept
{
    m_impl->observer = observer;
}

ForwardOutputs QDQBertModel::forward(const ForwardInputs &inputs)
{
    return m_impl->forward(inputs);
}

std::vector<std::string> QDQBertModel::missingHeadWeights(const Checkpoint &checkpoint, Task task)
{
    std::vector<std::string> missing;
    for (const std::string &name : model::headFor(task).requiredTensors())
        if (!checkpoint.has(name))
            missing.push_back(name);
    return missing;
}

} // namespace qdq

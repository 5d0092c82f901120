// The plain types of model.h beside the model itself: task names, forward() arguments and
// results by their CLI-contract names (design.md), and the default (FP32) SiteHooks.
#include "qdq/model.h"

#include "qdq/errors.h"

#include <algorithm>
#include <array>
#include <charconv>

namespace qdq {

namespace {
constexpr std::array<std::pair<Task, std::string_view>, 8> kTaskNames{{
    {Task::Base, "base"},
    {Task::MaskedLm, "masked-lm"},
    {Task::CausalLm, "causal-lm"},
    {Task::SequenceClassification, "sequence-classification"},
    {Task::TokenClassification, "token-classification"},
    {Task::QuestionAnswering, "question-answering"},
    {Task::NextSentence, "next-sentence"},
    {Task::MultipleChoice, "multiple-choice"},
}};

std::optional<int> parseIndex(std::string_view s)
{
    int v = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size() || v < 0 || s.empty())
        return std::nullopt;
    return v;
}
} // namespace

std::string_view taskName(Task task) noexcept
{
    for (const auto &[t, name] : kTaskNames)
        if (t == task)
            return name;
    return "base";
}

std::optional<Task> taskFromName(std::string_view name) noexcept
{
    for (const auto &[t, n] : kTaskNames)
        if (n == name)
            return t;
    return std::nullopt;
}

const std::vector<Task> &allTasks()
{
    static const std::vector<Task> tasks = [] {
        std::vector<Task> v;
        for (const auto &entry : kTaskNames)
            v.push_back(entry.first);
        return v;
    }();
    return tasks;
}

Tensor SiteHooks::apply(const QuantizerSite &site, Tensor x, TensorObserver *observer)
{
    if (observer)
        observer->observe(site.modulePath(), x);
    return x;
}

std::optional<IntegerQuant> SiteHooks::integerInput(const QuantizerSite & /*site*/, const Tensor & /*x*/)
{
    return std::nullopt;
}

std::optional<QuantizedTensor> SiteHooks::integerWeight(const QuantizerSite & /*site*/, const Tensor & /*weight*/)
{
    return std::nullopt;
}

ForwardInputs ForwardInputs::fromNamed(std::map<std::string, Tensor> tensors)
{
    ForwardInputs in;
    const std::map<std::string, Tensor ForwardInputs::*> simple{
        {"input_ids", &ForwardInputs::inputIds},
        {"attention_mask", &ForwardInputs::attentionMask},
        {"token_type_ids", &ForwardInputs::tokenTypeIds},
        {"position_ids", &ForwardInputs::positionIds},
        {"head_mask", &ForwardInputs::headMask},
        {"inputs_embeds", &ForwardInputs::inputsEmbeds},
        {"encoder_hidden_states", &ForwardInputs::encoderHiddenStates},
        {"encoder_attention_mask", &ForwardInputs::encoderAttentionMask},
        {"labels", &ForwardInputs::labels},
        {"next_sentence_label", &ForwardInputs::labels}, // deprecated NSP alias (reference §1.4)
        {"start_positions", &ForwardInputs::startPositions},
        {"end_positions", &ForwardInputs::endPositions},
    };
    for (auto &[name, tensor] : tensors) {
        if (const auto it = simple.find(name); it != simple.end()) {
            in.*(it->second) = std::move(tensor);
            continue;
        }
        if (name == "use_cache") {
            if (tensor.numel() != 1)
                throw ShapeError("use_cache must be a scalar, got " + tensor.describe(), {{}, name, {}});
            in.useCache = tensor.toFloatVector().front() != 0.0f;
            continue;
        }
        constexpr std::string_view pkv = "past_key_values.";
        if (name.starts_with(pkv)) {
            const std::string_view rest = std::string_view(name).substr(pkv.size());
            const auto dot = rest.find('.');
            const auto layer = dot == std::string_view::npos ? std::nullopt : parseIndex(rest.substr(0, dot));
            const auto slot = dot == std::string_view::npos ? std::nullopt : parseIndex(rest.substr(dot + 1));
            if (!layer || !slot || *slot > 3 || *layer > 10000)
                throw FormatError("malformed name; expected past_key_values.<layer>.<0..3>", {{}, name, {}});
            if (in.pastKeyValues.size() <= static_cast<std::size_t>(*layer))
                in.pastKeyValues.resize(static_cast<std::size_t>(*layer) + 1);
            auto &entry = in.pastKeyValues[static_cast<std::size_t>(*layer)];
            if (entry.size() <= static_cast<std::size_t>(*slot))
                entry.resize(static_cast<std::size_t>(*slot) + 1);
            entry[static_cast<std::size_t>(*slot)] = std::move(tensor);
            continue;
        }
        throw FormatError("unknown forward() argument; expected input_ids, attention_mask, token_type_ids, "
                          "position_ids, head_mask, inputs_embeds, encoder_hidden_states, encoder_attention_mask, "
                          "labels, start_positions, end_positions, past_key_values.<i>.<j> or use_cache",
                          {{}, name, {}});
    }
    for (std::size_t i = 0; i < in.pastKeyValues.size(); ++i) {
        const auto &entry = in.pastKeyValues[i];
        const bool complete = (entry.size() == 2 || entry.size() == 4) &&
                              std::all_of(entry.begin(), entry.end(), [](const Tensor &t) { return t.defined(); });
        if (!complete)
            throw ShapeError("past_key_values." + std::to_string(i) +
                             " must have 2 tensors (self key, value) or 4 (+ cross key, value)");
    }
    return in;
}

std::vector<std::pair<std::string, const Tensor *>> ForwardOutputs::named() const
{
    std::vector<std::pair<std::string, const Tensor *>> out;
    const auto add = [&](const std::string &name, const Tensor &t) {
        if (t.defined())
            out.emplace_back(name, &t);
    };
    add("loss", loss);
    add("logits", logits);
    add("start_logits", startLogits);
    add("end_logits", endLogits);
    add("last_hidden_state", lastHiddenState);
    add("pooler_output", poolerOutput);
    for (std::size_t i = 0; i < hiddenStates.size(); ++i)
        add("hidden_states." + std::to_string(i), hiddenStates[i]);
    for (std::size_t i = 0; i < attentions.size(); ++i)
        add("attentions." + std::to_string(i), attentions[i]);
    for (std::size_t i = 0; i < crossAttentions.size(); ++i)
        add("cross_attentions." + std::to_string(i), crossAttentions[i]);
    for (std::size_t i = 0; i < pastKeyValues.size(); ++i)
        for (std::size_t j = 0; j < pastKeyValues[i].size(); ++j)
            add("past_key_values." + std::to_string(i) + "." + std::to_string(j), pastKeyValues[i][j]);
    return out;
}

} // namespace qdq

#include "qdq/text_task.h"

#include "qdq/errors.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace qdq {

Tokenizer tokenizerForCheckpoint(const Checkpoint &checkpoint, TokenizerFlavor flavor)
{
    std::map<std::string, std::string> files = checkpoint.tokenizerFiles;
    if (files.count("vocab.txt") == 0 && files.count("tokenizer.json") == 0)
        throw IoError("the checkpoint has no vocab.txt or tokenizer.json, so text cannot be tokenized; use --inputs",
                      {checkpoint.source.string(), {}, {}});
    // model_max_length falls back to max_position_embeddings of the model's config
    files.emplace("config.json", checkpoint.config.toJson());
    std::error_code ec;
    const std::filesystem::path folder =
        std::filesystem::is_directory(checkpoint.source, ec) ? checkpoint.source : checkpoint.source.parent_path();
    return Tokenizer::fromFiles(files, folder, flavor);
}

std::vector<Task> availableTasks(const Checkpoint &checkpoint)
{
    std::vector<Task> tasks;
    for (Task t : allTasks())
        if (t == Task::Base || QDQBertModel::missingHeadWeights(checkpoint, t).empty())
            tasks.push_back(t);
    return tasks;
}

std::optional<Task> taskFromArchitecture(std::string_view architecture)
{
    const auto endsWith = [&](std::string_view suffix) {
        return architecture.size() >= suffix.size() &&
               architecture.substr(architecture.size() - suffix.size()) == suffix;
    };
    static const std::pair<std::string_view, Task> kSuffixes[] = {
        {"ForMaskedLM", Task::MaskedLm},
        {"ForPreTraining", Task::MaskedLm}, // MLM + NSP heads; the masked LM is the one users try
        {"LMHeadModel", Task::CausalLm},
        {"ForCausalLM", Task::CausalLm},
        {"ForSequenceClassification", Task::SequenceClassification},
        {"ForTokenClassification", Task::TokenClassification},
        {"ForQuestionAnswering", Task::QuestionAnswering},
        {"ForNextSentencePrediction", Task::NextSentence},
        {"ForMultipleChoice", Task::MultipleChoice},
        {"Model", Task::Base},
    };
    for (const auto &[suffix, task] : kSuffixes)
        if (endsWith(suffix))
            return task;
    return std::nullopt;
}

Task defaultTask(const Checkpoint &checkpoint)
{
    for (const std::string &architecture : checkpoint.config.architectures)
        if (const std::optional<Task> t = taskFromArchitecture(architecture))
            if (*t == Task::Base || QDQBertModel::missingHeadWeights(checkpoint, *t).empty())
                return *t;
    const std::vector<Task> tasks = availableTasks(checkpoint);
    // no architectures: a classifier whose labels are BIO tags (B-PER, I-LOC, ...) tags tokens
    const auto has = [&](Task t) { return std::find(tasks.begin(), tasks.end(), t) != tasks.end(); };
    const auto bio = [](const std::string &label) { return label.rfind("B-", 0) == 0 || label.rfind("I-", 0) == 0; };
    if (has(Task::TokenClassification) &&
        std::any_of(checkpoint.config.id2label.begin(), checkpoint.config.id2label.end(), bio))
        return Task::TokenClassification;
    return tasks.size() > 1 ? tasks[1] : Task::Base;
}

EncodedText encodeForTask(const Tokenizer &tokenizer, const BertConfig &config, Task task,
                          const std::vector<TextExample> &examples, std::optional<std::size_t> maxLength)
{
    if (examples.empty())
        throw ShapeError("no text to encode");
    if (task == Task::MultipleChoice && examples.size() < 2)
        throw ShapeError("multiple-choice needs at least two choices (one --text-pair each)");
    EncodeOptions options;
    options.truncation = TruncationStrategy::LongestFirst;
    options.maxLength = maxLength.value_or(std::min<std::size_t>(
        tokenizer.options().modelMaxLength, static_cast<std::size_t>(config.maxPositionEmbeddings)));

    EncodedText out;
    out.examples = examples;
    std::size_t longest = 0;
    for (const TextExample &e : examples) {
        out.encodings.push_back(e.pair ? tokenizer.encodePair(e.text, *e.pair, options)
                                       : tokenizer.encode(e.text, options));
        longest = std::max(longest, out.encodings.back().size());
    }
    const auto n = static_cast<std::int64_t>(out.encodings.size());
    const auto l = static_cast<std::int64_t>(longest);
    const Shape shape = task == Task::MultipleChoice ? Shape{1, n, l} : Shape{n, l};
    Tensor ids(DType::I64, shape);
    Tensor mask(DType::I64, shape);
    Tensor types(DType::I64, shape);
    const std::int32_t pad = tokenizer.tokenId(tokenizer.options().padToken);
    auto *pi = ids.mutableData<std::int64_t>();
    auto *pm = mask.mutableData<std::int64_t>();
    auto *pt = types.mutableData<std::int64_t>();
    for (std::int64_t b = 0; b < n; ++b) {
        const Encoding &e = out.encodings[static_cast<std::size_t>(b)];
        for (std::int64_t t = 0; t < l; ++t) {
            const auto i = static_cast<std::size_t>(t);
            const bool real = i < e.size();
            pi[b * l + t] = real ? e.ids[i] : std::max(pad, 0);
            pm[b * l + t] = real ? e.attentionMask[i] : 0;
            pt[b * l + t] = real ? e.typeIds[i] : 0;
        }
    }
    out.inputs.inputIds = std::move(ids);
    out.inputs.attentionMask = std::move(mask);
    out.inputs.tokenTypeIds = std::move(types);
    return out;
}

namespace {

std::vector<float> softmax(const float *x, std::int64_t n)
{
    std::vector<float> p(static_cast<std::size_t>(n));
    const float mx = *std::max_element(x, x + n);
    double sum = 0.0;
    for (std::int64_t i = 0; i < n; ++i)
        sum += std::exp(static_cast<double>(x[i] - mx));
    for (std::int64_t i = 0; i < n; ++i)
        p[static_cast<std::size_t>(i)] = static_cast<float>(std::exp(static_cast<double>(x[i] - mx)) / sum);
    return p;
}

std::string labelName(const BertConfig &c, std::int64_t i)
{
    if (i >= 0 && i < static_cast<std::int64_t>(c.id2label.size()))
        return c.id2label[static_cast<std::size_t>(i)];
    return "LABEL_" + std::to_string(i);
}

std::vector<TokenScore> topTokens(const float *logits, std::int64_t v, int k, const Tokenizer *tokenizer)
{
    const std::vector<float> p = softmax(logits, v);
    std::vector<std::int64_t> order(static_cast<std::size_t>(v));
    std::iota(order.begin(), order.end(), 0);
    const auto kk = static_cast<std::ptrdiff_t>(std::min<std::int64_t>(k, v));
    std::partial_sort(order.begin(), order.begin() + kk, order.end(), [&](std::int64_t a, std::int64_t b) {
        return p[static_cast<std::size_t>(a)] > p[static_cast<std::size_t>(b)];
    });
    std::vector<TokenScore> top;
    for (std::ptrdiff_t i = 0; i < kk; ++i) {
        const std::int64_t id = order[static_cast<std::size_t>(i)];
        TokenScore s{id, {}, p[static_cast<std::size_t>(id)]};
        if (tokenizer && id < static_cast<std::int64_t>(tokenizer->vocabSize()))
            s.token = tokenizer->tokenText(static_cast<std::int32_t>(id));
        top.push_back(std::move(s));
    }
    return top;
}

// Probabilities of a row of logits as labelled scores; the prediction is the argmax.
TaskResult classify(const float *logits, std::int64_t n, bool multiLabel,
                    const std::function<std::string(std::int64_t)> &label)
{
    TaskResult r;
    std::vector<float> p = softmax(logits, n);
    if (multiLabel)
        for (std::int64_t i = 0; i < n; ++i)
            p[static_cast<std::size_t>(i)] = 1.0f / (1.0f + std::exp(-logits[i]));
    for (std::int64_t i = 0; i < n; ++i)
        r.probabilities.push_back({label(i), p[static_cast<std::size_t>(i)]});
    r.prediction = std::max_element(p.begin(), p.end()) - p.begin();
    return r;
}

} // namespace

std::vector<TaskResult> interpretOutputs(const QDQBertModel &model, const ForwardOutputs &out, int topK,
                                         const Tokenizer *tokenizer, const EncodedText *text)
{
    const BertConfig &c = model.config();
    std::vector<TaskResult> results;
    switch (model.task()) {
    case Task::Base:
        break;
    case Task::SequenceClassification: {
        const std::int64_t n = out.logits.size(1);
        const float *lp = out.logits.data<float>();
        for (std::int64_t b = 0; b < out.logits.size(0); ++b) {
            if (n == 1) { // regression (reference §1.4)
                TaskResult r;
                r.score = lp[b];
                results.push_back(std::move(r));
                continue;
            }
            results.push_back(classify(lp + b * n, n, c.problemType == "multi_label_classification",
                                       [&c](std::int64_t i) { return labelName(c, i); }));
        }
        break;
    }
    case Task::NextSentence: {
        const float *lp = out.logits.data<float>();
        for (std::int64_t b = 0; b < out.logits.size(0); ++b) // label 0: B continues A (reference §1.4)
            results.push_back(classify(lp + b * 2, 2, false,
                                       [](std::int64_t i) { return std::string(i == 0 ? "is_next" : "not_next"); }));
        break;
    }
    case Task::MultipleChoice: {
        const std::int64_t n = out.logits.size(1);
        const float *lp = out.logits.data<float>();
        for (std::int64_t b = 0; b < out.logits.size(0); ++b)
            results.push_back(classify(lp + b * n, n, false, [text](std::int64_t i) {
                const auto k = static_cast<std::size_t>(i);
                if (text && k < text->examples.size() && text->examples[k].pair)
                    return *text->examples[k].pair;
                return "choice_" + std::to_string(i);
            }));
        break;
    }
    case Task::TokenClassification: {
        const std::int64_t l = out.logits.size(1);
        const std::int64_t n = out.logits.size(2);
        const float *lp = out.logits.data<float>();
        for (std::int64_t b = 0; b < out.logits.size(0); ++b) {
            TaskResult r;
            const std::int64_t len =
                text ? static_cast<std::int64_t>(text->encodings[static_cast<std::size_t>(b)].size()) : l;
            for (std::int64_t t = 0; t < len; ++t) {
                const float *row = lp + (b * l + t) * n;
                r.tokenLabels.push_back(labelName(c, std::max_element(row, row + n) - row));
            }
            results.push_back(std::move(r));
        }
        break;
    }
    case Task::QuestionAnswering: {
        const std::int64_t l = out.startLogits.size(1);
        for (std::int64_t b = 0; b < out.startLogits.size(0); ++b) {
            const float *s = out.startLogits.data<float>() + b * l;
            const float *e = out.endLogits.data<float>() + b * l;
            const Encoding *enc = text ? &text->encodings[static_cast<std::size_t>(b)] : nullptr;
            const bool hasContext = enc && text->examples[static_cast<std::size_t>(b)].pair.has_value();
            // with text, the answer lies in the context (the second sequence), as HF's pipeline does
            auto allowed = [&](std::int64_t i) {
                return !hasContext || (static_cast<std::size_t>(i) < enc->size() &&
                                       enc->sequenceIds[static_cast<std::size_t>(i)] == 1);
            };
            AnswerSpan best;
            best.score = -std::numeric_limits<float>::infinity();
            for (std::int64_t i = 0; i < l; ++i) {
                if (!allowed(i))
                    continue;
                for (std::int64_t j = i; j < std::min(l, i + 30); ++j)
                    if (allowed(j) && s[i] + e[j] > best.score) {
                        best.score = s[i] + e[j];
                        best.start = i;
                        best.end = j;
                    }
            }
            if (hasContext && std::isfinite(best.score)) {
                const std::string &context = *text->examples[static_cast<std::size_t>(b)].pair;
                const std::size_t from = enc->byteOffsets[static_cast<std::size_t>(best.start)].begin;
                const std::size_t to = enc->byteOffsets[static_cast<std::size_t>(best.end)].end;
                best.text = context.substr(from, to - from);
            }
            TaskResult r;
            r.answer = best;
            results.push_back(std::move(r));
        }
        break;
    }
    case Task::MaskedLm:
    case Task::CausalLm: {
        const std::int64_t l = out.logits.size(1);
        const std::int64_t v = out.logits.size(2);
        const std::int32_t maskId = tokenizer ? tokenizer->tokenId(tokenizer->options().maskToken) : -1;
        for (std::int64_t b = 0; b < out.logits.size(0); ++b) {
            TaskResult r;
            std::vector<std::int64_t> positions;
            if (model.task() == Task::CausalLm) {
                // the next token after the last real one
                const std::int64_t len =
                    text ? static_cast<std::int64_t>(text->encodings[static_cast<std::size_t>(b)].size()) : l;
                positions.push_back(len - 1);
            } else {
                if (text && maskId >= 0) {
                    const Encoding &enc = text->encodings[static_cast<std::size_t>(b)];
                    for (std::size_t t = 0; t < enc.size(); ++t)
                        if (enc.ids[t] == maskId)
                            positions.push_back(static_cast<std::int64_t>(t));
                }
                if (positions.empty())
                    for (std::int64_t t = 0; t < l; ++t)
                        positions.push_back(t);
            }
            for (std::int64_t t : positions)
                r.topK.push_back({t, topTokens(out.logits.data<float>() + (b * l + t) * v, v, topK, tokenizer)});
            results.push_back(std::move(r));
        }
        break;
    }
    }
    return results;
}

} // namespace qdq

// qdq run: one forward pass of a task head (design.md, "The command-line contract").
// --inputs takes the exact forward() arguments by name; --save-tensors writes every output by name.
#include "cli/cli.h"
#include "cli/quant_options.h"

#include "qdq/checkpoint.h"
#include "qdq/errors.h"
#include "qdq/io/safetensors.h"
#include "qdq/model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace qdq::cli {
namespace {

std::string taskList()
{
    std::string s;
    for (Task t : allTasks())
        s += (s.empty() ? "" : ", ") + std::string(taskName(t));
    return s;
}

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

// Task-specific readable results (class probabilities, spans, top-k tokens).
nlohmann::json taskResults(const QDQBertModel &model, const ForwardOutputs &out, int topK)
{
    const BertConfig &c = model.config();
    nlohmann::json results = nlohmann::json::array();
    switch (model.task()) {
    case Task::Base:
        break;
    case Task::SequenceClassification:
    case Task::NextSentence:
    case Task::MultipleChoice: {
        const std::int64_t n = out.logits.size(1);
        const float *lp = out.logits.data<float>();
        const bool multi = c.problemType == "multi_label_classification";
        for (std::int64_t b = 0; b < out.logits.size(0); ++b) {
            nlohmann::json row;
            if (model.task() == Task::SequenceClassification && n == 1) {
                row["score"] = lp[b];
            } else {
                std::vector<float> p = softmax(lp + b * n, n);
                if (multi)
                    for (std::int64_t i = 0; i < n; ++i)
                        p[static_cast<std::size_t>(i)] = 1.0f / (1.0f + std::exp(-lp[b * n + i]));
                nlohmann::json probs = nlohmann::json::array();
                for (std::int64_t i = 0; i < n; ++i) {
                    const std::string label = model.task() == Task::SequenceClassification ? labelName(c, i)
                                              : model.task() == Task::NextSentence ? (i == 0 ? "is_next" : "not_next")
                                                                                   : "choice_" + std::to_string(i);
                    probs.push_back({{"label", label}, {"probability", p[static_cast<std::size_t>(i)]}});
                }
                row["probabilities"] = probs;
                row["prediction"] = std::max_element(p.begin(), p.end()) - p.begin();
            }
            results.push_back(row);
        }
        break;
    }
    case Task::TokenClassification: {
        const std::int64_t l = out.logits.size(1);
        const std::int64_t n = out.logits.size(2);
        const float *lp = out.logits.data<float>();
        for (std::int64_t b = 0; b < out.logits.size(0); ++b) {
            nlohmann::json labels = nlohmann::json::array();
            for (std::int64_t t = 0; t < l; ++t) {
                const float *row = lp + (b * l + t) * n;
                labels.push_back(labelName(c, std::max_element(row, row + n) - row));
            }
            results.push_back({{"labels", labels}});
        }
        break;
    }
    case Task::QuestionAnswering: {
        const std::int64_t l = out.startLogits.size(1);
        for (std::int64_t b = 0; b < out.startLogits.size(0); ++b) {
            const float *s = out.startLogits.data<float>() + b * l;
            const float *e = out.endLogits.data<float>() + b * l;
            std::int64_t bs = 0, be = 0;
            float best = -std::numeric_limits<float>::infinity();
            for (std::int64_t i = 0; i < l; ++i)
                for (std::int64_t j = i; j < std::min(l, i + 30); ++j)
                    if (s[i] + e[j] > best) {
                        best = s[i] + e[j];
                        bs = i;
                        be = j;
                    }
            results.push_back({{"start", bs}, {"end", be}, {"score", best}});
        }
        break;
    }
    case Task::MaskedLm:
    case Task::CausalLm: {
        const std::int64_t l = out.logits.size(1);
        const std::int64_t v = out.logits.size(2);
        for (std::int64_t b = 0; b < out.logits.size(0); ++b) {
            nlohmann::json positions = nlohmann::json::array();
            // causal-lm: the next token after the last position; masked-lm: every position
            const std::int64_t from = model.task() == Task::CausalLm ? l - 1 : 0;
            for (std::int64_t t = from; t < l; ++t) {
                const std::vector<float> p = softmax(out.logits.data<float>() + (b * l + t) * v, v);
                std::vector<std::int64_t> order(static_cast<std::size_t>(v));
                std::iota(order.begin(), order.end(), 0);
                const auto k = static_cast<std::ptrdiff_t>(std::min<std::int64_t>(topK, v));
                std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](std::int64_t a, std::int64_t bb) {
                    return p[static_cast<std::size_t>(a)] > p[static_cast<std::size_t>(bb)];
                });
                nlohmann::json top = nlohmann::json::array();
                for (std::ptrdiff_t i = 0; i < k; ++i)
                    top.push_back({{"token_id", order[static_cast<std::size_t>(i)]},
                                   {"probability", p[static_cast<std::size_t>(order[static_cast<std::size_t>(i)])]}});
                positions.push_back({{"position", t}, {"top_k", top}});
            }
            results.push_back({{"positions", positions}});
        }
        break;
    }
    }
    return results;
}

int runRun(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription("Run a task head on inputs: one forward pass, FP32.");
    addCommonOptions(parser);
    parser.addOption({"model", "Checkpoint folder or file.", "P"});
    parser.addOption({"task", "Task head: " + QString::fromStdString(taskList()) + ".", "TASK"});
    parser.addOption({"inputs", "forward() arguments by name (input_ids, attention_mask, ...).", "in.safetensors"});
    parser.addOption({"text", "Text to tokenize.", "T"});
    parser.addOption({"text-pair", "Second text of a pair.", "T2"});
    parser.addOption({"save-tensors", "Write every output by name.", "out.safetensors"});
    parser.addOption({"output-attentions", "Also return attentions.{i} (and cross_attentions.{i})."});
    parser.addOption({"output-hidden-states", "Also return hidden_states.{i}."});
    addQuantOptions(parser);
    parser.addOption({"device", "cpu.", "D", "cpu"});
    parser.addOption({"top-k", "Tokens / classes listed per position (default 5).", "K", "5"});
    parser.addOption(
        {"mask-constant", "Attention-mask constant: finfo-min (default) or legacy (-10000 / -1e9).", "C", "finfo-min"});
    parser.addOption({"generate", "causal-lm: append N tokens greedily (KV cache).", "N"});
    const CommonOptions common = parseArgs(parser, args, "run");

    const QString modelPath = requireOption(parser, "model");
    const QString taskText = requireOption(parser, "task");
    const auto task = taskFromName(taskText.toStdString());
    if (!task)
        throw UsageError("unknown task '" + taskText.toStdString() + "'; expected one of " + taskList());
    if (parser.value("device") != "cpu")
        throw UsageError("--device " + parser.value("device").toStdString() + " is not available yet; use cpu");
    bool ok = false;
    const int topK = parser.value("top-k").toInt(&ok);
    if (!ok || topK < 1)
        throw UsageError("--top-k expects a positive integer");
    ModelOptions options;
    options.task = *task;
    if (parser.value("mask-constant") == "legacy")
        options.maskConstant = MaskConstant::Legacy;
    else if (parser.value("mask-constant") != "finfo-min")
        throw UsageError("--mask-constant expects finfo-min or legacy");
    if (parser.isSet("text") || parser.isSet("text-pair"))
        throw UsageError("text input needs the tokenizer (coming with the tokenizer issue); use --inputs");
    if (!parser.isSet("inputs"))
        throw UsageError("give --inputs in.safetensors (the forward() arguments by name)");

    const Checkpoint checkpoint = loadCheckpoint(modelPath.toStdString());
    applyQuantOptions(parser, checkpoint, options);
    QDQBertModel model(checkpoint, options);
    const std::string precision(precisionName(model.precision()));

    const std::string inputsPath = parser.value("inputs").toStdString();
    const SafetensorsFile file = SafetensorsFile::open(inputsPath);
    std::map<std::string, Tensor> named;
    for (const std::string &name : file.names())
        named.emplace(name, file.tensor(name));
    ForwardInputs inputs = ForwardInputs::fromNamed(std::move(named));
    inputs.outputAttentions = parser.isSet("output-attentions");
    inputs.outputHiddenStates = parser.isSet("output-hidden-states");

    if (parser.isSet("generate")) {
        const int n = parser.value("generate").toInt(&ok);
        if (!ok || n < 1)
            throw UsageError("--generate expects a positive integer");
        if (!inputs.inputIds.defined())
            throw UsageError("--generate needs input_ids in --inputs");
        GenerateOptions g;
        g.maxNewTokens = n;
        const std::vector<std::int64_t> tokens = model.generate(inputs.inputIds, g);
        if (common.json) {
            printJson({{"task", taskName(*task)}, {"token_ids", tokens}});
        } else {
            for (std::size_t i = 0; i < tokens.size(); ++i)
                std::printf("%s%lld", i ? " " : "", static_cast<long long>(tokens[i]));
            std::printf("\n");
        }
        return Ok;
    }

    const ForwardOutputs out = model.forward(inputs);
    const auto outputs = out.named();
    if (parser.isSet("save-tensors"))
        writeSafetensors(parser.value("save-tensors").toStdString(), outputs,
                         {{"task", std::string(taskName(*task))}, {"precision", precision}});
    if (common.json) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto &[name, t] : outputs)
            list.push_back({{"name", name}, {"shape", t->shape()}, {"dtype", dtypeName(t->dtype())}});
        nlohmann::json j = {
            {"task", taskName(*task)},          {"precision", precision}, {"backend", model.backendName()},
            {"milliseconds", out.milliseconds}, {"outputs", list},        {"results", taskResults(model, out, topK)}};
        if (out.loss.defined())
            j["loss"] = out.loss.toFloatVector().front();
        printJson(j);
        return Ok;
    }
    std::printf("task      %s (%s, %s)\n", std::string(taskName(*task)).c_str(), precision.c_str(),
                model.backendName().c_str());
    std::printf("time      %.2f ms\n", out.milliseconds);
    if (out.loss.defined())
        std::printf("loss      %.6g\n", static_cast<double>(out.loss.toFloatVector().front()));
    for (const auto &[name, t] : outputs)
        std::printf("%-24s %s\n", name.c_str(), t->describe().c_str());
    return Ok;
}

const RegisterCommand registerRun({"run", "Run a task head (fp32, qdq or int8) on --inputs; save every output",
                                   runRun});

} // namespace
} // namespace qdq::cli

// qdq run: one forward pass of a task head (design.md, "The command-line contract").
// --inputs takes the exact forward() arguments by name; --save-tensors writes every output by name.
#include "cli/cli.h"
#include "cli/quant_options.h"

#include "qdq/checkpoint.h"
#include "qdq/errors.h"
#include "qdq/io/safetensors.h"
#include "qdq/model.h"
#include "qdq/session.h"
#include "qdq/text_task.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
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

nlohmann::json resultJson(const TaskResult &r)
{
    nlohmann::json j = nlohmann::json::object();
    if (!r.probabilities.empty()) {
        nlohmann::json probs = nlohmann::json::array();
        for (const LabelScore &p : r.probabilities)
            probs.push_back({{"label", p.label}, {"probability", p.probability}});
        j["probabilities"] = probs;
        j["prediction"] = r.prediction;
    }
    if (r.score)
        j["score"] = *r.score;
    if (!r.tokenLabels.empty())
        j["labels"] = r.tokenLabels;
    if (r.answer) {
        j["start"] = r.answer->start;
        j["end"] = r.answer->end;
        j["score"] = r.answer->score;
        if (!r.answer->text.empty())
            j["answer"] = r.answer->text;
    }
    if (!r.topK.empty()) {
        nlohmann::json positions = nlohmann::json::array();
        for (const PositionTopK &p : r.topK) {
            nlohmann::json top = nlohmann::json::array();
            for (const TokenScore &t : p.top) {
                nlohmann::json e = {{"token_id", t.id}, {"probability", t.probability}};
                if (!t.token.empty())
                    e["token"] = t.token;
                top.push_back(e);
            }
            positions.push_back({{"position", p.position}, {"top_k", top}});
        }
        j["positions"] = positions;
    }
    return j;
}

// One readable line (or a few) per sequence for the table output.
void printResult(std::size_t index, const TaskResult &r)
{
    std::printf("result %zu:", index);
    for (const LabelScore &p : r.probabilities)
        std::printf(" %s %.4f", p.label.c_str(), static_cast<double>(p.probability));
    if (r.score)
        std::printf(" score %.6g", static_cast<double>(*r.score));
    if (r.answer)
        std::printf(" answer tokens %lld-%lld \"%s\" (score %.4g)", static_cast<long long>(r.answer->start),
                    static_cast<long long>(r.answer->end), r.answer->text.c_str(),
                    static_cast<double>(r.answer->score));
    if (!r.tokenLabels.empty())
        for (const std::string &l : r.tokenLabels)
            std::printf(" %s", l.c_str());
    std::printf("\n");
    for (const PositionTopK &p : r.topK) {
        std::printf("  position %lld:", static_cast<long long>(p.position));
        for (const TokenScore &t : p.top)
            std::printf(" %s %.4f", t.token.empty() ? std::to_string(t.id).c_str() : t.token.c_str(),
                        static_cast<double>(t.probability));
        std::printf("\n");
    }
}

int runRun(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription("Run a task head on inputs: one forward pass, FP32.");
    addCommonOptions(parser);
    parser.addOption({"model", "Checkpoint folder or file.", "P"});
    parser.addOption({"task",
                      "Task head: " + QString::fromStdString(taskList()) +
                          " (default: the checkpoint's architecture, else its first head, else base).",
                      "TASK"});
    parser.addOption({"inputs", "forward() arguments by name (input_ids, attention_mask, ...).", "in.safetensors"});
    parser.addOption({"text", "Text to tokenize (repeat for a batch).", "T"});
    parser.addOption({"text-pair",
                      "Second text of a pair, one per --text (question answering: the context; multiple-choice: "
                      "one per choice after a single --text).",
                      "T2"});
    parser.addOption({"max-length", "Truncate text input to N tokens (default: the model's maximum).", "N"});
    parser.addOption({"save-tensors", "Write every output by name.", "out.safetensors"});
    parser.addOption({"output-attentions", "Also return attentions.{i} (and cross_attentions.{i})."});
    parser.addOption({"output-hidden-states", "Also return hidden_states.{i}."});
    addQuantOptions(parser);
    addDeviceOption(parser);
    parser.addOption({"top-k", "Tokens / classes listed per position (default 5).", "K", "5"});
    parser.addOption(
        {"mask-constant", "Attention-mask constant: finfo-min (default) or legacy (-10000 / -1e9).", "C", "finfo-min"});
    parser.addOption({"generate", "causal-lm: append N tokens (greedy unless --sample-top-k; KV cache).", "N"});
    parser.addOption({"sample-top-k", "With --generate: sample each token from the K most likely.", "K"});
    parser.addOption({"seed", "With --sample-top-k: the random seed (default 0).", "S", "0"});
    const CommonOptions common = parseArgs(parser, args, "run");

    const QString modelPath = requireOption(parser, "model");
    const QString taskText = parser.value("task");
    std::optional<Task> task = taskFromName(taskText.toStdString());
    if (parser.isSet("task") && !task)
        throw UsageError("unknown task '" + taskText.toStdString() + "'; expected one of " + taskList());
    const Device device = deviceOption(parser);
    const auto topK = static_cast<int>(intOption(parser, "top-k", 1, std::numeric_limits<int>::max()));
    ModelOptions options;
    if (parser.value("mask-constant") == "legacy")
        options.maskConstant = MaskConstant::Legacy;
    else if (parser.value("mask-constant") != "finfo-min")
        throw UsageError("--mask-constant expects finfo-min or legacy");
    const bool textInput = parser.isSet("text");
    if (textInput == parser.isSet("inputs"))
        throw UsageError("give either --text T (tokenized with the checkpoint's vocabulary) or --inputs in.safetensors "
                         "(the forward() arguments by name)");
    if (!textInput && parser.isSet("text-pair"))
        throw UsageError("--text-pair needs --text");
    std::optional<std::size_t> maxLength;
    if (parser.isSet("max-length")) {
        maxLength = static_cast<std::size_t>(intOption(parser, "max-length", 2));
    }

    Session session = Session::open(modelPath.toStdString(), {device, options.maskConstant});
    const Checkpoint &checkpoint = session.checkpoint();
    if (!task)
        task = session.defaultTask(); // config.json's architectures first
    options.task = *task;
    applyQuantOptions(parser, checkpoint, options);
    session.setQuantConfig(options.quant);
    QDQBertModel &model = session.model(*task, options.precision);
    const std::string precision(precisionName(model.precision()));

    ForwardInputs inputs;
    const Tokenizer *tokenizer = nullptr;
    std::optional<EncodedText> encoded;
    if (textInput) {
        const QStringList texts = parser.values("text");
        const QStringList pairs = parser.values("text-pair");
        std::vector<TextExample> examples;
        if (*task == Task::MultipleChoice) {
            if (texts.size() != 1 || pairs.size() < 2)
                throw UsageError("multiple-choice takes one --text and one --text-pair per choice (at least two)");
            for (const QString &choice : pairs)
                examples.push_back({texts.front().toStdString(), choice.toStdString()});
        } else {
            if (!pairs.isEmpty() && pairs.size() != texts.size())
                throw UsageError("give one --text-pair per --text (" + std::to_string(texts.size()) + " texts, " +
                                 std::to_string(pairs.size()) + " pairs)");
            for (qsizetype i = 0; i < texts.size(); ++i)
                examples.push_back({texts[i].toStdString(), pairs.isEmpty()
                                                                ? std::nullopt
                                                                : std::optional<std::string>(pairs[i].toStdString())});
        }
        tokenizer = &session.tokenizer();
        encoded.emplace(session.encode(*task, examples, maxLength));
        inputs.inputIds = encoded->inputs.inputIds.alias();
        inputs.attentionMask = encoded->inputs.attentionMask.alias();
        inputs.tokenTypeIds = encoded->inputs.tokenTypeIds.alias();
    } else {
        inputs = ForwardInputs::fromNamed(SafetensorsFile::open(parser.value("inputs").toStdString()).tensors());
    }
    inputs.outputAttentions = parser.isSet("output-attentions");
    inputs.outputHiddenStates = parser.isSet("output-hidden-states");

    if (parser.isSet("generate")) {
        const auto n = static_cast<int>(intOption(parser, "generate", 1, std::numeric_limits<int>::max()));
        if (!inputs.inputIds.defined())
            throw UsageError("--generate needs input_ids (from --text or --inputs)");
        if (encoded) // generate from the real tokens, without the trailing [SEP]
            inputs.inputIds = inputs.inputIds.slice(1, 0, inputs.inputIds.size(1) - 1).contiguous();
        GenerateOptions g;
        g.maxNewTokens = n;
        if (parser.isSet("sample-top-k"))
            g.topK = static_cast<int>(intOption(parser, "sample-top-k", 1, std::numeric_limits<int>::max()));
        g.seed = static_cast<std::uint64_t>(intOption(parser, "seed", 0));
        const std::vector<std::int64_t> tokens = model.generate(inputs.inputIds, g);
        if (common.json) {
            nlohmann::json j = {{"task", taskName(*task)}, {"token_ids", tokens}};
            if (tokenizer) {
                std::vector<std::string> words;
                for (std::int64_t id : tokens)
                    words.push_back(tokenizer->tokenText(static_cast<std::int32_t>(id)));
                j["tokens"] = words;
            }
            printJson(j);
        } else {
            for (std::size_t i = 0; i < tokens.size(); ++i)
                std::printf("%s%lld", i ? " " : "", static_cast<long long>(tokens[i]));
            std::printf("\n");
        }
        return Ok;
    }

    const ForwardOutputs out = model.forward(inputs);
    const auto outputs = out.named();
    const std::vector<TaskResult> results =
        interpretOutputs(model, out, topK, tokenizer, encoded ? &*encoded : nullptr);
    if (parser.isSet("save-tensors"))
        writeSafetensors(parser.value("save-tensors").toStdString(), outputs,
                         {{"task", std::string(taskName(*task))}, {"precision", precision}});
    if (common.json) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto &[name, t] : outputs)
            list.push_back({{"name", name}, {"shape", t->shape()}, {"dtype", dtypeName(t->dtype())}});
        nlohmann::json j = {{"task", taskName(*task)},
                            {"precision", precision},
                            {"backend", model.backendName()},
                            {"milliseconds", out.milliseconds},
                            {"outputs", list}};
        nlohmann::json resultList = nlohmann::json::array();
        for (const TaskResult &r : results)
            resultList.push_back(resultJson(r));
        j["results"] = resultList;
        if (encoded) {
            nlohmann::json tokens = nlohmann::json::array();
            for (const Encoding &e : encoded->encodings)
                tokens.push_back({{"tokens", e.tokens}, {"ids", e.ids}});
            j["inputs"] = tokens;
        }
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
    if (encoded)
        for (std::size_t i = 0; i < encoded->encodings.size(); ++i) {
            std::printf("tokens %zu:", i);
            for (const std::string &tok : encoded->encodings[i].tokens)
                std::printf(" %s", tok.c_str());
            std::printf("\n");
        }
    for (std::size_t i = 0; i < results.size(); ++i)
        printResult(i, results[i]);
    return Ok;
}

const RegisterCommand
    registerRun({"run", "Run a task head (fp32, qdq or int8) on --text or --inputs; save every output", runRun});

} // namespace
} // namespace qdq::cli

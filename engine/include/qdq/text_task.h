#pragma once
// From the user's text to a task head's readable answer, shared by `qdq run --text` and the
// GUI playground: tokenizing examples into forward() inputs, and turning outputs into results
// (fill-mask top-k, class probabilities with id2label, token labels, answer span as text, next
// sentence probability, choice probabilities).

#include "qdq/checkpoint.h"
#include "qdq/model.h"
#include "qdq/tokenizer.h"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qdq {

// The tokenizer stored with a checkpoint (its tokenizer files and config; zips included).
// Throws IoError / FormatError when the checkpoint has no vocabulary.
[[nodiscard]] Tokenizer tokenizerForCheckpoint(const Checkpoint &checkpoint,
                                               TokenizerFlavor flavor = TokenizerFlavor::Fast);

// The task heads the checkpoint has weights for, `base` first (always available).
[[nodiscard]] std::vector<Task> availableTasks(const Checkpoint &checkpoint);

// The head class an architecture name stands for ("QDQBertForTokenClassification",
// "BertForMaskedLM", "BertLMHeadModel", "BertModel", ...; transformers' naming), or nullopt.
[[nodiscard]] std::optional<Task> taskFromArchitecture(std::string_view architecture);

// The task a command or view uses when the user names none: the first of config.json's
// `architectures` whose head weights are present; otherwise token classification when the
// classifier's id2label holds BIO tags ("B-PER", "I-LOC"); otherwise the first available head in
// allTasks() order (masked-lm, causal-lm, sequence-classification, ...); otherwise base.
[[nodiscard]] Task defaultTask(const Checkpoint &checkpoint);

struct TextExample {
    std::string text;
    std::optional<std::string> pair; // question answering: text = question, pair = context
};

struct EncodedText {
    ForwardInputs inputs;            // input_ids, attention_mask, token_type_ids: int64, padded to the longest
    std::vector<Encoding> encodings; // one per sequence (per choice for multiple-choice)
    std::vector<TextExample> examples;
};

// Encodes `examples` as a batch for `task`. Multiple-choice takes ONE example per choice (the
// same text, each choice as `pair`) and builds [1, C, L]. Sequences longer than `maxLength`
// are truncated (longest_first); maxLength defaults to the tokenizer's model_max_length capped
// by the model's max_position_embeddings.
[[nodiscard]] EncodedText encodeForTask(const Tokenizer &tokenizer, const BertConfig &config, Task task,
                                        const std::vector<TextExample> &examples,
                                        std::optional<std::size_t> maxLength = std::nullopt);

struct TokenScore {
    std::int64_t id = 0;
    std::string token; // empty without a tokenizer
    float probability = 0.f;
};

struct LabelScore {
    std::string label;
    float probability = 0.f;
};

struct PositionTopK {
    std::int64_t position = 0;
    std::vector<TokenScore> top;
};

struct AnswerSpan {
    std::int64_t start = 0; // token indices, inclusive
    std::int64_t end = 0;
    float score = 0.f; // start logit + end logit
    std::string text;  // the answer in the context (empty without encodings)
};

// The readable result of one sequence (one example for multiple-choice).
struct TaskResult {
    std::vector<LabelScore> probabilities; // classification, next sentence, multiple choice
    std::int64_t prediction = -1;          // index of the most probable label / choice
    std::optional<float> score;            // regression (one label)
    std::vector<std::string> tokenLabels;  // token classification, one per token
    std::optional<AnswerSpan> answer;      // question answering
    std::vector<PositionTopK> topK;        // masked-lm ([MASK] positions, else all), causal-lm (next token)
};

// Interprets `outputs` of `model`; with `text` (the encoded inputs) results name tokens and
// answer text, and masked-lm lists only the [MASK] positions when there are any.
[[nodiscard]] std::vector<TaskResult> interpretOutputs(const QDQBertModel &model, const ForwardOutputs &outputs,
                                                       int topK, const Tokenizer *tokenizer = nullptr,
                                                       const EncodedText *text = nullptr);

} // namespace qdq

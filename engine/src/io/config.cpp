#include "qdq/config.h"

#include "qdq/errors.h"
#include "qdq/io/text_file.h"
#include "qdq/limits.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace qdq {

namespace {

using nlohmann::json;

// A value for an error message: compact, at most 80 characters, invalid UTF-8 replaced.
std::string preview(const json &value)
{
    std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
    if (text.size() > 80)
        text = text.substr(0, 77) + "...";
    return text;
}

template <class T>
void readField(const json &j, const char *key, T &out, const std::string &file)
{
    const auto it = j.find(key);
    if (it == j.end() || it->is_null())
        return;
    try {
        if constexpr (std::is_same_v<T, std::int64_t>) {
            // 2^63: integers at or beyond it do not fit (a float cast would be undefined behaviour)
            constexpr double kInt64Bound = 9223372036854775808.0;
            const bool fitsInteger =
                it->is_number_integer() &&
                !(it->is_number_unsigned() &&
                  it->get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));
            const bool integralFloat = it->is_number_float() && it->get<double>() == std::floor(it->get<double>()) &&
                                       std::fabs(it->get<double>()) < kInt64Bound;
            if (!fitsInteger && !integralFloat)
                throw FormatError("expected an integer, got " + preview(*it), {file, {}, key});
            out = fitsInteger ? it->get<std::int64_t>() : static_cast<std::int64_t>(it->get<double>());
        } else if constexpr (std::is_same_v<T, double>) {
            if (!it->is_number())
                throw FormatError("expected a number, got " + preview(*it), {file, {}, key});
            out = it->get<double>();
        } else if constexpr (std::is_same_v<T, bool>) {
            if (!it->is_boolean())
                throw FormatError("expected true or false, got " + preview(*it), {file, {}, key});
            out = it->get<bool>();
        } else {
            if (!it->is_string())
                throw FormatError("expected a string, got " + preview(*it), {file, {}, key});
            out = it->get<std::string>();
        }
    } catch (const json::exception &e) {
        throw FormatError(std::string("invalid value: ") + e.what(), {file, {}, key});
    }
}

} // namespace

BertConfig BertConfig::fromJson(std::string_view text, const std::string &file)
{
    const json j = io::parseJson(text, file); // depth-limited (SECURITY.md "Limits")
    if (!j.is_object())
        throw FormatError("config must be a JSON object", {file, {}, {}});
    BertConfig c;
    readField(j, "vocab_size", c.vocabSize, file);
    readField(j, "hidden_size", c.hiddenSize, file);
    readField(j, "num_hidden_layers", c.numHiddenLayers, file);
    readField(j, "num_attention_heads", c.numAttentionHeads, file);
    readField(j, "intermediate_size", c.intermediateSize, file);
    readField(j, "hidden_act", c.hiddenAct, file);
    readField(j, "hidden_dropout_prob", c.hiddenDropoutProb, file);
    readField(j, "attention_probs_dropout_prob", c.attentionProbsDropoutProb, file);
    readField(j, "max_position_embeddings", c.maxPositionEmbeddings, file);
    readField(j, "type_vocab_size", c.typeVocabSize, file);
    readField(j, "layer_norm_eps", c.layerNormEps, file);
    readField(j, "pad_token_id", c.padTokenId, file);
    readField(j, "bos_token_id", c.bosTokenId, file);
    readField(j, "eos_token_id", c.eosTokenId, file);
    readField(j, "position_embedding_type", c.positionEmbeddingType, file);
    readField(j, "is_decoder", c.isDecoder, file);
    readField(j, "add_cross_attention", c.addCrossAttention, file);
    readField(j, "use_cache", c.useCache, file);
    readField(j, "problem_type", c.problemType, file);
    readField(j, "model_type", c.modelType, file);
    if (const auto it = j.find("architectures"); it != j.end() && it->is_array())
        for (const json &a : *it)
            if (a.is_string())
                c.architectures.push_back(a.get<std::string>());
    if (const auto it = j.find("qdq_disabled_quantizers"); it != j.end() && !it->is_null()) {
        if (!it->is_array())
            throw FormatError("expected an array of quantizer module paths", {file, {}, "qdq_disabled_quantizers"});
        if (it->size() > 100000)
            throw FormatError("more entries than any model has quantizers", {file, {}, "qdq_disabled_quantizers"});
        for (const json &q : *it) {
            if (!q.is_string())
                throw FormatError("expected a string (a quantizer module path)", {file, {}, "qdq_disabled_quantizers"});
            c.disabledQuantizers.push_back(q.get<std::string>());
        }
    }
    if (const auto it = j.find("id2label"); it != j.end() && !it->is_null()) {
        if (!it->is_object())
            throw FormatError("expected an object of index -> label", {file, {}, "id2label"});
        std::vector<std::string> labels(it->size());
        for (const auto &[key, value] : it->items()) {
            std::size_t pos = 0;
            long long index = -1;
            try {
                index = std::stoll(key, &pos);
            } catch (const std::exception &) {
                pos = 0;
            }
            if (pos != key.size() || index < 0 || static_cast<std::size_t>(index) >= labels.size() ||
                !value.is_string())
                throw FormatError("expected keys 0..N-1 with string labels, got \"" + key + "\"",
                                  {file, {}, "id2label"});
            labels[static_cast<std::size_t>(index)] = value.get<std::string>();
        }
        c.id2label = std::move(labels);
        c.numLabels = static_cast<std::int64_t>(c.id2label.size());
    }
    readField(j, "num_labels", c.numLabels, file);
    c.validate(file);
    return c;
}

void BertConfig::validate(const std::string &file) const
{
    auto positive = [&file](std::int64_t v, const char *field) {
        if (v <= 0)
            throw FormatError("must be positive, got " + std::to_string(v), {file, {}, field});
    };
    positive(vocabSize, "vocab_size");
    positive(hiddenSize, "hidden_size");
    positive(numHiddenLayers, "num_hidden_layers");
    positive(numAttentionHeads, "num_attention_heads");
    positive(intermediateSize, "intermediate_size");
    positive(maxPositionEmbeddings, "max_position_embeddings");
    positive(typeVocabSize, "type_vocab_size");
    positive(numLabels, "num_labels");
    // SECURITY.md "Limits": sizes far above any real model are refused before they size anything
    auto atMost = [&file](std::int64_t v, std::int64_t limit, const char *field) {
        if (v > limit)
            throw FormatError("must be at most " + std::to_string(limit) + ", got " + std::to_string(v),
                              {file, {}, field});
    };
    atMost(vocabSize, limits::kMaxVocabSize, "vocab_size");
    atMost(hiddenSize, limits::kMaxHiddenSize, "hidden_size");
    atMost(numHiddenLayers, limits::kMaxLayers, "num_hidden_layers");
    atMost(numAttentionHeads, hiddenSize, "num_attention_heads");
    atMost(intermediateSize, limits::kMaxIntermediateSize, "intermediate_size");
    atMost(maxPositionEmbeddings, limits::kMaxPositionEmbeddings, "max_position_embeddings");
    atMost(typeVocabSize, limits::kMaxTypeVocabSize, "type_vocab_size");
    atMost(numLabels, limits::kMaxLabels, "num_labels");
    if (hiddenSize % numAttentionHeads != 0)
        throw FormatError("hidden_size " + std::to_string(hiddenSize) + " is not a multiple of num_attention_heads " +
                              std::to_string(numAttentionHeads),
                          {file, {}, "hidden_size"});
    static constexpr std::array<std::string_view, 7> kActs{"gelu", "gelu_new", "gelu_pytorch_tanh", "relu",
                                                           "silu", "swish",    "gelu_fast"};
    if (std::find(kActs.begin(), kActs.end(), hiddenAct) == kActs.end())
        throw FormatError("unsupported activation \"" + hiddenAct + "\" (expected gelu, gelu_new, relu or silu)",
                          {file, {}, "hidden_act"});
    if (positionEmbeddingType != "absolute" && positionEmbeddingType != "relative_key" &&
        positionEmbeddingType != "relative_key_query")
        throw FormatError("unknown position_embedding_type \"" + positionEmbeddingType +
                              "\" (expected absolute, relative_key or relative_key_query)",
                          {file, {}, "position_embedding_type"});
    if (!(layerNormEps > 0.0))
        throw FormatError("must be positive", {file, {}, "layer_norm_eps"});
    if (addCrossAttention && !isDecoder)
        throw FormatError("add_cross_attention requires is_decoder", {file, {}, "add_cross_attention"});
    if (!problemType.empty() && problemType != "regression" && problemType != "single_label_classification" &&
        problemType != "multi_label_classification")
        throw FormatError("unknown problem_type \"" + problemType + "\"", {file, {}, "problem_type"});
}

std::string BertConfig::toJson() const
{
    nlohmann::ordered_json j;
    if (!architectures.empty())
        j["architectures"] = architectures;
    j["model_type"] = modelType;
    j["vocab_size"] = vocabSize;
    j["hidden_size"] = hiddenSize;
    j["num_hidden_layers"] = numHiddenLayers;
    j["num_attention_heads"] = numAttentionHeads;
    j["intermediate_size"] = intermediateSize;
    j["hidden_act"] = hiddenAct;
    j["hidden_dropout_prob"] = hiddenDropoutProb;
    j["attention_probs_dropout_prob"] = attentionProbsDropoutProb;
    j["max_position_embeddings"] = maxPositionEmbeddings;
    j["type_vocab_size"] = typeVocabSize;
    j["layer_norm_eps"] = layerNormEps;
    j["pad_token_id"] = padTokenId;
    j["bos_token_id"] = bosTokenId;
    j["eos_token_id"] = eosTokenId;
    j["position_embedding_type"] = positionEmbeddingType;
    j["is_decoder"] = isDecoder;
    j["add_cross_attention"] = addCrossAttention;
    j["use_cache"] = useCache;
    if (!problemType.empty())
        j["problem_type"] = problemType;
    if (!disabledQuantizers.empty())
        j["qdq_disabled_quantizers"] = disabledQuantizers;
    if (!id2label.empty()) {
        nlohmann::ordered_json labels;
        nlohmann::ordered_json label2id;
        for (std::size_t i = 0; i < id2label.size(); ++i) {
            labels[std::to_string(i)] = id2label[i];
            label2id[id2label[i]] = i;
        }
        j["id2label"] = labels;
        j["label2id"] = label2id;
    } else {
        j["num_labels"] = numLabels;
    }
    return j.dump(2) + "\n";
}

} // namespace qdq

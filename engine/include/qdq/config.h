#pragma once
// BERT / QDQBERT model configuration, as in a Hugging Face config.json (reference §1.5).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace qdq {

struct BertConfig {
    std::int64_t vocabSize = 30522;
    std::int64_t hiddenSize = 768;
    std::int64_t numHiddenLayers = 12;
    std::int64_t numAttentionHeads = 12;
    std::int64_t intermediateSize = 3072;
    std::string hiddenAct = "gelu"; // gelu (erf), gelu_new / gelu_pytorch_tanh, relu, silu / swish
    double hiddenDropoutProb = 0.1;
    double attentionProbsDropoutProb = 0.1;
    std::int64_t maxPositionEmbeddings = 512;
    std::int64_t typeVocabSize = 2;
    double layerNormEps = 1e-12;
    // QDQBertConfig defaults (reference §1.5); a BERT config.json overrides pad_token_id with 0.
    std::int64_t padTokenId = 1;
    std::int64_t bosTokenId = 0;
    std::int64_t eosTokenId = 2;
    std::string positionEmbeddingType = "absolute"; // absolute, relative_key, relative_key_query
    bool isDecoder = false;
    bool addCrossAttention = false;
    bool useCache = true;
    // Heads: number of labels (id2label's size when present), problem type ("" = resolve at run
    // time, "regression", "single_label_classification", "multi_label_classification").
    std::int64_t numLabels = 2;
    std::string problemType;
    std::vector<std::string> id2label; // empty when config.json has none
    std::vector<std::string> architectures;
    // "qdq_disabled_quantizers": quantizers left in FP32 (module paths without "bert.", e.g.
    // "encoder.layer.1.output.dense._input_quantizer"), written by `qdq repair` and read by
    // QuantConfig::fromCheckpoint. transformers keeps unknown config keys, so the list survives a
    // save_pretrained round trip; pytorch-quantization users call .disable() on these modules.
    std::vector<std::string> disabledQuantizers;
    std::string modelType = "qdqbert";

    [[nodiscard]] std::int64_t headSize() const { return hiddenSize / numAttentionHeads; }

    // Throws FormatError naming `file` and the field when values do not form a valid model
    // (non-positive sizes, hidden size not divisible by heads, unknown activation ...).
    void validate(const std::string &file = {}) const;

    // Parses config.json text; unknown keys are ignored, missing keys keep the defaults above.
    // Throws FormatError naming `file` and the field on malformed JSON or wrong value types.
    static BertConfig fromJson(std::string_view text, const std::string &file = {});
    [[nodiscard]] std::string toJson() const;
};

} // namespace qdq

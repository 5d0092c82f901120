// randomCheckpoint: a synthetic checkpoint with deterministic random weights for benchmarks and
// tests (`qdq bench --synthetic`, `qdq make-synthetic`).
#include "qdq/model.h"

#include <cstdint>
#include <string>

namespace qdq {

Checkpoint randomCheckpoint(const BertConfig &config, Task task, std::uint64_t seed)
{
    Checkpoint ck;
    ck.config = config;
    ck.configFromFile = false;
    ck.format = "synthetic";
    ck.source = "synthetic";
    std::uint64_t state = seed * 0x9E3779B97F4A7C15ULL + 0x2545F4914F6CDD1DULL;
    const auto add = [&](const std::string &name, Shape shape, float constant, bool random) {
        Tensor t = Tensor::empty(DType::F32, std::move(shape));
        float *p = t.mutableData<float>();
        for (std::int64_t i = 0; i < t.numel(); ++i) {
            if (!random) {
                p[i] = constant;
                continue;
            }
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // uniform on [-a, a] with a = 0.02 * sqrt(3): standard deviation 0.02, like BERT's init
            const double u = static_cast<double>(state >> 11) * (1.0 / 9007199254740992.0);
            p[i] = static_cast<float>((2.0 * u - 1.0) * 0.0346410161513775);
        }
        ck.tensors.emplace(name, std::move(t));
    };
    const std::int64_t h = config.hiddenSize;
    const std::int64_t in = config.intermediateSize;
    const auto linear = [&](const std::string &name, std::int64_t out, std::int64_t inF) {
        add(name + ".weight", {out, inF}, 0.0f, true);
        add(name + ".bias", {out}, 0.0f, true);
    };
    const auto layerNorm = [&](const std::string &name) {
        add(name + ".weight", {h}, 1.0f, false);
        add(name + ".bias", {h}, 0.0f, false);
    };
    add("bert.embeddings.word_embeddings.weight", {config.vocabSize, h}, 0.0f, true);
    add("bert.embeddings.position_embeddings.weight", {config.maxPositionEmbeddings, h}, 0.0f, true);
    add("bert.embeddings.token_type_embeddings.weight", {config.typeVocabSize, h}, 0.0f, true);
    layerNorm("bert.embeddings.LayerNorm");
    for (std::int64_t i = 0; i < config.numHiddenLayers; ++i) {
        const std::string base = "bert.encoder.layer." + std::to_string(i) + ".";
        for (const char *block : {"attention.", "crossattention."}) {
            if (std::string(block) == "crossattention." && !config.addCrossAttention)
                continue;
            linear(base + block + "self.query", h, h);
            linear(base + block + "self.key", h, h);
            linear(base + block + "self.value", h, h);
            linear(base + block + "output.dense", h, h);
            layerNorm(base + block + "output.LayerNorm");
            if (std::string(block) == "attention." && config.positionEmbeddingType != "absolute")
                add(base + block + "self.distance_embedding.weight",
                    {2 * config.maxPositionEmbeddings - 1, config.headSize()}, 0.0f, true);
        }
        linear(base + "intermediate.dense", in, h);
        linear(base + "output.dense", h, in);
        layerNorm(base + "output.LayerNorm");
    }
    linear("bert.pooler.dense", h, h);
    switch (task) {
    case Task::Base:
        break;
    case Task::MaskedLm:
    case Task::CausalLm:
        linear("cls.predictions.transform.dense", h, h);
        layerNorm("cls.predictions.transform.LayerNorm");
        add("cls.predictions.bias", {config.vocabSize}, 0.0f, true);
        break;
    case Task::SequenceClassification:
    case Task::TokenClassification:
        linear("classifier", config.numLabels, h);
        break;
    case Task::MultipleChoice:
        linear("classifier", 1, h);
        break;
    case Task::QuestionAnswering:
        linear("qa_outputs", 2, h);
        break;
    case Task::NextSentence:
        linear("cls.seq_relationship", 2, h);
        break;
    }
    return ck;
}

} // namespace qdq
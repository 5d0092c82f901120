#pragma once
// A loaded checkpoint: configuration plus every stored tensor under its normalised state-dict
// name (reference §2), with an inventory of heads and quantizers and everything the loader
// noticed. Tensors are zero-copy views into mapped files where the format allows (safetensors,
// PyTorch zip and legacy files, stored zip entries); f16/bf16 are kept as stored.
//
// Key normalisation (normaliseKey), applied to every format:
//   * encoder, embedding and pooler keys always carry the "bert." prefix
//     ("embeddings.x" from a bare QDQBertModel becomes "bert.embeddings.x", reference §1.1);
//   * head keys stay as they are: "cls.predictions.*", "cls.seq_relationship.*", "classifier.*",
//     "qa_outputs.*" (reference §2.1);
//   * a DataParallel "module." prefix is dropped;
//   * legacy LayerNorm names "*.LayerNorm.gamma" / "*.LayerNorm.beta" become ".weight" / ".bias";
//   * tied weights (reference §1.4, §2.1): when cls.predictions is present and
//     "cls.predictions.decoder.weight" is not stored, it is added as an alias (same storage) of
//     "bert.embeddings.word_embeddings.weight"; "cls.predictions.decoder.bias" and
//     "cls.predictions.bias" alias each other when only one is stored. Aliases are listed in
//     tiedKeys.
// Tensors keep their stored layout: views may be strided (call contiguous() before raw access)
// and read-only (clone() before writing).

#include "qdq/config.h"
#include "qdq/progress.h"
#include "qdq/quantizer_site.h"
#include "qdq/tensor.h"

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace qdq {

// One quantizer of the model the config describes (reference §1.2, §2.2, §2.4).
struct QuantizerInfo {
    QuantizerSite site;
    std::string amaxKey;     // normalised state-dict key of its `_amax` buffer ("bert.encoder.layer.0...._amax")
    bool calibrated = false; // an `_amax` buffer is stored: static amax; false = dynamic (amax per call, §2.4)
    bool perChannel = false; // the stored amax has more than one element (weights: [out, 1])
    Shape amaxShape;         // as stored ([] for per-tensor, [out, 1] for per-row weights)
    DType amaxDType = DType::F32;
};

struct LoadOptions {
    // Attention heads to use when there is no config.json; 0 = hidden / 64 (BERT's head size).
    std::int64_t numAttentionHeads = 0;
};

struct Checkpoint {
    BertConfig config;
    bool configFromFile = false;           // false: inferred from tensor shapes (see warnings)
    std::map<std::string, Tensor> tensors; // normalised state-dict name -> tensor (see above)
    std::filesystem::path source;          // what the user opened
    // Weights format: "safetensors", "pytorch-zip" or "pytorch-legacy"; sharded adds " (sharded)".
    std::string format;
    std::string container;                // "file", "folder" or "zip"
    std::vector<std::string> weightFiles; // files the tensors came from ("a.zip:model/pytorch_model.bin")
    // Tokenizer files found beside the weights (vocab.txt, tokenizer.json, tokenizer_config.json,
    // special_tokens_map.json): file name -> contents.
    std::map<std::string, std::string> tokenizerFiles;
    // Heads recognised from keys: "pooler", "masked-lm" (cls.predictions), "next-sentence"
    // (cls.seq_relationship), "classifier" (sequence/token classification, multiple choice),
    // "question-answering" (qa_outputs).
    std::vector<std::string> heads;
    // Every quantizer site of the configured model, layer by layer in dataflow order (20 per
    // layer, 34 with cross-attention), calibrated or dynamic.
    std::vector<QuantizerInfo> quantizers;
    std::vector<std::string> missingKeys;    // expected encoder/embedding keys that are absent
    std::vector<std::string> unexpectedKeys; // stored keys the model has no place for (kept in tensors)
    std::vector<std::string> tiedKeys;       // aliases added for tied weights
    std::vector<std::string> warnings;       // one line each: inferred config, missing keys, ...

    [[nodiscard]] bool has(const std::string &name) const { return tensors.count(name) != 0; }
    // Throws FormatError naming the source and the tensor when absent.
    [[nodiscard]] const Tensor &get(const std::string &name) const;
    [[nodiscard]] bool hasHead(std::string_view head) const;
    // The inventory entry of `site`, or nullptr when the config has no such site.
    [[nodiscard]] const QuantizerInfo *quantizer(const QuantizerSite &site) const;
    [[nodiscard]] int calibratedQuantizers() const;
};

// The normalised form of a stored state-dict key (rules above).
[[nodiscard]] std::string normaliseKey(std::string_view key);

// Opens a checkpoint folder, file or zip archive; the format is sniffed from content, not the
// extension. Reads only: nothing is ever written. Throws IoError / FormatError / ShapeError /
// UnsupportedError naming the file, tensor and field that is wrong.
Checkpoint loadCheckpoint(const std::filesystem::path &path, Progress *progress = nullptr,
                          const LoadOptions &options = {});

} // namespace qdq

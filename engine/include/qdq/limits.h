#pragma once
// Resource limits on untrusted input (SECURITY.md "Limits"). Every size that a file or an option
// declares is checked against these before anything is allocated from it, and exceeding one is
// an error naming the file and field. Limits of one format live beside its reader: the zip caps
// in io/zip_archive.h (ZipLimits), the pickle caps in io/pickle.h (Unpickler::kMax*), the
// safetensors header cap in io/safetensors.cpp, the text-file cap in io/checkpoint.cpp.

#include <cstddef>
#include <cstdint>

namespace qdq::limits {

// config.json (BertConfig::validate): far above any BERT-family model (BERT-large: 24 layers,
// hidden 1024, vocabulary 30522, 512 positions), low enough that the per-layer and per-site
// bookkeeping a config implies stays small.
inline constexpr std::int64_t kMaxLayers = 1024;
inline constexpr std::int64_t kMaxHiddenSize = 1 << 16;
inline constexpr std::int64_t kMaxIntermediateSize = 1 << 18;
inline constexpr std::int64_t kMaxVocabSize = 1 << 24;
inline constexpr std::int64_t kMaxPositionEmbeddings = 1 << 20;
inline constexpr std::int64_t kMaxTypeVocabSize = 1 << 16;
inline constexpr std::int64_t kMaxLabels = 1 << 20;

// Tokens in one encoded sequence that padding may create (max_length padding, --max-length).
inline constexpr std::size_t kMaxSequenceLength = 1 << 20;
// Examples per forward pass in calibration and analysis (--batch).
inline constexpr std::int64_t kMaxBatchSize = 1 << 16;

} // namespace qdq::limits

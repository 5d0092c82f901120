#pragma once
// A loaded checkpoint: configuration plus every stored tensor under its state-dict name
// (reference §2). Tensors are zero-copy views into mapped files where the format allows.

#include "qdq/config.h"
#include "qdq/progress.h"
#include "qdq/tensor.h"

#include <filesystem>
#include <map>
#include <string>

namespace qdq {

struct Checkpoint {
    BertConfig config;
    bool configFromFile = false; // false: inferred from tensor shapes
    std::map<std::string, Tensor> tensors;
    std::filesystem::path source; // what the user opened
    std::string format;           // "safetensors", ...

    [[nodiscard]] bool has(const std::string &name) const { return tensors.count(name) != 0; }
    // Throws FormatError naming the source and the tensor when absent.
    [[nodiscard]] const Tensor &get(const std::string &name) const;
};

// Opens a checkpoint folder or file. Throws IoError / FormatError / UnsupportedError naming the
// file, tensor and field that is wrong.
Checkpoint loadCheckpoint(const std::filesystem::path &path, Progress *progress = nullptr);

} // namespace qdq

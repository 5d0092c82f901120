#pragma once
// PyTorch checkpoints written by torch.save: the zip format (1.6+; `<root>/data.pkl` plus one
// stored entry per storage, `<root>/data/<key>`) and the legacy format (pre-1.6: four pickles
// back to back followed by the raw storages). Both are read through the whitelist unpickler;
// tensors are views into the storages, which are views into the mapped file where possible.

#include "io/byte_source.h"
#include "io/zip_archive.h"
#include "qdq/tensor.h"

#include <string>
#include <utility>
#include <vector>

namespace qdq::io {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// The archive root folder of a torch.save zip ("archive" or the file's stem), or "" when the
// archive is not one.
[[nodiscard]] std::string torchZipRoot(const ZipArchive &zip);
// Reads the state dict of a torch.save zip archive, in pickle order.
[[nodiscard]] NamedTensors readTorchZip(ZipArchive &zip);

// True when `bytes` starts with the pickled magic number of the legacy format.
[[nodiscard]] bool looksLikeLegacyTorch(const Storage &bytes);
// True when `bytes` starts with a pickle PROTO opcode (a legacy checkpoint or some other pickle).
[[nodiscard]] bool looksLikePickle(const Storage &bytes);
// Reads a legacy-format checkpoint. `bytes` must stay mapped while the tensors live (they share it).
[[nodiscard]] NamedTensors readTorchLegacy(const Bytes &bytes);

} // namespace qdq::io

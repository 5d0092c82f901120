#pragma once
// safetensors files: an 8-byte little-endian header length, a JSON header naming each tensor's
// dtype, shape and byte range, then the raw little-endian data. Reading maps the file and
// returns zero-copy views (copied only when a tensor is misaligned for its dtype).

#include "qdq/tensor.h"

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace qdq {

class SafetensorsFile {
public:
    // Maps and validates the whole header (sizes, offsets, dtypes, overlaps) against the file
    // size before any tensor is touched. Throws IoError / FormatError naming file and tensor.
    static SafetensorsFile open(const std::filesystem::path &path);
    // The same over bytes already in memory (a stored zip entry, an inflated one); `path` names
    // them in messages.
    static SafetensorsFile open(std::shared_ptr<Storage> bytes, const std::filesystem::path &path);

    [[nodiscard]] const std::vector<std::string> &names() const noexcept { return m_names; }
    [[nodiscard]] bool contains(const std::string &name) const { return m_entries.count(name) != 0; }
    [[nodiscard]] DType dtype(const std::string &name) const;
    [[nodiscard]] const Shape &shape(const std::string &name) const;
    // A view into the mapped file (read-only); throws FormatError for an unknown name.
    [[nodiscard]] Tensor tensor(const std::string &name) const;
    // Every tensor by name (views as tensor() gives them), e.g. forward() arguments by name.
    [[nodiscard]] std::map<std::string, Tensor> tensors() const;
    [[nodiscard]] const std::map<std::string, std::string> &metadata() const noexcept { return m_metadata; }
    [[nodiscard]] const std::filesystem::path &path() const noexcept { return m_path; }

private:
    struct Entry {
        DType dtype;
        Shape shape;
        std::size_t begin; // absolute byte offset in the file
        std::size_t end;
    };
    std::filesystem::path m_path;
    std::shared_ptr<Storage> m_file;
    std::map<std::string, Entry> m_entries;
    std::vector<std::string> m_names; // in file order
    std::map<std::string, std::string> m_metadata;
};

// The safetensors dtype tag ("F32", "BF16", ...) of a DType.
[[nodiscard]] std::string safetensorsDTypeName(DType dtype);

// Writes tensors (any layout; stored contiguous) to `path` atomically: a temporary file in the
// same folder, renamed over `path` only when complete. Throws IoError naming the file.
void writeSafetensors(const std::filesystem::path &path,
                      const std::vector<std::pair<std::string, const Tensor *>> &tensors,
                      const std::map<std::string, std::string> &metadata = {});

} // namespace qdq

#pragma once
// Byte ranges the checkpoint readers work on: a whole mapped file, a stored zip entry viewed in
// place inside a mapped archive, or an entry inflated into memory. All are Storages, so tensors
// built over them keep the mapping alive (reference §2: zero-copy where the format allows).

#include "qdq/storage.h"

#include <memory>
#include <string>
#include <string_view>

namespace qdq::io {

// A read-only window [offset, offset + size) of another storage, named for messages
// ("archive.zip:folder/model.safetensors").
class StorageSlice final : public Storage {
public:
    StorageSlice(std::shared_ptr<Storage> parent, std::size_t offset, std::size_t size, std::string name)
        : m_parent(std::move(parent)), m_offset(offset), m_size(size), m_name(std::move(name))
    {
    }
    [[nodiscard]] const std::byte *data() const noexcept override { return m_parent->data() + m_offset; }
    [[nodiscard]] std::byte *mutableData() noexcept override { return nullptr; }
    [[nodiscard]] std::size_t size() const noexcept override { return m_size; }
    [[nodiscard]] std::string origin() const override { return m_name; }

private:
    std::shared_ptr<Storage> m_parent;
    std::size_t m_offset;
    std::size_t m_size;
    std::string m_name;
};

// Owned bytes (an inflated zip entry) that remember where they came from.
class NamedHostStorage final : public Storage {
public:
    NamedHostStorage(std::size_t bytes, std::string name) : m_bytes(bytes, false), m_name(std::move(name)) {}
    [[nodiscard]] const std::byte *data() const noexcept override { return m_bytes.data(); }
    [[nodiscard]] std::byte *mutableData() noexcept override { return m_bytes.mutableData(); }
    [[nodiscard]] std::size_t size() const noexcept override { return m_bytes.size(); }
    [[nodiscard]] std::string origin() const override { return m_name; }

private:
    HostStorage m_bytes;
    std::string m_name;
};

using Bytes = std::shared_ptr<Storage>;

inline std::string_view asText(const Storage &s)
{
    return {reinterpret_cast<const char *>(s.data()), s.size()};
}

} // namespace qdq::io

#pragma once
// Byte buffers behind tensors. A Storage is shared (std::shared_ptr) by every tensor that
// views it, so a memory-mapped checkpoint stays mapped while any tensor still points into it.

#include "qdq/device.h"

#include <cstddef>
#include <filesystem>
#include <memory>

namespace qdq {

class Storage {
public:
    Storage() = default;
    Storage(const Storage &) = delete;
    Storage &operator=(const Storage &) = delete;
    virtual ~Storage() = default;

    [[nodiscard]] virtual const std::byte *data() const noexcept = 0;
    // nullptr for read-only storage (a mapped file).
    [[nodiscard]] virtual std::byte *mutableData() noexcept = 0;
    [[nodiscard]] virtual std::size_t size() const noexcept = 0;
    [[nodiscard]] virtual Device device() const noexcept { return {}; }
    // A human-readable origin for messages: "memory", or the mapped file's path.
    [[nodiscard]] virtual std::string origin() const { return "memory"; }
};

// Owned host memory, 64-byte aligned (one cache line, an AVX-512 register).
class HostStorage final : public Storage {
public:
    // Zero-filled when `zeroed` is true; throws UnsupportedError when the allocation fails.
    explicit HostStorage(std::size_t bytes, bool zeroed = true);
    ~HostStorage() override;

    [[nodiscard]] const std::byte *data() const noexcept override { return m_data; }
    [[nodiscard]] std::byte *mutableData() noexcept override { return m_data; }
    [[nodiscard]] std::size_t size() const noexcept override { return m_size; }

private:
    std::byte *m_data = nullptr;
    std::size_t m_size = 0;
};

// A whole file mapped read-only into memory. Throws IoError naming the file when it cannot
// be opened or mapped. An empty file maps to a zero-size storage.
class MappedFile final : public Storage {
public:
    static std::shared_ptr<MappedFile> open(const std::filesystem::path &path);
    ~MappedFile() override;

    [[nodiscard]] const std::byte *data() const noexcept override { return m_data; }
    [[nodiscard]] std::byte *mutableData() noexcept override { return nullptr; }
    [[nodiscard]] std::size_t size() const noexcept override { return m_size; }
    [[nodiscard]] std::string origin() const override { return m_path.string(); }
    [[nodiscard]] const std::filesystem::path &path() const noexcept { return m_path; }

    MappedFile(std::filesystem::path path, const std::byte *data, std::size_t size);

private:
    std::filesystem::path m_path;
    const std::byte *m_data = nullptr;
    std::size_t m_size = 0;
};

} // namespace qdq

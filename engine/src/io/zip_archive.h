#pragma once
// Reading zip archives (PyTorch's zip checkpoints and zipped Hugging Face folders) with QuaZip,
// without extracting anything to disk. Stored entries are views into the mapped archive; deflated
// entries are inflated into memory under size and ratio caps. Every entry name is checked when the
// archive is opened: path traversal, absolute names and duplicates make the whole archive invalid.

#include "io/byte_source.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace qdq::io {

struct ZipLimits {
    // Largest uncompressed size accepted for an entry that has to be inflated.
    std::uint64_t maxInflatedEntry = 4ULL << 30;
    // Sum of the inflated sizes of all entries read from every archive that shares these limits:
    // one checkpoint load passes the same limits to the outer archive and to every archive
    // nested in it (a shard inside a zipped folder), so nesting gets no fresh budget.
    std::uint64_t maxInflatedTotal = 8ULL << 30;
    // The bytes inflated so far under these limits (shared by copies).
    std::shared_ptr<std::uint64_t> inflated = std::make_shared<std::uint64_t>(0);
    // Entries larger than ratioFloor bytes whose uncompressed/compressed ratio is above maxRatio
    // are refused as zip bombs (dense weights deflate by ~1.1x, text by ~3-10x).
    double maxRatio = 100.0;
    std::uint64_t ratioFloor = 1ULL << 20;
};

class ZipArchive {
public:
    struct Entry {
        std::string name;
        std::uint64_t compressedSize = 0;
        std::uint64_t uncompressedSize = 0;
        int method = 0;               // 0 stored, 8 deflated
        std::uint64_t dataOffset = 0; // first (compressed) data byte within the archive
        std::uint32_t crc = 0;        // CRC-32 of the uncompressed data (central directory)
        // position of the entry's central-directory record, so that read() seeks to it directly
        // instead of scanning the directory by name (which made n reads O(n^2))
        std::uint64_t directoryPos = 0;
        std::uint64_t fileNumber = 0;
    };

    // Reads the central directory of `bytes` (a mapped file or a stored entry of an outer zip).
    // `name` is used in messages. Throws FormatError naming the archive and the entry.
    static ZipArchive open(Bytes bytes, std::string name, ZipLimits limits = {});

    [[nodiscard]] const std::vector<Entry> &entries() const noexcept { return m_entries; }
    [[nodiscard]] const Entry *find(const std::string &name) const;
    [[nodiscard]] const std::string &name() const noexcept { return m_name; }
    [[nodiscard]] const ZipLimits &limits() const noexcept { return m_limits; }
    // The entry's bytes: a view into the archive when stored (its CRC-32 checked on the first
    // read), inflated into memory otherwise. Throws FormatError for unknown entries, damaged
    // data (size or CRC) or a size/ratio cap exceeded.
    [[nodiscard]] Bytes read(const std::string &entryName);

private:
    ZipArchive() = default;
    Bytes m_bytes;
    std::string m_name;
    ZipLimits m_limits;
    std::vector<Entry> m_entries;
    std::map<std::string, std::size_t> m_byName;
    std::vector<bool> m_crcChecked;
};

// True when `bytes` starts like a zip archive (a local file header or an empty archive's end record).
[[nodiscard]] bool looksLikeZip(const Storage &bytes);

} // namespace qdq::io

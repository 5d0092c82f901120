#include "io/zip_archive.h"

#include "qdq/errors.h"

#include <quazip/quazip.h>
#include <quazip/unzip.h>

#include <QBuffer>
#include <QByteArray>

#include <algorithm>
#include <cstring>
#include <limits>

namespace qdq::io {

namespace {

// An entry name that would escape the folder it is extracted to, or that names no file.
const char *unsafeNameReason(const std::string &name)
{
    if (name.empty())
        return "empty entry name";
    if (name.find('\0') != std::string::npos)
        return "entry name contains a NUL byte";
    if (name.front() == '/' || name.front() == '\\')
        return "absolute entry name";
    if (name.size() >= 2 && name[1] == ':')
        return "entry name with a drive letter";
    std::size_t start = 0;
    while (start <= name.size()) {
        std::size_t end = name.find_first_of("/\\", start);
        if (end == std::string::npos)
            end = name.size();
        if (name.compare(start, end - start, "..") == 0 && end - start == 2)
            return "entry name with a '..' component (path traversal)";
        start = end + 1;
    }
    return nullptr;
}

// QuaZip reads from a QIODevice; this one is a zero-copy QBuffer over the mapped bytes.
struct ZipReader {
    QByteArray raw;
    QBuffer buffer;
    QuaZip zip;

    ZipReader(const Storage &bytes, const std::string &name)
        : raw(QByteArray::fromRawData(reinterpret_cast<const char *>(bytes.data()),
                                      static_cast<qsizetype>(bytes.size()))),
          buffer(&raw), zip(&buffer)
    {
        if (!zip.open(QuaZip::mdUnzip))
            throw FormatError("not a readable zip archive: no intact central directory (truncated or damaged)",
                              {name, {}, {}});
    }
    ~ZipReader() { zip.close(); }
    ZipReader(const ZipReader &) = delete;
    ZipReader &operator=(const ZipReader &) = delete;
};

} // namespace

bool looksLikeZip(const Storage &bytes)
{
    if (bytes.size() < 4)
        return false;
    return std::memcmp(bytes.data(), "PK\x03\x04", 4) == 0 || std::memcmp(bytes.data(), "PK\x05\x06", 4) == 0;
}

ZipArchive ZipArchive::open(Bytes bytes, std::string name, ZipLimits limits)
{
    ZipArchive a;
    a.m_bytes = std::move(bytes);
    a.m_name = std::move(name);
    a.m_limits = limits;
    ZipReader reader(*a.m_bytes, a.m_name);
    QuaZip &zip = reader.zip;
    for (bool more = zip.goToFirstFile(); more; more = zip.goToNextFile()) {
        QuaZipFileInfo64 info;
        if (!zip.getCurrentFileInfo(&info))
            throw FormatError("damaged central directory entry", {a.m_name, {}, {}});
        Entry e;
        e.name = info.name.toStdString();
        e.compressedSize = info.compressedSize;
        e.uncompressedSize = info.uncompressedSize;
        e.method = info.method;
        e.crc = static_cast<std::uint32_t>(info.crc);
        const Location where{a.m_name + ":" + e.name, {}, {}};
        unz64_file_pos pos{};
        if (unzGetFilePos64(zip.getUnzFile(), &pos) != UNZ_OK)
            throw FormatError("damaged central directory entry", where);
        e.directoryPos = pos.pos_in_zip_directory;
        e.fileNumber = pos.num_of_file;
        if (const char *reason = unsafeNameReason(e.name))
            throw FormatError(std::string("unsafe zip entry: ") + reason, where);
        if (a.m_byName.count(e.name))
            throw FormatError("duplicate zip entry (two files of the same name)", where);
        if (info.isEncrypted())
            throw UnsupportedError("encrypted zip entries are not supported", where);
        if (e.method != 0 && e.method != Z_DEFLATED)
            throw UnsupportedError("zip compression method " + std::to_string(e.method) +
                                       " is not supported (stored or deflated only)",
                                   where);
        if (e.method == 0 && e.compressedSize != e.uncompressedSize)
            throw FormatError("stored entry declares " + std::to_string(e.compressedSize) + " compressed but " +
                                  std::to_string(e.uncompressedSize) + " uncompressed bytes",
                              where);
        // minizip checks the local header against the central directory when the entry is
        // opened; the stream position is then the first data byte. The declared compressed size
        // must fit in the archive: the ratio cap below relies on it (a lie would hide a bomb).
        if (unzOpenCurrentFile(zip.getUnzFile()) != UNZ_OK)
            throw FormatError("damaged local header", where);
        e.dataOffset = unzGetCurrentFileZStreamPos64(zip.getUnzFile());
        unzCloseCurrentFile(zip.getUnzFile());
        if (e.dataOffset > a.m_bytes->size() || e.compressedSize > a.m_bytes->size() - e.dataOffset)
            throw FormatError("entry data [" + std::to_string(e.dataOffset) + ", +" + std::to_string(e.compressedSize) +
                                  ") lies beyond the archive's " + std::to_string(a.m_bytes->size()) +
                                  " bytes (truncated, or a false compressed size)",
                              where);
        if (e.method != 0 && e.uncompressedSize > a.m_limits.ratioFloor &&
            static_cast<double>(e.uncompressedSize) >
                a.m_limits.maxRatio * static_cast<double>(std::max<std::uint64_t>(e.compressedSize, 1))) {
            throw FormatError("compression ratio " +
                                  std::to_string(e.uncompressedSize / std::max<std::uint64_t>(e.compressedSize, 1)) +
                                  ":1 is above the " + std::to_string(static_cast<int>(a.m_limits.maxRatio)) +
                                  ":1 cap (zip bomb?)",
                              where);
        } else if (e.method != 0 && e.uncompressedSize > a.m_limits.maxInflatedEntry) {
            throw FormatError("declared size " + std::to_string(e.uncompressedSize) + " bytes is above the " +
                                  std::to_string(a.m_limits.maxInflatedEntry) + "-byte cap for compressed entries",
                              where);
        }
        a.m_byName.emplace(e.name, a.m_entries.size());
        a.m_entries.push_back(std::move(e));
    }
    if (zip.getZipError() != UNZ_OK)
        throw FormatError("damaged central directory (zip error " + std::to_string(zip.getZipError()) + ")",
                          {a.m_name, {}, {}});
    a.m_crcChecked.assign(a.m_entries.size(), false);
    return a;
}

const ZipArchive::Entry *ZipArchive::find(const std::string &entryName) const
{
    const auto it = m_byName.find(entryName);
    return it == m_byName.end() ? nullptr : &m_entries[it->second];
}

Bytes ZipArchive::read(const std::string &entryName)
{
    const Entry *e = find(entryName);
    const Location where{m_name + ":" + entryName, {}, {}};
    if (!e)
        throw FormatError("no such entry in the archive", where);
    const std::string display = m_name + ":" + entryName;
    const auto index = static_cast<std::size_t>(e - m_entries.data());
    if (e->method == 0) {
        auto view = std::make_shared<StorageSlice>(m_bytes, static_cast<std::size_t>(e->dataOffset),
                                                   static_cast<std::size_t>(e->uncompressedSize), display);
        if (!m_crcChecked[index]) { // SECURITY.md: stored entries are CRC-checked too
            uLong crc = crc32(0L, Z_NULL, 0);
            const auto *p = reinterpret_cast<const Bytef *>(view->data());
            for (std::size_t done = 0; done < view->size();) {
                const std::size_t n = std::min<std::size_t>(view->size() - done, std::size_t{1} << 30);
                crc = crc32(crc, p + done, static_cast<uInt>(n));
                done += n;
            }
            if (static_cast<std::uint32_t>(crc) != e->crc)
                throw FormatError("stored entry data does not match its CRC-32 (damaged or altered)", where);
            m_crcChecked[index] = true;
        }
        return view;
    }

    std::uint64_t &inflated = *m_limits.inflated;
    if (inflated + e->uncompressedSize > m_limits.maxInflatedTotal)
        throw FormatError("inflating this entry would exceed the " + std::to_string(m_limits.maxInflatedTotal) +
                              "-byte cap for one checkpoint (nested archives included)",
                          where);
    ZipReader reader(*m_bytes, m_name);
    unz64_file_pos pos{e->directoryPos, e->fileNumber};
    if (unzGoToFilePos64(reader.zip.getUnzFile(), &pos) != UNZ_OK)
        throw FormatError("cannot locate the entry", where);
    unzFile uf = reader.zip.getUnzFile();
    if (unzOpenCurrentFile(uf) != UNZ_OK)
        throw FormatError("cannot open the entry (damaged local header)", where);
    auto out = std::make_shared<NamedHostStorage>(static_cast<std::size_t>(e->uncompressedSize), display);
    // minizip never returns more than the declared size; reading stops there and the CRC check
    // on close catches data that inflates to more (or other) bytes than declared.
    std::uint64_t got = 0;
    int readError = UNZ_OK;
    while (got < e->uncompressedSize) {
        const std::uint64_t want = std::min<std::uint64_t>(e->uncompressedSize - got, 1U << 24);
        const int n =
            unzReadCurrentFile(uf, reinterpret_cast<char *>(out->mutableData()) + got, static_cast<unsigned>(want));
        if (n < 0)
            readError = n;
        if (n <= 0)
            break;
        got += static_cast<std::uint64_t>(n);
    }
    const int closeError = unzCloseCurrentFile(uf); // UNZ_CRCERROR when the data do not match
    if (got != e->uncompressedSize || readError != UNZ_OK)
        throw FormatError("entry inflates to " + std::to_string(got) + " bytes, not the declared " +
                              std::to_string(e->uncompressedSize) + " (damaged or truncated)",
                          where);
    if (closeError != UNZ_OK)
        throw FormatError("entry data does not match its CRC and declared size " + std::to_string(e->uncompressedSize) +
                              " (damaged, or a zip bomb lying about its size)",
                          where);
    inflated += e->uncompressedSize;
    return out;
}

} // namespace qdq::io

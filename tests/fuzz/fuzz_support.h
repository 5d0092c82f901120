#pragma once
// Shared by the libFuzzer entry points (tests/fuzz/fuzz_*.cpp). Each entry point feeds one input
// to one parser and accepts exactly one outcome besides success: a qdq::Error (the typed,
// located errors the CLI turns into exit code 2). Any other exception escapes and libFuzzer
// reports it as a crash, as it does for every ASan/UBSan finding.

#include "io/byte_source.h"
#include "qdq/tensor.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

namespace qdq::fuzz {

// The input as owned bytes of exactly its size (so ASan sees any read past the end).
inline std::shared_ptr<io::NamedHostStorage> bytesOf(const std::uint8_t *data, std::size_t size, std::string name)
{
    auto bytes = std::make_shared<io::NamedHostStorage>(size, std::move(name));
    if (size > 0)
        std::memcpy(bytes->mutableData(), data, size);
    return bytes;
}

// Reads every element a tensor view covers, so a view that points outside its storage is caught.
inline std::uint64_t touch(const Tensor &t)
{
    const Tensor c = t.contiguous();
    const auto *p = static_cast<const unsigned char *>(c.rawData());
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < c.nbytes(); ++i)
        sum += p[i];
    return sum;
}

} // namespace qdq::fuzz

// ---- Inputs that are files on disk (checkpoint_load, tokenizer_dir, inputs_file) ----------------

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace qdq::fuzz {

// A per-process temporary folder (mkdtemp), made on first use, emptied before every input and
// removed at exit. Keeps each run to a few small file writes.
class ScratchDir {
public:
    static ScratchDir &instance()
    {
        static ScratchDir dir;
        return dir;
    }
    // The folder, emptied.
    const std::filesystem::path &fresh()
    {
        std::error_code ec;
        for (const auto &entry : std::filesystem::directory_iterator(m_path, ec))
            std::filesystem::remove_all(entry.path(), ec);
        return m_path;
    }
    ScratchDir(const ScratchDir &) = delete;
    ScratchDir &operator=(const ScratchDir &) = delete;

private:
    ScratchDir()
    {
        std::string tmpl = (std::filesystem::temp_directory_path() / "qdq-fuzz-XXXXXX").string();
        if (!::mkdtemp(tmpl.data()))
            std::abort();
        m_path = tmpl;
    }
    ~ScratchDir()
    {
        std::error_code ec;
        std::filesystem::remove_all(m_path, ec);
    }
    std::filesystem::path m_path;
};

// Writes `contents` to dir/name. The contents "@zero" make the file a symbolic link to /dev/zero
// instead (a character device that never ends: the non-regular-file class of hostile inputs).
inline void writeFile(const std::filesystem::path &dir, const std::string &name, std::string_view contents)
{
    const std::filesystem::path path = dir / name;
    if (contents == "@zero") {
        std::error_code ec;
        std::filesystem::create_symlink("/dev/zero", path, ec);
        return;
    }
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
}

// A file name the input may choose, made safe to create in the scratch folder: only
// [A-Za-z0-9._-], at most 64 characters, not starting with a dot; empty when nothing usable is left.
inline std::string safeFileName(std::string_view name)
{
    std::string out;
    for (const char c : name) {
        if (out.size() == 64)
            break;
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                        c == '_' || c == '-';
        if (ok && !(out.empty() && c == '.'))
            out.push_back(c);
    }
    return out;
}

// The files of a folder packed into one input: records "\0QDQFILE NAME\n" followed by the file's
// bytes up to the next record (tests/fuzz/make_corpus.py, pack_folder). Bytes before the first
// record are returned as the preamble.
inline constexpr std::string_view kFileMarker{"\0QDQFILE ", 9};

struct PackedFolder {
    std::string_view preamble;
    std::vector<std::pair<std::string, std::string_view>> files; // safe name -> contents
};

inline PackedFolder unpackFolder(std::string_view input)
{
    PackedFolder packed;
    std::size_t pos = input.find(kFileMarker);
    packed.preamble = input.substr(0, pos);
    while (pos != std::string_view::npos) {
        const std::size_t nameStart = pos + kFileMarker.size();
        const std::size_t eol = input.find('\n', nameStart);
        if (eol == std::string_view::npos)
            break;
        const std::size_t next = input.find(kFileMarker, eol + 1);
        const std::size_t end = next == std::string_view::npos ? input.size() : next;
        std::string name = safeFileName(input.substr(nameStart, eol - nameStart));
        if (!name.empty() && packed.files.size() < 16)
            packed.files.emplace_back(std::move(name), input.substr(eol + 1, end - eol - 1));
        pos = next;
    }
    return packed;
}

} // namespace qdq::fuzz

#include "qdq/io/safetensors.h"

#include "qdq/io/atomic_file.h"
#include "qdq/io/text_file.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <limits>

namespace qdq {

namespace {

struct DTypeTag {
    const char *tag;
    DType dtype;
};
constexpr DTypeTag kTags[] = {{"F32", DType::F32}, {"F16", DType::F16}, {"BF16", DType::BF16}, {"I8", DType::I8},
                              {"U8", DType::U8},   {"I32", DType::I32}, {"I64", DType::I64},   {"BOOL", DType::Bool}};

// Header sizes beyond this are refused before parsing (the format's own reference
// implementation caps the header at 100 MB).
constexpr std::uint64_t kMaxHeaderBytes = 100ULL * 1024 * 1024;

} // namespace

std::string safetensorsDTypeName(DType dtype)
{
    for (const DTypeTag &t : kTags)
        if (t.dtype == dtype)
            return t.tag;
    return "?";
}

SafetensorsFile SafetensorsFile::open(const std::filesystem::path &path)
{
    return open(MappedFile::open(path), path);
}

SafetensorsFile SafetensorsFile::open(std::shared_ptr<Storage> bytes, const std::filesystem::path &path)
{
    SafetensorsFile f;
    f.m_path = path;
    f.m_file = std::move(bytes);
    const std::string file = path.string();
    const std::size_t size = f.m_file->size();
    if (size < 8)
        throw FormatError("file is " + std::to_string(size) + " bytes, too short for a safetensors header",
                          {file, {}, {}});
    std::uint64_t headerLen = 0;
    std::memcpy(&headerLen, f.m_file->data(), 8); // little-endian host assumed (x86-64, aarch64)
    if (headerLen > kMaxHeaderBytes || headerLen > size - 8)
        throw FormatError("header length " + std::to_string(headerLen) + " exceeds the file size " +
                              std::to_string(size),
                          {file, {}, "header"});
    const auto *headerBegin = reinterpret_cast<const char *>(f.m_file->data()) + 8;
    // depth-limited parse (SECURITY.md "Limits"); FormatError naming the file
    const nlohmann::json header =
        io::parseJson(std::string_view(headerBegin, headerLen), file, "header is not valid JSON", "header");
    if (!header.is_object())
        throw FormatError("header must be a JSON object", {file, {}, "header"});

    const std::size_t dataStart = 8 + static_cast<std::size_t>(headerLen);
    const std::size_t dataSize = size - dataStart;
    std::vector<std::pair<std::size_t, std::size_t>> ranges;
    for (const auto &[name, value] : header.items()) {
        if (name == "__metadata__") {
            if (!value.is_object())
                throw FormatError("__metadata__ must be an object of strings", {file, {}, "__metadata__"});
            for (const auto &[k, v] : value.items()) {
                if (!v.is_string())
                    throw FormatError("__metadata__ values must be strings", {file, {}, "__metadata__." + k});
                f.m_metadata[k] = v.get<std::string>();
            }
            continue;
        }
        const Location where{file, name, {}};
        if (!value.is_object())
            throw FormatError("tensor entry must be an object", where);
        const auto dt = value.find("dtype");
        if (dt == value.end() || !dt->is_string())
            throw FormatError("missing dtype", {file, name, "dtype"});
        const std::string tag = dt->get<std::string>();
        const auto *match =
            std::find_if(std::begin(kTags), std::end(kTags), [&](const DTypeTag &t) { return tag == t.tag; });
        if (match == std::end(kTags))
            throw UnsupportedError("unsupported dtype " + tag + " (supported: F32, F16, BF16, I8, U8, I32, I64, BOOL)",
                                   {file, name, "dtype"});
        const auto sh = value.find("shape");
        if (sh == value.end() || !sh->is_array())
            throw FormatError("missing shape", {file, name, "shape"});
        Shape shape;
        for (const auto &d : *sh) {
            if (!d.is_number_unsigned())
                throw FormatError("shape entries must be non-negative integers", {file, name, "shape"});
            const auto v = d.get<std::uint64_t>();
            if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
                throw FormatError("shape entry too large", {file, name, "shape"});
            shape.push_back(static_cast<std::int64_t>(v));
        }
        const auto off = value.find("data_offsets");
        if (off == value.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
            !(*off)[1].is_number_unsigned())
            throw FormatError("data_offsets must be [begin, end]", {file, name, "data_offsets"});
        const auto begin = (*off)[0].get<std::uint64_t>();
        const auto end = (*off)[1].get<std::uint64_t>();
        if (begin > end || end > dataSize)
            throw FormatError("data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                                  "] lie outside the " + std::to_string(dataSize) + " data bytes",
                              {file, name, "data_offsets"});
        std::int64_t numel = 0;
        try {
            numel = shapeNumel(shape);
        } catch (const ShapeError &) {
            throw FormatError("shape " + shapeString(shape) + " is too large", {file, name, "shape"});
        }
        const std::size_t elem = dtypeSize(match->dtype);
        if (static_cast<std::uint64_t>(numel) > (end - begin) / elem ||
            static_cast<std::uint64_t>(numel) * elem != end - begin)
            throw FormatError(std::to_string(end - begin) + " bytes do not hold " + tag + shapeString(shape),
                              {file, name, "data_offsets"});
        ranges.emplace_back(begin, end);
        f.m_entries.emplace(name, Entry{match->dtype, std::move(shape), dataStart + begin, dataStart + end});
        f.m_names.push_back(name);
    }
    std::sort(ranges.begin(), ranges.end());
    for (std::size_t i = 1; i < ranges.size(); ++i)
        if (ranges[i].first < ranges[i - 1].second)
            throw FormatError("tensors overlap in the data section", {file, {}, "data_offsets"});
    // names in file order (by offset), which is also the order writers use
    std::sort(f.m_names.begin(), f.m_names.end(), [&f](const std::string &a, const std::string &b) {
        return f.m_entries.at(a).begin < f.m_entries.at(b).begin;
    });
    return f;
}

DType SafetensorsFile::dtype(const std::string &name) const
{
    const auto it = m_entries.find(name);
    if (it == m_entries.end())
        throw FormatError("no such tensor", {m_path.string(), name, {}});
    return it->second.dtype;
}

const Shape &SafetensorsFile::shape(const std::string &name) const
{
    const auto it = m_entries.find(name);
    if (it == m_entries.end())
        throw FormatError("no such tensor", {m_path.string(), name, {}});
    return it->second.shape;
}

Tensor SafetensorsFile::tensor(const std::string &name) const
{
    const auto it = m_entries.find(name);
    if (it == m_entries.end())
        throw FormatError("no such tensor", {m_path.string(), name, {}});
    const Entry &e = it->second;
    Tensor view = Tensor::fromStorage(m_file, e.begin, e.dtype, e.shape, {}, name);
    const auto addr = reinterpret_cast<std::uintptr_t>(m_file->data()) + e.begin;
    if (addr % dtypeSize(e.dtype) != 0)
        return view.clone(); // misaligned for its dtype: copy rather than read unaligned
    return view;
}

std::map<std::string, Tensor> SafetensorsFile::tensors() const
{
    std::map<std::string, Tensor> out;
    for (const std::string &name : m_names)
        out.emplace(name, tensor(name));
    return out;
}

void writeSafetensors(const std::filesystem::path &path,
                      const std::vector<std::pair<std::string, const Tensor *>> &tensors,
                      const std::map<std::string, std::string> &metadata)
{
    nlohmann::json header = nlohmann::json::object();
    if (!metadata.empty())
        header["__metadata__"] = metadata;
    std::uint64_t offset = 0;
    for (const auto &[name, t] : tensors) {
        if (!t || !t->defined())
            throw ShapeError("cannot write an undefined tensor", {path.string(), name, {}});
        if (header.contains(name))
            throw ShapeError("tensor name appears twice", {path.string(), name, {}});
        header[name] = {{"dtype", safetensorsDTypeName(t->dtype())},
                        {"shape", t->shape()},
                        {"data_offsets", {offset, offset + t->nbytes()}}};
        offset += t->nbytes();
    }
    std::string text = header.dump();
    while (text.size() % 8 != 0)
        text.push_back(' '); // keep the data section 8-byte aligned
    writeFileAtomically(path, [&](std::ostream &out) {
        const std::uint64_t len = text.size();
        out.write(reinterpret_cast<const char *>(&len), 8);
        out.write(text.data(), static_cast<std::streamsize>(text.size()));
        for (const auto &[name, t] : tensors) {
            const Tensor c = t->contiguous();
            out.write(static_cast<const char *>(c.rawData()), static_cast<std::streamsize>(c.nbytes()));
        }
    });
}

} // namespace qdq

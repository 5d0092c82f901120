#include "qdq/checkpoint.h"

#include "io/checkpoint_inventory.h"
#include "io/torch_format.h"
#include "io/zip_archive.h"
#include "qdq/errors.h"
#include "qdq/io/safetensors.h"
#include "qdq/io/text_file.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <set>

namespace qdq {

const Tensor &Checkpoint::get(const std::string &name) const
{
    const auto it = tensors.find(name);
    if (it == tensors.end())
        throw FormatError("checkpoint has no tensor of this name", {source.string(), name, {}});
    return it->second;
}

bool Checkpoint::hasHead(std::string_view head) const
{
    return std::find(heads.begin(), heads.end(), head) != heads.end();
}

const QuantizerInfo *Checkpoint::quantizer(const QuantizerSite &site) const
{
    for (const QuantizerInfo &q : quantizers)
        if (q.site == site)
            return &q;
    return nullptr;
}

int Checkpoint::calibratedQuantizers() const
{
    return static_cast<int>(
        std::count_if(quantizers.begin(), quantizers.end(), [](const QuantizerInfo &q) { return q.calibrated; }));
}

namespace {

using io::Bytes;
using io::NamedTensors;

constexpr const char *kTokenizerFiles[] = {"vocab.txt", "tokenizer.json", "tokenizer_config.json",
                                           "special_tokens_map.json"};
constexpr std::size_t kMaxTextFile = 64U << 20;

// A folder of files: a directory on disk or a folder inside a zip archive. Names are plain file
// names relative to the folder.
class Folder {
public:
    virtual ~Folder() = default;
    [[nodiscard]] virtual bool exists(const std::string &name) const = 0;
    [[nodiscard]] virtual Bytes open(const std::string &name) = 0;
    [[nodiscard]] virtual std::vector<std::string> files() const = 0;
    [[nodiscard]] virtual std::string display(const std::string &name) const = 0;
    [[nodiscard]] virtual const char *container() const = 0;
    // The zip limits (and inflation budget) of the load this folder belongs to: archives nested
    // in it share them (zip_archive.h).
    [[nodiscard]] virtual const io::ZipLimits &zipLimits() const = 0;
};

class DiskFolder final : public Folder {
public:
    explicit DiskFolder(std::filesystem::path dir, io::ZipLimits limits = {})
        : m_dir(std::move(dir)), m_limits(std::move(limits))
    {
    }
    [[nodiscard]] const io::ZipLimits &zipLimits() const override { return m_limits; }
    [[nodiscard]] bool exists(const std::string &name) const override
    {
        std::error_code ec;
        return std::filesystem::is_regular_file(m_dir / name, ec);
    }
    [[nodiscard]] Bytes open(const std::string &name) override { return MappedFile::open(m_dir / name); }
    [[nodiscard]] std::vector<std::string> files() const override
    {
        std::vector<std::string> out;
        std::error_code ec;
        for (const auto &e : std::filesystem::directory_iterator(m_dir, ec))
            if (e.is_regular_file(ec))
                out.push_back(e.path().filename().string());
        if (ec)
            throw IoError("cannot list the folder: " + ec.message(), {m_dir.string(), {}, {}});
        std::sort(out.begin(), out.end());
        return out;
    }
    [[nodiscard]] std::string display(const std::string &name) const override { return (m_dir / name).string(); }
    [[nodiscard]] const char *container() const override { return "folder"; }

private:
    std::filesystem::path m_dir;
    io::ZipLimits m_limits;
};

class ZipFolder final : public Folder {
public:
    ZipFolder(io::ZipArchive &zip, std::string prefix) : m_zip(zip), m_prefix(std::move(prefix)) {}
    [[nodiscard]] bool exists(const std::string &name) const override { return m_zip.find(m_prefix + name); }
    [[nodiscard]] Bytes open(const std::string &name) override { return m_zip.read(m_prefix + name); }
    [[nodiscard]] std::vector<std::string> files() const override
    {
        std::vector<std::string> out;
        for (const auto &e : m_zip.entries())
            if (e.name.size() > m_prefix.size() && e.name.compare(0, m_prefix.size(), m_prefix) == 0 &&
                e.name.find('/', m_prefix.size()) == std::string::npos)
                out.push_back(e.name.substr(m_prefix.size()));
        std::sort(out.begin(), out.end());
        return out;
    }
    [[nodiscard]] std::string display(const std::string &name) const override
    {
        return m_zip.name() + ":" + m_prefix + name;
    }
    [[nodiscard]] const char *container() const override { return "zip"; }
    [[nodiscard]] const io::ZipLimits &zipLimits() const override { return m_zip.limits(); }

private:
    io::ZipArchive &m_zip;
    std::string m_prefix;
};

enum class Sniffed { Safetensors, OtherZip, TorchLegacy, Pickle, Json, Unknown };

Sniffed sniff(const Storage &b)
{
    const auto *p = reinterpret_cast<const unsigned char *>(b.data());
    if (io::looksLikeZip(b))
        return Sniffed::OtherZip; // refined by the caller once the archive is open
    if (io::looksLikeLegacyTorch(b))
        return Sniffed::TorchLegacy;
    if (io::looksLikePickle(b))
        return Sniffed::Pickle;
    if (b.size() >= 9 && p[8] == '{')
        return Sniffed::Safetensors; // header length and content are validated by SafetensorsFile
    std::size_t i = 0;
    while (i < b.size() && i < 64 && std::isspace(p[i]))
        ++i;
    if (i < b.size() && p[i] == '{')
        return Sniffed::Json;
    return Sniffed::Unknown;
}

std::string firstBytes(const Storage &b)
{
    static const char *digits = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < std::min<std::size_t>(b.size(), 8); ++i) {
        const auto c = static_cast<unsigned char>(b.data()[i]);
        out += digits[c >> 4];
        out += digits[c & 15];
        out += ' ';
    }
    if (!out.empty())
        out.pop_back();
    return out;
}

struct Weights {
    NamedTensors tensors;
    std::string format;
};

NamedTensors readSafetensors(Bytes bytes, const std::string &name)
{
    const SafetensorsFile f = SafetensorsFile::open(std::move(bytes), name);
    NamedTensors out;
    out.reserve(f.names().size());
    for (const std::string &n : f.names())
        out.emplace_back(n, f.tensor(n));
    return out;
}

// One weights file of any format, sniffed from content.
Weights readWeights(Bytes bytes, const std::string &name, const io::ZipLimits &limits)
{
    switch (sniff(*bytes)) {
    case Sniffed::Safetensors:
        return {readSafetensors(std::move(bytes), name), "safetensors"};
    case Sniffed::OtherZip: {
        io::ZipArchive zip = io::ZipArchive::open(std::move(bytes), name, limits);
        if (io::torchZipRoot(zip).empty())
            throw FormatError("zip archive is not a PyTorch checkpoint (no <root>/data.pkl)", {name, {}, {}});
        return {io::readTorchZip(zip), "pytorch-zip"};
    }
    case Sniffed::TorchLegacy:
    case Sniffed::Pickle:
        return {io::readTorchLegacy(bytes), "pytorch-legacy"};
    case Sniffed::Json:
    case Sniffed::Unknown:
        break;
    }
    throw FormatError("not a weights file: content is neither safetensors nor a PyTorch checkpoint (first bytes " +
                          firstBytes(*bytes) + ")",
                      {name, {}, {}});
}

std::string textOf(const Storage &b, const std::string &name)
{
    if (b.size() > kMaxTextFile)
        throw FormatError("text file is larger than " + std::to_string(kMaxTextFile) + " bytes", {name, {}, {}});
    return std::string(io::asText(b));
}

// model.safetensors.index.json / pytorch_model.bin.index.json: {"weight_map": {tensor: shard}}.
Weights readSharded(Folder &folder, const std::string &indexName, Progress *progress, std::vector<std::string> &files,
                    std::vector<std::string> &warnings)
{
    const std::string where = folder.display(indexName);
    const nlohmann::json index =
        io::parseJson(textOf(*folder.open(indexName), where), where, "index is not valid JSON");
    const auto map = index.is_object() ? index.find("weight_map") : index.end();
    if (map == index.end() || !map->is_object())
        throw FormatError("index has no weight_map object", {where, {}, "weight_map"});
    std::map<std::string, std::vector<std::string>> byShard;
    for (const auto &[tensor, shard] : map->items()) {
        if (!shard.is_string())
            throw FormatError("weight_map values must be file names", {where, tensor, "weight_map"});
        const std::string s = shard.get<std::string>();
        if (s.empty() || s.find('/') != std::string::npos || s.find('\\') != std::string::npos || s == "." || s == "..")
            throw FormatError("shard name '" + s + "' is not a plain file name in the same folder",
                              {where, tensor, "weight_map"});
        byShard[s].push_back(tensor);
    }
    if (byShard.empty())
        throw FormatError("weight_map is empty", {where, {}, "weight_map"});
    Weights out;
    std::set<std::string> seen;
    std::int64_t done = 0;
    for (const auto &[shard, names] : byShard) {
        if (!folder.exists(shard))
            throw IoError("shard listed in the index is missing", {folder.display(shard), {}, {}});
        reportProgress(progress, "reading shards", done++, static_cast<std::int64_t>(byShard.size()));
        Weights w = readWeights(folder.open(shard), folder.display(shard), folder.zipLimits());
        files.push_back(folder.display(shard));
        if (out.format.empty())
            out.format = w.format;
        else if (out.format != w.format)
            out.format = "mixed";
        std::set<std::string> inShard;
        for (auto &[n, t] : w.tensors) {
            if (!seen.insert(n).second)
                throw FormatError("tensor appears in more than one shard", {folder.display(shard), n, {}});
            inShard.insert(n);
            const auto listed = map->find(n);
            if (listed == map->end() || listed->get<std::string>() != shard)
                warnings.push_back("tensor " + n + " is in shard " + shard + " but the index does not say so");
            out.tensors.emplace_back(n, std::move(t));
        }
        for (const std::string &n : names)
            if (!inShard.count(n))
                throw FormatError("the index places this tensor in " + shard + ", which does not contain it",
                                  {where, n, "weight_map"});
    }
    reportProgress(progress, "reading shards", done, done);
    out.format += " (sharded)";
    return out;
}

bool isWeightsName(const std::string &n)
{
    for (const char *ext : {".safetensors", ".bin", ".pt", ".pth", ".ckpt"})
        if (n.size() > std::strlen(ext) && n.compare(n.size() - std::strlen(ext), std::strlen(ext), ext) == 0)
            return true;
    return false;
}

void readConfigAndTokenizer(Folder &folder, Checkpoint &ckpt)
{
    if (folder.exists("config.json")) {
        const std::string where = folder.display("config.json");
        ckpt.config = BertConfig::fromJson(textOf(*folder.open("config.json"), where), where);
        ckpt.configFromFile = true;
    }
    for (const char *name : kTokenizerFiles)
        if (folder.exists(name))
            ckpt.tokenizerFiles.emplace(name, textOf(*folder.open(name), folder.display(name)));
}

// A Hugging Face folder: config, tokenizer files and the weights, preferring safetensors.
NamedTensors loadFolder(Folder &folder, Checkpoint &ckpt, Progress *progress)
{
    readConfigAndTokenizer(folder, ckpt);
    ckpt.container = folder.container();
    for (const char *index : {"model.safetensors.index.json", "pytorch_model.bin.index.json"})
        if (folder.exists(index)) {
            Weights w = readSharded(folder, index, progress, ckpt.weightFiles, ckpt.warnings);
            ckpt.format = w.format;
            return std::move(w.tensors);
        }
    std::string chosen;
    for (const char *name : {"model.safetensors", "pytorch_model.bin"})
        if (folder.exists(name)) {
            chosen = name;
            break;
        }
    if (chosen.empty()) {
        std::vector<std::string> candidates;
        for (const std::string &f : folder.files())
            if (isWeightsName(f))
                candidates.push_back(f);
        if (candidates.size() != 1)
            throw FormatError(candidates.empty()
                                  ? "no weights in this folder (model.safetensors, pytorch_model.bin or an index)"
                                  : "several weights files and no model.safetensors / pytorch_model.bin to choose",
                              {folder.display(""), {}, {}});
        chosen = candidates.front();
    }
    reportProgress(progress, "reading weights", 0, 1);
    Weights w = readWeights(folder.open(chosen), folder.display(chosen), folder.zipLimits());
    ckpt.weightFiles.push_back(folder.display(chosen));
    ckpt.format = w.format;
    reportProgress(progress, "reading weights", 1, 1);
    return std::move(w.tensors);
}

// A zip of a Hugging Face folder: the files at the root or inside one top-level folder.
NamedTensors loadZippedFolder(io::ZipArchive &zip, Checkpoint &ckpt, Progress *progress)
{
    std::set<std::string> roots;
    for (const auto &e : zip.entries()) {
        const std::size_t slash = e.name.find('/');
        const std::string base = e.name.substr(slash == std::string::npos ? 0 : slash + 1);
        const bool relevant =
            base == "config.json" || base.find(".index.json") != std::string::npos || isWeightsName(base);
        if (!relevant)
            continue;
        if (slash == std::string::npos)
            roots.insert("");
        else if (e.name.find('/', slash + 1) == std::string::npos)
            roots.insert(e.name.substr(0, slash + 1));
    }
    if (roots.empty())
        throw FormatError("zip archive holds no checkpoint (no config.json or weights at its root or one folder down)",
                          {zip.name(), {}, {}});
    if (roots.size() > 1)
        throw FormatError("zip archive holds more than one checkpoint folder", {zip.name(), {}, {}});
    ZipFolder folder(zip, *roots.begin());
    return loadFolder(folder, ckpt, progress);
}

} // namespace

Checkpoint loadCheckpoint(const std::filesystem::path &path, Progress *progress, const LoadOptions &options)
{
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        throw IoError("no such file or folder", {path.string(), {}, {}});
    Checkpoint ckpt;
    ckpt.source = path;
    NamedTensors raw;
    const io::ZipLimits limits; // one inflation budget for the whole load, nested archives included
    if (std::filesystem::is_directory(path, ec)) {
        DiskFolder folder(path, limits);
        raw = loadFolder(folder, ckpt, progress);
    } else {
        Bytes bytes = MappedFile::open(path);
        const std::string name = path.string();
        DiskFolder siblings(path.has_parent_path() ? path.parent_path() : std::filesystem::path("."), limits);
        switch (sniff(*bytes)) {
        case Sniffed::OtherZip: {
            io::ZipArchive zip = io::ZipArchive::open(std::move(bytes), name, limits);
            if (!io::torchZipRoot(zip).empty()) {
                readConfigAndTokenizer(siblings, ckpt);
                reportProgress(progress, "reading weights", 0, 1);
                raw = io::readTorchZip(zip);
                ckpt.format = "pytorch-zip";
                ckpt.container = "file";
                ckpt.weightFiles.push_back(name);
            } else {
                raw = loadZippedFolder(zip, ckpt, progress);
            }
            break;
        }
        case Sniffed::Json: {
            // an index or config.json opened directly: the folder it describes
            DiskFolder folder(path.parent_path(), limits);
            raw = loadFolder(folder, ckpt, progress);
            break;
        }
        default: {
            readConfigAndTokenizer(siblings, ckpt);
            reportProgress(progress, "reading weights", 0, 1);
            Weights w = readWeights(std::move(bytes), name, limits);
            raw = std::move(w.tensors);
            ckpt.format = w.format;
            ckpt.container = "file";
            ckpt.weightFiles.push_back(name);
        }
        }
    }
    checkCancelled(progress);
    io::finishCheckpoint(ckpt, std::move(raw), options);
    reportProgress(progress, "checking tensors", 1, 1);
    return ckpt;
}

} // namespace qdq

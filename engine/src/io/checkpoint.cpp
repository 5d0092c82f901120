#include "qdq/checkpoint.h"

#include "qdq/errors.h"
#include "qdq/io/safetensors.h"

#include <fstream>
#include <sstream>

namespace qdq {

const Tensor &Checkpoint::get(const std::string &name) const
{
    const auto it = tensors.find(name);
    if (it == tensors.end())
        throw FormatError("checkpoint has no tensor of this name", {source.string(), name, {}});
    return it->second;
}

namespace {

std::string readTextFile(const std::filesystem::path &path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw IoError("cannot open", {path.string(), {}, {}});
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

} // namespace

Checkpoint loadCheckpoint(const std::filesystem::path &path, Progress *progress)
{
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        throw IoError("no such file or folder", {path.string(), {}, {}});
    const bool isDir = std::filesystem::is_directory(path, ec);
    const std::filesystem::path folder = isDir ? path : path.parent_path();
    const std::filesystem::path weights = isDir ? folder / "model.safetensors" : path;
    if (!std::filesystem::exists(weights, ec))
        throw UnsupportedError("no model.safetensors in this folder", {path.string(), {}, {}});

    Checkpoint ckpt;
    ckpt.source = path;
    ckpt.format = "safetensors";
    const std::filesystem::path configPath = folder / "config.json";
    if (std::filesystem::exists(configPath, ec)) {
        ckpt.config = BertConfig::fromJson(readTextFile(configPath), configPath.string());
        ckpt.configFromFile = true;
    }
    const SafetensorsFile file = SafetensorsFile::open(weights);
    const auto total = static_cast<std::int64_t>(file.names().size());
    std::int64_t done = 0;
    for (const std::string &name : file.names()) {
        ckpt.tensors.emplace(name, file.tensor(name));
        reportProgress(progress, "reading tensors", ++done, total);
    }
    return ckpt;
}

} // namespace qdq

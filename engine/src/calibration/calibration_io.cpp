// Calibrated checkpoint and calibration.safetensors: writing (atomically, as a folder) and
// reading back (calibration.h).
#include "qdq/calibration.h"

#include "qdq/errors.h"
#include "qdq/io/atomic_file.h"
#include "qdq/io/safetensors.h"
#include "qdq/quant/quant_config.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <span>
#include <system_error>

#include <unistd.h>

namespace qdq {
namespace fs = std::filesystem;
namespace {

bool isNonEmptyDirectory(const fs::path &p)
{
    std::error_code ec;
    return fs::is_directory(p, ec) && !fs::is_empty(p, ec);
}

fs::path siblingName(const fs::path &directory, const char *tag)
{
    static std::atomic<unsigned> counter{0};
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    const fs::path parent = directory.has_parent_path() ? directory.parent_path() : fs::path(".");
    return parent / ("." + directory.filename().string() + "." + tag + "-" + std::to_string(::getpid()) + "-" +
                     std::to_string(now) + "-" + std::to_string(counter++));
}

void writeStatistics(const fs::path &path, const Calibrator &cal, const CalibratedOutput &output, Progress *progress)
{
    std::vector<std::pair<std::string, Tensor>> owned;
    for (const SiteStatistics &s : cal.sites()) {
        checkCancelled(progress);
        if (s.isWeight) {
            if (!s.max.empty())
                owned.emplace_back(s.name + ".max", cal.amax(s, CalibMethod::Max, output.amax));
            continue;
        }
        if (s.histogram && !s.histogram->empty()) {
            HistogramCalibrator::State st = s.histogram->state();
            owned.emplace_back(s.name + ".counts", std::move(st.counts));
            owned.emplace_back(s.name + ".edges", std::move(st.edges));
            owned.emplace_back(s.name + ".edge_bits", std::move(st.edgeBits));
            owned.emplace_back(s.name + ".info", std::move(st.info));
        }
        if (!s.collected())
            continue;
        const SiteAmax all = cal.amaxAll(s, output.amax);
        if (all.byMethod[0])
            owned.emplace_back(s.name + ".max", all.byMethod[0]->alias());
        for (const CalibMethod m : {CalibMethod::Max, CalibMethod::Percentile, CalibMethod::Mse, CalibMethod::Entropy})
            if (const auto &t = all.byMethod[static_cast<std::size_t>(m)])
                owned.emplace_back(s.name + ".amax." + std::string(calibMethodName(m)), t->alias());
    }
    const CalibrationOptions &o = cal.options();
    std::map<std::string, std::string> meta = output.metadata;
    meta["format"] = "qdq-calibration/1";
    meta["profile"] = std::string(versionProfileName(o.profile));
    meta["num_bits"] = std::to_string(o.numBits);
    meta["num_bins"] = std::to_string(o.numBins);
    meta["histogram_collection"] = usesTorchHistogram(o.profile) ? "torch" : "numpy";
    meta["samples"] = std::to_string(cal.samples());
    meta["batches"] = std::to_string(cal.batches());
    meta["batch_size"] = std::to_string(o.batchSize);
    meta["max_length"] = std::to_string(o.maxLength);
    meta["method"] = std::string(calibMethodName(output.method));
    meta["weight_method"] = std::string(calibMethodName(output.weightMethod));
    meta["percentile"] = std::to_string(output.amax.percentile);
    meta["start_bin"] = std::to_string(output.amax.startBin);
    meta["stride"] = std::to_string(output.amax.stride);
    std::vector<std::pair<std::string, const Tensor *>> refs;
    refs.reserve(owned.size());
    for (const auto &[name, t] : owned)
        refs.emplace_back(name, &t);
    writeSafetensors(path, refs, meta);
}

// A complete Hugging Face folder (calibration.h): config.json, the tokenizer files,
// model.safetensors with every stored tensor except tied aliases and the `_amax` buffers of
// `replaced` (written from `amax` instead), plus what `extra` writes into the temporary folder.
// Atomic: a temporary folder beside `dir`, renamed at the end; an error or cancellation removes
// it and leaves `dir` as it was.
void writeCheckpointFolder(const Checkpoint &checkpoint, const BertConfig &config,
                           const std::map<std::string, Tensor> &amax, const std::set<std::string> &replaced,
                           const fs::path &dir, bool force, const std::function<void(const fs::path &)> &extra,
                           Progress *progress)
{
    if (dir.empty())
        throw IoError("no output directory given");
    std::error_code ec;
    if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
        throw IoError("output exists and is not a directory", {dir.string(), {}, {}});
    if (isNonEmptyDirectory(dir) && !force)
        throw IoError("output directory exists and is not empty (use --force to replace it)", {dir.string(), {}, {}});

    const fs::path tmp = siblingName(dir, "tmp");
    fs::create_directories(tmp, ec);
    if (ec)
        throw IoError("cannot create " + tmp.string() + ": " + ec.message(), {dir.string(), {}, {}});
    fs::path backup; // the previous output while the new one is renamed into place
    // a failure after the previous output was moved aside puts it back
    const auto restore = [&] {
        fs::remove_all(tmp, ec);
        if (!backup.empty() && !fs::exists(dir, ec))
            fs::rename(backup, dir, ec);
    };
    try {
        reportProgress(progress, "writing", 0, 4);
        writeFileAtomically(tmp / "config.json", config.toJson());
        for (const auto &[name, contents] : checkpoint.tokenizerFiles)
            writeFileAtomically(tmp / name, contents);
        reportProgress(progress, "writing", 1, 4);

        const std::set<std::string> tied(checkpoint.tiedKeys.begin(), checkpoint.tiedKeys.end());
        std::vector<std::pair<std::string, const Tensor *>> tensors;
        for (const auto &[name, t] : checkpoint.tensors) {
            if (tied.count(name) != 0 || amax.count(name) != 0 || replaced.count(name) != 0)
                continue; // aliases are not stored twice; old amax buffers are replaced
            tensors.emplace_back(name, &t);
        }
        for (const auto &[name, t] : amax)
            tensors.emplace_back(name, &t);
        // transformers refuses safetensors files without format "pt" metadata
        writeSafetensors(tmp / "model.safetensors", tensors, {{"format", "pt"}});
        reportProgress(progress, "writing", 2, 4);

        if (extra)
            extra(tmp);
        reportProgress(progress, "writing", 3, 4);

        checkCancelled(progress); // the last point where a cancel leaves the previous output in place
        if (fs::exists(dir, ec)) {
            if (isNonEmptyDirectory(dir)) {
                backup = siblingName(dir, "old");
                fs::rename(dir, backup);
            } else {
                fs::remove(dir);
            }
        }
        fs::rename(tmp, dir);
        if (!backup.empty())
            fs::remove_all(backup, ec);
    } catch (const fs::filesystem_error &e) {
        restore();
        throw IoError(e.code().message(), {dir.string(), {}, {}});
    } catch (...) {
        restore();
        throw;
    }
    // The new checkpoint is in place: a cancel arriving now is too late to undo it, so this last
    // report must not turn a finished job into a "cancelled" one.
    try {
        reportProgress(progress, "writing", 4, 4);
    } catch (const CancelledError &) {
    }
}

} // namespace

void writeCalibratedCheckpoint(const Checkpoint &checkpoint, const Calibrator &calibrator,
                               const CalibratedOutput &output, Progress *progress)
{
    // amax first: a method that cannot run fails before anything is written.
    const std::map<std::string, Tensor> amax = calibrator.amaxTensors(output.method, output.amax, output.weightMethod);
    // config.json as loaded: quantizers a repair left in FP32 (qdq_disabled_quantizers) stay so,
    // with fresh amax values should they be enabled again
    writeCheckpointFolder(
        checkpoint, checkpoint.config, amax, {}, output.directory, output.force,
        [&](const fs::path &tmp) { writeStatistics(tmp / "calibration.safetensors", calibrator, output, progress); },
        progress);
}

void writeQuantizedCheckpoint(const Checkpoint &checkpoint, const QuantConfig &quant, const QuantizedOutput &output,
                              Progress *progress)
{
    std::map<std::string, Tensor> amax;
    std::set<std::string> replaced;
    BertConfig config = checkpoint.config;
    config.disabledQuantizers.clear();
    for (const SiteQuantConfig &s : quant.sites()) {
        const std::string key = s.site.amaxKey("bert.");
        replaced.insert(key);
        if (const QuantizerInfo *info = checkpoint.quantizer(s.site))
            replaced.insert(info->amaxKey);
        if (s.amax)
            amax.emplace(key, Tensor::fromValues<float>(s.amaxShape, std::span<const float>(*s.amax)));
        if (!s.enabled)
            config.disabledQuantizers.push_back(s.site.modulePath());
    }
    writeCheckpointFolder(
        checkpoint, config, amax, replaced, output.directory, output.force,
        [&](const fs::path &tmp) {
            for (const auto &[name, contents] : output.files)
                writeFileAtomically(tmp / name, contents);
        },
        progress);
}

CalibrationFile loadCalibrationFile(const fs::path &path)
{
    const SafetensorsFile file = SafetensorsFile::open(path);
    CalibrationFile out;
    out.metadata = file.metadata();
    const auto format = out.metadata.find("format");
    if (format == out.metadata.end() || format->second != "qdq-calibration/1")
        throw FormatError("not a calibration.safetensors file (metadata format is not qdq-calibration/1)",
                          {path.string(), {}, "__metadata__.format"});
    HistogramOptions hist;
    if (const auto it = out.metadata.find("num_bins"); it != out.metadata.end())
        hist.numBins = std::stoi(it->second);
    if (const auto it = out.metadata.find("histogram_collection"); it != out.metadata.end())
        hist.collection = it->second == "torch" ? HistogramCollection::Torch : HistogramCollection::NumPy;
    std::map<std::string, std::size_t> index;
    auto siteFor = [&](const std::string &name) -> CalibrationFile::Site & {
        const auto it = index.find(name);
        if (it != index.end())
            return out.sites[it->second];
        index.emplace(name, out.sites.size());
        CalibrationFile::Site s;
        s.name = name;
        s.site = QuantizerSite::fromKey(name);
        out.sites.push_back(std::move(s));
        return out.sites.back();
    };
    for (const std::string &key : file.names()) {
        const std::size_t q = key.find("_quantizer.");
        if (q == std::string::npos)
            throw FormatError("unexpected tensor", {path.string(), key, {}});
        const std::string name = key.substr(0, q + std::string("_quantizer").size());
        const std::string field = key.substr(name.size() + 1);
        CalibrationFile::Site &s = siteFor(name);
        if (field == "max")
            s.max = file.tensor(key);
        else if (field.rfind("amax.", 0) == 0)
            s.amaxByMethod[field.substr(5)] = file.tensor(key).toFloatVector().at(0);
    }
    for (CalibrationFile::Site &s : out.sites) {
        const std::string counts = s.name + ".counts";
        if (!file.contains(counts))
            continue;
        HistogramCalibrator::State st{file.tensor(counts), file.tensor(s.name + ".edges"),
                                      file.tensor(s.name + ".edge_bits"), file.tensor(s.name + ".info")};
        s.histogram.emplace(HistogramCalibrator::restore(st, hist));
    }
    return out;
}

} // namespace qdq

#pragma once
// Calibration of every quantizer site of a checkpoint (reference §4): one collection pass over
// the calibration data on FP32 activations (§4.1 step 2: quantization off, calibration on), then
// the amax of any method - max, percentile (any p), mse, entropy - from the stored statistics
// without running the model again. Writes a calibrated Hugging Face folder and the collected
// statistics (calibration.safetensors).
//
// Collectors per site (memory = bins x sites, independent of the number of samples):
//   activation sites (14 per layer): a HistogramCalibrator (§4.3; it also keeps the exact running
//     max |x|, i.e. what MaxCalibrator per tensor returns, §4.2), so every method is available;
//   weight sites (6 per layer): a per-row MaxCalibrator (axis 0, §4.2) - what the HF example does
//     (§4.1); percentile / mse per row as the reference's calibrate_weights helper (§4.7) are
//     computed on demand from the weight itself (it is constant, nothing to collect).
//
// Plugging in: the model calls CalibrationHooks::apply at every site (style.md "observe, don't
// fork"); it feeds the calibrator and returns the tensor unchanged, so the forward is FP32.
//
// GUI use (worker thread; everything here is Qt-free):
//   Checkpoint ck = loadCheckpoint(path);
//   Calibrator cal(ck, options);                       // collectors for ck.quantizers
//   Progress progress([&](const ProgressEvent &e) { emit progressChanged(e.done, e.total); });
//   cal.run(examples, tokenizer, &progress);           // throws CancelledError after progress.cancel()
//   for (const SiteStatistics &s : cal.sites())        // histograms + every method's amax
//       s.histogram->counts() / edges(); cal.amaxAll(s, amaxOptions);
//   writeCalibratedCheckpoint(ck, cal, output, &progress);
// or later, from the written folder: CalibrationFile f = loadCalibrationFile(dir / "calibration.safetensors").
//
// calibration.safetensors schema (format "qdq-calibration/1" in the metadata). For each site,
// NAME = its module path with the "bert." prefix (e.g.
// "bert.encoder.layer.0.attention.self.query._input_quantizer"):
//   NAME.max        f32, activation: [] (running max |x|); weight: [out, 1] (per-row max |w|)
//   activation sites only (HistogramCalibrator::State):
//   NAME.counts     i64 [bins]   bin counts as the methods see them
//   NAME.edges      f32 [edges]  bin edges for display (edges = bins + 1, or bins + 2 on the
//                                torch path after growth, §4.3)
//   NAME.edge_bits  i64 [edges]  the exact f64 bit patterns of the edges (lossless restore)
//   NAME.info       f32 [4]      runningMax, edgesAreF32, numBits, isUnsigned
//   NAME.amax.max / .amax.percentile / .amax.mse / .amax.entropy
//                   f32 []       each method's amax at write time (percentile p in the metadata);
//                                absent when the method failed for that histogram (e.g. fewer
//                                than start_bin + 1 bins)
// Metadata (strings): format, profile, num_bits, num_bins, samples, batches, method (the one
// written into the checkpoint), percentile, start_bin, stride, weight_method, data, max_length.

#include "qdq/calibration_data.h"
#include "qdq/checkpoint.h"
#include "qdq/device.h"
#include "qdq/model.h"
#include "qdq/progress.h"
#include "qdq/quant/calibrator.h"
#include "qdq/quant/quant_config.h"
#include "qdq/quant/quant_descriptor.h"
#include "qdq/quantizer_site.h"
#include "qdq/tensor.h"
#include "qdq/text_task.h" // tokenizerForCheckpoint
#include "qdq/tokenizer.h"

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace qdq {

struct CalibrationOptions {
    std::int64_t batchSize = 8;
    std::int64_t maxLength = 128; // truncation length; batches are padded to their longest
    int numBits = 8;              // §1.3 descriptor defaults (signed, 8 bits)
    bool isUnsigned = false;
    VersionProfile profile = kDefaultVersionProfile; // histogram collection path (§4.3)
    int numBins = 2048;
    bool histograms = true; // false: running max only (method max), cheaper
    Device device{};        // where the FP32 model computes (the statistics are collected on the host)
};

// What one site collected.
struct SiteStatistics {
    QuantizerSite site;
    std::string name; // module path with "bert." prefix
    bool isWeight = false;
    MaxCalibrator max;                            // activations: per tensor; weights: per row (axis 0)
    std::optional<HistogramCalibrator> histogram; // activations when histograms are on
    Tensor weight;                                // weights: the weight itself (for §4.7 methods)

    [[nodiscard]] bool collected() const noexcept { return !max.empty() || (histogram && !histogram->empty()); }
};

// amax of every method for one site; unset where the method is unavailable (not collected,
// too few bins, entropy for weights).
struct SiteAmax {
    std::array<std::optional<Tensor>, 4> byMethod; // index: CalibMethod
    std::array<std::string, 4> errors;             // why a method is unavailable
};

class Calibrator {
public:
    // Collectors for every quantizer site of `checkpoint` (its inventory; 20 per layer, 34 with
    // cross-attention). The checkpoint must outlive the calibrator (weights are referenced).
    explicit Calibrator(const Checkpoint &checkpoint, CalibrationOptions options = {});
    ~Calibrator();
    Calibrator(const Calibrator &) = delete;
    Calibrator &operator=(const Calibrator &) = delete;

    [[nodiscard]] const CalibrationOptions &options() const noexcept { return m_options; }
    [[nodiscard]] const std::vector<SiteStatistics> &sites() const noexcept { return m_sites; }
    [[nodiscard]] const SiteStatistics *find(const QuantizerSite &site) const;

    // Feeds one tensor a site sees (what CalibrationHooks does). Unknown sites are ignored.
    void collect(const QuantizerSite &site, const Tensor &x);
    // SiteHooks that feed this calibrator and return every tensor unchanged (FP32 forward),
    // except that a site's `_pre_quant_scale` is applied first under the pq-2.2 profiles.
    [[nodiscard]] std::shared_ptr<SiteHooks> hooks();
    // x * the site's `_pre_quant_scale` where the profile applies one (reference §3.1), else x.
    [[nodiscard]] Tensor preScaled(const QuantizerSite &site, Tensor x) const;

    // Tokenizes the examples (truncation to maxLength, padding to each batch's longest) and runs
    // them through a base model built from the checkpoint, batchSize at a time, with the hooks.
    // Progress: stage "calibrating", done/total = samples. Cancellation between batches
    // (CancelledError); the statistics are then partial - discard the calibrator.
    void run(const std::vector<CalibrationExample> &examples, const Tokenizer &tokenizer, Progress *progress = nullptr);
    // The same with a model the caller built (any task; its hooks are replaced by hooks() and
    // restored to FP32 afterwards).
    void run(QDQBertModel &model, const std::vector<CalibrationExample> &examples, const Tokenizer &tokenizer,
             Progress *progress = nullptr);
    void addSamples(std::int64_t n) noexcept { m_samples += n; }
    [[nodiscard]] std::int64_t samples() const noexcept { return m_samples; }
    [[nodiscard]] std::int64_t batches() const noexcept { return m_batches; }

    // Bytes held by all collectors (histograms and running maxima): bounded by bins x sites.
    [[nodiscard]] std::size_t memoryBytes() const noexcept;

    // The amax `method` gives for a site, shaped as the QDQBERT `_amax` buffer (§2.1): [] f32 for
    // activations, [out, 1] f32 per row for weights. Weights: Max per row (§4.2), Percentile / Mse
    // per row as calibrate_weights (§4.7: numpy.histogram of |w| per row, num_bins); Entropy is
    // not offered by that helper -> UnsupportedError. Throws UnsupportedError when the site
    // collected nothing or the method cannot run (fewer than start_bin + 1 bins).
    [[nodiscard]] Tensor amax(const SiteStatistics &site, CalibMethod method, const AmaxOptions &options = {}) const;
    // Every method at once (errors recorded instead of thrown).
    [[nodiscard]] SiteAmax amaxAll(const SiteStatistics &site, const AmaxOptions &options = {}) const;

    // `_amax` state-dict key (with "bert." prefix) -> tensor, for every site: activations with
    // `method`, weights with `weightMethod`.
    [[nodiscard]] std::map<std::string, Tensor> amaxTensors(CalibMethod method, const AmaxOptions &options = {},
                                                            CalibMethod weightMethod = CalibMethod::Max) const;

private:
    friend class CalibrationHooks;
    const Checkpoint *m_checkpoint;
    CalibrationOptions m_options;
    std::vector<SiteStatistics> m_sites;
    std::map<QuantizerSite, std::size_t> m_index;
    std::map<QuantizerSite, TensorQuantizer> m_preScale;
    std::int64_t m_samples = 0;
    std::int64_t m_batches = 0;
};

struct CalibratedOutput {
    std::filesystem::path directory;
    CalibMethod method = CalibMethod::Max;       // activations
    CalibMethod weightMethod = CalibMethod::Max; // weights (§4.1: max per row)
    AmaxOptions amax;                            // percentile, start_bin, stride
    bool force = false;                          // replace an existing non-empty directory
    std::map<std::string, std::string> metadata; // extra calibration.safetensors metadata (data file, ...)
};

// Writes a complete Hugging Face folder: config.json, the tokenizer files, model.safetensors
// with every stored tensor of the checkpoint unchanged (normalised names, i.e. with the "bert."
// prefix, which transformers' loader accepts for bare and head models alike; tied aliases
// are not written twice; previous `_amax` buffers are replaced) plus the `_amax` buffers of
// every site (§2.1 names and shapes), and calibration.safetensors (schema above). config.json
// keeps qdq_disabled_quantizers (config.h) as loaded.
// Atomic: everything goes to a temporary folder beside `directory`, renamed at the end; an
// error or cancellation removes it and leaves `directory` as it was. Throws IoError when
// `directory` exists and is not empty (unless force) or cannot be written.
void writeCalibratedCheckpoint(const Checkpoint &checkpoint, const Calibrator &calibrator,
                               const CalibratedOutput &output, Progress *progress = nullptr);

// A checkpoint whose quantizers are those of `quant` (a repair, imported ONNX scales): the same
// folder as writeCalibratedCheckpoint without calibration.safetensors; every site's `_amax` is
// the config's (static sites) or absent (dynamic sites), the config's disabled sites are listed
// in config.json "qdq_disabled_quantizers" (config.h), and `files` (name -> contents, e.g.
// repair.json) are written beside. Atomic as above.
struct QuantizedOutput {
    std::filesystem::path directory;
    bool force = false;
    std::map<std::string, std::string> files;
};
void writeQuantizedCheckpoint(const Checkpoint &checkpoint, const QuantConfig &quant, const QuantizedOutput &output,
                              Progress *progress = nullptr);

// calibration.safetensors read back: metadata, and per site its statistics (histograms
// restored as HistogramCalibrators, so any method can be recomputed) and stored amax values.
struct CalibrationFile {
    std::map<std::string, std::string> metadata;
    struct Site {
        std::string name;
        std::optional<QuantizerSite> site;
        Tensor max;                                   // [] or [out, 1]
        std::optional<HistogramCalibrator> histogram; // activation sites
        std::map<std::string, float> amaxByMethod;    // "max", "percentile", "mse", "entropy"
    };
    std::vector<Site> sites;
};
[[nodiscard]] CalibrationFile loadCalibrationFile(const std::filesystem::path &path);

} // namespace qdq

#pragma once
// Streaming calibration collectors (reference §4.2-§4.7). Feed every tensor a quantizer site
// sees with collect(); afterwards ask for amax with any method, as often as needed, without
// collecting again. Memory is bounded by the number of bins (per-channel max: by channels),
// never by the number of samples.
//
//   MaxCalibrator maxCal(axis);              HistogramCalibrator hist(numBits, isUnsigned, opts);
//   for each batch: maxCal.collect(x);       hist.collect(x);
//   maxCal.amax();                           hist.computeAmax(CalibMethod::Percentile, {.percentile = 99.99});

#include "qdq/quant/quant_descriptor.h"
#include "qdq/tensor.h"

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace qdq {

// reference §4.2: running max of |x| per tensor, or per index of `axis` (reduce over the rest).
class MaxCalibrator {
public:
    explicit MaxCalibrator(std::optional<int> axis = std::nullopt) : m_axis(axis) {}

    // Throws ShapeError when the per-channel size changes between calls (as the reference does).
    void collect(const Tensor &x);
    [[nodiscard]] bool empty() const noexcept { return m_amax.empty(); }
    // Running max (one value, or one per channel); empty before the first collect().
    [[nodiscard]] const std::vector<float> &amax() const noexcept { return m_amax; }
    // As a tensor with the reference's keepdims shape: [] per tensor, [C, 1, ...] per channel
    // (rank of the collected tensors). Undefined tensor when empty.
    [[nodiscard]] Tensor amaxTensor() const;
    void reset() noexcept;

private:
    std::optional<int> m_axis;
    std::vector<float> m_amax;
    int m_rank = 0;
};

enum class CalibMethod { Max, Percentile, Mse, Entropy };
[[nodiscard]] std::string_view calibMethodName(CalibMethod method) noexcept; // "max", "percentile", ...
[[nodiscard]] std::optional<CalibMethod> parseCalibMethod(std::string_view name) noexcept;

// How the histogram is collected (reference §4.3): torch.histc from 0 (2.2.x default) or
// numpy.histogram over the first batch's [min, max] (2.1.x default). NumPyFromZero is the
// 2.2.x calibrate_weights histogram (§4.7): numpy.histogram(|w|, bins, range=(0, max|w|)),
// one batch (later batches grow it like NumPy).
enum class HistogramCollection { Torch, NumPy, NumPyFromZero };

struct HistogramOptions {
    int numBins = 2048;
    bool skipZeros = false;
    HistogramCollection collection = HistogramCollection::NumPy; // pq-2.1.x, the default profile

    [[nodiscard]] static HistogramOptions forProfile(VersionProfile profile)
    {
        HistogramOptions o;
        o.collection = usesTorchHistogram(profile) ? HistogramCollection::Torch : HistogramCollection::NumPy;
        return o;
    }
};

struct AmaxOptions {
    double percentile = 99.99; // §4.4, 0..100
    int startBin = 128;        // §4.5, §4.6
    int stride = 1;
};

// reference §4.3-§4.6: histogram of |x| (per tensor) with the four amax methods. `Max` is the
// exact running max of |x| kept alongside (what a MaxCalibrator would return), so one
// collection pass serves every method.
class HistogramCalibrator {
public:
    explicit HistogramCalibrator(int numBits = 8, bool isUnsigned = false, HistogramOptions options = {});

    // Adds one tensor (f32, any shape). Throws FormatError for NaN or infinite values (the
    // reference either raises or silently drops them, depending on the path). A batch that is
    // empty after skip_zeros is ignored.
    void collect(const Tensor &x);
    [[nodiscard]] bool empty() const noexcept { return m_edges.empty(); }
    void reset() noexcept;

    // nullopt when nothing was collected. Throws UnsupportedError when fewer than startBin + 1
    // bins exist (the reference fails on an empty candidate list).
    //
    // Entropy on a NumPy-collected histogram overwrites the stored bin 0 with bin 1, as the
    // reference does (§4.6: `bins = calib_hist[:]` is a view of the calibrator's own array), so
    // every later method, later collect() and state() see the changed bin 0 - the order of
    // calls matters there, as it does in pytorch-quantization 2.1.x. The torch collection
    // (2.2.x) works on a copy and is never changed. (The histogram is `mutable` for this.)
    [[nodiscard]] std::optional<float> computeAmax(CalibMethod method, const AmaxOptions &options = {}) const;

    // §4.5: the mse of every candidate start_bin, start_bin + stride, ... (one f32 per
    // candidate), each the f32 mean that torch 1.13 computes on the CPU: an f32 sum in the order
    // of ATen's vectorised cascade sum (8-lane AVX2 vectors, 4 interleaved rows, 4 levels), then
    // one f32 division by the bin count. Empty when nothing was collected.
    [[nodiscard]] std::vector<float> mseCurve(const AmaxOptions &options = {}) const;

    // --- state (for calibration.safetensors and the GUI's histogram view) -------------------
    // Bin counts as the method code sees them (integers), edges as stored (f64 values; the
    // NumPy path keeps f32 edges until the range first grows, the torch path always f32).
    // The torch path may hold one more edge than counts + 1 after growth (torch.arange
    // rounding, §4.3); counts.size() is the histc bin count.
    [[nodiscard]] std::vector<std::int64_t> counts() const;
    [[nodiscard]] const std::vector<double> &edges() const noexcept { return m_edges; }
    [[nodiscard]] float runningMax() const noexcept { return m_max; }
    [[nodiscard]] int numBits() const noexcept { return m_numBits; }
    [[nodiscard]] bool isUnsigned() const noexcept { return m_unsigned; }
    [[nodiscard]] const HistogramOptions &options() const noexcept { return m_options; }
    // Bytes held by the histogram (bounded by the bin count, independent of samples).
    [[nodiscard]] std::size_t memoryBytes() const noexcept;

    // For calibration.safetensors: counts (i64 [bins]), edges (f32 [edges], for display),
    // edgeBits (i64 [edges], the exact f64 bit patterns) and info (f32 [4]: runningMax,
    // edgesAreF32, numBits, isUnsigned). restore() is the inverse (FormatError when inconsistent).
    struct State {
        Tensor counts;
        Tensor edges;
        Tensor edgeBits;
        Tensor info;
    };
    [[nodiscard]] State state() const;
    static HistogramCalibrator restore(const State &state, HistogramOptions options);

private:
    void collectTorch(std::vector<float> &values, float batchMax);
    void collectNumPy(std::vector<float> &values, float batchMax, bool fromZero);

    int m_numBits;
    bool m_unsigned;
    HistogramOptions m_options;
    mutable std::vector<double> m_counts; // torch path: f32-valued (histc counts are floats)
    std::vector<double> m_edges;
    bool m_edgesAreF32 = true;
    float m_max = 0.0F;
};

// numpy.add.reduce's pairwise summation of a contiguous f64 array (used to reproduce the
// reference's float64 sums bit for bit).
[[nodiscard]] double numpyPairwiseSum(const double *values, std::int64_t n) noexcept;

// torch 1.13's CPU sum of a contiguous f32 vector (ATen SumKernel.cpp cascade_sum with f32
// accumulators; the AVX2 build's 8-lane vectors), bit for bit.
[[nodiscard]] float torchCpuSumF32(const float *values, std::int64_t n) noexcept;

} // namespace qdq

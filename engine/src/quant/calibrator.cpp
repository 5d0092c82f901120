// Calibration collectors and amax methods (reference §4.2-§4.6). The histogram arithmetic
// reproduces numpy 1.24 / torch 1.13 operation by operation (dtypes included) so that the
// amax values equal the reference's; the emulated library steps are named in comments.
#include "qdq/quant/calibrator.h"

#include "kernels/cuda_plan.h"

#include "qdq/errors.h"
#include "qdq/quant/fake_quant.h"
#include "qdq/quant/tensor_quantizer.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

namespace qdq {
namespace {

float f32(double v)
{
    return static_cast<float>(v);
}

// torch.linspace(0, end, steps) for f32 on the CPU (torch 1.13, AVX2 kernel): chunks of 8;
// the first half counts up from 0 (base = step * idx, elements base + k * step), the second
// half from the end with a fused base = end - step * (steps - idx - 1); a scalar tail.
std::vector<double> torchLinspaceFromZero(float end, std::int64_t steps)
{
    std::vector<double> out(static_cast<std::size_t>(steps));
    const float step = end / static_cast<float>(steps - 1);
    const std::int64_t halfway = steps / 2;
    auto base = [&](std::int64_t idx) {
        return idx < halfway ? step * static_cast<float>(idx)
                             : std::fma(-step, static_cast<float>(steps - idx - 1), end);
    };
    constexpr std::int64_t kVec = 8;
    std::int64_t i = 0;
    for (; i + 2 * kVec <= steps; i += 2 * kVec) // two vectors per iteration
        for (std::int64_t v = i; v < i + 2 * kVec; v += kVec) {
            const float b = base(v);
            for (std::int64_t k = 0; k < kVec; ++k)
                out[static_cast<std::size_t>(v + k)] = b + static_cast<float>(k) * step;
        }
    for (; i < steps; ++i)
        out[static_cast<std::size_t>(i)] = base(i);
    return out;
}

// torch.arange(0, end, step) for f32 on the CPU (torch 1.13): accumulation in double; the
// vectorised loop (2 x 8 lanes per step) starts each vector at f32(step * idx) and adds k * step
// in double; a scalar tail computes f32(step * idx).
std::vector<double> torchArangeFromZero(float step, std::int64_t size)
{
    std::vector<double> out(static_cast<std::size_t>(size));
    const auto w = static_cast<double>(step);
    constexpr std::int64_t kVec = 8;
    std::int64_t i = 0;
    for (; i + 2 * kVec <= size; i += 2 * kVec) // two vectors per iteration
        for (std::int64_t v = i; v < i + 2 * kVec; v += kVec) {
            const auto base = static_cast<double>(f32(w * static_cast<double>(v)));
            for (std::int64_t k = 0; k < kVec; ++k)
                out[static_cast<std::size_t>(v + k)] = f32(base + static_cast<double>(k) * w);
        }
    for (; i < size; ++i)
        out[static_cast<std::size_t>(i)] = f32(w * static_cast<double>(i));
    return out;
}

// torch.histc(x, bins, min=lo, max=hi) on the CPU (histogramdd linear interpolation): f32
// arithmetic, values outside [lo, hi] ignored, the right edge in the last bin.
std::vector<std::int64_t> torchHistc(const std::vector<float> &x, std::int64_t bins, float lo, float hi)
{
    double left = lo;
    double right = hi;
    if (left == right && !x.empty()) {
        const auto [mn, mx] = std::minmax_element(x.begin(), x.end());
        left = *mn;
        right = *mx;
    }
    if (left == right) {
        left -= 1;
        right += 1;
    }
    const float l = f32(left);
    const float r = f32(right);
    const float n = static_cast<float>(bins);
    std::vector<std::int64_t> h(static_cast<std::size_t>(bins), 0);
    for (const float v : x) {
        if (!(v >= l && v <= r))
            continue;
        auto pos = static_cast<std::int64_t>((v - l) * n / (r - l));
        if (pos == bins)
            pos -= 1;
        ++h[static_cast<std::size_t>(pos)];
    }
    return h;
}

// numpy's sum of `1.0 * array`: for integer counts below 2^53 every order gives the same sum.
std::int64_t intSum(const std::vector<std::int64_t> &v, std::size_t begin = 0)
{
    std::int64_t s = 0;
    for (std::size_t i = begin; i < v.size(); ++i)
        s += v[i];
    return s;
}

} // namespace

double numpyPairwiseSum(const double *a, std::int64_t n) noexcept
{
    if (n < 8) {
        double res = 0.0; // also numpy's reduction identity: 0 + pairwise(all)
        for (std::int64_t i = 0; i < n; ++i)
            res += a[i];
        return res;
    }
    if (n <= 128) {
        std::array<double, 8> r{};
        for (std::size_t j = 0; j < 8; ++j)
            r[j] = a[j];
        std::int64_t i = 8;
        for (; i < n - (n % 8); i += 8)
            for (std::size_t j = 0; j < 8; ++j)
                r[j] += a[i + static_cast<std::int64_t>(j)];
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; ++i)
            res += a[i];
        return res;
    }
    std::int64_t n2 = n / 2;
    n2 -= n2 % 8;
    return numpyPairwiseSum(a, n2) + numpyPairwiseSum(a + n2, n - n2);
}

namespace {

// c10::utils::CeilLog2 (torch 1.13): 1 for x <= 2, else floor(log2(x - 1)) + 1.
std::int64_t ceilLog2(std::int64_t x) noexcept
{
    if (x <= 2)
        return 1;
    return static_cast<std::int64_t>(std::bit_width(static_cast<std::uint64_t>(x) - 1));
}

// ATen multi_row_sum<acc, 4 rows>: rows of `Lanes` f32 lanes each (one Vectorized<float>, or a
// scalar for Lanes = 1) at in + i * rowStride + k * colStride; four cascade levels of
// 2^levelPower steps each, so that long sums add partial sums of similar size.
template <int Lanes>
std::array<std::array<float, Lanes>, 4> multiRowSum(const float *in, std::int64_t rowStride, std::int64_t colStride,
                                                    std::int64_t size) noexcept
{
    constexpr int kLevels = 4;
    constexpr int kRows = 4;
    const std::int64_t levelPower = std::max<std::int64_t>(4, ceilLog2(size) / kLevels);
    const std::int64_t levelStep = std::int64_t{1} << levelPower;
    const std::int64_t levelMask = levelStep - 1;
    std::array<std::array<std::array<float, Lanes>, kRows>, kLevels> acc{};
    auto addRow = [&](std::int64_t i) {
        const float *base = in + i * rowStride;
        for (int k = 0; k < kRows; ++k)
            for (int l = 0; l < Lanes; ++l)
                acc[0][static_cast<std::size_t>(k)][static_cast<std::size_t>(l)] += base[k * colStride + l];
    };
    std::int64_t i = 0;
    while (i + levelStep <= size) {
        for (std::int64_t j = 0; j < levelStep; ++j, ++i)
            addRow(i);
        for (int j = 1; j < kLevels; ++j) {
            for (std::size_t k = 0; k < kRows; ++k)
                for (std::size_t l = 0; l < Lanes; ++l) {
                    acc[static_cast<std::size_t>(j)][k][l] += acc[static_cast<std::size_t>(j) - 1][k][l];
                    acc[static_cast<std::size_t>(j) - 1][k][l] = 0.0F;
                }
            const std::int64_t mask = levelMask << (j * levelPower);
            if ((i & mask) != 0)
                break;
        }
    }
    for (; i < size; ++i)
        addRow(i);
    for (std::size_t j = 1; j < kLevels; ++j)
        for (std::size_t k = 0; k < kRows; ++k)
            for (std::size_t l = 0; l < Lanes; ++l)
                acc[0][k][l] += acc[j][k][l];
    return acc[0];
}

// ATen row_sum: four interleaved rows (ILP), the leftover loads into row 0, then rows 1-3.
template <int Lanes>
std::array<float, Lanes> rowSum(const float *in, std::int64_t stride, std::int64_t size) noexcept
{
    const std::int64_t sizeIlp = size / 4;
    std::array<std::array<float, Lanes>, 4> partial = multiRowSum<Lanes>(in, stride * 4, stride, sizeIlp);
    for (std::int64_t i = sizeIlp * 4; i < size; ++i)
        for (std::size_t l = 0; l < Lanes; ++l)
            partial[0][l] += in[i * stride + static_cast<std::int64_t>(l)];
    for (std::size_t k = 1; k < 4; ++k)
        for (std::size_t l = 0; l < Lanes; ++l)
            partial[0][l] += partial[k][l];
    return partial[0];
}

} // namespace

float torchCpuSumF32(const float *values, std::int64_t n) noexcept
{
    constexpr int kLanes = 8; // Vectorized<float> in the AVX2 build
    if (n < kLanes)
        return 0.0F + rowSum<1>(values, 1, n)[0]; // scalar_inner_sum; the output starts at 0
    // vectorized_inner_sum: whole vectors by row_sum, the scalar tail, then the 8 lanes in order
    const std::int64_t vectors = n / kLanes;
    const std::array<float, kLanes> lanes = rowSum<kLanes>(values, kLanes, vectors);
    float total = 0.0F;
    for (std::int64_t k = vectors * kLanes; k < n; ++k)
        total += values[k];
    for (const float l : lanes)
        total += l;
    return 0.0F + total;
}

// --- MaxCalibrator -------------------------------------------------------------------------

void MaxCalibrator::collect(const Tensor &x)
{
    std::vector<float> local = reduceAbsMax(x, m_axis); // reference §4.2
    if (m_amax.empty()) {
        m_amax = std::move(local);
        m_rank = x.dim();
        return;
    }
    if (local.size() != m_amax.size())
        throw ShapeError("max calibrator: amax shape changed from " + std::to_string(m_amax.size()) + " to " +
                         std::to_string(local.size()) + " values");
    for (std::size_t i = 0; i < local.size(); ++i) {
        float &m = m_amax[i];
        if (std::isnan(m))
            continue;
        if (std::isnan(local[i]) || local[i] > m)
            m = local[i]; // torch.max(a, b) propagates NaN
    }
}

Tensor MaxCalibrator::amaxTensor() const
{
    if (m_amax.empty())
        return {};
    Shape shape;
    if (m_amax.size() > 1 && m_axis) {
        shape.assign(static_cast<std::size_t>(m_rank), 1);
        shape[static_cast<std::size_t>(*m_axis)] = static_cast<std::int64_t>(m_amax.size());
    }
    return Tensor::fromValues<float>(shape, std::span<const float>(m_amax));
}

void MaxCalibrator::reset() noexcept
{
    m_amax.clear();
    m_rank = 0;
}

std::string_view calibMethodName(CalibMethod method) noexcept
{
    switch (method) {
    case CalibMethod::Max:
        return "max";
    case CalibMethod::Percentile:
        return "percentile";
    case CalibMethod::Mse:
        return "mse";
    case CalibMethod::Entropy:
        return "entropy";
    }
    return "max";
}

std::optional<CalibMethod> parseCalibMethod(std::string_view name) noexcept
{
    for (const CalibMethod m : {CalibMethod::Max, CalibMethod::Percentile, CalibMethod::Mse, CalibMethod::Entropy})
        if (calibMethodName(m) == name)
            return m;
    return std::nullopt;
}

// --- HistogramCalibrator: collection (reference §4.3) ---------------------------------------

HistogramCalibrator::HistogramCalibrator(int numBits, bool isUnsigned, HistogramOptions options)
    : m_numBits(numBits), m_unsigned(isUnsigned), m_options(options)
{
    if (numBits < 2 || numBits > 16)
        throw UnsupportedError("histogram calibrator: num_bits " + std::to_string(numBits) + " outside 2..16");
    if (options.numBins < 2)
        throw UnsupportedError("histogram calibrator needs at least 2 bins");
}

void HistogramCalibrator::reset() noexcept
{
    m_counts.clear();
    m_edges.clear();
    m_edgesAreF32 = true;
    m_max = 0.0F;
}

std::size_t HistogramCalibrator::memoryBytes() const noexcept
{
    return (m_counts.capacity() + m_edges.capacity()) * sizeof(double);
}

void HistogramCalibrator::collect(const Tensor &x)
{
    if (x.dtype() != DType::F32)
        throw UnsupportedError("histogram calibrator needs f32 input, got " + x.describe());
    const Tensor src = x.contiguous();
    const float *p = src.data<float>();
    const auto n = static_cast<std::size_t>(src.numel());
    // "if min(x) < 0: x = |x|" gives the same values either way. One branch-free pass (it
    // vectorises): |x|, the batch max and a finiteness flag (NaN fails a <= b).
    std::vector<float> values(n);
    float batchMax = 0.0F;
    bool finite = true;
    for (std::size_t i = 0; i < n; ++i) {
        const float a = std::fabs(p[i]);
        values[i] = a;
        finite &= a <= std::numeric_limits<float>::max();
        batchMax = a > batchMax ? a : batchMax;
    }
    if (!finite)
        throw FormatError("histogram calibrator: non-finite value in " + x.describe());
    if (m_options.skipZeros)
        values.erase(std::remove(values.begin(), values.end(), 0.0F), values.end());
    if (n > 0)
        m_max = std::max(m_max, batchMax);
    if (values.empty())
        return;
    // skip_zeros drops only zeros, so the max of what is left is the batch max
    const float valuesMax = batchMax;
    if (m_options.collection == HistogramCollection::Torch)
        collectTorch(values, valuesMax);
    else
        collectNumPy(values, valuesMax, m_options.collection == HistogramCollection::NumPyFromZero);
}

void HistogramCalibrator::collectTorch(std::vector<float> &values, float batchMax)
{
    if (m_edges.empty()) {
        const auto bins = static_cast<std::int64_t>(m_options.numBins);
        const std::vector<std::int64_t> h = torchHistc(values, bins, 0.0F, batchMax);
        m_counts.assign(h.begin(), h.end());
        m_edges = torchLinspaceFromZero(batchMax, bins + 1);
        return;
    }
    auto bins = static_cast<std::int64_t>(m_counts.size());
    if (batchMax > f32(m_edges.back())) {
        const float width = f32(m_edges[1]) - f32(m_edges[0]);
        if (!(width > 0.0F))
            throw UnsupportedError("histogram calibrator: cannot grow a zero-width histogram (first batch all "
                                   "zero); the reference fails here too");
        bins = static_cast<std::int64_t>(std::ceil(batchMax / width)); // f32 division, then ceil
        const float end = batchMax + width;
        // torch.arange(0, end, width): size ceil(end / width) in double; values in double,
        // per AVX2 vector of 8: base = f32(width * idx), elements f32(base + k * width).
        const auto size = static_cast<std::int64_t>(std::ceil(static_cast<double>(end) / static_cast<double>(width)));
        m_edges = torchArangeFromZero(width, size);
    }
    const std::vector<std::int64_t> h = torchHistc(values, bins, 0.0F, f32(m_edges.back()));
    std::vector<double> merged(h.size());
    for (std::size_t k = 0; k < h.size(); ++k) {
        const float old = k < m_counts.size() ? f32(m_counts[k]) : 0.0F;
        merged[k] = static_cast<float>(h[k]) + old; // histc counts are f32; += in f32
    }
    m_counts = std::move(merged);
}

void HistogramCalibrator::collectNumPy(std::vector<float> &values, float batchMax, bool fromZero)
{
    if (m_edges.empty()) {
        // numpy.histogram(x, bins=N): range [min, max] (+-0.5 when equal); edges from a float64
        // linspace cast to f32; bin index ((x - first) / (last - first)) * N in f32, then the
        // one-ulp corrections against the edges (numpy/lib/histograms.py). With
        // range=(0, max) (2.2.x calibrate_weights, §4.7) the first edge is 0.
        // The range, edges and bin rule are the ones the CUDA histogram uses too (one definition,
        // kernels/cuda_plan.h); `values` holds only counted values, so no zero is skipped here.
        const auto bins = static_cast<std::int64_t>(m_options.numBins);
        const float mn = fromZero ? 0.0F : *std::min_element(values.begin(), values.end());
        kernels::plan::HistogramBinning binning = kernels::plan::numpyFirstBinning(bins, mn, batchMax, fromZero, false);
        m_edges = std::move(binning.edges);
        m_edgesAreF32 = true;
        m_counts.assign(static_cast<std::size_t>(bins), 0.0);
        const auto edgeCount = static_cast<std::int64_t>(m_edges.size());
        for (const float v : values) {
            const std::int64_t idx = kernels::plan::histogramBin(binning.rule, bins, binning.lo, binning.hi,
                                                                 binning.span, m_edges.data(), edgeCount, v);
            m_counts[static_cast<std::size_t>(idx)] += 1.0;
        }
        return;
    }
    if (static_cast<double>(batchMax) > m_edges.back()) {
        // edges = hstack(edges, arange(edges[-1] + w, t + w, w)); numpy's arange: length
        // ceil((stop - start) / step), then start + i * ((start + step) - start). The first growth
        // computes in f32 (the stored edges are f32); afterwards the edges are f64.
        double start;
        double next;
        double length;
        if (m_edgesAreF32) {
            const float w = f32(m_edges[1]) - f32(m_edges[0]);
            const float s = f32(m_edges.back()) + w;
            const float stop = batchMax + w;
            length = std::ceil(static_cast<double>((stop - s) / w));
            start = s;
            next = s + w;
        } else {
            const double w = m_edges[1] - m_edges[0];
            start = m_edges.back() + w;
            const double stop = static_cast<double>(batchMax) + w;
            length = std::ceil((stop - start) / w);
            next = start + w;
        }
        const double delta = next - start;
        for (std::int64_t i = 0; i < static_cast<std::int64_t>(length); ++i)
            m_edges.push_back(i == 0 ? start : i == 1 ? next : start + static_cast<double>(i) * delta);
        m_edgesAreF32 = false;
    }
    // numpy.histogram with explicit edges: searchsorted, bins [e_k, e_k+1), the last closed,
    // values outside [e_0, e_last] dropped. Comparisons are exact (f32 values vs f64 edges).
    // The edges are uniform up to rounding (§4.3), so the bin is first estimated arithmetically
    // and then corrected against the stored edges to the largest k with e_k <= v (what
    // searchsorted gives), capped at the last bin: the same counts as a binary search per value.
    const std::size_t bins = m_edges.size() - 1;
    m_counts.resize(bins, 0.0);
    const double first = m_edges.front();
    const double last = m_edges.back();
    const double scale = static_cast<double>(bins) / (last - first);
    const double *e = m_edges.data();
    std::vector<std::int64_t> h(bins, 0);
    for (const float v : values) {
        const double d = v;
        if (d < first || d > last)
            continue;
        auto k = static_cast<std::size_t>((d - first) * scale);
        k = std::min(k, bins - 1);
        while (k > 0 && d < e[k])
            --k;
        while (k + 1 < bins && d >= e[k + 1])
            ++k;
        ++h[k];
    }
    for (std::size_t k = 0; k < bins; ++k)
        m_counts[k] += static_cast<double>(h[k]);
}

std::vector<std::int64_t> HistogramCalibrator::counts() const
{
    // torch path: calib_hist.int()/.long() truncates the f32 counts (they are integral anyway)
    std::vector<std::int64_t> c(m_counts.size());
    for (std::size_t k = 0; k < c.size(); ++k)
        c[k] = static_cast<std::int64_t>(m_counts[k]);
    return c;
}

// --- amax methods --------------------------------------------------------------------------

std::optional<float> HistogramCalibrator::computeAmax(CalibMethod method, const AmaxOptions &options) const
{
    if (method == CalibMethod::Max)
        return empty() ? std::nullopt : std::optional<float>(m_max);
    if (empty())
        return std::nullopt;
    if (options.stride < 1 || options.startBin < 0)
        throw UnsupportedError("histogram amax: stride must be >= 1 and start_bin >= 0");
    const std::vector<std::int64_t> hist = counts();

    if (method == CalibMethod::Percentile) { // reference §4.4
        if (!(options.percentile >= 0.0 && options.percentile <= 100.0))
            throw UnsupportedError("percentile must be in 0..100, got " + std::to_string(options.percentile));
        const std::int64_t total = intSum(hist);
        const double target = options.percentile / 100.0;
        std::size_t idx = 0;
        if (total > 0) {
            double cdf = 0.0; // np.cumsum(hist / total): divide first, then a sequential sum
            idx = hist.size();
            for (std::size_t k = 0; k < hist.size(); ++k) {
                cdf += static_cast<double>(hist[k]) / static_cast<double>(total);
                if (cdf >= target) { // searchsorted side='left'
                    idx = k;
                    break;
                }
            }
        }
        return f32(m_edges.at(idx)); // LEFT edge of that bin
    }

    if (method == CalibMethod::Mse) { // reference §4.5
        const std::vector<float> mses = mseCurve(options);
        if (mses.empty())
            throw UnsupportedError("histogram amax (mse): no candidate bins after start_bin " +
                                   std::to_string(options.startBin));
        // np.argmin: the FIRST minimum (a NaN, should one occur, counts as the minimum)
        std::size_t best = 0;
        for (std::size_t c = 1; c < mses.size() && !std::isnan(mses[best]); ++c)
            if (std::isnan(mses[c]) || mses[c] < mses[best])
                best = c;
        const std::size_t i =
            static_cast<std::size_t>(options.startBin) + best * static_cast<std::size_t>(options.stride);
        return (f32(m_edges[i + 1]) + f32(m_edges[i])) / 2.0F; // a bin CENTER
    }

    // reference §4.6: TensorRT-style KL search (bins[0] = bins[1]). On the NumPy path `bins` is
    // a view of the stored histogram, so the calibrator keeps the changed bin 0.
    std::vector<std::int64_t> bins = hist;
    if (bins.size() < 2)
        throw UnsupportedError("histogram amax (entropy) needs at least 2 bins");
    bins[0] = bins[1];
    if (m_options.collection != HistogramCollection::Torch)
        m_counts[0] = m_counts[1];
    const std::size_t numBins = bins.size();
    const std::int64_t levels = std::int64_t{1} << (m_numBits - 1 + (m_unsigned ? 1 : 0));
    std::vector<double> space(static_cast<std::size_t>(levels) + 1);
    std::vector<double> levelSum(static_cast<std::size_t>(levels));
    std::vector<std::int64_t> levelCount(static_cast<std::size_t>(levels));
    std::vector<std::int64_t> target(numBins);
    std::vector<double> q(numBins);
    std::vector<double> terms(numBins);
    // suffix sums of bins for the outliers folded into the last bin
    std::vector<std::int64_t> suffix(numBins + 1, 0);
    for (std::size_t k = numBins; k-- > 0;)
        suffix[k] = suffix[k + 1] + bins[k];
    const std::int64_t total = suffix[0];
    std::optional<std::size_t> best;
    std::optional<std::size_t> lastNan;
    double bestKl = std::numeric_limits<double>::infinity();
    for (auto i = static_cast<std::size_t>(options.startBin); i <= numBins;
         i += static_cast<std::size_t>(options.stride)) {
        if (i == 0)
            continue;
        // space = np.linspace(0, i, levels + 1); t_j = np.digitize(j, space) - 1
        const double step = static_cast<double>(i) / static_cast<double>(levels);
        for (std::size_t k = 0; k < space.size(); ++k)
            space[k] = static_cast<double>(k) * step;
        space.back() = static_cast<double>(i);
        std::fill(levelSum.begin(), levelSum.end(), 0.0);
        std::fill(levelCount.begin(), levelCount.end(), 0);
        std::size_t s = 0; // number of space entries <= j
        for (std::size_t j = 0; j < i; ++j) {
            while (s < space.size() && space[s] <= static_cast<double>(j))
                ++s;
            if (bins[j] == 0) {
                target[j] = -1;
                continue;
            }
            const auto t = static_cast<std::int64_t>(s) - 1;
            target[j] = t;
            levelSum[static_cast<std::size_t>(t)] += static_cast<double>(bins[j]);
            ++levelCount[static_cast<std::size_t>(t)];
        }
        for (std::size_t t = 0; t < levelSum.size(); ++t)
            if (levelCount[t] != 0)
                levelSum[t] = levelSum[t] / static_cast<double>(levelCount[t]);
        for (std::size_t j = 0; j < i; ++j)
            q[j] = target[j] < 0 ? 0.0 : levelSum[static_cast<std::size_t>(target[j])];
        // scipy.stats.entropy(p, q): normalise both, sum of rel_entr (x * log(x / y))
        const double sumQ = numpyPairwiseSum(q.data(), static_cast<std::int64_t>(i));
        const auto sumP = static_cast<double>(total);
        for (std::size_t j = 0; j < i; ++j) {
            std::int64_t pj = bins[j];
            if (j == i - 1)
                pj += suffix[i];
            const double pn = static_cast<double>(pj) / sumP;
            const double qn = q[j] / sumQ;
            if (pn > 0.0 && qn > 0.0)
                terms[j] = pn * std::log(pn / qn);
            else if (pn == 0.0 && qn >= 0.0)
                terms[j] = 0.0;
            else
                terms[j] = std::numeric_limits<double>::infinity();
        }
        const double kl = numpyPairwiseSum(terms.data(), static_cast<std::int64_t>(i));
        if (std::isnan(kl)) { // 0/0 when nothing lands in range: np.argmin returns a NaN first
            lastNan = i;
            continue;
        }
        if (kl <= bestKl) { // LAST minimum
            bestKl = kl;
            best = i;
        }
    }
    if (lastNan)
        best = lastNan; // argmin of the reversed list: the last NaN
    if (!best)
        throw UnsupportedError("histogram amax (entropy): no candidate bins after start_bin " +
                               std::to_string(options.startBin));
    return f32(m_edges.at(*best)); // edge index i*
}

std::vector<float> HistogramCalibrator::mseCurve(const AmaxOptions &options) const
{
    if (empty())
        return {};
    if (options.stride < 1 || options.startBin < 0)
        throw UnsupportedError("histogram amax: stride must be >= 1 and start_bin >= 0");
    const std::vector<std::int64_t> hist = counts();
    const std::size_t n = m_edges.size() - 1;
    if (hist.size() != n)
        throw UnsupportedError("histogram amax (mse): " + std::to_string(hist.size()) + " counts for " +
                               std::to_string(n) + " bins (the reference's broadcast fails too)");
    // counts and edges as f32 tensors; centers = (edges[1:] + edges[:-1]) / 2 in f32
    std::vector<float> centers(n);
    std::vector<float> countsF(n);
    for (std::size_t k = 0; k < n; ++k) {
        centers[k] = (f32(m_edges[k + 1]) + f32(m_edges[k])) / 2.0F;
        countsF[k] = static_cast<float>(hist[k]);
    }
    QuantDescriptor desc; // fake_tensor_quant's default narrow_range=True (irrelevant for centers >= 0)
    desc.numBits = m_numBits;
    desc.isUnsigned = m_unsigned;
    desc.narrowRange = true;
    const QuantRange range = quantRange(desc, VersionProfile::Pq21x);
    std::vector<float> quantized(n);
    std::vector<float> terms(n);
    const Shape shape{static_cast<std::int64_t>(n)};
    std::vector<float> curve;
    for (auto i = static_cast<std::size_t>(options.startBin); i < n; i += static_cast<std::size_t>(options.stride)) {
        const float a = centers[i];
        fakeQuant(centers, quantized, shape, AmaxView{std::span<const float>(&a, 1), 0}, range);
        // ((qc - c) ** 2 * counts).mean(): f32 elementwise, torch's f32 cascade sum, / N
        for (std::size_t k = 0; k < n; ++k) {
            const float d = quantized[k] - centers[k];
            terms[k] = (d * d) * countsF[k];
        }
        curve.push_back(torchCpuSumF32(terms.data(), static_cast<std::int64_t>(n)) / static_cast<float>(n));
    }
    return curve;
}

// --- state -----------------------------------------------------------------------------------

HistogramCalibrator::State HistogramCalibrator::state() const
{
    State s;
    const auto bins = static_cast<std::int64_t>(m_counts.size());
    const auto numEdges = static_cast<std::int64_t>(m_edges.size());
    s.counts = Tensor(DType::I64, {bins});
    s.edges = Tensor(DType::F32, {numEdges});
    s.edgeBits = Tensor(DType::I64, {numEdges});
    auto *c = s.counts.mutableData<std::int64_t>();
    for (std::size_t k = 0; k < m_counts.size(); ++k)
        c[k] = static_cast<std::int64_t>(m_counts[k]);
    auto *e = s.edges.mutableData<float>();
    auto *b = s.edgeBits.mutableData<std::int64_t>();
    for (std::size_t k = 0; k < m_edges.size(); ++k) {
        e[k] = f32(m_edges[k]);
        b[k] = std::bit_cast<std::int64_t>(m_edges[k]);
    }
    s.info = Tensor::fromValues<float>(
        {4}, {m_max, m_edgesAreF32 ? 1.0F : 0.0F, static_cast<float>(m_numBits), m_unsigned ? 1.0F : 0.0F});
    return s;
}

HistogramCalibrator HistogramCalibrator::restore(const State &state, HistogramOptions options)
{
    if (state.info.numel() != 4 || state.counts.dim() != 1 || state.edgeBits.dim() != 1)
        throw FormatError("histogram state: unexpected tensor shapes");
    const std::vector<float> info = state.info.toFloatVector();
    HistogramCalibrator h(static_cast<int>(info[2]), info[3] != 0.0F, options);
    for (const std::int64_t v : state.counts.toInt64Vector())
        h.m_counts.push_back(static_cast<double>(v));
    for (const std::int64_t v : state.edgeBits.toInt64Vector())
        h.m_edges.push_back(std::bit_cast<double>(v));
    h.m_max = info[0];
    h.m_edgesAreF32 = info[1] != 0.0F;
    if (h.m_edges.size() == 1 || (!h.m_edges.empty() && h.m_counts.size() + 1 > h.m_edges.size()))
        throw FormatError("histogram state: " + std::to_string(h.m_counts.size()) + " counts for " +
                          std::to_string(h.m_edges.size()) + " edges");
    return h;
}

} // namespace qdq

#include "qdq/quant/tensor_quantizer.h"

#include "qdq/errors.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace qdq {

std::vector<float> reduceAbsMax(const Tensor &x, std::optional<int> axis)
{
    if (x.dtype() != DType::F32)
        throw UnsupportedError("amax reduction needs f32 input, got " + x.describe());
    const Tensor src = x.contiguous();
    const float *p = src.data<float>();
    const std::int64_t n = src.numel();
    std::int64_t channels = 1;
    std::int64_t inner = n;
    if (axis) {
        if (*axis >= x.dim())
            throw ShapeError("amax axis " + std::to_string(*axis) + " outside " + x.describe());
        channels = x.shape()[static_cast<std::size_t>(*axis)];
        inner = 1;
        for (int d = *axis + 1; d < x.dim(); ++d)
            inner *= x.shape()[static_cast<std::size_t>(d)];
    }
    if (n == 0)
        throw ShapeError("amax of an empty tensor (" + x.describe() + ")");
    std::vector<float> result(static_cast<std::size_t>(channels), 0.0F);
    // max over |x|; once NaN, stays NaN (torch.max propagates NaN). Runs of `inner` elements
    // share one channel.
    for (std::int64_t start = 0; start < n; start += inner) {
        float &m = result[static_cast<std::size_t>((start / inner) % channels)];
        float runMax = m;
        bool nan = std::isnan(m);
        for (std::int64_t i = start; i < start + inner; ++i) {
            const float a = std::fabs(p[i]);
            nan = nan || std::isnan(a);
            runMax = a > runMax ? a : runMax;
        }
        m = nan ? std::numeric_limits<float>::quiet_NaN() : runMax;
    }
    return result;
}

TensorQuantizer::TensorQuantizer(QuantDescriptor desc, VersionProfile profile)
    : m_desc(desc), m_profile(profile), m_range(quantRange(desc, profile))
{
}

void TensorQuantizer::setAmax(const Tensor &amax)
{
    if (!amax.defined() || amax.numel() == 0)
        throw ShapeError("setAmax: empty amax tensor");
    if (!isFloatingPoint(amax.dtype()))
        throw FormatError("setAmax: amax must be a float tensor, got " + amax.describe());
    if (amax.numel() > 1 && !m_desc.axis)
        throw ShapeError("setAmax: per-tensor quantizer got amax " + amax.describe());
    m_amax = amax.toFloatVector();
    m_amaxShape = amax.shape();
}

void TensorQuantizer::setAmax(float amax)
{
    m_amax.assign(1, amax);
    m_amaxShape.clear();
}

void TensorQuantizer::clearAmax() noexcept
{
    m_amax.clear();
    m_amaxShape.clear();
}

std::vector<float> TensorQuantizer::effectiveAmax(const Tensor &x) const
{
    std::vector<float> amax = hasAmax() ? m_amax : reduceAbsMax(x, m_desc.axis);
    if (m_desc.scaleAmax)
        for (float &a : amax)
            a *= *m_desc.scaleAmax; // amax.mul_(scale_amax) in f32 (reference §3.1)
    return amax;
}

namespace {

// The one dimension of `shape` that is not 1 (nullopt when every dimension is 1 or when
// several are: the reference has no single axis then).
std::optional<int> singleNonUnitDim(const Shape &shape)
{
    std::optional<int> found;
    for (std::size_t d = 0; d < shape.size(); ++d) {
        if (shape[d] == 1)
            continue;
        if (found)
            return std::nullopt;
        found = static_cast<int>(d);
    }
    return found;
}

} // namespace

AmaxView TensorQuantizer::amaxFor(const Tensor &x, std::vector<float> &storage) const
{
    storage = effectiveAmax(x);
    AmaxView view{storage, m_desc.axis.value_or(0)};
    if (m_profile == VersionProfile::Pq22Cuda)
        for (const float a : storage)
            if (std::isnan(a)) // reference §3.4: CUDA_KERNEL_ASSERT(amax >= 0) fails for NaN
                throw FormatError("amax is NaN; pytorch-quantization 2.2's CUDA kernel asserts amax >= 0 "
                                  "(profile pq-2.2-cuda)",
                                  where());
    if (storage.size() > 1 && hasAmax() && !m_amaxShape.empty()) {
        // A stored per-channel amax: its axis follows from its shape (see the header).
        const std::optional<int> dim = singleNonUnitDim(m_amaxShape);
        if (!dim)
            throw ShapeError("amax " + shapeString(m_amaxShape) + " has more than one non-1 dimension", where());
        if (m_profile == VersionProfile::Pq22Cuda) {
            view.axis = *dim; // fake_tensor_quant_with_axis: axis = position in amax's own shape
        } else {
            const auto rankX = static_cast<int>(x.dim());
            const auto rankA = static_cast<int>(m_amaxShape.size());
            // numpy broadcasting, right-aligned: amax [out] against [out, in] meets dim 1
            view.axis = rankX - rankA + *dim;
            if (rankA > rankX || view.axis < 0)
                throw ShapeError("amax " + shapeString(m_amaxShape) + " does not broadcast against the input " +
                                     shapeString(x.shape()) + " (as in pytorch-quantization " +
                                     std::string(versionProfileName(m_profile)) + ")",
                                 where());
        }
    }
    if (storage.size() > 1 && (view.axis >= x.dim() || x.size(view.axis) != static_cast<std::int64_t>(storage.size())))
        throw ShapeError(std::to_string(storage.size()) + " amax values" +
                             (m_amaxShape.empty() ? std::string() : " " + shapeString(m_amaxShape)) +
                             " do not broadcast against the input " + shapeString(x.shape()) + " along axis " +
                             std::to_string(view.axis) + " (pytorch-quantization fails here too)",
                         where());
    return view;
}

void TensorQuantizer::setPreQuantScale(const Tensor &scale)
{
    if (!scale.defined() || scale.numel() == 0)
        throw ShapeError("_pre_quant_scale is empty", where());
    if (!isFloatingPoint(scale.dtype()))
        throw FormatError("_pre_quant_scale must be a float tensor, got " + scale.describe(), where());
    m_preScale = scale.toFloatVector();
    m_preScaleShape = scale.shape();
}

bool TensorQuantizer::preQuantScaleApplies() const noexcept
{
    // reference §2.1, §3.1: only 2.2.x registers and multiplies `_pre_quant_scale`
    return hasPreQuantScale() && appliesPreQuantScale(m_profile);
}

Tensor TensorQuantizer::preScaled(const Tensor &x) const
{
    if (!preQuantScaleApplies())
        return x.alias();
    if (x.dtype() != DType::F32)
        throw UnsupportedError("pre-quant scale needs f32 input, got " + x.describe(), where());
    // numpy broadcasting of the scale against x (right-aligned); the product keeps x's shape
    const Shape &xs = x.shape();
    const Shape &ss = m_preScaleShape;
    const std::size_t rank = xs.size();
    bool fits = ss.size() <= rank;
    // stride of the scale along each of x's dimensions (0 where it broadcasts)
    std::vector<std::int64_t> sStride(rank, 0);
    std::int64_t stride = 1;
    for (std::size_t k = 0; fits && k < ss.size(); ++k) {
        const std::size_t ds = ss.size() - 1 - k;
        const std::size_t dx = rank - 1 - k;
        if (ss[ds] != 1 && ss[ds] != xs[dx])
            fits = false;
        else if (ss[ds] != 1)
            sStride[dx] = stride;
        stride *= ss[ds];
    }
    if (!fits)
        throw ShapeError("_pre_quant_scale " + shapeString(ss) + " does not broadcast against the input " +
                             shapeString(xs),
                         where());
    const Tensor src = x.contiguous();
    Tensor out = Tensor::empty(DType::F32, xs);
    const float *in = src.data<float>();
    float *o = out.mutableData<float>();
    const std::int64_t n = src.numel();
    const std::int64_t inner = rank == 0 ? 1 : xs[rank - 1];
    const std::int64_t innerStride = rank == 0 ? 0 : sStride[rank - 1];
    std::vector<std::int64_t> index(rank, 0);
    for (std::int64_t start = 0; start < n; start += inner) {
        std::int64_t base = 0;
        for (std::size_t d = 0; d + 1 < rank; ++d)
            base += index[d] * sStride[d];
        for (std::int64_t i = 0; i < inner; ++i) // x * _pre_quant_scale, one f32 multiply
            o[start + i] = in[start + i] * m_preScale[static_cast<std::size_t>(base + i * innerStride)];
        for (std::size_t d = rank == 0 ? 0 : rank - 1; d-- > 0;) { // next row index (odometer over the outer dims)
            if (++index[d] < xs[d])
                break;
            index[d] = 0;
        }
    }
    return out;
}

Tensor TensorQuantizer::apply(const Tensor &x) const
{
    return quantize(preScaled(x));
}

Tensor TensorQuantizer::quantize(const Tensor &scaled) const
{
    if (!m_enabled)
        return scaled.alias();
    std::vector<float> storage;
    const AmaxView amax = amaxFor(scaled, storage);
    return fakeQuant(scaled, amax, m_range);
}

void TensorQuantizer::applyInPlace(Tensor &x) const
{
    if (!m_enabled && !preQuantScaleApplies())
        return;
    if (x.dtype() != DType::F32 || !x.isContiguous())
        throw UnsupportedError("applyInPlace needs a contiguous f32 tensor, got " + x.describe());
    const auto n = static_cast<std::size_t>(x.numel());
    float *p = x.mutableData<float>();
    if (preQuantScaleApplies()) {
        const Tensor scaled = preScaled(x);
        std::copy(scaled.data<float>(), scaled.data<float>() + n, p);
        if (!m_enabled)
            return;
    }
    std::vector<float> storage;
    const AmaxView amax = amaxFor(x, storage);
    fakeQuant(std::span<const float>(p, n), std::span<float>(p, n), x.shape(), amax, m_range);
}

} // namespace qdq

#include "qdq/quant/tensor_quantizer.h"

#include "qdq/errors.h"

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

AmaxView TensorQuantizer::amaxFor(const Tensor &x, std::vector<float> &storage) const
{
    storage = effectiveAmax(x);
    AmaxView view{storage, m_desc.axis.value_or(0)};
    if (storage.size() > 1 && view.axis >= x.dim())
        throw ShapeError("quantizer axis " + std::to_string(view.axis) + " outside input " + x.describe());
    return view;
}

Tensor TensorQuantizer::apply(const Tensor &x) const
{
    if (!m_enabled)
        return x.alias();
    std::vector<float> storage;
    const AmaxView amax = amaxFor(x, storage);
    return fakeQuant(x, amax, m_range);
}

void TensorQuantizer::applyInPlace(Tensor &x) const
{
    if (!m_enabled)
        return;
    if (x.dtype() != DType::F32 || !x.isContiguous())
        throw UnsupportedError("applyInPlace needs a contiguous f32 tensor, got " + x.describe());
    std::vector<float> storage;
    const AmaxView amax = amaxFor(x, storage);
    const auto n = static_cast<std::size_t>(x.numel());
    float *p = x.mutableData<float>();
    fakeQuant(std::span<const float>(p, n), std::span<float>(p, n), x.shape(), amax, m_range);
}

} // namespace qdq

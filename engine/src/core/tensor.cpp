#include "qdq/tensor.h"

#include "qdq/half.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <sys/mman.h>
#include <unistd.h>

namespace qdq {

std::int64_t shapeNumel(const Shape &shape)
{
    std::int64_t n = 1;
    for (std::int64_t s : shape) {
        if (s < 0)
            throw ShapeError("negative dimension in shape " + shapeString(shape));
        if (s != 0 && n > std::numeric_limits<std::int64_t>::max() / s)
            throw ShapeError("shape " + shapeString(shape) + " has too many elements");
        n *= s;
    }
    return n;
}

Shape contiguousStrides(const Shape &shape)
{
    Shape strides(shape.size());
    std::int64_t s = 1;
    for (std::size_t i = shape.size(); i-- > 0;) {
        strides[i] = s;
        s *= std::max<std::int64_t>(shape[i], 1);
    }
    return strides;
}

std::string shapeString(const Shape &shape)
{
    std::string out = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i)
            out += ", ";
        out += std::to_string(shape[i]);
    }
    return out + "]";
}

namespace {

// Calls fn(elementOffset) for every element in row-major logical order.
template <class Fn>
void forEachOffset(const Shape &shape, const Shape &strides, Fn &&fn)
{
    const std::int64_t n = shapeNumel(shape);
    if (n == 0)
        return;
    const std::size_t rank = shape.size();
    std::vector<std::int64_t> index(rank, 0);
    std::int64_t offset = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        fn(offset);
        for (std::size_t d = rank; d-- > 0;) {
            if (++index[d] < shape[d]) {
                offset += strides[d];
                break;
            }
            offset -= strides[d] * (shape[d] - 1);
            index[d] = 0;
        }
    }
}

double loadAsDouble(const std::byte *p, DType t)
{
    switch (t) {
    case DType::F32: {
        float v;
        std::memcpy(&v, p, 4);
        return v;
    }
    case DType::F16: {
        std::uint16_t v;
        std::memcpy(&v, p, 2);
        return halfToFloat(v);
    }
    case DType::BF16: {
        std::uint16_t v;
        std::memcpy(&v, p, 2);
        return bf16ToFloat(v);
    }
    case DType::I8:
        return static_cast<double>(static_cast<std::int8_t>(*p));
    case DType::U8:
        return static_cast<double>(static_cast<std::uint8_t>(*p));
    case DType::Bool:
        return *p != std::byte{0} ? 1.0 : 0.0;
    case DType::I32: {
        std::int32_t v;
        std::memcpy(&v, p, 4);
        return v;
    }
    case DType::I64: {
        std::int64_t v;
        std::memcpy(&v, p, 8);
        return static_cast<double>(v);
    }
    }
    return 0.0;
}

std::int64_t loadAsInt64(const std::byte *p, DType t)
{
    if (t == DType::I64) {
        std::int64_t v;
        std::memcpy(&v, p, 8);
        return v;
    }
    return static_cast<std::int64_t>(loadAsDouble(p, t));
}

template <class I>
I saturateRound(double v)
{
    if (std::isnan(v))
        return 0;
    const double r = std::nearbyint(v); // default rounding mode: half to even
    if (r <= static_cast<double>(std::numeric_limits<I>::min()))
        return std::numeric_limits<I>::min();
    if (r >= static_cast<double>(std::numeric_limits<I>::max()))
        return std::numeric_limits<I>::max();
    return static_cast<I>(r);
}

template <class I>
I saturateInt(std::int64_t v)
{
    return static_cast<I>(std::clamp<std::int64_t>(v, std::numeric_limits<I>::min(), std::numeric_limits<I>::max()));
}

void storeValue(std::byte *p, DType t, const std::byte *src, DType srcType)
{
    const bool intPath = !isFloatingPoint(srcType) && !isFloatingPoint(t);
    switch (t) {
    case DType::F32: {
        const auto v = static_cast<float>(loadAsDouble(src, srcType));
        std::memcpy(p, &v, 4);
        return;
    }
    case DType::F16: {
        // via f32: an f32 source converts with a single rounding
        const std::uint16_t v = floatToHalf(static_cast<float>(loadAsDouble(src, srcType)));
        std::memcpy(p, &v, 2);
        return;
    }
    case DType::BF16: {
        const std::uint16_t v = floatToBf16(static_cast<float>(loadAsDouble(src, srcType)));
        std::memcpy(p, &v, 2);
        return;
    }
    case DType::Bool:
        *p = loadAsDouble(src, srcType) != 0.0 ? std::byte{1} : std::byte{0};
        return;
    case DType::I8: {
        const auto v = intPath ? saturateInt<std::int8_t>(loadAsInt64(src, srcType))
                               : saturateRound<std::int8_t>(loadAsDouble(src, srcType));
        std::memcpy(p, &v, 1);
        return;
    }
    case DType::U8: {
        const auto v = intPath ? saturateInt<std::uint8_t>(loadAsInt64(src, srcType))
                               : saturateRound<std::uint8_t>(loadAsDouble(src, srcType));
        std::memcpy(p, &v, 1);
        return;
    }
    case DType::I32: {
        const auto v = intPath ? saturateInt<std::int32_t>(loadAsInt64(src, srcType))
                               : saturateRound<std::int32_t>(loadAsDouble(src, srcType));
        std::memcpy(p, &v, 4);
        return;
    }
    case DType::I64: {
        const auto v = intPath ? loadAsInt64(src, srcType) : saturateRound<std::int64_t>(loadAsDouble(src, srcType));
        std::memcpy(p, &v, 8);
        return;
    }
    }
}

} // namespace

Tensor::Tensor(DType dtype, Shape shape) : m_dtype(dtype), m_shape(std::move(shape))
{
    m_strides = contiguousStrides(m_shape);
    m_storage = std::make_shared<HostStorage>(static_cast<std::size_t>(shapeNumel(m_shape)) * dtypeSize(dtype), true);
}

Tensor Tensor::empty(DType dtype, Shape shape)
{
    Tensor t;
    t.m_dtype = dtype;
    t.m_shape = std::move(shape);
    t.m_strides = contiguousStrides(t.m_shape);
    t.m_storage =
        std::make_shared<HostStorage>(static_cast<std::size_t>(shapeNumel(t.m_shape)) * dtypeSize(dtype), false);
    return t;
}

Tensor Tensor::fromStorage(std::shared_ptr<Storage> storage, std::size_t byteOffset, DType dtype, Shape shape,
                           Shape strides, const std::string &name)
{
    if (!storage)
        throw ShapeError("tensor has no storage", Location{{}, name, {}});
    Location where{storage->origin() == "memory" ? std::string() : storage->origin(), name, {}};
    if (strides.empty())
        strides = contiguousStrides(shape);
    if (strides.size() != shape.size())
        throw ShapeError("strides " + shapeString(strides) + " do not match shape " + shapeString(shape), where);
    const std::int64_t n = shapeNumel(shape);
    if (n > 0) {
        // the lowest and highest element offsets must both lie inside the storage
        std::int64_t lo = 0;
        std::int64_t hi = 0;
        for (std::size_t i = 0; i < shape.size(); ++i) {
            const std::int64_t span = strides[i] * (shape[i] - 1);
            (span < 0 ? lo : hi) += span;
        }
        const auto elem = static_cast<std::int64_t>(dtypeSize(dtype));
        const auto base = static_cast<std::int64_t>(byteOffset);
        const auto limit = static_cast<std::int64_t>(storage->size());
        if (base < 0 || base + lo * elem < 0 || base + (hi + 1) * elem > limit)
            throw ShapeError("tensor " + std::string(dtypeName(dtype)) + shapeString(shape) + " at byte offset " +
                                 std::to_string(byteOffset) + " does not fit in " + std::to_string(limit) + " bytes",
                             where);
    } else if (byteOffset > storage->size()) {
        throw ShapeError("byte offset " + std::to_string(byteOffset) + " is past the end of the storage", where);
    }
    Tensor t;
    t.m_storage = std::move(storage);
    t.m_offset = byteOffset;
    t.m_dtype = dtype;
    t.m_shape = std::move(shape);
    t.m_strides = std::move(strides);
    return t;
}

Device Tensor::device() const noexcept
{
    return m_storage ? m_storage->device() : Device{};
}

std::int64_t Tensor::size(int d) const
{
    return m_shape[static_cast<std::size_t>(normDim(d))];
}

std::int64_t Tensor::numel() const noexcept
{
    std::int64_t n = 1;
    for (std::int64_t s : m_shape)
        n *= s;
    return n;
}

bool Tensor::isContiguous() const noexcept
{
    std::int64_t expected = 1;
    for (std::size_t i = m_shape.size(); i-- > 0;) {
        if (m_shape[i] != 1 && m_strides[i] != expected)
            return false;
        expected *= m_shape[i];
    }
    return true;
}

bool Tensor::isWritable() const noexcept
{
    return m_storage && m_storage->mutableData() != nullptr;
}

std::string Tensor::describe() const
{
    return std::string(dtypeName(m_dtype)) + shapeString(m_shape);
}

void Tensor::checkDType(DType expected) const
{
    if (!defined())
        throw ShapeError("access to an undefined tensor");
    if (expected != m_dtype)
        throw ShapeError("tensor is " + describe() + ", accessed as " + std::string(dtypeName(expected)));
}

int Tensor::normDim(int d, int rankForInsert) const
{
    const int rank = rankForInsert >= 0 ? rankForInsert : dim();
    const int n = d < 0 ? d + rank : d;
    if (n < 0 || n >= rank)
        throw ShapeError("dimension " + std::to_string(d) + " is out of range for " + describe());
    return n;
}

const void *Tensor::rawData() const
{
    if (!defined())
        throw ShapeError("access to an undefined tensor");
    return m_storage->data() + m_offset;
}

void *Tensor::mutableRawData()
{
    if (!defined())
        throw ShapeError("access to an undefined tensor");
    std::byte *p = m_storage->mutableData();
    if (!p)
        throw UnsupportedError("tensor " + describe() + " is a read-only view of " + m_storage->origin() +
                               "; clone() it to modify");
    return p + m_offset;
}

double Tensor::at(std::initializer_list<std::int64_t> index) const
{
    if (static_cast<int>(index.size()) != dim())
        throw ShapeError("index of rank " + std::to_string(index.size()) + " for " + describe());
    std::int64_t off = 0;
    std::size_t d = 0;
    for (std::int64_t i : index) {
        if (i < 0 || i >= m_shape[d])
            throw ShapeError("index " + std::to_string(i) + " out of range in dimension " + std::to_string(d) + " of " +
                             describe());
        off += i * m_strides[d];
        ++d;
    }
    return loadAsDouble(static_cast<const std::byte *>(rawData()) + off * static_cast<std::int64_t>(dtypeSize(m_dtype)),
                        m_dtype);
}

std::vector<float> Tensor::toFloatVector() const
{
    std::vector<float> out;
    out.reserve(static_cast<std::size_t>(numel()));
    const auto *base = static_cast<const std::byte *>(rawData());
    const auto elem = static_cast<std::int64_t>(dtypeSize(m_dtype));
    forEachOffset(m_shape, m_strides, [&](std::int64_t off) {
        out.push_back(static_cast<float>(loadAsDouble(base + off * elem, m_dtype)));
    });
    return out;
}

std::vector<std::int64_t> Tensor::toInt64Vector() const
{
    std::vector<std::int64_t> out;
    out.reserve(static_cast<std::size_t>(numel()));
    const auto *base = static_cast<const std::byte *>(rawData());
    const auto elem = static_cast<std::int64_t>(dtypeSize(m_dtype));
    forEachOffset(m_shape, m_strides, [&](std::int64_t off) {
        out.push_back(isFloatingPoint(m_dtype) ? saturateRound<std::int64_t>(loadAsDouble(base + off * elem, m_dtype))
                                               : loadAsInt64(base + off * elem, m_dtype));
    });
    return out;
}

Tensor Tensor::alias() const
{
    Tensor t;
    t.m_storage = m_storage;
    t.m_offset = m_offset;
    t.m_dtype = m_dtype;
    t.m_shape = m_shape;
    t.m_strides = m_strides;
    return t;
}

Tensor Tensor::slice(int d, std::int64_t start, std::int64_t end, std::int64_t step) const
{
    const auto n = static_cast<std::size_t>(normDim(d));
    const std::int64_t len = m_shape[n];
    if (step <= 0)
        throw ShapeError("slice step must be positive, got " + std::to_string(step));
    if (start < 0)
        start += len;
    if (end < 0)
        end += len;
    start = std::clamp<std::int64_t>(start, 0, len);
    end = std::clamp<std::int64_t>(end, start, len);
    Tensor t = alias();
    t.m_offset += static_cast<std::size_t>(start * m_strides[n]) * dtypeSize(m_dtype);
    t.m_shape[n] = (end - start + step - 1) / step;
    t.m_strides[n] = m_strides[n] * step;
    return t;
}

Tensor Tensor::select(int d, std::int64_t index) const
{
    const auto n = static_cast<std::size_t>(normDim(d));
    if (index < 0)
        index += m_shape[n];
    if (index < 0 || index >= m_shape[n])
        throw ShapeError("select index " + std::to_string(index) + " out of range for dimension " + std::to_string(d) +
                         " of " + describe());
    Tensor t = alias();
    t.m_offset += static_cast<std::size_t>(index * m_strides[n]) * dtypeSize(m_dtype);
    t.m_shape.erase(t.m_shape.begin() + static_cast<std::ptrdiff_t>(n));
    t.m_strides.erase(t.m_strides.begin() + static_cast<std::ptrdiff_t>(n));
    return t;
}

Tensor Tensor::transpose(int d0, int d1) const
{
    const auto a = static_cast<std::size_t>(normDim(d0));
    const auto b = static_cast<std::size_t>(normDim(d1));
    Tensor t = alias();
    std::swap(t.m_shape[a], t.m_shape[b]);
    std::swap(t.m_strides[a], t.m_strides[b]);
    return t;
}

Tensor Tensor::permute(const std::vector<int> &order) const
{
    if (static_cast<int>(order.size()) != dim())
        throw ShapeError("permute order of rank " + std::to_string(order.size()) + " for " + describe());
    std::vector<bool> seen(order.size(), false);
    Tensor t = alias();
    for (std::size_t i = 0; i < order.size(); ++i) {
        const auto src = static_cast<std::size_t>(normDim(order[i]));
        if (seen[src])
            throw ShapeError("permute order repeats dimension " + std::to_string(order[i]));
        seen[src] = true;
        t.m_shape[i] = m_shape[src];
        t.m_strides[i] = m_strides[src];
    }
    return t;
}

Tensor Tensor::unsqueeze(int d) const
{
    const auto n = static_cast<std::size_t>(normDim(d, dim() + 1));
    Tensor t = alias();
    const std::int64_t stride = n < m_shape.size() ? m_shape[n] * m_strides[n] : 1;
    t.m_shape.insert(t.m_shape.begin() + static_cast<std::ptrdiff_t>(n), 1);
    t.m_strides.insert(t.m_strides.begin() + static_cast<std::ptrdiff_t>(n), stride);
    return t;
}

Tensor Tensor::squeeze(int d) const
{
    const auto n = static_cast<std::size_t>(normDim(d));
    if (m_shape[n] != 1)
        throw ShapeError("cannot squeeze dimension " + std::to_string(d) + " of " + describe());
    return select(d, 0);
}

Tensor Tensor::view(Shape shape) const
{
    if (!isContiguous())
        throw ShapeError("view() of non-contiguous " + describe() + "; use reshape()");
    std::int64_t known = 1;
    int inferred = -1;
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == -1) {
            if (inferred >= 0)
                throw ShapeError("view shape " + shapeString(shape) + " has more than one -1");
            inferred = static_cast<int>(i);
        } else if (shape[i] < 0) {
            throw ShapeError("view shape " + shapeString(shape) + " has a negative dimension");
        } else {
            known *= shape[i];
        }
    }
    if (inferred >= 0) {
        if (known == 0 || numel() % known != 0)
            throw ShapeError("cannot view " + describe() + " as " + shapeString(shape));
        shape[static_cast<std::size_t>(inferred)] = numel() / known;
    }
    if (shapeNumel(shape) != numel())
        throw ShapeError("cannot view " + describe() + " as " + shapeString(shape));
    Tensor t = alias();
    t.m_shape = std::move(shape);
    t.m_strides = contiguousStrides(t.m_shape);
    return t;
}

Tensor Tensor::reshape(Shape shape) const
{
    return isContiguous() ? view(std::move(shape)) : clone().view(std::move(shape));
}

Tensor Tensor::clone() const
{
    Tensor t = empty(m_dtype, m_shape);
    t.copyFrom(*this);
    return t;
}

Tensor Tensor::contiguous() const
{
    return isContiguous() ? alias() : clone();
}

Tensor Tensor::to(DType dtype) const
{
    Tensor t = empty(dtype, m_shape);
    t.copyFrom(*this);
    return t;
}

void Tensor::copyFrom(const Tensor &src)
{
    if (src.m_shape != m_shape)
        throw ShapeError("copy of " + src.describe() + " into " + describe());
    auto *dst = static_cast<std::byte *>(mutableRawData());
    const auto *from = static_cast<const std::byte *>(src.rawData());
    const auto n = static_cast<std::size_t>(numel());
    if (src.m_dtype == m_dtype && isContiguous() && src.isContiguous()) {
        std::memmove(dst, from, n * dtypeSize(m_dtype));
        return;
    }
    if (isContiguous() && src.isContiguous()) {
        if (src.m_dtype == DType::F16 && m_dtype == DType::F32) {
            halfToFloat(reinterpret_cast<const std::uint16_t *>(from), reinterpret_cast<float *>(dst), n);
            return;
        }
        if (src.m_dtype == DType::BF16 && m_dtype == DType::F32) {
            bf16ToFloat(reinterpret_cast<const std::uint16_t *>(from), reinterpret_cast<float *>(dst), n);
            return;
        }
    }
    // general path: gather source offsets in logical order, then scatter into this layout
    std::vector<std::int64_t> srcOffsets;
    srcOffsets.reserve(n);
    forEachOffset(src.m_shape, src.m_strides, [&](std::int64_t off) { srcOffsets.push_back(off); });
    const auto se = static_cast<std::int64_t>(dtypeSize(src.m_dtype));
    const auto de = static_cast<std::int64_t>(dtypeSize(m_dtype));
    std::size_t i = 0;
    forEachOffset(m_shape, m_strides, [&](std::int64_t off) {
        storeValue(dst + off * de, m_dtype, from + srcOffsets[i++] * se, src.m_dtype);
    });
}

void releaseMappedPages(const Tensor &t) noexcept
{
    if (!t.storage() || t.storage()->mutableData() != nullptr || !t.isContiguous())
        return; // owned memory: MADV_DONTNEED would zero it
    static const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    // the whole pages inside the tensor, found by pointer arithmetic (no integer-to-pointer cast)
    auto *begin = static_cast<char *>(const_cast<void *>(t.rawData()));
    const std::size_t bytes = static_cast<std::size_t>(t.numel()) * dtypeSize(t.dtype());
    const std::size_t skip = (page - reinterpret_cast<std::uintptr_t>(begin) % page) % page;
    if (bytes <= skip)
        return;
    const std::size_t length = (bytes - skip) / page * page;
    if (length > 0)
        madvise(begin + skip, length, MADV_DONTNEED);
}

} // namespace qdq

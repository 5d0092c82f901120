#pragma once
// Tensor: a move-only value with dtype, shape, strides and device over shared storage
// (owned memory or a view into a memory-mapped file). Views (slice, select, transpose,
// permute, reshape of contiguous data) share storage; clone()/contiguous()/to() copy.
// Strides are in elements, like PyTorch's.

#include "qdq/device.h"
#include "qdq/dtype.h"
#include "qdq/errors.h"
#include "qdq/storage.h"

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace qdq {

using Shape = std::vector<std::int64_t>;

[[nodiscard]] std::int64_t shapeNumel(const Shape &shape);
[[nodiscard]] Shape contiguousStrides(const Shape &shape);
[[nodiscard]] std::string shapeString(const Shape &shape); // "[2, 3]"

class Tensor {
public:
    Tensor() = default; // undefined tensor: defined() is false
    // Owned, contiguous, zero-filled host tensor.
    Tensor(DType dtype, Shape shape);
    // Owned, contiguous, uninitialised (for outputs that are overwritten at once).
    static Tensor empty(DType dtype, Shape shape);
    // A view of `storage` at `byteOffset`. Empty strides mean contiguous. Throws ShapeError
    // if any element would fall outside the storage (`name` is used in the message).
    static Tensor fromStorage(std::shared_ptr<Storage> storage, std::size_t byteOffset, DType dtype, Shape shape,
                              Shape strides = {}, const std::string &name = {});
    template <class T>
    static Tensor fromValues(Shape shape, std::span<const T> values)
    {
        Tensor t = empty(dtypeOf<T>, std::move(shape));
        if (static_cast<std::int64_t>(values.size()) != t.numel())
            throw ShapeError("fromValues: " + std::to_string(values.size()) + " values for shape " +
                             shapeString(t.shape()));
        std::copy(values.begin(), values.end(), t.mutableData<T>());
        return t;
    }
    template <class T>
    static Tensor fromValues(Shape shape, std::initializer_list<T> values)
    {
        return fromValues<T>(std::move(shape), std::span<const T>(values.begin(), values.size()));
    }

    Tensor(const Tensor &) = delete;
    Tensor &operator=(const Tensor &) = delete;
    Tensor(Tensor &&) noexcept = default;
    Tensor &operator=(Tensor &&) noexcept = default;
    ~Tensor() = default;

    [[nodiscard]] bool defined() const noexcept { return m_storage != nullptr; }
    [[nodiscard]] DType dtype() const noexcept { return m_dtype; }
    [[nodiscard]] Device device() const noexcept;
    [[nodiscard]] const Shape &shape() const noexcept { return m_shape; }
    [[nodiscard]] const Shape &strides() const noexcept { return m_strides; }
    [[nodiscard]] int dim() const noexcept { return static_cast<int>(m_shape.size()); }
    // Size of dimension `d`; negative counts from the end. Throws ShapeError when out of range.
    [[nodiscard]] std::int64_t size(int d) const;
    [[nodiscard]] std::int64_t numel() const noexcept;
    [[nodiscard]] std::size_t nbytes() const noexcept { return static_cast<std::size_t>(numel()) * dtypeSize(m_dtype); }
    [[nodiscard]] bool isContiguous() const noexcept;
    [[nodiscard]] bool isWritable() const noexcept;
    [[nodiscard]] const std::shared_ptr<Storage> &storage() const noexcept { return m_storage; }
    [[nodiscard]] std::size_t byteOffset() const noexcept { return m_offset; }
    // "f32[2, 3]"
    [[nodiscard]] std::string describe() const;

    // --- element access ----------------------------------------------------------------
    // Pointer to the first element. Checks the dtype (ShapeError on mismatch); the layout is
    // the caller's business (see strides()).
    template <class T>
    [[nodiscard]] const T *data() const
    {
        checkDType(dtypeOf<T>);
        return reinterpret_cast<const T *>(rawData());
    }
    template <class T>
    [[nodiscard]] T *mutableData()
    {
        checkDType(dtypeOf<T>);
        return reinterpret_cast<T *>(mutableRawData());
    }
    [[nodiscard]] const void *rawData() const;
    // Throws UnsupportedError for read-only storage (a mapped file): clone() first.
    [[nodiscard]] void *mutableRawData();

    // One element, converted to double, with bounds checks (for tests and small lookups).
    [[nodiscard]] double at(std::initializer_list<std::int64_t> index) const;
    // All elements converted to float / int64, in logical (row-major) order.
    [[nodiscard]] std::vector<float> toFloatVector() const;
    [[nodiscard]] std::vector<std::int64_t> toInt64Vector() const;

    // --- views (share storage) ---------------------------------------------------------
    [[nodiscard]] Tensor alias() const; // another handle to the same view
    [[nodiscard]] Tensor slice(int d, std::int64_t start, std::int64_t end, std::int64_t step = 1) const;
    [[nodiscard]] Tensor select(int d, std::int64_t index) const;
    [[nodiscard]] Tensor transpose(int d0, int d1) const;
    [[nodiscard]] Tensor permute(const std::vector<int> &order) const;
    [[nodiscard]] Tensor unsqueeze(int d) const;
    [[nodiscard]] Tensor squeeze(int d) const;
    // A view with a new shape (one dimension may be -1); requires contiguous data.
    [[nodiscard]] Tensor view(Shape shape) const;
    // view() when contiguous, otherwise a contiguous copy reshaped.
    [[nodiscard]] Tensor reshape(Shape shape) const;

    // --- copies ------------------------------------------------------------------------
    [[nodiscard]] Tensor clone() const;      // owned, contiguous, same dtype
    [[nodiscard]] Tensor contiguous() const; // alias() if already contiguous, else clone()
    [[nodiscard]] Tensor
    to(DType dtype) const; // owned contiguous copy converted (float->int rounds to nearest-even, saturating)
    // Copies `src` (same shape, any dtype and layout) into this tensor's elements.
    void copyFrom(const Tensor &src);

private:
    void checkDType(DType expected) const;
    [[nodiscard]] int normDim(int d, int rankForInsert = -1) const;

    std::shared_ptr<Storage> m_storage;
    std::size_t m_offset = 0; // bytes
    DType m_dtype = DType::F32;
    Shape m_shape;
    Shape m_strides; // elements
};

// Drops the whole pages under a contiguous tensor that views a read-only file mapping (a weight of
// a mapped checkpoint) from this process's resident memory: the next read faults them in again
// from the page cache, with the same bytes. No effect on owned memory (where it would zero data)
// or on an undefined tensor. For a weight whose packed or quantized copy is what the forward reads.
void releaseMappedPages(const Tensor &t) noexcept;

} // namespace qdq

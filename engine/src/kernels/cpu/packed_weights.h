#pragma once
// Weights of a oneDNN primitive in the layouts its primitives ask for (internal to the CPU backend).
#include "qdq/errors.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <new>
#include <sys/mman.h>
#include <utility>
#include <vector>

namespace qdq::kernels {

// Weights reordered once per layout a primitive asks for (oneDNN's "any" format), shared by
// every plan that wants the same layout. Without the plain weights (data == nullptr) a new
// layout is reordered from the first packed copy: a reorder between two f32 layouts only moves
// values, so the result is the same as from the plain weights.
class PackedWeights {
public:
    dnnl::memory get(const dnnl::memory::desc &wanted, const dnnl::memory::desc &plain, void *data,
                     const dnnl::engine &engine, dnnl::stream &stream)
    {
        for (const Packed &p : m_packed)
            if (p.desc == wanted)
                return p.memory;
        if (data == nullptr && m_packed.empty())
            throw UnsupportedError("packed weights requested without their values");
        dnnl::memory source = data != nullptr ? dnnl::memory(plain, engine, data) : m_packed.front().memory;
        std::shared_ptr<void> buffer = hugePageBuffer(wanted.get_size());
        dnnl::memory packed(wanted, engine, buffer.get());
        dnnl::reorder(source, packed).execute(stream, source, packed);
        stream.wait();
        m_packed.push_back({wanted, packed, std::move(buffer)});
        return packed;
    }

    // Zeroed-on-demand memory of `bytes`, 2 MiB aligned, that the kernel may back with transparent
    // huge pages (MADV_HUGEPAGE; this matters where THP is "madvise", Debian's default): a GEMM
    // streams its weights, and with 4 KiB pages every page is a TLB miss and a stop for the
    // hardware prefetcher (BERT-base b1/s128 FP32 117-120 -> 109-112 ms, INT8 ~1 ms, same binary
    // with glibc.malloc.hugetlb=1, which does the same for every allocation).
    static std::shared_ptr<void> hugePageBuffer(std::size_t bytes)
    {
        constexpr std::size_t kHuge = std::size_t{2} << 20;
        constexpr std::size_t kPage = 4096;
        const std::size_t rounded = (std::max<std::size_t>(bytes, 1) + kPage - 1) / kPage * kPage;
        void *p = nullptr; // posix_memalign: aligned_alloc wants a size that is a multiple of the alignment
        if (::posix_memalign(&p, bytes >= kHuge ? kHuge : kPage, rounded) != 0)
            throw std::bad_alloc();
        if (bytes >= kHuge)
            (void)::madvise(p, rounded, MADV_HUGEPAGE); // advice only: without THP, 4 KiB pages
        return {p, [](void *q) { std::free(q); }};
    }

private:
    struct Packed {
        dnnl::memory::desc desc;
        dnnl::memory memory;
        std::shared_ptr<void> buffer; // what memory points into
    };
    std::vector<Packed> m_packed;
};

} // namespace qdq::kernels

#pragma once
// Weights of a oneDNN primitive in the layouts its primitives ask for (internal to the CPU backend).
#include "qdq/errors.h"

#include <oneapi/dnnl/dnnl.hpp>

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
        for (const auto &[md, mem] : m_packed)
            if (md == wanted)
                return mem;
        if (data == nullptr && m_packed.empty())
            throw UnsupportedError("packed weights requested without their values");
        dnnl::memory source = data != nullptr ? dnnl::memory(plain, engine, data) : m_packed.front().second;
        dnnl::memory packed(wanted, engine);
        dnnl::reorder(source, packed).execute(stream, source, packed);
        stream.wait();
        m_packed.emplace_back(wanted, packed);
        return packed;
    }

private:
    std::vector<std::pair<dnnl::memory::desc, dnnl::memory>> m_packed;
};

} // namespace qdq::kernels

// QDQBertModel::timeGemmsOnly: the GEMM-only bound of `qdq bench --roofline`, the encoder's
// linears and attention matmuls alone on the backend with the shapes of a forward.
#include "model/model_impl.h"

#include "qdq/quant/fake_quant.h"
#include "qdq/threading.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace qdq {

using model::Layer;
using model::Linear;

QDQBertModel::GemmTiming QDQBertModel::timeGemmsOnly(std::int64_t batch, std::int64_t seq, Precision gemms)
{
    applyNumThreads();
    Impl &m = *m_impl;
    m.prepare();
    const bool integer = gemms == Precision::Int8;
    const BertConfig &c = m.config;
    const std::int64_t rows = batch * seq;
    const std::int64_t heads = c.numAttentionHeads;
    const std::int64_t d = c.headSize();
    // The six linears of every layer in the kernels asked for: the model's own packed weights when
    // they already are of that kind, else packed once here (s8 codes per row by max|w|, reference
    // §3.3 with axis 0; or the f32 weights) and kept for the next call.
    auto &extra = integer ? m.rooflineS8 : m.rooflineF32;
    const auto packedOf = [&](const Linear &l) -> const kernels::PackedLinear & {
        if (l.integer == integer)
            return *l.packed;
        auto &slot = extra[&l];
        if (!slot) {
            if (integer) {
                const std::int64_t n = l.weight.size(0);
                const std::int64_t k = l.weight.size(1);
                std::vector<float> amax(static_cast<std::size_t>(n));
                const float *w = l.weight.data<float>();
                for (std::int64_t r = 0; r < n; ++r) {
                    float a = 0.0F;
                    for (std::int64_t j = 0; j < k; ++j)
                        a = std::max(a, std::abs(w[r * k + j]));
                    amax[static_cast<std::size_t>(r)] = a;
                }
                slot = m.backend->packQuantizedLinear(quantizeToInt(l.weight, AmaxView{amax, 0}, QuantRange{}), l.bias,
                                                      l.activation);
            } else {
                slot = m.backend->packLinear(l.weight, l.bias, l.activation);
            }
        }
        return *slot;
    };
    const auto fill = [](Tensor &t) {
        float *p = t.mutableData<float>();
        for (std::int64_t i = 0; i < t.numel(); ++i)
            p[i] = static_cast<float>((i * 7919) % 1000) * 1e-3f - 0.5f;
    };
    Tensor x(DType::F32, {rows, c.hiddenSize});
    fill(x);
    Tensor qh(DType::F32, {batch, heads, seq, d});
    Tensor kh(DType::F32, {batch, heads, seq, d});
    Tensor vh(DType::F32, {batch, heads, seq, d});
    Tensor probs(DType::F32, {batch, heads, seq, seq});
    for (Tensor *t : {&qh, &kh, &vh, &probs})
        fill(*t);
    // int8: the s8 GEMMs with a fixed activation scale (quantize + GEMM + rescale, no amax pass),
    // a stored amax as a calibrated checkpoint has (the rescale built into the linears' kernels)
    const IntegerQuant q8{16.0F, -128.0F, 127.0F, true};
    const IntegerQuant p8{127.0F, -128.0F, 127.0F, true};
    const auto lin = [&](const Tensor &in, const Linear &l) {
        const kernels::PackedLinear &p = packedOf(l);
        return integer ? m.backend->quantizedLinear(in, q8, p) : m.backend->linear(in, p);
    };
    GemmTiming timing;
    using Clock = std::chrono::steady_clock;
    const auto ms = [](Clock::time_point from) {
        return std::chrono::duration<double, std::milli>(Clock::now() - from).count();
    };
    for (Layer &layer : m.layers) {
        auto t0 = Clock::now();
        const Tensor q = lin(x, layer.self.query);
        const Tensor k = lin(x, layer.self.key);
        const Tensor v = lin(x, layer.self.value);
        timing.linearsMs += ms(t0);
        // attention: scores [B,h,L,S] = Q · Kᵀ, context = P · V (reference §5.3), the layouts of forward()
        t0 = Clock::now();
        const Tensor kt = kh.transpose(2, 3);
        const Tensor scores = integer ? m.backend->quantizedMatmul(qh, q8, kt, q8) : m.backend->matmul(qh, kt);
        const Tensor ctx = integer ? m.backend->quantizedMatmul(probs, p8, vh, q8) : m.backend->matmul(probs, vh);
        timing.attentionMs += ms(t0);
        t0 = Clock::now();
        const Tensor o = lin(q, layer.self.output);
        const Tensor h = lin(o, layer.intermediate);
        x = lin(h, layer.output);
        timing.linearsMs += ms(t0);
    }
    return timing;
}

} // namespace qdq

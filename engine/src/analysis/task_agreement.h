#pragma once
// Task agreement between a reference forward (FP32) and a quantized one: top-1 agreement, mean
// KL of the output distributions, output MSE for regression heads and base models, accuracy with
// labels. Shared by the analysis passes (analysis.cpp) and the per-quantizer sweeps and repair
// (sensitivity.cpp). Internal to the engine.
#include "qdq/analysis.h"
#include "qdq/model.h"
#include "qdq/tensor.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace qdq::detail {

// Log-softmax in double of one row.
inline void logSoftmax(const float *in, std::int64_t n, std::vector<double> &out)
{
    out.resize(static_cast<std::size_t>(n));
    double m = -std::numeric_limits<double>::infinity();
    for (std::int64_t i = 0; i < n; ++i)
        m = std::max(m, static_cast<double>(in[i]));
    double s = 0.0;
    for (std::int64_t i = 0; i < n; ++i)
        s += std::exp(static_cast<double>(in[i]) - m);
    const double lse = m + std::log(s);
    for (std::int64_t i = 0; i < n; ++i)
        out[static_cast<std::size_t>(i)] = static_cast<double>(in[i]) - lse;
}

inline std::int64_t argmax(const float *v, std::int64_t n)
{
    return static_cast<std::int64_t>(std::max_element(v, v + n) - v);
}

// Task agreement accumulated over batches (one instance per quantized precision).
struct AgreementAccumulator {
    std::int64_t rows = 0, agree = 0, labelled = 0, correctFp32 = 0, correctQuant = 0;
    double klSum = 0.0, sqErr = 0.0;
    std::int64_t sqN = 0;
    bool distribution = true;
    std::string output;

    // a, b: [N..., C] logits; rowMask per row (empty = all); labels per row (empty = none).
    void addDistributions(const Tensor &aIn, const Tensor &bIn, const std::vector<std::int64_t> &rowMask,
                          const std::vector<std::int64_t> &labels)
    {
        const Tensor a = aIn.contiguous();
        const Tensor b = bIn.contiguous();
        const std::int64_t c = a.size(a.dim() - 1);
        const std::int64_t n = a.numel() / c;
        if (c == 1) { // regression (reference §1.4: num_labels == 1 -> MSE)
            distribution = false;
            addSquared(a, b);
            return;
        }
        std::vector<double> la, lb;
        for (std::int64_t r = 0; r < n; ++r) {
            if (!rowMask.empty() && rowMask[static_cast<std::size_t>(r)] == 0)
                continue;
            const float *pa = a.data<float>() + r * c;
            const float *pb = b.data<float>() + r * c;
            logSoftmax(pa, c, la);
            logSoftmax(pb, c, lb);
            double kl = 0.0;
            for (std::size_t i = 0; i < la.size(); ++i)
                kl += std::exp(la[i]) * (la[i] - lb[i]);
            klSum += std::max(kl, 0.0);
            const std::int64_t ta = argmax(pa, c);
            const std::int64_t tb = argmax(pb, c);
            agree += ta == tb ? 1 : 0;
            ++rows;
            if (!labels.empty() && r < static_cast<std::int64_t>(labels.size()) &&
                labels[static_cast<std::size_t>(r)] >= 0) {
                ++labelled;
                correctFp32 += ta == labels[static_cast<std::size_t>(r)] ? 1 : 0;
                correctQuant += tb == labels[static_cast<std::size_t>(r)] ? 1 : 0;
            }
        }
    }
    void addSquared(const Tensor &aIn, const Tensor &bIn)
    {
        const Tensor a = aIn.contiguous();
        const Tensor b = bIn.contiguous();
        for (std::int64_t i = 0; i < a.numel(); ++i) {
            const double e = static_cast<double>(a.data<float>()[i]) - static_cast<double>(b.data<float>()[i]);
            sqErr += e * e;
        }
        sqN += a.numel();
        rows += a.numel();
    }
    [[nodiscard]] TaskAgreement result(Precision precision) const
    {
        TaskAgreement t;
        t.precision = precision;
        t.output = output;
        t.predictions = rows;
        if (distribution && rows > 0) {
            t.top1Agreement = static_cast<double>(agree) / static_cast<double>(rows);
            t.meanKl = klSum / static_cast<double>(rows);
        }
        if (sqN > 0)
            t.outputMse = sqErr / static_cast<double>(sqN);
        if (labelled > 0) {
            t.accuracyFp32 = static_cast<double>(correctFp32) / static_cast<double>(labelled);
            t.accuracyQuantized = static_cast<double>(correctQuant) / static_cast<double>(labelled);
        }
        return t;
    }
};

// Task output rows to compare, with a row mask for token-level heads.
inline void addTaskOutputs(Task task, const ForwardOutputs &ref, const ForwardOutputs &test,
                           const std::vector<std::int64_t> &tokenMask, const std::vector<std::int64_t> &labels,
                           AgreementAccumulator &acc)
{
    switch (task) {
    case Task::Base:
        acc.output = "last_hidden_state";
        acc.distribution = false;
        acc.addSquared(ref.lastHiddenState, test.lastHiddenState);
        return;
    case Task::QuestionAnswering: {
        acc.output = "start_logits+end_logits";
        std::vector<std::int64_t> none;
        acc.addDistributions(ref.startLogits, test.startLogits, none, none);
        acc.addDistributions(ref.endLogits, test.endLogits, none, none);
        return;
    }
    case Task::TokenClassification:
    case Task::MaskedLm:
    case Task::CausalLm:
        acc.output = "logits";
        acc.addDistributions(ref.logits, test.logits, tokenMask, {});
        return;
    case Task::SequenceClassification:
    case Task::NextSentence:
    case Task::MultipleChoice:
        acc.output = "logits";
        acc.addDistributions(ref.logits, test.logits, {}, labels);
        return;
    }
}

} // namespace qdq::detail

#pragma once
// A/B comparison of two checkpoints (design.md, Compare view): the amax of every quantizer
// site side by side, and how far each shared weight tensor moved.

#include "qdq/checkpoint.h"

#include <optional>
#include <string>
#include <vector>

namespace qdq {

struct AmaxSummary {
    bool calibrated = false;   // a stored `_amax`; false = dynamic (reference §2.4)
    std::int64_t channels = 0; // 1 for per-tensor
    float min = 0.f;           // over channels
    float max = 0.f;
};

struct QuantizerComparison {
    QuantizerSite site;
    std::optional<AmaxSummary> a; // absent when the model has no such site
    std::optional<AmaxSummary> b;
    // b.max / a.max when both are calibrated and a.max > 0
    [[nodiscard]] std::optional<double> ratio() const;
    // largest |log2(b_i / a_i)| over channels when both are calibrated with the same channel count
    std::optional<double> maxLog2Ratio;
};

struct TensorComparison {
    std::string name;
    bool inA = false;
    bool inB = false;
    bool sameShape = false;
    double maxAbsDiff = 0.0; // when shapes agree
    double relativeL2 = 0.0; // ||b - a|| / ||a|| (0 when both are zero)
};

struct CheckpointComparison {
    std::vector<QuantizerComparison> quantizers; // every site of either model, in dataflow order
    std::vector<TensorComparison> tensors;       // every weight (not `_amax`) of either checkpoint, by name
};

// Compares two loaded checkpoints; tensors are compared in f32 (f16/bf16 converted).
[[nodiscard]] CheckpointComparison compareCheckpoints(const Checkpoint &a, const Checkpoint &b,
                                                      Progress *progress = nullptr);

// min / max of a stored amax tensor
[[nodiscard]] AmaxSummary summarizeAmax(const Tensor &amax);

} // namespace qdq

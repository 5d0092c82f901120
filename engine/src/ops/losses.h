#pragma once
// The PyTorch loss functions the heads use (reference §1.4), mean reduction, computed in double
// from f32 inputs. Plain host code: losses are tiny next to the encoder.

#include <cstdint>
#include <span>

namespace qdq::ops {

// nn.CrossEntropyLoss over rows of `logits` [n, classes]; targets equal to ignoreIndex do not
// count. Mean over the counted rows (NaN when none counts, as PyTorch). Throws ShapeError for a
// target outside [0, classes) that is not ignoreIndex.
[[nodiscard]] double crossEntropy(std::span<const float> logits, std::int64_t classes,
                                  std::span<const std::int64_t> targets, std::int64_t ignoreIndex = -100);
// nn.MSELoss: mean((a - b)^2).
[[nodiscard]] double meanSquaredError(std::span<const float> a, std::span<const float> b);
// nn.BCEWithLogitsLoss: mean(max(x,0) - x*y + log1p(exp(-|x|))).
[[nodiscard]] double bceWithLogits(std::span<const float> logits, std::span<const float> targets);

} // namespace qdq::ops

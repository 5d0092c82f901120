#include "ops/losses.h"

#include "qdq/errors.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace qdq::ops {

double crossEntropy(std::span<const float> logits, std::int64_t classes, std::span<const std::int64_t> targets,
                    std::int64_t ignoreIndex)
{
    double total = 0.0;
    std::int64_t counted = 0;
    for (std::size_t r = 0; r < targets.size(); ++r) {
        const std::int64_t t = targets[r];
        if (t == ignoreIndex)
            continue;
        if (t < 0 || t >= classes)
            throw ShapeError("label " + std::to_string(t) + " is outside [0, " + std::to_string(classes) + ")");
        const float *row = logits.data() + static_cast<std::ptrdiff_t>(r) * classes;
        const double mx = *std::max_element(row, row + classes);
        double sum = 0.0;
        for (std::int64_t c = 0; c < classes; ++c)
            sum += std::exp(static_cast<double>(row[c]) - mx);
        total += std::log(sum) + mx - static_cast<double>(row[t]);
        ++counted;
    }
    if (counted == 0)
        return std::numeric_limits<double>::quiet_NaN();
    return total / static_cast<double>(counted);
}

double meanSquaredError(std::span<const float> a, std::span<const float> b)
{
    if (a.size() != b.size())
        throw ShapeError("MSE of " + std::to_string(a.size()) + " predictions and " + std::to_string(b.size()) +
                         " labels");
    double sum = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
        sum += d * d;
    }
    return a.empty() ? std::numeric_limits<double>::quiet_NaN() : sum / static_cast<double>(a.size());
}

double bceWithLogits(std::span<const float> logits, std::span<const float> targets)
{
    if (logits.size() != targets.size())
        throw ShapeError("BCE of " + std::to_string(logits.size()) + " logits and " + std::to_string(targets.size()) +
                         " labels");
    double sum = 0.0;
    for (std::size_t i = 0; i < logits.size(); ++i) {
        const double x = logits[i];
        const double y = targets[i];
        sum += std::max(x, 0.0) - x * y + std::log1p(std::exp(-std::abs(x)));
    }
    return logits.empty() ? std::numeric_limits<double>::quiet_NaN() : sum / static_cast<double>(logits.size());
}

} // namespace qdq::ops

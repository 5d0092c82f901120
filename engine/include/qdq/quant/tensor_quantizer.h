#pragma once
// TensorQuantizer: one quantizer site's inference behaviour (reference §3.1, §2.4).
//
// How the model uses it (one instance per QuantizerSite, built from the checkpoint):
//   TensorQuantizer q(desc, profile);          // desc: §1.3 defaults (weights: axis 0)
//   if (checkpoint has "<site>._amax") q.setAmax(thatTensor);   // [] or [out, 1]
//   Tensor y = q.apply(x);                     // at the site, on the tensor it sees (§1.2)
//   q.applyInPlace(buffer);                    // same result, for a buffer the model owns
// A quantizer without amax computes it from each input (dynamic amax = max|x|, per row for
// axis 0; §2.4, §7 item 1). A disabled quantizer is the identity. Calibration is not done
// here: the model's observer tap feeds the raw site tensor to a calibrator (calibrator.h),
// and the result comes back through setAmax().
//
// apply() is const and thread-safe; it never changes the stored amax.
//
// Edge paths that depend on the profile (docs/numerics.md, "Known differences"):
//  - `_pre_quant_scale` (2.2.x, reference §2.1, §3.1): x * scale before everything else, also
//    when the quantizer is disabled; 2.1.x has no such buffer and ignores the key.
//  - a per-channel amax broadcasts like the Python path (numpy rules, right-aligned: [out] on a
//    weight [out, in] scales columns, and fails unless out == in), except under pq-2.2-cuda,
//    whose kernel takes the axis from the position of amax's one non-1 dimension ([out] = rows).

#include "qdq/errors.h"
#include "qdq/quant/fake_quant.h"
#include "qdq/quant/quant_descriptor.h"
#include "qdq/tensor.h"

#include <optional>
#include <string>
#include <vector>

namespace qdq {

class TensorQuantizer {
public:
    explicit TensorQuantizer(QuantDescriptor desc = {}, VersionProfile profile = kDefaultVersionProfile);

    [[nodiscard]] const QuantDescriptor &descriptor() const noexcept { return m_desc; }
    [[nodiscard]] VersionProfile profile() const noexcept { return m_profile; }
    [[nodiscard]] const QuantRange &range() const noexcept { return m_range; }

    // `_disabled` (reference §3.1): a disabled quantizer returns its input unchanged.
    void setEnabled(bool enabled) noexcept { m_enabled = enabled; }
    [[nodiscard]] bool enabled() const noexcept { return m_enabled; }

    // Calibrated amax. A one-element tensor is per-tensor (broadcast to every channel even when
    // the descriptor has an axis); otherwise its element count must equal the size of the
    // descriptor's axis dimension at apply time (e.g. [out, 1] for axis 0). Any float dtype
    // is converted to f32 (the reference computes in f32, §3.3 step 2).
    void setAmax(const Tensor &amax);
    void setAmax(float amax);
    void clearAmax() noexcept; // back to dynamic amax
    [[nodiscard]] bool hasAmax() const noexcept { return !m_amax.empty(); }
    // Stored amax values (empty when dynamic) and their shape ([] or [out, 1, ...]).
    [[nodiscard]] const std::vector<float> &amaxValues() const noexcept { return m_amax; }
    [[nodiscard]] const Shape &amaxShape() const noexcept { return m_amaxShape; }

    // 2.2.x `_pre_quant_scale` (any float dtype, converted to f32; broadcast against the input
    // as numpy does, and it may not grow the input's shape). Stored under every profile; used
    // only where preQuantScaleApplies().
    void setPreQuantScale(const Tensor &scale);
    [[nodiscard]] bool hasPreQuantScale() const noexcept { return !m_preScale.empty(); }
    [[nodiscard]] bool preQuantScaleApplies() const noexcept;
    // x * _pre_quant_scale in f32 (a new tensor), or x.alias() when none applies.
    [[nodiscard]] Tensor preScaled(const Tensor &x) const;

    // Name used in error messages (the site's module path); empty by default.
    void setName(std::string name) { m_name = std::move(name); }

    // The amax the next apply(x) uses: stored or dynamic (reference §2.4), times scale_amax.
    [[nodiscard]] std::vector<float> effectiveAmax(const Tensor &x) const;

    // The effective amax of x with the axis it applies along (see the broadcast rule above);
    // `storage` holds the values. Throws ShapeError when the amax does not fit x (as the
    // reference fails) and FormatError for a NaN amax under pq-2.2-cuda (its kernel asserts).
    [[nodiscard]] AmaxView amaxFor(const Tensor &x, std::vector<float> &storage) const;

    // Fake-quantized copy of x (f32). Disabled: returns preScaled(x) (x.alias() without a
    // pre-quant scale: no copy).
    [[nodiscard]] Tensor apply(const Tensor &x) const;
    // apply() without the pre-quant scale: for a caller that applied preScaled() itself (to
    // show the scaled tensor to an observer first). Identity (alias) when disabled.
    [[nodiscard]] Tensor quantize(const Tensor &scaled) const;
    // In place on a writable contiguous f32 tensor; nothing happens when disabled and no
    // pre-quant scale applies.
    void applyInPlace(Tensor &x) const;

private:
    [[nodiscard]] Location where() const { return Location{{}, m_name, {}}; }

    QuantDescriptor m_desc;
    VersionProfile m_profile;
    QuantRange m_range;
    bool m_enabled = true;
    std::vector<float> m_amax;
    Shape m_amaxShape;
    std::vector<float> m_preScale;
    Shape m_preScaleShape;
    std::string m_name;
};

// reference §2.4 / PQ-RA reduce_amax: max|x| over the whole tensor (axis nullopt) or over all
// dims except `axis` (one value per index of `axis`). NaN propagates like torch.max.
[[nodiscard]] std::vector<float> reduceAbsMax(const Tensor &x, std::optional<int> axis);

} // namespace qdq

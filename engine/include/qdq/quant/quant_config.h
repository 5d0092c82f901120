#pragma once
// Per-run quantization configuration: one entry per quantizer site of the model (reference
// §1.2: 20 per layer, 34 with cross-attention) with its descriptor (§1.3), its amax (the
// checkpoint's `_amax` buffer, or dynamic = max|x| per call when absent, §2.4) and whether it is
// enabled, plus the version profile that fixes the clamp range (§3.5).
//
// A QuantConfig is a plain value: copy it, edit the copy (what-if, sensitivity sweeps), hand it
// to a model. Amax vectors are shared between copies (copy-on-write), so a copy of a bert-base
// config costs a few hundred small allocations, not the per-row weight amax. Nothing here ever
// touches the Checkpoint it was built from.
//
//   QuantConfig q = QuantConfig::fromCheckpoint(ck);            // calibrated + dynamic sites
//   q.setEnabled(SiteSelector::parse("kind:residual"), false);  // switch a group off
//   q.setAmax(SiteSelector::parse("encoder.layer.3.output.dense._input_quantizer"), 7.5F);
//   q.setNumBits(SiteSelector::parse("layer:0"), 6);
//   for (const SiteExecution &e : q.executionPlan(Precision::Int8)) ...   // INT8 GEMM or fake quant

#include "qdq/checkpoint.h"
#include "qdq/quant/quant_descriptor.h"
#include "qdq/quant/tensor_quantizer.h"
#include "qdq/quantizer_site.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qdq {

// design.md "Precisions": fp32 = every quantizer disabled; qdq = fake quant at every enabled site
// with f32 arithmetic (bit-exact with pytorch-quantization); int8 = the same quantizers, the
// linears and the two attention matmuls as s8 x s8 -> s32 GEMMs with float rescale.
enum class Precision : std::uint8_t { Fp32, Qdq, Int8 };
[[nodiscard]] std::string_view precisionName(Precision precision) noexcept; // "fp32", "qdq", "int8"
[[nodiscard]] std::optional<Precision> parsePrecision(std::string_view name) noexcept;

// How one quantizer site is executed under a precision.
enum class ExecutionForm : std::uint8_t {
    Disabled,  // identity (quantizer disabled, or precision fp32)
    FakeQuant, // f32 fake quant at the site (reference §3.3)
    Int8Gemm,  // integer codes fed to an s8 GEMM (int8 precision only)
};
[[nodiscard]] std::string_view executionFormName(ExecutionForm form) noexcept; // "disabled", "fake-quant", "int8-gemm"

// One quantizer of the configured model.
struct SiteQuantConfig {
    QuantizerSite site;
    QuantDescriptor desc;    // reference §1.3: 8 bit signed; weights per row (axis 0)
    bool enabled = true;     // `_disabled` (reference §3.1)
    bool calibrated = false; // the checkpoint stores `_amax` for this site (before overrides)
    bool amaxOverridden = false;
    // Static amax (one value, or one per row); null = dynamic amax per call (reference §2.4).
    std::shared_ptr<const std::vector<float>> amax;
    Shape amaxShape; // [] or [out, 1]
    // 2.2.x `_pre_quant_scale` (reference §2.1, §3.1): null when the checkpoint has none. Kept
    // under every profile; applied only under pq-2.2-cpu / pq-2.2-cuda (2.1.x ignores the key).
    std::shared_ptr<const std::vector<float>> preQuantScale;
    Shape preQuantScaleShape;

    [[nodiscard]] bool dynamic() const noexcept { return !amax; }
    // A TensorQuantizer with this site's settings under `profile`.
    [[nodiscard]] TensorQuantizer quantizer(VersionProfile profile) const;
};

// Selects a group of sites; unset fields match everything.
struct SiteSelector {
    std::optional<int> layer;
    std::optional<SiteKind> kind;
    std::optional<bool> crossAttention;
    // Glob ('*', '?') over the module path without the "bert." prefix, e.g.
    // "encoder.layer.3.*", "*.matmul_a_input_quantizer", or one exact path.
    std::string pattern;

    [[nodiscard]] bool matches(const QuantizerSite &site) const;
    // "all", "layer:N", "kind:input|weight|matmul|residual", "cross", comma-separated
    // combinations ("layer:2,kind:matmul"), or a glob / exact module path (with or without
    // "bert." or a trailing "._amax"). Throws FormatError for an unknown kind or a bad layer.
    static SiteSelector parse(std::string_view text);
};

// Execution of one site under a precision, with the reason when a site of an integer-capable
// op (linear input/weight, attention matmul operand) runs as fake quant instead.
struct SiteExecution {
    QuantizerSite site;
    ExecutionForm form = ExecutionForm::Disabled;
    std::string reason; // empty for Int8Gemm / Disabled; why fake quant otherwise
};

class QuantConfig {
public:
    QuantConfig() = default;

    // Every site of the checkpoint's inventory with the default descriptors (§1.3) and the stored
    // `_amax` where present (dynamic otherwise). The checkpoint is only read.
    static QuantConfig fromCheckpoint(const Checkpoint &checkpoint, VersionProfile profile = kDefaultVersionProfile);

    [[nodiscard]] VersionProfile profile() const noexcept { return m_profile; }
    void setProfile(VersionProfile profile) noexcept { m_profile = profile; }
    [[nodiscard]] const std::vector<SiteQuantConfig> &sites() const noexcept { return m_sites; }
    // nullptr when the model has no such site.
    [[nodiscard]] const SiteQuantConfig *find(const QuantizerSite &site) const;
    // Whether a site multiplies its input by a `_pre_quant_scale` under this profile (even when
    // the site is disabled or the precision is fp32, as 2.2.x does before its disabled check).
    [[nodiscard]] bool preQuantScaleApplies(const SiteQuantConfig &site) const noexcept;
    [[nodiscard]] bool anyPreQuantScaleApplies() const noexcept;

    // Per-run overrides. Each returns the number of sites it changed; 0 means the selector
    // matched nothing (callers report that as an error).
    int setEnabled(const SiteSelector &selector, bool enabled);
    int setAmax(const SiteSelector &selector, float amax); // per-tensor amax, also for weight sites
    int setDynamicAmax(const SiteSelector &selector);      // forget the amax: max|x| per call
    // One site's amax shaped as its `_amax` buffer ([] per tensor, [out, 1] per row for weights),
    // e.g. a calibration method's choice. Throws FormatError for a negative or NaN value and
    // ShapeError for an unknown site or a shape other than [], [1] or [n, 1].
    void setSiteAmax(const QuantizerSite &site, const Tensor &amax);
    int setNumBits(const SiteSelector &selector, int numBits);
    void disableAll();

    // The site's TensorQuantizer (descriptor, profile, amax, enabled). Throws ShapeError for an
    // unknown site.
    [[nodiscard]] TensorQuantizer quantizer(const QuantizerSite &site) const;

    // How every site runs under `precision` (same order as sites()). Under int8 a linear runs as
    // an s8 GEMM when its input and weight quantizers are both enabled, signed and at most 8 bit
    // with a per-tensor input amax; the attention matmuls likewise for both operands. Residual-add
    // quantizers always run as fake quant (the add and LayerNorm are f32), as does every site
    // whose partner cannot run in integer form.
    [[nodiscard]] std::vector<SiteExecution> executionPlan(Precision precision) const;
    [[nodiscard]] SiteExecution execution(const QuantizerSite &site, Precision precision) const;

private:
    SiteQuantConfig *findMutable(const QuantizerSite &site);
    [[nodiscard]] std::string integerBlocker(const SiteQuantConfig &s) const;

    VersionProfile m_profile = kDefaultVersionProfile;
    std::vector<SiteQuantConfig> m_sites;
};

} // namespace qdq

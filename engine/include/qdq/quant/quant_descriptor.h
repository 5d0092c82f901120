#pragma once
// Quantizer descriptor (reference §1.3) and the pytorch-quantization version profile that
// decides the clamp range and the tiny-amax rule (reference §3.2-§3.5, §7 items 3 and 5).

#include <optional>
#include <string>
#include <string_view>

namespace qdq {

// Which pytorch-quantization build (and device) the fake quant reproduces (reference §3.5):
//
//   profile        narrow_range default  signed clamp (default desc.)  zero-amax test  histogram collection
//   pq-2.1.0       True                  [-B, B]                       a <= 2^-24      NumPy (§4.3)
//   pq-2.1.x       False                 [-B-1, B]                     a <= 2^-24      NumPy
//   pq-2.2-cpu     False                 [-B-1, B]                     a <= 2^-24      torch_hist
//   pq-2.2-cuda    (ignored by kernel)   [-B, B] always                a <  2^-24      torch_hist
//
// The default is pq-2.1.x: it is the library the QDQBERT-era checkpoints were calibrated and
// evaluated with (the HF example installs a 2.1.x build, reference §0.1), its rules hold on
// every device (2.1.x runs the Python path on CPU and GPU alike, §3.3), and this program runs
// on the CPU, where 2.2.x gives the same clamp range anyway.
enum class VersionProfile { Pq210, Pq21x, Pq22Cpu, Pq22Cuda };

inline constexpr VersionProfile kDefaultVersionProfile = VersionProfile::Pq21x;

// "pq-2.1.0", "pq-2.1.x", "pq-2.2-cpu", "pq-2.2-cuda".
[[nodiscard]] std::string_view versionProfileName(VersionProfile profile) noexcept;
// Inverse of versionProfileName; nullopt for anything else.
[[nodiscard]] std::optional<VersionProfile> parseVersionProfile(std::string_view name) noexcept;
// Descriptor default of narrow_range in that version (reference §1.3: True only in 2.1.0).
[[nodiscard]] bool defaultNarrowRange(VersionProfile profile) noexcept;
// 2.2.x collects histograms with torch.histc from 0, 2.1.x with numpy.histogram (§4.3).
[[nodiscard]] bool usesTorchHistogram(VersionProfile profile) noexcept;
// 2.2.x registers and applies `_pre_quant_scale`; 2.1.x ignores the key (§2.1, §3.1).
[[nodiscard]] bool appliesPreQuantScale(VersionProfile profile) noexcept;

// Fields of ScaledQuantDescriptor that matter for inference (reference §1.3 table).
struct QuantDescriptor {
    int numBits = 8;                 // 2..16
    bool isUnsigned = false;         // range [0, 2^n - 1]
    std::optional<bool> narrowRange; // nullopt: the version profile's default
    std::optional<int> axis;         // nullopt: per-tensor; 0: one amax per row (weights)
    std::optional<float> scaleAmax;  // amax is multiplied by this (f32) before use
    bool fake = true;                // fake quant (dequantized floats); false is not used by QDQBERT

    // Throws UnsupportedError for num_bits outside 2..16, a negative axis or fake == false.
    void validate() const;
};

// Integer levels of one quantizer after the profile's rules (reference §3.2, §3.5).
struct QuantRange {
    float minLevel = -128.0F; // m
    float maxLevel = 127.0F;  // B = 2^(n-1+u) - 1
    // Tiny-amax test: amax <= 2^-24 on the Python path, amax < 2^-24 in the 2.2.x CUDA kernel.
    bool strictTinyTest = false;
    // 2.2.x CUDA kernel: a tiny-amax channel yields +0 for every element (also for inf/NaN
    // inputs); the Python path multiplies by a zero scale (signed zeros, inf*0 = NaN).
    bool cudaKernel = false;
};

// B = 2^(numBits - 1 + unsigned) - 1 as f32 (exact for numBits <= 16).
[[nodiscard]] float quantMaxBound(int numBits, bool isUnsigned) noexcept;
// The clamp range and tiny-amax rule for `desc` under `profile` (reference §3.5 table).
[[nodiscard]] QuantRange quantRange(const QuantDescriptor &desc, VersionProfile profile);

// 2^-24, "smallest fp16 subnormal" (reference §3.3 step 4).
inline constexpr float kTinyAmax = 5.9604644775390625e-08F;

} // namespace qdq

#include "qdq/quant/quant_descriptor.h"

#include "qdq/errors.h"

#include <array>
#include <string>
#include <utility>

namespace qdq {
namespace {

constexpr std::array<std::pair<VersionProfile, std::string_view>, 4> kProfileNames{{
    {VersionProfile::Pq210, "pq-2.1.0"},
    {VersionProfile::Pq21x, "pq-2.1.x"},
    {VersionProfile::Pq22Cpu, "pq-2.2-cpu"},
    {VersionProfile::Pq22Cuda, "pq-2.2-cuda"},
}};

} // namespace

std::string_view versionProfileName(VersionProfile profile) noexcept
{
    for (const auto &[p, name] : kProfileNames)
        if (p == profile)
            return name;
    return "pq-2.1.x";
}

std::optional<VersionProfile> parseVersionProfile(std::string_view name) noexcept
{
    for (const auto &[p, n] : kProfileNames)
        if (n == name)
            return p;
    return std::nullopt;
}

bool defaultNarrowRange(VersionProfile profile) noexcept
{
    return profile == VersionProfile::Pq210; // reference §1.3
}

bool usesTorchHistogram(VersionProfile profile) noexcept
{
    return profile == VersionProfile::Pq22Cpu || profile == VersionProfile::Pq22Cuda; // reference §4.3
}

bool appliesPreQuantScale(VersionProfile profile) noexcept
{
    return profile == VersionProfile::Pq22Cpu || profile == VersionProfile::Pq22Cuda; // reference §2.1, §3.1
}

void QuantDescriptor::validate() const
{
    if (numBits < 2 || numBits > 16)
        throw UnsupportedError("num_bits " + std::to_string(numBits) + " outside 2..16");
    if (axis && *axis < 0)
        throw UnsupportedError("negative quantization axis " + std::to_string(*axis));
    if (!fake)
        throw UnsupportedError("fake_quant=False is not supported (QuantLinear refuses it, reference §3.6)");
}

float quantMaxBound(int numBits, bool isUnsigned) noexcept
{
    const int exponent = numBits - 1 + (isUnsigned ? 1 : 0);
    return static_cast<float>((std::int64_t{1} << exponent) - 1); // reference §3.2
}

QuantRange quantRange(const QuantDescriptor &desc, VersionProfile profile)
{
    desc.validate();
    QuantRange r;
    r.maxLevel = quantMaxBound(desc.numBits, desc.isUnsigned);
    const bool narrow = desc.narrowRange.value_or(defaultNarrowRange(profile));
    if (desc.isUnsigned)
        r.minLevel = 0.0F;
    else if (profile == VersionProfile::Pq22Cuda || narrow) // §3.4: the CUDA launchers drop narrow_range
        r.minLevel = -r.maxLevel;
    else
        r.minLevel = -r.maxLevel - 1.0F;
    r.strictTinyTest = profile == VersionProfile::Pq22Cuda;
    r.cudaKernel = profile == VersionProfile::Pq22Cuda;
    return r;
}

} // namespace qdq

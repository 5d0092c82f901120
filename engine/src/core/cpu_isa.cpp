#include "qdq/cpu_isa.h"

#include "qdq/errors.h"

#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <mutex>
#include <utility>

namespace qdq {
namespace {

constexpr const char *kVariable = "QDQ_MAX_ISA";

struct CapName {
    const char *name;
    std::optional<CpuIsa> level; // nullopt: no cap
    dnnl_cpu_isa_t onednn;
};

// Every name oneDNN 2.6 takes for ONEDNN_MAX_CPU_ISA that exists on x86-64 CPUs of today, and
// what it means for our kernels. AVX without AVX2 has no kernel of ours: it caps to sse41.
constexpr std::array<CapName, 9> kCapNames{{
    {"sse41", CpuIsa::Sse41, dnnl_cpu_isa_sse41},
    {"avx", CpuIsa::Sse41, dnnl_cpu_isa_avx},
    {"avx2", CpuIsa::Avx2, dnnl_cpu_isa_avx2},
    {"avx2_vnni", CpuIsa::Avx2, dnnl_cpu_isa_avx2_vnni},
    {"avx512_core", CpuIsa::Avx512Core, dnnl_cpu_isa_avx512_core},
    {"avx512_core_vnni", CpuIsa::Avx512CoreVnni, dnnl_cpu_isa_avx512_core_vnni},
    {"avx512_core_bf16", CpuIsa::Avx512CoreVnni, dnnl_cpu_isa_avx512_core_bf16},
    {"avx512_core_amx", CpuIsa::Avx512CoreVnni, dnnl_cpu_isa_avx512_core_amx},
    {"all", std::nullopt, dnnl_cpu_isa_all},
}};

const CapName *findCap(std::string_view name)
{
    std::string lower(name);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (const CapName &c : kCapNames)
        if (lower == c.name)
            return &c;
    return nullptr;
}

std::string knownNames()
{
    std::string out;
    for (const CapName &c : kCapNames)
        out += (out.empty() ? "" : ", ") + std::string(c.name);
    return out;
}

const char *onednnIsaName(dnnl_cpu_isa_t isa)
{
    switch (isa) {
    case dnnl_cpu_isa_all:
        return "all";
    case dnnl_cpu_isa_sse41:
        return "sse41";
    case dnnl_cpu_isa_avx:
        return "avx";
    case dnnl_cpu_isa_avx2:
        return "avx2";
    case dnnl_cpu_isa_avx2_vnni:
        return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic:
        return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops:
        return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core:
        return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni:
        return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16:
        return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx:
        return "avx512_core_amx";
    }
    return "unknown";
}

// oneDNN's ISA values are bit masks; one contains another when it has all of its bits.
bool onednnHas(dnnl_cpu_isa_t effective, dnnl_cpu_isa_t wanted)
{
    const auto e = static_cast<unsigned>(effective);
    const auto w = static_cast<unsigned>(wanted);
    return (e & w) == w;
}

struct State {
    CpuIsa detected = CpuIsa::Sse41;
    std::optional<CpuIsa> cap;
    std::string capText;     // the variable's value, "" when unset
    bool capsOneDnn = false; // QDQ_MAX_ISA was handed to oneDNN
    std::string onednnNote;  // why not, when it was set and not handed on
    CpuIsa level = CpuIsa::Sse41;
    dnnl_cpu_isa_t onednnEffective = dnnl_cpu_isa_all;
    Int8Gemm gemm = Int8Gemm::Portable;
};

const State &state()
{
    static State s;
    static std::once_flag once;
    static std::optional<std::string> failure;
    std::call_once(once, [] {
        s.detected = cpuIsaDetected();
        const char *value = std::getenv(kVariable);
        const CapName *cap = nullptr;
        if (value != nullptr && *value != '\0') {
            s.capText = value;
            cap = findCap(value);
            if (cap == nullptr) {
                failure = std::string(kVariable) + "='" + value + "' is not one of " + knownNames();
                return;
            }
            s.cap = cap->level;
        }
        s.level = s.cap ? std::min(*s.cap, s.detected) : s.detected;
        if (cap != nullptr) {
            const char *own = std::getenv("ONEDNN_MAX_CPU_ISA");
            if (own == nullptr)
                own = std::getenv("DNNL_MAX_CPU_ISA");
            if (own != nullptr && *own != '\0')
                s.onednnNote = std::string("ONEDNN_MAX_CPU_ISA=") + own + " kept";
            else if (dnnl_set_max_cpu_isa(cap->onednn) == dnnl_success)
                s.capsOneDnn = true;
            else
                s.onednnNote = "oneDNN had already started; its ISA is not capped";
        }
        s.onednnEffective = dnnl_get_effective_cpu_isa();
        // oneDNN's s8 matmul is exact only where it accumulates through VNNI or AMX: below that
        // (AVX2, AVX-512 without VNNI) it multiplies through vpmaddubsw, whose pairwise s16 sums
        // saturate, and scales its weights to make room (issue #24: a 9 % error on AVX2).
        if (s.level >= CpuIsa::Avx512CoreVnni && onednnHas(s.onednnEffective, dnnl_cpu_isa_avx512_core_vnni))
            s.gemm = Int8Gemm::OneDnn;
        else if (s.level >= CpuIsa::Avx2)
            s.gemm = Int8Gemm::Avx2;
        else
            s.gemm = Int8Gemm::Portable;
    });
    if (failure)
        throw UnsupportedError(*failure, Location{{}, {}, kVariable});
    return s;
}

} // namespace

const char *cpuIsaName(CpuIsa isa) noexcept
{
    switch (isa) {
    case CpuIsa::Sse41:
        return "sse41";
    case CpuIsa::Avx2:
        return "avx2";
    case CpuIsa::Avx512Core:
        return "avx512_core";
    case CpuIsa::Avx512CoreVnni:
        return "avx512_core_vnni";
    }
    return "unknown";
}

std::optional<std::optional<CpuIsa>> parseCpuIsaCap(std::string_view name)
{
    const CapName *cap = findCap(name);
    if (cap == nullptr)
        return std::nullopt;
    return std::optional<std::optional<CpuIsa>>(std::in_place, cap->level);
}

CpuIsa cpuIsaDetected() noexcept
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    // libgcc's checks include the OS's consent (XGETBV) to the AVX and AVX-512 register state.
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    if (avx512 && __builtin_cpu_supports("avx512vnni"))
        return CpuIsa::Avx512CoreVnni;
    if (avx512)
        return CpuIsa::Avx512Core;
    if (avx2)
        return CpuIsa::Avx2;
#endif
    return CpuIsa::Sse41;
}

CpuIsa cpuIsa()
{
    return state().level;
}

Int8Gemm int8Gemm()
{
    return state().gemm;
}

const char *int8GemmName(Int8Gemm gemm) noexcept
{
    switch (gemm) {
    case Int8Gemm::Portable:
        return "qdq portable (s16 products, s32 sums, exact)";
    case Int8Gemm::Avx2:
        return "qdq avx2 (s16 vpmaddwd, s32 sums, exact)";
    case Int8Gemm::OneDnn:
        return "oneDNN (VNNI/AMX, s32 sums, exact)";
    }
    return "unknown";
}

std::string cpuIsaSummary()
{
    const State &s = state();
    std::string out = cpuIsaName(s.level);
    out += " (detected ";
    out += cpuIsaName(s.detected);
    out += ", ";
    out += kVariable;
    out += s.capText.empty() ? std::string(" unset") : "=" + s.capText;
    if (!s.onednnNote.empty())
        out += ", " + s.onednnNote;
    out += "; oneDNN ";
    out += onednnIsaName(s.onednnEffective);
    out += "); INT8 GEMM: ";
    out += int8GemmName(s.gemm);
    return out;
}

} // namespace qdq

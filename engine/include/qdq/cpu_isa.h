#pragma once
// The x86-64 instruction sets that the CPU kernels choose between at run time, and the one cap
// that limits every such choice: QDQ_MAX_ISA in the environment, which takes oneDNN's names
// (ONEDNN_MAX_CPU_ISA) and is passed on to oneDNN unless ONEDNN_MAX_CPU_ISA is set itself, so
// that any machine can run the lower paths of both.
//
//   QDQ_MAX_ISA=sse41             portable loops only (x86-64 baseline, no AVX)
//   QDQ_MAX_ISA=avx2              AVX2 + FMA loops and the AVX2 INT8 GEMM
//   QDQ_MAX_ISA=avx512_core       AVX-512 F/BW/DQ/VL loops; INT8 GEMM still ours (exact)
//   QDQ_MAX_ISA=avx512_core_vnni  oneDNN's INT8 kernels (VNNI: exact s32 accumulation)
//   unset or "all"                the best this CPU has
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace qdq {

// Ordered: each level includes the ones below it.
enum class CpuIsa : std::uint8_t { Sse41, Avx2, Avx512Core, Avx512CoreVnni };

// oneDNN's spelling: "sse41", "avx2", "avx512_core", "avx512_core_vnni".
[[nodiscard]] const char *cpuIsaName(CpuIsa isa) noexcept;

// A QDQ_MAX_ISA value: oneDNN's names (case-insensitive), "avx2_vnni" as avx2 (no kernel of ours
// uses AVX-VNNI), "avx512_core_bf16" / "avx512_core_amx" as avx512_core_vnni, "all" as no cap
// (nullopt inside the optional); an unknown name gives std::nullopt for the outer optional.
[[nodiscard]] std::optional<std::optional<CpuIsa>> parseCpuIsaCap(std::string_view name);

// What this CPU (and its OS, for the AVX state) supports, whatever the cap.
[[nodiscard]] CpuIsa cpuIsaDetected() noexcept;

// The level the kernels use: the detected one, lowered to QDQ_MAX_ISA. The first call reads the
// environment once and, when QDQ_MAX_ISA is set and ONEDNN_MAX_CPU_ISA is not, caps oneDNN the
// same way (before any oneDNN kernel is generated: the CPU backend calls this first). Throws
// UnsupportedError naming QDQ_MAX_ISA for a value it does not know.
[[nodiscard]] CpuIsa cpuIsa();

// The INT8 GEMM that the CPU backend runs at cpuIsa(), every choice exact (s8 x s8 -> s32):
enum class Int8Gemm : std::uint8_t {
    Portable, // qdq's own, plain C++ (s16 products, s32 sums)
    Avx2,     // qdq's own, AVX2: operands widened to s16, vpmaddwd into s32
    OneDnn,   // oneDNN's matmul with VNNI/AMX (vpdpbusd / tdpbssd: s32 accumulation, no s16 step)
};
[[nodiscard]] Int8Gemm int8Gemm();
[[nodiscard]] const char *int8GemmName(Int8Gemm gemm) noexcept;

// One line for --version, `qdq devices` and `qdq bench`: the detected ISA, the cap, the level
// used, oneDNN's effective ISA and the INT8 GEMM, e.g.
// "avx2 (detected avx2, QDQ_MAX_ISA unset; oneDNN avx2); INT8 GEMM: qdq avx2 (s16 vpmaddwd, exact)".
[[nodiscard]] std::string cpuIsaSummary();

} // namespace qdq

#pragma once
// The engine's thread-count setting. The CPU backend (oneDNN and the engine's own kernels)
// runs on OpenMP; OpenMP's thread count is a per-calling-thread setting, so entry points that
// compute call applyNumThreads() on the thread they run on (a GUI worker, the CLI main thread).

namespace qdq {

// 0 restores the default: the number of hardware threads.
void setNumThreads(int threads);
// The effective thread count (>= 1).
[[nodiscard]] int numThreads() noexcept;
// Makes the calling thread's OpenMP team size match numThreads().
void applyNumThreads() noexcept;
// Hardware threads available to this process.
[[nodiscard]] int hardwareThreads() noexcept;

// libgomp reads its wait policy once, when it is loaded (before main): by default a thread that
// waits at a barrier spins for ~300k iterations. On a machine whose few cores are shared with
// other work (the 2-core hosts of issue #14), spinning threads steal the cores from each other and
// a forward is several times slower than with a short spin (bench/README.md); on free cores a
// short spin puts the waiting thread to sleep between two oneDNN calls and each call pays a
// futex wake-up instead (BERT-base INT8 b1/s128: 41 ms with 1000, 37-39 ms with 10000).
inline constexpr const char *kSharedCoresSpin = "1000";
inline constexpr const char *kFreeCoresSpin = "10000";
// Tasks runnable right now, system-wide (the fourth field of /proc/loadavg); -1 if unknown.
[[nodiscard]] int runnableTasks() noexcept;
// Whether `threads` more busy threads fit on the online cores beside the tasks that keep cores
// busy now (runnable in each of five samples 1 ms apart; this process itself is not counted).
[[nodiscard]] bool coresAreFree(int threads) noexcept;
// kFreeCoresSpin when coresAreFree(threads), else kSharedCoresSpin.
[[nodiscard]] const char *openMpSpinCount(int threads) noexcept;
// Whether this process runs with GOMP_SPINCOUNT of at least kFreeCoresSpin: waiting OpenMP threads
// still spin when the next parallel region starts, so short regions pay off.
[[nodiscard]] bool openMpSpinsLong() noexcept;
// glibc's malloc asks for transparent huge pages (madvise) for its heap and large blocks. Where THP
// is "madvise" (Debian's default) buffers otherwise get 4 KiB pages: a GEMM streaming its weights
// takes a TLB miss and a prefetcher stop every 4 KiB, and the forward's speed depended on where
// its buffers landed (BERT-base INT8 b1/s128 medians of 34 or 41-43 ms from one run to the next,
// same binary; with huge pages 33.6-34.8 ms in most runs and the slow mode rarer; FP32 117-120 ->
// 109-112 ms).
inline constexpr const char *kMallocHugePages = "glibc.malloc.hugetlb=1";
// Call first thing in main(): re-executes this program once with the settings libgomp and glibc
// read only at start, where the user did not choose them: GOMP_SPINCOUNT=
// openMpSpinCount(hardwareThreads()) unless OMP_WAIT_POLICY or GOMP_SPINCOUNT is set,
// GLIBC_TUNABLES=kMallocHugePages unless GLIBC_TUNABLES is set. Returns only when no
// re-execution happened.
void reexecWithRuntimeSettings(char **argv) noexcept;

} // namespace qdq

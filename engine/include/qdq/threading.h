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

} // namespace qdq

#pragma once
// Progress reporting and cooperative cancellation. Long engine operations take a
// Progress* (may be null), call report() as they go and checkCancelled() between units of
// work (layers, batches, tensors); a cancel() from any thread makes the next check throw
// CancelledError. The GUI connects the callback to a progress bar; the CLI prints to stderr.

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

namespace qdq {

struct ProgressEvent {
    std::string stage;  // what is being done, e.g. "reading tensors"
    std::int64_t done;  // units finished
    std::int64_t total; // units in all; 0 when unknown
    [[nodiscard]] double fraction() const noexcept
    {
        return total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 0.0;
    }
};

class Progress {
public:
    using Callback = std::function<void(const ProgressEvent &)>;

    Progress() = default;
    explicit Progress(Callback callback) : m_callback(std::move(callback)) {}
    Progress(const Progress &) = delete;
    Progress &operator=(const Progress &) = delete;

    void setCallback(Callback callback);

    // Reports progress and then checks for cancellation (throws CancelledError).
    void report(std::string_view stage, std::int64_t done, std::int64_t total);

    // Thread-safe; may be called from any thread, e.g. a Cancel button.
    void cancel() noexcept { m_cancelled.store(true, std::memory_order_relaxed); }
    void reset() noexcept { m_cancelled.store(false, std::memory_order_relaxed); }
    [[nodiscard]] bool isCancelled() const noexcept { return m_cancelled.load(std::memory_order_relaxed); }
    // Throws CancelledError if cancel() was called.
    void checkCancelled() const;

private:
    std::mutex m_mutex;
    Callback m_callback;
    std::atomic<bool> m_cancelled{false};
};

// Null-safe helpers for the engine's `Progress *progress` parameters.
inline void reportProgress(Progress *progress, std::string_view stage, std::int64_t done, std::int64_t total)
{
    if (progress)
        progress->report(stage, done, total);
}
inline void checkCancelled(const Progress *progress)
{
    if (progress)
        progress->checkCancelled();
}

} // namespace qdq

#include "qdq/threading.h"

#include <algorithm>
#include <atomic>
#include <omp.h>
#include <sched.h>
#include <thread>

namespace qdq {

namespace {
std::atomic<int> g_threads{0};
}

int hardwareThreads() noexcept
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        const int n = CPU_COUNT(&set);
        if (n > 0)
            return n;
    }
    return static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
}

void setNumThreads(int threads)
{
    g_threads.store(std::max(0, threads), std::memory_order_relaxed);
    applyNumThreads();
}

int numThreads() noexcept
{
    const int n = g_threads.load(std::memory_order_relaxed);
    return n > 0 ? n : hardwareThreads();
}

void applyNumThreads() noexcept
{
    omp_set_num_threads(numThreads());
}

} // namespace qdq

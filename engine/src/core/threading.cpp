#include "qdq/threading.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <omp.h>
#include <sched.h>
#include <thread>
#include <unistd.h>

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

void reexecWithShortOpenMpSpin(char **argv) noexcept
{
    if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr)
        return;
    ::setenv("GOMP_SPINCOUNT", "1000", 1);
    ::execv("/proc/self/exe", argv); // returns only on failure: carry on with the default policy
}

} // namespace qdq

#include "qdq/threading.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <limits>
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

int runnableTasks() noexcept
{
    // /proc/loadavg: "0.52 0.58 0.59 2/345 1234"; the fourth field is runnable / all tasks, now
    std::FILE *f = std::fopen("/proc/loadavg", "r");
    if (!f)
        return -1;
    int running = -1;
    if (std::fscanf(f, "%*f %*f %*f %d", &running) != 1)
        running = -1;
    std::fclose(f);
    return running;
}

bool coresAreFree(int threads) noexcept
{
    const long online = ::sysconf(_SC_NPROCESSORS_ONLN);
    if (online < 1)
        return false; // unknown: assume shared
    // A task that keeps a core busy is runnable in every sample; one that only passes by (a
    // kernel worker, a process exiting) is not, so the fewest runnable of five samples counts.
    int others = std::numeric_limits<int>::max();
    for (int sample = 0; sample < 5; ++sample) {
        if (sample > 0)
            ::usleep(1000);
        const int running = runnableTasks();
        if (running < 1)
            return false;
        others = std::min(others, running - 1); // this process is one of them
    }
    return others + threads <= online;
}

const char *openMpSpinCount(int threads) noexcept
{
    return coresAreFree(threads) ? kFreeCoresSpin : kSharedCoresSpin;
}

bool openMpSpinsLong() noexcept
{
    const char *spin = std::getenv("GOMP_SPINCOUNT");
    return spin != nullptr && std::strtoll(spin, nullptr, 10) >= std::atoll(kFreeCoresSpin);
}

void reexecWithRuntimeSettings(char **argv) noexcept
{
    bool changed = false;
    if (std::getenv("OMP_WAIT_POLICY") == nullptr && std::getenv("GOMP_SPINCOUNT") == nullptr) {
        ::setenv("GOMP_SPINCOUNT", openMpSpinCount(hardwareThreads()), 1);
        changed = true;
    }
    if (std::getenv("GLIBC_TUNABLES") == nullptr) {
        ::setenv("GLIBC_TUNABLES", kMallocHugePages, 1);
        changed = true;
    }
    if (changed)
        ::execv("/proc/self/exe", argv); // returns only on failure: carry on as we are
}

} // namespace qdq

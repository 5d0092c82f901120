// qdq devices: what this build and machine can compute on.
#include "cli/cli.h"

#include "qdq/cpu_isa.h"
#include "qdq/device.h"
#include "qdq/threading.h"

#include <cstdio>

namespace qdq::cli {
namespace {

int runDevices(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription("List the devices this build can use: CPU threads and CUDA GPUs.");
    addCommonOptions(parser);
    const CommonOptions common = parseArgs(parser, args, "devices");

    const CudaStatus cuda = cudaStatus();
    if (common.json) {
        nlohmann::json gpus = nlohmann::json::array();
        for (const CudaDeviceInfo &d : cuda.devices)
            gpus.push_back(
                {{"device", "cuda:" + std::to_string(d.index)},
                 {"name", d.name},
                 {"compute_capability", std::to_string(d.computeMajor) + "." + std::to_string(d.computeMinor)},
                 {"total_memory", d.totalMemory},
                 {"free_memory", d.freeMemory}});
        printJson({{"cpu",
                    {{"threads", numThreads()},
                     {"hardware_threads", hardwareThreads()},
                     {"isa", cpuIsaName(cpuIsa())},
                     {"isa_detected", cpuIsaName(cpuIsaDetected())},
                     {"int8_gemm", int8GemmName(int8Gemm())},
                     {"isa_summary", cpuIsaSummary()}}},
                   {"cuda",
                    {{"compiled_in", cuda.compiledIn},
                     {"available", cuda.available},
                     {"message", cuda.message},
                     {"devices", gpus}}}});
        return Ok;
    }
    std::printf("cpu      %d threads (%d hardware); ISA %s\n", numThreads(), hardwareThreads(),
                cpuIsaSummary().c_str());
    if (!cuda.available)
        std::printf("cuda     unavailable: %s\n", cuda.message.c_str());
    for (const CudaDeviceInfo &d : cuda.devices)
        std::printf("cuda:%-3d %s (sm_%d%d, %.1f GiB)\n", d.index, d.name.c_str(), d.computeMajor, d.computeMinor,
                    static_cast<double>(d.totalMemory) / (1024.0 * 1024.0 * 1024.0));
    return Ok;
}

const RegisterCommand registerDevices({"devices", "List the CPU and CUDA devices this build can use", runDevices});

} // namespace
} // namespace qdq::cli

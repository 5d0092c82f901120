#include "qdq/version.h"

#include "qdq/cpu_isa.h"
#include "qdq/device.h"
#include "qdq/errors.h"
#include "qdq/threading.h"
#include "qdq_build_info.h"

#include <oneapi/dnnl/dnnl.h>

namespace qdq {

const char *versionString() noexcept
{
    return QDQ_VERSION_STRING;
}

std::string buildSummary()
{
    std::string out;
    out += "qdq-inspector ";
    out += QDQ_VERSION_STRING;
    out += " (";
    out += QDQ_BUILD_TYPE;
    out += ", ";
    out += QDQ_CXX_COMPILER;
    out += ")\n";
    const dnnl_version_t *v = dnnl_version();
    out += "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) +
           " (CPU runtime OpenMP)\n";
    const CudaStatus cuda = cudaStatus();
    out += "CUDA backend: ";
    if (!cuda.compiledIn) {
        out += "not built";
    } else {
        out += "built; ";
        out += cuda.message;
        for (const CudaDeviceInfo &d : cuda.devices)
            out += "; cuda:" + std::to_string(d.index) + " " + d.name;
    }
    out += "\nCPU ISA: ";
    try {
        out += cpuIsaSummary();
    } catch (const Error &e) { // an unknown QDQ_MAX_ISA: said here, refused by every command that computes
        out += e.message();
    }
    out += "\nthreads: " + std::to_string(numThreads()) + " of " + std::to_string(hardwareThreads()) + " hardware\n";
    return out;
}

} // namespace qdq

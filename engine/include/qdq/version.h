#pragma once
// Version and build information of the engine.

#include <string>

namespace qdq {

[[nodiscard]] const char *versionString() noexcept; // "0.1.0"
[[nodiscard]] std::string buildSummary();           // compiler, oneDNN, CUDA, threads; one line each

} // namespace qdq

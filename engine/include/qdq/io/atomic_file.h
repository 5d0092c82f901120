#pragma once
// Writing files so that a failure never leaves a partial output: data goes to a temporary
// file beside the target, which is renamed over the target only after a successful close.

#include <filesystem>
#include <functional>
#include <ostream>
#include <string_view>

namespace qdq {

// Calls write(stream) on a temporary file next to `path`, then renames it to `path`. On any
// exception or stream failure the temporary file is removed and IoError (naming `path`) or the
// original exception propagates; `path` is then untouched.
void writeFileAtomically(const std::filesystem::path &path, const std::function<void(std::ostream &)> &write);
void writeFileAtomically(const std::filesystem::path &path, std::string_view contents);

} // namespace qdq

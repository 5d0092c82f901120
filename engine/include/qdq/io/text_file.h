#pragma once
// Small text files read from untrusted folders (config.json, vocab.txt, tokenizer.json, index
// files, --inputs / --data files) and JSON parsed from them, with the limits of SECURITY.md
// "Limits": only regular files (symlinks are followed; a FIFO, a character device or a folder is
// refused before any read), at most a stated size (checked against the file's size before
// reading), and JSON nested at most kMaxJsonDepth deep (so that no later recursive walk, such
// as nlohmann's dump() in an error message, can overflow the stack).

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace qdq::io {

inline constexpr std::size_t kMaxTextFileBytes = std::size_t{64} << 20;
inline constexpr int kMaxJsonDepth = 512;

// The whole file. IoError when it cannot be opened or is not a regular file, FormatError when
// it is larger than maxBytes; both name the file.
[[nodiscard]] std::string readTextFile(const std::filesystem::path &path, std::size_t maxBytes = kMaxTextFileBytes);

// IoError naming the file unless `path` is (a symlink to) a regular file: for readers that
// stream a file of any size (calibration data) rather than read it whole.
void requireRegularFile(const std::filesystem::path &path);

// nlohmann::json::parse with the depth limit; otherwise FormatError "<what>: <the JSON error>"
// (or "<what>: nested deeper than 512 levels") naming `file` and `field`.
[[nodiscard]] nlohmann::json parseJson(std::string_view text, const std::string &file,
                                       const std::string &what = "not valid JSON", const std::string &field = {});

} // namespace qdq::io

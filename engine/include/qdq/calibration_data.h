#pragma once
// Calibration data: the examples a calibration run feeds through the model (reference §4.1
// step 3, §4.8: the HF example uses 128 shuffled training features). Formats, sniffed from the
// file name's extension:
//   *.jsonl / *.json  one JSON object per line: {"text": ..., "text_pair": ...} (text_pair
//                     optional; other names with DataOptions::column / pairColumn)
//   *.csv / *.tsv     a header row, then rows; the text is the column named DataOptions::column
//                     (default "text"), the optional pair the column named pairColumn. RFC 4180
//                     quoting ("a ""b"", c") in both.
//   anything else     plain text, one example per line (blank lines skipped).
// A bad file throws FormatError naming the file, the line and the field.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace qdq {

struct CalibrationExample {
    std::string text;
    std::optional<std::string> pair; // second segment (token type 1), when the data has one
};

enum class DataFormat { Text, Jsonl, Csv, Tsv };

struct DataOptions {
    std::optional<DataFormat> format; // unset: from the extension (see above)
    std::string column;               // "" = "text"
    std::string pairColumn;           // "" = "text_pair" for JSONL (optional there), none for CSV/TSV
};

[[nodiscard]] DataFormat dataFormatForPath(const std::filesystem::path &path) noexcept;

// Every example of the file, in file order. Throws IoError when unreadable, FormatError for a
// malformed line, a missing column or a file without any example.
[[nodiscard]] std::vector<CalibrationExample> readCalibrationData(const std::filesystem::path &path,
                                                                  const DataOptions &options = {});

// The examples a run uses: without a seed the first `count` in file order; with a seed a
// deterministic Fisher-Yates shuffle first (for i = n-1 .. 1: j = splitmix64() % (i + 1),
// swap(i, j); splitmix64 state starts at `seed`), so the same seed picks the same examples on
// every platform. count <= 0 or > size: all of them.
[[nodiscard]] std::vector<CalibrationExample> selectExamples(std::vector<CalibrationExample> examples,
                                                             std::int64_t count,
                                                             std::optional<std::uint64_t> seed = std::nullopt);

} // namespace qdq

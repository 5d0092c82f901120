// libFuzzer target: calibration data files (readCalibrationData) in each of the four formats.
// The first input byte picks the format (text, JSONL, CSV, TSV); the rest is the file, written
// to a private temporary file because the reader takes a path.
#include "qdq/calibration_data.h"
#include "qdq/errors.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <unistd.h>

namespace {

const std::filesystem::path &scratch()
{
    static const std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("qdq-fuzz-calibration-" + std::to_string(::getpid()));
    return path;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    if (size == 0)
        return 0;
    static constexpr qdq::DataFormat kFormats[] = {qdq::DataFormat::Text, qdq::DataFormat::Jsonl, qdq::DataFormat::Csv,
                                                   qdq::DataFormat::Tsv};
    qdq::DataOptions options;
    options.format = kFormats[data[0] & 3];
    if (data[0] & 4)
        options.pairColumn = "pair";
    FILE *f = std::fopen(scratch().c_str(), "wb");
    if (!f)
        std::abort();
    if (size > 1 && std::fwrite(data + 1, 1, size - 1, f) != size - 1)
        std::abort();
    std::fclose(f);
    try {
        const auto examples = qdq::readCalibrationData(scratch(), options);
        (void)qdq::selectExamples(examples, static_cast<std::int64_t>(data[0] >> 3), data[0]);
    } catch (const qdq::Error &) {
    }
    std::filesystem::remove(scratch());
    return 0;
}

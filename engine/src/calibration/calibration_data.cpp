// Calibration data readers (calibration_data.h).
#include "qdq/calibration_data.h"

#include "qdq/errors.h"
#include "qdq/io/text_file.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace qdq {
namespace {

std::string lowerExtension(const std::filesystem::path &path)
{
    std::string ext = path.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return ext;
}

Location at(const std::filesystem::path &path, std::int64_t line, const std::string &field = {})
{
    std::string where = "line " + std::to_string(line);
    if (!field.empty())
        where += ", " + field;
    return {path.string(), {}, where};
}

void stripLineEnd(std::string &line)
{
    if (!line.empty() && line.back() == '\r')
        line.pop_back();
}

bool isBlank(const std::string &s)
{
    return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c) != 0; });
}

std::vector<CalibrationExample> readText(std::istream &in)
{
    std::vector<CalibrationExample> out;
    std::string line;
    while (std::getline(in, line)) {
        stripLineEnd(line);
        if (!isBlank(line))
            out.push_back({line, std::nullopt});
    }
    return out;
}

std::vector<CalibrationExample> readJsonl(std::istream &in, const std::filesystem::path &path, const DataOptions &o)
{
    const std::string textKey = o.column.empty() ? "text" : o.column;
    const std::string pairKey = o.pairColumn.empty() ? "text_pair" : o.pairColumn;
    const bool pairRequired = !o.pairColumn.empty();
    std::vector<CalibrationExample> out;
    std::string line;
    std::int64_t lineNo = 0;
    while (std::getline(in, line)) {
        ++lineNo;
        stripLineEnd(line);
        if (isBlank(line))
            continue;
        nlohmann::json j;
        try {
            j = io::parseJson(line, path.string(), "malformed JSON");
        } catch (const FormatError &e) {
            throw FormatError(e.message(), at(path, lineNo));
        }
        if (!j.is_object())
            throw FormatError("expected a JSON object with a \"" + textKey + "\" string", at(path, lineNo));
        const auto t = j.find(textKey);
        if (t == j.end() || !t->is_string())
            throw FormatError("missing string field \"" + textKey + "\"", at(path, lineNo, textKey));
        CalibrationExample ex{t->get<std::string>(), std::nullopt};
        const auto p = j.find(pairKey);
        if (p != j.end() && !p->is_null()) {
            if (!p->is_string())
                throw FormatError("field \"" + pairKey + "\" is not a string", at(path, lineNo, pairKey));
            ex.pair = p->get<std::string>();
        } else if (pairRequired) {
            throw FormatError("missing string field \"" + pairKey + "\"", at(path, lineNo, pairKey));
        }
        out.push_back(std::move(ex));
    }
    return out;
}

// One CSV/TSV record (RFC 4180 quoting; a quoted field may span lines). False at end of input.
bool readRecord(std::istream &in, char delimiter, std::vector<std::string> &fields, std::int64_t &lineNo,
                const std::filesystem::path &path)
{
    fields.clear();
    std::string line;
    if (!std::getline(in, line))
        return false;
    ++lineNo;
    const std::int64_t startLine = lineNo;
    std::string field;
    bool quoted = false;
    bool wasQuoted = false;
    for (;;) {
        stripLineEnd(line);
        for (std::size_t i = 0; i < line.size(); ++i) {
            const char c = line[i];
            if (quoted) {
                if (c == '"') {
                    if (i + 1 < line.size() && line[i + 1] == '"') {
                        field += '"';
                        ++i;
                    } else {
                        quoted = false;
                    }
                } else {
                    field += c;
                }
            } else if (c == '"' && field.empty() && !wasQuoted) {
                quoted = true;
                wasQuoted = true;
            } else if (c == delimiter) {
                fields.push_back(std::move(field));
                field.clear();
                wasQuoted = false;
            } else {
                field += c;
            }
        }
        if (!quoted)
            break;
        field += '\n';
        if (!std::getline(in, line))
            throw FormatError("unterminated quoted field", at(path, startLine));
        ++lineNo;
    }
    fields.push_back(std::move(field));
    return true;
}

std::vector<CalibrationExample> readDelimited(std::istream &in, char delimiter, const std::filesystem::path &path,
                                              const DataOptions &o)
{
    const std::string textColumn = o.column.empty() ? "text" : o.column;
    std::vector<std::string> fields;
    std::int64_t lineNo = 0;
    if (!readRecord(in, delimiter, fields, lineNo, path))
        throw FormatError("empty file: expected a header row naming the columns", at(path, 1));
    auto columnIndex = [&](const std::string &name) -> std::size_t {
        const auto it = std::find(fields.begin(), fields.end(), name);
        if (it == fields.end()) {
            std::string have;
            for (const std::string &f : fields)
                have += (have.empty() ? "" : ", ") + f;
            throw FormatError("no column \"" + name + "\" in the header (columns: " + have + ")", at(path, 1, name));
        }
        return static_cast<std::size_t>(it - fields.begin());
    };
    const std::size_t textIndex = columnIndex(textColumn);
    constexpr std::size_t kNone = static_cast<std::size_t>(-1);
    const std::size_t pairIndex = o.pairColumn.empty() ? kNone : columnIndex(o.pairColumn);
    const std::size_t columns = fields.size();
    std::vector<CalibrationExample> out;
    while (readRecord(in, delimiter, fields, lineNo, path)) {
        if (fields.size() == 1 && isBlank(fields[0]))
            continue;
        if (fields.size() != columns)
            throw FormatError("expected " + std::to_string(columns) + " fields, found " + std::to_string(fields.size()),
                              at(path, lineNo));
        CalibrationExample ex{fields[textIndex], std::nullopt};
        if (pairIndex != kNone)
            ex.pair = fields[pairIndex];
        out.push_back(std::move(ex));
    }
    return out;
}

std::uint64_t splitmix64(std::uint64_t &state) noexcept
{
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31U);
}

} // namespace

DataFormat dataFormatForPath(const std::filesystem::path &path) noexcept
{
    const std::string ext = lowerExtension(path);
    if (ext == ".jsonl" || ext == ".json" || ext == ".ndjson")
        return DataFormat::Jsonl;
    if (ext == ".csv")
        return DataFormat::Csv;
    if (ext == ".tsv" || ext == ".tab")
        return DataFormat::Tsv;
    return DataFormat::Text;
}

std::vector<CalibrationExample> readCalibrationData(const std::filesystem::path &path, const DataOptions &options)
{
    io::requireRegularFile(path); // a device or FIFO would be read forever
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw IoError("cannot open calibration data", {path.string(), {}, {}});
    const DataFormat format = options.format.value_or(dataFormatForPath(path));
    std::vector<CalibrationExample> out;
    switch (format) {
    case DataFormat::Text:
        out = readText(in);
        break;
    case DataFormat::Jsonl:
        out = readJsonl(in, path, options);
        break;
    case DataFormat::Csv:
        out = readDelimited(in, ',', path, options);
        break;
    case DataFormat::Tsv:
        out = readDelimited(in, '\t', path, options);
        break;
    }
    if (in.bad())
        throw IoError("read error", {path.string(), {}, {}});
    if (out.empty())
        throw FormatError("calibration data has no examples", {path.string(), {}, {}});
    return out;
}

std::vector<CalibrationExample> selectExamples(std::vector<CalibrationExample> examples, std::int64_t count,
                                               std::optional<std::uint64_t> seed)
{
    if (seed && examples.size() > 1) {
        std::uint64_t state = *seed;
        for (std::size_t i = examples.size() - 1; i > 0; --i) {
            const std::size_t j = static_cast<std::size_t>(splitmix64(state) % (i + 1));
            std::swap(examples[i], examples[j]);
        }
    }
    if (count > 0 && static_cast<std::size_t>(count) < examples.size())
        examples.resize(static_cast<std::size_t>(count));
    return examples;
}

} // namespace qdq

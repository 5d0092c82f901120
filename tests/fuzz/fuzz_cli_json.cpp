// libFuzzer target: the CLI's error reporting (app/cli/cli.cpp: runGuarded, printError) with
// arbitrary message and location strings, e.g. invalid UTF-8 from a pickle global's name, a tensor
// key or a CSV header. It must never throw: with --json it prints exactly one JSON document that
// parses, and runGuarded returns the contract's exit code for each kind of exception.
// The input: byte 0 chooses the exception (qdq::FormatError, ShapeError, UnsupportedError, IoError,
// CancelledError, cli::UsageError, std::runtime_error, std::bad_alloc) and --json; the rest is
// message, file, tensor and field separated by NUL bytes.
#include "cli/cli.h"
#include "qdq/errors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <new>
#include <sstream>
#include <string>
#include <string_view>

namespace {

// Whether nlohmann::json can write `s` as a string (valid UTF-8).
bool validUtf8(const std::string &s)
{
    try {
        (void)nlohmann::json(s).dump();
        return true;
    } catch (const nlohmann::json::exception &) {
        return false;
    }
}

struct Captured {
    std::ostringstream out;
    std::ostringstream err;
    std::streambuf *oldOut = std::cout.rdbuf(out.rdbuf());
    std::streambuf *oldErr = std::cerr.rdbuf(err.rdbuf());
    ~Captured()
    {
        std::cout.rdbuf(oldOut);
        std::cerr.rdbuf(oldErr);
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    if (size == 0)
        return 0;
    const std::string_view input(reinterpret_cast<const char *>(data), size);
    const auto choice = static_cast<unsigned char>(input[0]);
    std::array<std::string, 4> parts; // message, file, tensor, field
    std::size_t start = 1;
    for (std::size_t i = 0; i < parts.size() && start <= input.size(); ++i) {
        std::size_t end = input.find('\0', start);
        if (end == std::string_view::npos)
            end = input.size();
        parts[i] = std::string(input.substr(start, end - start));
        start = end + 1;
    }
    const bool json = (choice & 0x80) != 0;
    const qdq::Location where{parts[1], parts[2], parts[3]};
    int expected = qdq::cli::BadInput;
    Captured captured;
    const int code = qdq::cli::runGuarded(json, [&]() -> int {
        switch (choice & 7) {
        case 0:
            throw qdq::FormatError(parts[0], where);
        case 1:
            throw qdq::ShapeError(parts[0], where);
        case 2:
            throw qdq::UnsupportedError(parts[0], where);
        case 3:
            throw qdq::IoError(parts[0], where);
        case 4:
            expected = qdq::cli::Interrupted; // the CLI cancels only on SIGINT
            throw qdq::CancelledError(parts[0], where);
        case 5:
            expected = qdq::cli::Usage;
            throw qdq::cli::UsageError(parts[0]);
        case 6:
            expected = qdq::cli::Internal;
            throw std::runtime_error(parts[0]);
        default:
            expected = qdq::cli::Internal;
            throw std::bad_alloc();
        }
    });
    if (code != expected)
        std::abort();
    if (json) {
        // exactly one JSON document with error.code and error.message
        const nlohmann::json doc = nlohmann::json::parse(captured.out.str());
        const nlohmann::json &err = doc.at("error");
        if (err.at("code").get<int>() != code || !err.at("message").is_string())
            std::abort();
        // a valid message is kept as it is, but on one line (line breaks become spaces)
        std::string oneLine = parts[0];
        std::replace_if(
            oneLine.begin(), oneLine.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
        if ((choice & 7) < 7 && validUtf8(parts[0]) &&
            err.at("message").get<std::string>().find(oneLine) == std::string::npos)
            std::abort();
        if (err.at("message").get<std::string>().find_first_of("\n\r") != std::string::npos)
            std::abort();
    } else if (!captured.out.str().empty()) {
        std::abort(); // without --json nothing goes to stdout
    }
    return 0;
}

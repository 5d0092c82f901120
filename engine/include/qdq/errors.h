#pragma once
// Error hierarchy of the engine (style.md: "errors are types"). Thrown anywhere in the
// engine, caught once at the job boundary (CLI main, GUI worker) and shown as
// "<message> (<where>)", where `where` names the file, tensor and field involved.

#include <stdexcept>
#include <string>
#include <string_view>

namespace qdq {

// `text` as valid UTF-8: every byte that does not belong to a well-formed sequence becomes the
// four characters \xNN. Every Error passes its message and location through this (the one
// place), so that names read from hostile files (a tensor key, a pickle global, a CSV header)
// can be printed and written into JSON.
[[nodiscard]] std::string printableUtf8(std::string_view text);

// Where an error happened. Every part is optional; str() joins the ones that are set.
struct Location {
    std::string file;
    std::string tensor;
    std::string field;

    [[nodiscard]] std::string str() const;
    [[nodiscard]] bool empty() const { return file.empty() && tensor.empty() && field.empty(); }
};

class Error : public std::runtime_error {
public:
    explicit Error(const std::string &message, Location where = {});

    // The bare message, without the location.
    [[nodiscard]] const std::string &message() const noexcept { return m_message; }
    [[nodiscard]] const Location &where() const noexcept { return m_where; }
    // A short stable name of the error kind ("format", "shape", ...), used in JSON output.
    [[nodiscard]] virtual const char *kind() const noexcept { return "error"; }

private:
    std::string m_message;
    Location m_where;
};

// The bytes of a file (or a value in it) are not what the format requires.
class FormatError : public Error {
public:
    using Error::Error;
    [[nodiscard]] const char *kind() const noexcept override { return "format"; }
};

// Tensor shapes, dtypes or indices do not fit together.
class ShapeError : public Error {
public:
    using Error::Error;
    [[nodiscard]] const char *kind() const noexcept override { return "shape"; }
};

// Valid input that this build does not support (a dtype, an option, a device).
class UnsupportedError : public Error {
public:
    using Error::Error;
    [[nodiscard]] const char *kind() const noexcept override { return "unsupported"; }
};

// The user cancelled a long operation (Progress::cancel()).
class CancelledError : public Error {
public:
    explicit CancelledError(const std::string &message = "operation cancelled", Location where = {})
        : Error(message, std::move(where))
    {
    }
    [[nodiscard]] const char *kind() const noexcept override { return "cancelled"; }
};

// The operating system refused a file operation (open, read, map, write, rename).
class IoError : public Error {
public:
    using Error::Error;
    [[nodiscard]] const char *kind() const noexcept override { return "io"; }
};

} // namespace qdq

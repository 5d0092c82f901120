#include "qdq/io/text_file.h"

#include "qdq/errors.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace qdq::io {

std::string readTextFile(const std::filesystem::path &path, std::size_t maxBytes)
{
    const Location where{path.string(), {}, {}};
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK); // a FIFO must not block the open
    if (fd < 0)
        throw IoError(std::string("cannot open the file: ") + std::strerror(errno), where);
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0)
        throw IoError(std::string("cannot stat the file: ") + std::strerror(errno), where);
    if (!S_ISREG(st.st_mode))
        throw IoError("not a regular file (a device, FIFO, socket or folder cannot be read as text)", where);
    const auto size = static_cast<std::size_t>(st.st_size);
    if (size > maxBytes)
        throw FormatError("text file is " + std::to_string(size) + " bytes, more than the limit of " +
                              std::to_string(maxBytes),
                          where);
    std::string data(size, '\0');
    std::size_t done = 0;
    while (done < size) {
        const ssize_t n = ::read(fd, data.data() + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw IoError(std::string("cannot read the file: ") + std::strerror(errno), where);
        if (n == 0) // shrank while reading
            break;
        done += static_cast<std::size_t>(n);
    }
    data.resize(done);
    return data;
}

void requireRegularFile(const std::filesystem::path &path)
{
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        throw IoError(std::string("cannot open the file: ") + std::strerror(errno), {path.string(), {}, {}});
    if (!S_ISREG(st.st_mode))
        throw IoError("not a regular file (a device, FIFO, socket or folder cannot be read as text)",
                      {path.string(), {}, {}});
}

nlohmann::json parseJson(std::string_view text, const std::string &file, const std::string &what,
                         const std::string &field)
{
    try {
        // the parser itself is iterative; the callback refuses depth before a value is built
        return nlohmann::json::parse(
            text.begin(), text.end(), [&](int depth, nlohmann::json::parse_event_t, nlohmann::json &) {
                if (depth > kMaxJsonDepth)
                    throw FormatError(what + ": nested deeper than " + std::to_string(kMaxJsonDepth) + " levels",
                                      {file, {}, field});
                return true;
            });
    } catch (const nlohmann::json::exception &e) { // parse_error, or out_of_range for a number like 1e400
        throw FormatError(what + ": " + e.what(), {file, {}, field});
    }
}

} // namespace qdq::io

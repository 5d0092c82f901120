#include "qdq/io/atomic_file.h"

#include "qdq/errors.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <system_error>

namespace qdq {

void writeFileAtomically(const std::filesystem::path &path, const std::function<void(std::ostream &)> &write)
{
    const Location where{path.string(), {}, {}};
    std::random_device rd;
    const std::filesystem::path tmp = path.string() + ".tmp-" + std::to_string(rd());
    try {
        {
            std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
            if (!out)
                throw IoError(std::string("cannot create file: ") + std::strerror(errno), where);
            write(out);
            out.flush();
            if (!out)
                throw IoError("write failed (disk full?)", where);
        }
        std::error_code ec;
        std::filesystem::rename(tmp, path, ec);
        if (ec)
            throw IoError("cannot rename the finished file into place: " + ec.message(), where);
    } catch (...) {
        std::error_code ignored;
        std::filesystem::remove(tmp, ignored);
        throw;
    }
}

void writeFileAtomically(const std::filesystem::path &path, std::string_view contents)
{
    writeFileAtomically(path, [contents](std::ostream &out) {
        out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    });
}

} // namespace qdq

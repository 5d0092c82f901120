#include "qdq/storage.h"

#include "qdq/errors.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <new>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace qdq {

namespace {
constexpr std::size_t kAlignment = 64;
}

HostStorage::HostStorage(std::size_t bytes, bool zeroed) : m_size(bytes)
{
    // aligned_alloc requires a size that is a multiple of the alignment
    const std::size_t rounded = std::max<std::size_t>(kAlignment, (bytes + kAlignment - 1) / kAlignment * kAlignment);
    m_data = static_cast<std::byte *>(std::aligned_alloc(kAlignment, rounded));
    if (!m_data)
        throw UnsupportedError("cannot allocate " + std::to_string(bytes) + " bytes of host memory");
    if (zeroed)
        std::memset(m_data, 0, rounded);
}

HostStorage::~HostStorage()
{
    std::free(m_data);
}

MappedFile::MappedFile(std::filesystem::path path, const std::byte *data, std::size_t size)
    : m_path(std::move(path)), m_data(data), m_size(size)
{
}

MappedFile::~MappedFile()
{
    if (m_data && m_size > 0)
        munmap(const_cast<std::byte *>(m_data), m_size);
}

std::shared_ptr<MappedFile> MappedFile::open(const std::filesystem::path &path)
{
    const Location where{path.string(), {}, {}};
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw IoError(std::string("cannot open: ") + std::strerror(errno), where);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int err = errno;
        ::close(fd);
        throw IoError(std::string("cannot stat: ") + std::strerror(err), where);
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        throw IoError("not a regular file", where);
    }
    const auto size = static_cast<std::size_t>(st.st_size);
    const std::byte *data = nullptr;
    if (size > 0) {
        void *p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            const int err = errno;
            ::close(fd);
            throw IoError(std::string("cannot map into memory: ") + std::strerror(err), where);
        }
        data = static_cast<const std::byte *>(p);
    }
    ::close(fd); // the mapping keeps the file alive
    return std::make_shared<MappedFile>(path, data, size);
}

} // namespace qdq

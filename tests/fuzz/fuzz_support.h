#pragma once
// Shared by the libFuzzer entry points (tests/fuzz/fuzz_*.cpp). Each entry point feeds one input
// to one parser and accepts exactly one outcome besides success: a qdq::Error (the typed,
// located errors the CLI turns into exit code 2). Any other exception escapes and libFuzzer
// reports it as a crash, as it does for every ASan/UBSan finding.

#include "io/byte_source.h"
#include "qdq/tensor.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

namespace qdq::fuzz {

// The input as owned bytes of exactly its size (so ASan sees any read past the end).
inline std::shared_ptr<io::NamedHostStorage> bytesOf(const std::uint8_t *data, std::size_t size, std::string name)
{
    auto bytes = std::make_shared<io::NamedHostStorage>(size, std::move(name));
    if (size > 0)
        std::memcpy(bytes->mutableData(), data, size);
    return bytes;
}

// Reads every element a tensor view covers, so a view that points outside its storage is caught.
inline std::uint64_t touch(const Tensor &t)
{
    const Tensor c = t.contiguous();
    const auto *p = static_cast<const unsigned char *>(c.rawData());
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < c.nbytes(); ++i)
        sum += p[i];
    return sum;
}

} // namespace qdq::fuzz

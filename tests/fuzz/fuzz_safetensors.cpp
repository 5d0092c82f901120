// libFuzzer target: the safetensors header and the tensor views it declares (SafetensorsFile).
#include "fuzz_support.h"
#include "qdq/errors.h"
#include "qdq/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    try {
        const qdq::SafetensorsFile f =
            qdq::SafetensorsFile::open(qdq::fuzz::bytesOf(data, size, "fuzz.safetensors"), "fuzz.safetensors");
        for (const auto &[name, tensor] : f.tensors())
            (void)qdq::fuzz::touch(tensor);
    } catch (const qdq::Error &) {
    }
    return 0;
}

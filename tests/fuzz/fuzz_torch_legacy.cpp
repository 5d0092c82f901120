// libFuzzer target: the legacy (pre-1.6) PyTorch format: pickles back to back, then raw storages.
#include "fuzz_support.h"
#include "io/torch_format.h"
#include "qdq/errors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    try {
        for (const auto &[name, tensor] : qdq::io::readTorchLegacy(qdq::fuzz::bytesOf(data, size, "fuzz.bin")))
            (void)qdq::fuzz::touch(tensor);
    } catch (const qdq::Error &) {
    }
    return 0;
}

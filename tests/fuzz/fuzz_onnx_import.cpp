// libFuzzer target: ONNX import of Q/DQ amax (importOnnxAmaxFromBytes): protobuf parsing plus the
// walk over initializers, Constant nodes and Q/DQ pairs.
#include "qdq/errors.h"
#include "qdq/io/onnx_import.h"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const std::string bytes(reinterpret_cast<const char *>(data), size);
    qdq::OnnxImportOptions options;
    options.allowUnmapped = true;
    try {
        (void)qdq::importOnnxAmaxFromBytes(bytes, "fuzz.onnx", options);
    } catch (const qdq::Error &) {
    }
    return 0;
}

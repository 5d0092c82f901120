// libFuzzer target: the whitelist unpickler (io/pickle.h) over a stream of pickles, as the legacy
// format has them back to back.
#include "fuzz_support.h"
#include "io/pickle.h"
#include "qdq/errors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    qdq::io::pickle::Unpickler unpickler(reinterpret_cast<const std::byte *>(data), size, "fuzz.pkl");
    try {
        while (unpickler.position() < size)
            (void)unpickler.load();
    } catch (const qdq::Error &) {
    }
    return 0;
}

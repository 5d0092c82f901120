// libFuzzer target: the zip container (central directory, entry names, inflation caps) and the
// PyTorch zip checkpoint on top of it (data.pkl + storages).
#include "fuzz_support.h"
#include "io/torch_format.h"
#include "io/zip_archive.h"
#include "qdq/errors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    try {
        qdq::io::ZipArchive zip = qdq::io::ZipArchive::open(qdq::fuzz::bytesOf(data, size, "fuzz.pt"), "fuzz.pt");
        if (qdq::io::torchZipRoot(zip).empty()) {
            for (const auto &entry : zip.entries()) {
                const qdq::io::Bytes b = zip.read(entry.name);
                const auto *p = reinterpret_cast<const unsigned char *>(b->data());
                unsigned sum = 0;
                for (std::size_t i = 0; i < b->size(); ++i)
                    sum += p[i];
                (void)sum;
            }
        } else {
            for (const auto &[name, tensor] : qdq::io::readTorchZip(zip))
                (void)qdq::fuzz::touch(tensor);
        }
    } catch (const qdq::Error &) {
    }
    return 0;
}

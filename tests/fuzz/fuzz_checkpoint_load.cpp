// libFuzzer target: the end-to-end checkpoint load (loadCheckpoint): format sniffing, folders,
// zipped folders, nested zips, sharded indexes, config.json or the config inferred from shapes,
// key normalisation, the inventory and the finiteness check. The input is written to a scratch
// folder (fuzz_support.h, unpackFolder): byte 0 chooses what is opened, the records after it are
// the files.
//   byte 0 & 3: 0 or 3: the folder; 1: one file made of the bytes after byte 0 (records
//               ignored), sniffed; 2: the first record's file inside the folder (siblings present)
//   byte 0 >> 2: LoadOptions::numAttentionHeads (0: hidden / 64)
// A loaded checkpoint's tensors are read (those up to 16 MiB) so a view outside its storage is
// caught.
#include "fuzz_support.h"
#include "qdq/checkpoint.h"
#include "qdq/errors.h"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    if (size == 0)
        return 0;
    const std::string_view input(reinterpret_cast<const char *>(data), size);
    const auto mode = static_cast<unsigned char>(input[0]);
    const std::filesystem::path &dir = qdq::fuzz::ScratchDir::instance().fresh();
    std::filesystem::path target = dir;
    if ((mode & 3) == 1) {
        target = dir / "checkpoint";
        qdq::fuzz::writeFile(dir, "checkpoint", input.substr(1));
    } else {
        const qdq::fuzz::PackedFolder packed = qdq::fuzz::unpackFolder(input.substr(1));
        for (const auto &[name, contents] : packed.files)
            qdq::fuzz::writeFile(dir, name, contents);
        if ((mode & 3) == 2 && !packed.files.empty())
            target = dir / packed.files.front().first;
    }
    qdq::LoadOptions options;
    options.numAttentionHeads = mode >> 2;
    try {
        const qdq::Checkpoint checkpoint = qdq::loadCheckpoint(target, nullptr, options);
        for (const auto &[name, tensor] : checkpoint.tensors)
            if (tensor.numel() <= (std::int64_t{16} << 20) / static_cast<std::int64_t>(qdq::dtypeSize(tensor.dtype())))
                (void)qdq::fuzz::touch(tensor);
        for (const qdq::QuantizerInfo &q : checkpoint.quantizers)
            (void)checkpoint.quantizer(q.site);
    } catch (const qdq::Error &) {
    }
    return 0;
}

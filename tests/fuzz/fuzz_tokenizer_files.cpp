// libFuzzer target: the tokenizer's files (vocab.txt, tokenizer.json, tokenizer_config.json,
// config.json) as Tokenizer::fromFiles reads them from a checkpoint. The input is the four files'
// contents separated by NUL bytes (an empty part: that file is absent); a tokenizer that loads
// must then encode a sentence pair.
#include "qdq/errors.h"
#include "qdq/tokenizer.h"

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    static constexpr std::array<const char *, 4> kNames{"vocab.txt", "tokenizer.json", "tokenizer_config.json",
                                                        "config.json"};
    const std::string_view input(reinterpret_cast<const char *>(data), size);
    std::map<std::string, std::string> files;
    std::size_t start = 0;
    for (std::size_t i = 0; i < kNames.size() && start <= input.size(); ++i) {
        std::size_t end = input.find('\0', start);
        if (end == std::string_view::npos)
            end = input.size();
        if (end > start)
            files.emplace(kNames[i], std::string(input.substr(start, end - start)));
        start = end + 1;
    }
    try {
        for (const qdq::TokenizerFlavor flavor : {qdq::TokenizerFlavor::Fast, qdq::TokenizerFlavor::Slow}) {
            const qdq::Tokenizer tokenizer = qdq::Tokenizer::fromFiles(files, "fuzz", flavor);
            qdq::EncodeOptions options;
            options.truncation = qdq::TruncationStrategy::LongestFirst;
            options.maxLength = 16;
            options.padding = qdq::PaddingStrategy::MaxLength;
            (void)tokenizer.encodePair("Hello, world! Ünïcödé 日本語 [MASK] text", "a second [SEP] segment", options);
        }
    } catch (const qdq::Error &) {
    }
    return 0;
}

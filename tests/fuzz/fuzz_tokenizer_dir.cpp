// libFuzzer target: Tokenizer::fromDirectory on a folder holding the fuzzed vocab.txt,
// tokenizer.json, tokenizer_config.json and config.json, then encoding real text: sentences,
// a pair with truncation and padding, long words (word splitting, max_input_chars_per_word) and
// a batch. The input is the four files' contents separated by NUL bytes as in tokenizer_files (an
// empty part: that file is absent; the part "@zero": a symbolic link to /dev/zero), optionally
// followed by a fifth part that is encoded too.
#include "fuzz_support.h"
#include "qdq/errors.h"
#include "qdq/tokenizer.h"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

const std::vector<std::string> &texts()
{
    static const std::vector<std::string> t = [] {
        std::vector<std::string> v{
            "The quick brown fox jumps over the lazy dog.",
            "Hello, world! Ünïcödé 日本語 [MASK] text, naïve café; don't stop-believing (1,234.5 %)",
            "  \t multiple   spaces\nand\r\nnewlines \u00a0 nbsp \u200b zero-width ",
        };
        std::string word;
        for (int i = 0; i < 40; ++i)
            word += "unaffable";
        v.push_back(word);                             // 360 characters in one word
        v.push_back(std::string(1000, 'a'));           // 1,000 characters, one letter
        v.push_back(word + " " + word + "é日" + word); // long words with neighbours
        return v;
    }();
    return t;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    static constexpr std::array<const char *, 4> kNames{"vocab.txt", "tokenizer.json", "tokenizer_config.json",
                                                        "config.json"};
    const std::string_view input(reinterpret_cast<const char *>(data), size);
    const std::filesystem::path &dir = qdq::fuzz::ScratchDir::instance().fresh();
    std::size_t start = 0;
    std::string extra;
    for (std::size_t i = 0; i <= kNames.size() && start <= input.size(); ++i) {
        std::size_t end = input.find('\0', start);
        if (end == std::string_view::npos)
            end = input.size();
        if (i == kNames.size())
            extra = std::string(input.substr(start));
        else if (end > start)
            qdq::fuzz::writeFile(dir, kNames[i], input.substr(start, end - start));
        start = end + 1;
    }
    try {
        for (const qdq::TokenizerFlavor flavor : {qdq::TokenizerFlavor::Fast, qdq::TokenizerFlavor::Slow}) {
            const qdq::Tokenizer tokenizer = qdq::Tokenizer::fromDirectory(dir, flavor);
            for (const std::string &text : texts())
                (void)tokenizer.encode(text);
            if (!extra.empty())
                (void)tokenizer.tokenize(extra);
            qdq::EncodeOptions options;
            options.truncation = qdq::TruncationStrategy::LongestFirst;
            options.maxLength = 24;
            options.padding = qdq::PaddingStrategy::MaxLength;
            (void)tokenizer.encodePair(texts()[0], texts()[1], options);
            options.padding = qdq::PaddingStrategy::Longest;
            options.maxLength.reset();
            (void)tokenizer.encodeBatch({texts()[0], texts()[2], extra}, {}, options);
            for (std::size_t id = 0; id < tokenizer.vocabSize() && id < 8; ++id)
                (void)tokenizer.tokenId(tokenizer.tokenText(static_cast<std::int32_t>(id)));
        }
    } catch (const qdq::Error &) {
    }
    return 0;
}

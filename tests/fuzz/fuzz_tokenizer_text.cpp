// libFuzzer target: arbitrary bytes as tokenizer input text (BERT WordPiece, both flavours,
// cased and uncased vocabularies of ../shared/models). The first input byte picks the options:
// bit 0 flavour, bit 1 vocabulary, bit 2 a sentence pair (split at the first NUL), bits 3-4
// truncation, bits 5-7 max length; the rest is the text. Invalid UTF-8 must never throw.
#include "qdq/errors.h"
#include "qdq/tokenizer.h"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#ifndef QDQ_SHARED_DIR
#error "QDQ_SHARED_DIR must name ../shared (the vocabularies)"
#endif

namespace {

qdq::Tokenizer &tokenizer(bool cased)
{
    static qdq::Tokenizer uncased = qdq::Tokenizer::fromPath(
        std::string(QDQ_SHARED_DIR) + "/models/vocab-bert-base-uncased/vocab.txt", qdq::TokenizerFlavor::Fast);
    static qdq::Tokenizer withCase = qdq::Tokenizer::fromPath(
        std::string(QDQ_SHARED_DIR) + "/models/vocab-bert-base-cased/vocab.txt", qdq::TokenizerFlavor::Fast);
    return cased ? withCase : uncased;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    if (size == 0)
        return 0;
    const std::uint8_t mode = data[0];
    const std::string_view text(reinterpret_cast<const char *>(data) + 1, size - 1);
    qdq::Tokenizer &base = tokenizer((mode & 2) != 0);
    base.setFlavor((mode & 1) ? qdq::TokenizerFlavor::Slow : qdq::TokenizerFlavor::Fast);
    qdq::EncodeOptions options;
    static constexpr qdq::TruncationStrategy kTruncations[] = {
        qdq::TruncationStrategy::DoNotTruncate, qdq::TruncationStrategy::LongestFirst,
        qdq::TruncationStrategy::OnlyFirst, qdq::TruncationStrategy::OnlySecond};
    options.truncation = kTruncations[(mode >> 3) & 3];
    options.maxLength = static_cast<std::size_t>(mode >> 5) * 3;
    options.padding = (mode & 4) ? qdq::PaddingStrategy::Longest : qdq::PaddingStrategy::DoNotPad;
    try {
        const qdq::Encoding e =
            (mode & 4) && text.find('\0') != std::string_view::npos
                ? base.encodePair(text.substr(0, text.find('\0')), text.substr(text.find('\0') + 1), options)
                : base.encode(text, options);
        for (std::size_t i = 0; i < e.size(); ++i)
            if (e.offsets[i].begin > e.offsets[i].end || e.byteOffsets[i].end > size)
                std::abort();
        (void)base.tokenizeToStrings(text);
    } catch (const qdq::Error &) {
        // only truncation that cannot fit (e.g. only_second without a pair) may refuse the input
    }
    return 0;
}

#pragma once
// BERT WordPiece tokenizer with parity to transformers' BertTokenizer ("slow", Python) and
// BertTokenizerFast ("fast", Rust tokenizers) — reference §6. Qt-free.
//
// Input text is UTF-8. Invalid UTF-8 never throws: it is decoded like Python's
// bytes.decode("utf-8", errors="replace") (one U+FFFD per maximal invalid subsequence), and the
// BasicTokenizer's clean-text step then drops every U+FFFD (reference §6.3 step 1), so invalid
// bytes behave exactly as a Python caller that decoded them with replacement.
//
// Offsets: every token carries [begin, end) in code points of its (decoded) input text, the
// convention of the fast tokenizer's offset_mapping, and the same span in UTF-8 bytes of the
// input as given (for the GUI). Special tokens and padding get (0, 0). In the slow flavour the
// offsets are this library's own (Python's slow tokenizer has none) and follow the same rules.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qdq {

// Which reference to match where they differ (reference §6.8). AutoTokenizer gives Fast.
enum class TokenizerFlavor { Fast, Slow };

enum class TruncationStrategy { DoNotTruncate, LongestFirst, OnlyFirst, OnlySecond };
enum class PaddingStrategy { DoNotPad, Longest, MaxLength };

// Settings of the tokenizer itself, as in tokenizer_config.json / tokenizer.json.
struct TokenizerOptions {
    bool doLowerCase = true;
    std::optional<bool> stripAccents; // unset: follows doLowerCase (reference §6.3 step 5)
    bool tokenizeChineseChars = true;
    bool splitOnPunctuation = true; // do_split_on_punc
    // Words kept whole by the BasicTokenizer and not WordPiece'd (slow flavour only: the fast
    // tokenizer has no such option, reference §6.2 step 3).
    std::vector<std::string> neverSplit;
    std::string unkToken = "[UNK]";
    std::string sepToken = "[SEP]";
    std::string padToken = "[PAD]";
    std::string clsToken = "[CLS]";
    std::string maskToken = "[MASK]";
    std::size_t maxInputCharsPerWord = 100;
    // Length used when truncation is asked for without a max length, and by MaxLength padding
    // without one.
    std::size_t modelMaxLength = 512;
    TokenizerFlavor flavor = TokenizerFlavor::Fast;

    [[nodiscard]] bool stripsAccents() const noexcept { return stripAccents.value_or(doLowerCase); }
};

// Settings of one encode call (the keyword arguments of the Python __call__).
struct EncodeOptions {
    bool addSpecialTokens = true;
    TruncationStrategy truncation = TruncationStrategy::DoNotTruncate;
    std::optional<std::size_t> maxLength; // unset: the tokenizer's modelMaxLength
    PaddingStrategy padding = PaddingStrategy::DoNotPad;
};

struct TextSpan {
    std::size_t begin = 0;
    std::size_t end = 0;
    friend bool operator==(const TextSpan &, const TextSpan &) = default;
};

// One encoded sequence (or pair), parallel arrays of equal length.
struct Encoding {
    std::vector<std::int32_t> ids;
    std::vector<std::string> tokens;
    std::vector<std::int32_t> typeIds;
    std::vector<std::int32_t> attentionMask;
    std::vector<std::int32_t> specialTokensMask;
    // 0: token of the first text, 1: of the second, -1: special token or padding.
    std::vector<std::int32_t> sequenceIds;
    std::vector<TextSpan> offsets;     // code points of the text named by sequenceIds
    std::vector<TextSpan> byteOffsets; // UTF-8 bytes of that text

    [[nodiscard]] std::size_t size() const noexcept { return ids.size(); }
};

// A piece of text before special tokens are added: what tokenize() returns.
struct Token {
    std::int32_t id = 0;
    TextSpan offset;     // code points
    TextSpan byteOffset; // UTF-8 bytes of the input as given
};

class Vocabulary;

// The tokens of a vocab.txt in id order, read as the tokenizer reads it (reference §6.5: one
// token per line, only '\n' stripped; a regular file of at most 64 MiB). IoError when it cannot
// be read, FormatError when it is empty; both name the file.
[[nodiscard]] std::vector<std::string> readVocabularyFile(const std::filesystem::path &path);

class Tokenizer {
public:
    // Reads vocab.txt (or the WordPiece vocab of tokenizer.json when vocab.txt is absent) and
    // the optional tokenizer_config.json, tokenizer.json and config.json of a model folder.
    // Settings no file gives fall back to BERT's: lowercasing is inferred from the vocabulary
    // (a vocabulary with upper-case entries is a cased one), model_max_length from config.json's
    // max_position_embeddings, else 512.
    static Tokenizer fromDirectory(const std::filesystem::path &directory,
                                   TokenizerFlavor flavor = TokenizerFlavor::Fast);
    // A vocab.txt (one token per line, id = line index) with the given settings.
    // The same from file contents by name ("vocab.txt", "tokenizer.json", "tokenizer_config.json",
    // "config.json"), e.g. a checkpoint's tokenizer files read from a zip; `directory` is where
    // they came from, used in messages.
    static Tokenizer fromFiles(const std::map<std::string, std::string> &files, const std::filesystem::path &directory,
                               TokenizerFlavor flavor = TokenizerFlavor::Fast);
    static Tokenizer fromVocabFile(const std::filesystem::path &vocabFile, TokenizerOptions options = {});
    // A folder (fromDirectory) or a vocab.txt file (fromVocabFile, lowercasing inferred from the
    // vocabulary as in fromDirectory).
    static Tokenizer fromPath(const std::filesystem::path &path, TokenizerFlavor flavor = TokenizerFlavor::Fast);
    // Vocabulary given in memory, tokens in id order.
    static Tokenizer fromTokens(std::vector<std::string> tokens, TokenizerOptions options = {});

    Tokenizer(Tokenizer &&) noexcept;
    Tokenizer &operator=(Tokenizer &&) noexcept;
    ~Tokenizer();

    [[nodiscard]] const TokenizerOptions &options() const noexcept { return m_options; }
    void setFlavor(TokenizerFlavor flavor) noexcept { m_options.flavor = flavor; }
    [[nodiscard]] std::size_t vocabSize() const noexcept;
    // Id of a token, or -1 if it is not in the vocabulary.
    [[nodiscard]] std::int32_t tokenId(std::string_view token) const noexcept;
    [[nodiscard]] const std::string &tokenText(std::int32_t id) const;

    // Text to WordPiece tokens without special tokens, truncation or padding.
    [[nodiscard]] std::vector<Token> tokenize(std::string_view text) const;
    [[nodiscard]] std::vector<std::string> tokenizeToStrings(std::string_view text) const;

    [[nodiscard]] Encoding encode(std::string_view text, const EncodeOptions &options = {}) const;
    [[nodiscard]] Encoding encodePair(std::string_view text, std::string_view pair,
                                      const EncodeOptions &options = {}) const;
    // A batch; pairs is empty or as long as texts. Longest padding pads to the batch's longest.
    [[nodiscard]] std::vector<Encoding> encodeBatch(const std::vector<std::string> &texts,
                                                    const std::vector<std::string> &pairs = {},
                                                    const EncodeOptions &options = {}) const;

private:
    Tokenizer(std::unique_ptr<Vocabulary> vocab, TokenizerOptions options);
    void resolveSpecialIds();
    [[nodiscard]] Encoding encodeOne(const std::vector<Token> &first, const std::vector<Token> *second,
                                     const EncodeOptions &options) const;
    void pad(Encoding &encoding, std::size_t length) const;

    std::unique_ptr<Vocabulary> m_vocab;
    TokenizerOptions m_options;
    std::int32_t m_unkId = -1;
    std::int32_t m_clsId = -1;
    std::int32_t m_sepId = -1;
    std::int32_t m_padId = -1;
};

// Python's bytes.decode("utf-8", errors="replace"): code points, one U+FFFD per maximal
// invalid subsequence; byteStart[i] is the byte offset of code point i (size = count + 1).
struct DecodedText {
    std::vector<char32_t> codePoints;
    std::vector<std::uint32_t> byteStart;
};
DecodedText decodeUtf8Replace(std::string_view bytes);

std::string_view toString(TruncationStrategy strategy) noexcept;
std::string_view toString(PaddingStrategy strategy) noexcept;
// Parses the Python spellings ("longest_first", "max_length", ...); nullopt if unknown.
std::optional<TruncationStrategy> parseTruncationStrategy(std::string_view name) noexcept;
std::optional<PaddingStrategy> parsePaddingStrategy(std::string_view name) noexcept;

} // namespace qdq

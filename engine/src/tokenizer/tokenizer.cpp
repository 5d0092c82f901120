// The tokenizer pipeline (reference §6.1): special-token split, BasicTokenizer (§6.3) or the
// Rust BertNormalizer + BertPreTokenizer (§6.8), WordPiece (§6.5), then special tokens,
// truncation and padding (§6.6, §6.7).
#include "qdq/tokenizer.h"

#include "qdq/errors.h"
#include "qdq/limits.h"
#include "tokenizer/unicode_text.h"
#include "tokenizer/vocabulary.h"

#include <algorithm>
#include <array>
#include <limits>

namespace qdq {

using tokenizer::CharBuffer;

DecodedText decodeUtf8Replace(std::string_view bytes)
{
    DecodedText out;
    out.codePoints.reserve(bytes.size());
    out.byteStart.reserve(bytes.size() + 1);
    const auto *p = reinterpret_cast<const unsigned char *>(bytes.data());
    const std::size_t n = bytes.size();
    std::size_t i = 0;
    auto cont = [&](std::size_t k, unsigned lo, unsigned hi) { return k < n && p[k] >= lo && p[k] <= hi; };
    while (i < n) {
        const unsigned b = p[i];
        out.byteStart.push_back(static_cast<std::uint32_t>(i));
        if (b < 0x80) {
            out.codePoints.push_back(b);
            ++i;
            continue;
        }
        // Well-formed UTF-8 (Unicode Table 3-7). On failure one U+FFFD replaces the maximal
        // subpart read so far, as CPython's decoder with errors="replace" does.
        std::size_t need = 0;
        unsigned lo = 0x80, hi = 0xBF;
        char32_t cp = 0;
        if (b >= 0xC2 && b <= 0xDF) {
            need = 1;
            cp = b & 0x1F;
        } else if (b >= 0xE0 && b <= 0xEF) {
            need = 2;
            cp = b & 0x0F;
            lo = b == 0xE0 ? 0xA0 : 0x80;
            hi = b == 0xED ? 0x9F : 0xBF;
        } else if (b >= 0xF0 && b <= 0xF4) {
            need = 3;
            cp = b & 0x07;
            lo = b == 0xF0 ? 0x90 : 0x80;
            hi = b == 0xF4 ? 0x8F : 0xBF;
        } else {
            out.codePoints.push_back(0xFFFD);
            ++i;
            continue;
        }
        std::size_t k = i + 1;
        bool ok = true;
        for (std::size_t j = 0; j < need; ++j, ++k) {
            const unsigned l = j == 0 ? lo : 0x80;
            const unsigned h = j == 0 ? hi : 0xBF;
            if (!cont(k, l, h)) {
                ok = false;
                break;
            }
            cp = (cp << 6) | (p[k] & 0x3F);
        }
        out.codePoints.push_back(ok ? cp : char32_t{0xFFFD});
        i = k;
    }
    out.byteStart.push_back(static_cast<std::uint32_t>(n));
    return out;
}

namespace {

void appendUtf8(std::string &s, char32_t c)
{
    if (c < 0x80) {
        s.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
        s.push_back(static_cast<char>(0xC0 | (c >> 6)));
        s.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
        s.push_back(static_cast<char>(0xE0 | (c >> 12)));
        s.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        s.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
        s.push_back(static_cast<char>(0xF0 | (c >> 18)));
        s.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
        s.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        s.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
}

std::u32string toUtf32(std::string_view utf8)
{
    const DecodedText d = decodeUtf8Replace(utf8);
    return {d.codePoints.begin(), d.codePoints.end()};
}

// Per-call state of the pipeline: buffers reused between segments and words.
class Pipeline {
public:
    Pipeline(const Vocabulary &vocab, const TokenizerOptions &options, std::int32_t unkId,
             const std::vector<std::pair<std::u32string, std::int32_t>> &specials,
             const std::vector<std::u32string> &neverSplit, const DecodedText &text)
        : m_vocab(vocab), m_options(options), m_unkId(unkId), m_specials(specials), m_neverSplit(neverSplit),
          m_text(text)
    {
    }

    std::vector<Token> run()
    {
        const std::vector<char32_t> &cps = m_text.codePoints;
        const std::size_t n = cps.size();
        std::size_t segment = 0;
        for (std::size_t i = 0; i < n;) {
            // reference §6.2 step 2: exact occurrences of special tokens are single tokens
            // (leftmost, longest match), taken out before any normalisation.
            const auto [length, id] = matchSpecial(i);
            if (length == 0) {
                ++i;
                continue;
            }
            processSegment(segment, i);
            emit(id, i, i + length);
            i += length;
            segment = i;
        }
        processSegment(segment, n);
        return std::move(m_tokens);
    }

private:
    std::pair<std::size_t, std::int32_t> matchSpecial(std::size_t at) const
    {
        const std::vector<char32_t> &cps = m_text.codePoints;
        std::size_t best = 0;
        std::int32_t bestId = -1;
        for (const auto &[text, id] : m_specials) {
            if (text.size() <= best || cps[at] != text[0] || at + text.size() > cps.size())
                continue;
            if (std::equal(text.begin(), text.end(), cps.begin() + static_cast<std::ptrdiff_t>(at))) {
                best = text.size();
                bestId = id;
            }
        }
        return {best, bestId};
    }

    void emit(std::int32_t id, std::size_t begin, std::size_t end)
    {
        Token t;
        t.id = id;
        t.offset = {begin, end};
        t.byteOffset = {m_text.byteStart[begin], m_text.byteStart[end]};
        m_tokens.push_back(t);
    }

    void processSegment(std::size_t begin, std::size_t end)
    {
        if (begin == end)
            return;
        if (m_options.flavor == TokenizerFlavor::Fast)
            processFast(begin, end);
        else
            processSlow(begin, end);
    }

    // reference §6.8: BertNormalizer (clean, CJK spacing, strip accents, lowercase), then
    // BertPreTokenizer (whitespace split, punctuation isolated).
    void processFast(std::size_t begin, std::size_t end)
    {
        const std::vector<char32_t> &cps = m_text.codePoints;
        CharBuffer &buf = m_buf;
        buf.clear();
        const bool lower = m_options.doLowerCase;
        const bool strip = m_options.stripsAccents();
        bool ascii = true;
        for (std::size_t i = begin; i < end; ++i) {
            char32_t c = cps[i];
            const auto b = static_cast<std::uint32_t>(i);
            if (c < 0x80) {
                if (c == 0 || c == 0x7F || (c < 0x20 && c != '\t' && c != '\n' && c != '\r'))
                    continue;
                if (c == '\t' || c == '\n' || c == '\r')
                    c = ' ';
                else if (lower && c >= 'A' && c <= 'Z')
                    c += 32;
                buf.push(c, b, b + 1);
                continue;
            }
            if (c == 0xFFFD || tokenizer::isControlFast(c))
                continue;
            ascii = false;
            if (tokenizer::isWhitespaceFast(c)) {
                buf.push(' ', b, b + 1);
            } else if (m_options.tokenizeChineseChars && tokenizer::isCjkFast(c)) {
                buf.push(' ', b, b + 1);
                buf.push(c, b, b + 1);
                buf.push(' ', b, b + 1);
            } else {
                buf.push(c, b, b + 1);
            }
        }
        if (!ascii) {
            if (strip)
                tokenizer::stripAccents(buf, 0, m_scratch, true);
            if (lower)
                tokenizer::lowerCase(buf, 0);
        }
        splitWords(buf, 0, buf.size());
    }

    // reference §6.2 step 1 and §6.3: per-code-point lowercasing of the raw text, clean text,
    // CJK spacing, NFC, whitespace split, then per word: strip accents, punctuation split.
    void processSlow(std::size_t begin, std::size_t end)
    {
        const std::vector<char32_t> &cps = m_text.codePoints;
        CharBuffer &buf = m_buf;
        buf.clear();
        const bool lower = m_options.doLowerCase;
        const bool strip = m_options.stripsAccents();
        bool ascii = true;
        for (std::size_t i = begin; i < end; ++i) {
            const auto b = static_cast<std::uint32_t>(i);
            char32_t lowered[2] = {cps[i], 0};
            const int count = lower ? tokenizer::lowerFull(cps[i], lowered) : 1;
            for (int k = 0; k < count; ++k) {
                const char32_t c = lowered[k];
                if (c == 0 || c == 0xFFFD || tokenizer::isControlSlow(c))
                    continue;
                if (tokenizer::isWhitespaceSlow(c)) {
                    buf.push(' ', b, b + 1);
                } else if (m_options.tokenizeChineseChars && tokenizer::isCjkSlow(c)) {
                    // CJK compatibility ideographs have NFC singletons (U+F902 -> U+8ECA)
                    ascii = false;
                    buf.push(' ', b, b + 1);
                    buf.push(c, b, b + 1);
                    buf.push(' ', b, b + 1);
                } else {
                    ascii = ascii && c < 0x80;
                    buf.push(c, b, b + 1);
                }
            }
        }
        // NFC then NFD equals NFD, so with accents stripped the NFC step only matters for
        // never_split words.
        if (!ascii && (!strip || !m_neverSplit.empty()))
            tokenizer::composeNfc(buf, 0, m_scratch);
        const std::size_t n = buf.size();
        std::size_t i = 0;
        while (i < n) {
            while (i < n && tokenizer::isSplitSpace(buf.chars[i]))
                ++i;
            std::size_t j = i;
            while (j < n && !tokenizer::isSplitSpace(buf.chars[j]))
                ++j;
            if (j > i)
                processSlowWord(i, j, strip);
            i = j;
        }
    }

    void processSlowWord(std::size_t begin, std::size_t end, bool strip)
    {
        const CharBuffer &buf = m_buf;
        if (!m_neverSplit.empty()) {
            for (const std::u32string &word : m_neverSplit) {
                if (word.size() == end - begin &&
                    std::equal(word.begin(), word.end(), buf.chars.begin() + static_cast<std::ptrdiff_t>(begin))) {
                    // reference §6.2 step 3: emitted as it is, [UNK] if not in the vocabulary.
                    m_word.clear();
                    for (std::size_t k = begin; k < end; ++k)
                        appendUtf8(m_word, buf.chars[k]);
                    const std::int32_t id = m_vocab.find(m_word);
                    emitSpan(id >= 0 ? id : m_unkId, buf, begin, end);
                    return;
                }
            }
        }
        if (!strip) {
            splitWords(m_buf, begin, end);
            return;
        }
        CharBuffer &word = m_wordBuf;
        word.clear();
        bool ascii = true;
        for (std::size_t k = begin; k < end; ++k) {
            ascii = ascii && buf.chars[k] < 0x80;
            word.push(buf.chars[k], buf.begins[k], buf.ends[k]);
        }
        if (!ascii)
            tokenizer::stripAccents(word, 0, m_scratch, false);
        splitWords(word, 0, word.size());
    }

    void emitSpan(std::int32_t id, const CharBuffer &buf, std::size_t begin, std::size_t end)
    {
        std::uint32_t b = buf.begins[begin];
        std::uint32_t e = buf.ends[begin];
        for (std::size_t k = begin + 1; k < end; ++k) {
            b = std::min(b, buf.begins[k]);
            e = std::max(e, buf.ends[k]);
        }
        emit(id, b, e);
    }

    // Whitespace split and punctuation isolation (reference §6.3 steps 4, 6, 7), each word to
    // WordPiece.
    void splitWords(const CharBuffer &buf, std::size_t begin, std::size_t end)
    {
        const bool splitPunct = m_options.splitOnPunctuation;
        const bool fast = m_options.flavor == TokenizerFlavor::Fast;
        std::size_t i = begin;
        while (i < end) {
            const char32_t c = buf.chars[i];
            if (c == ' ' || (c >= 0x80 && tokenizer::isSplitSpace(c)) || (c < 0x20 && tokenizer::isSplitSpace(c))) {
                ++i;
                continue;
            }
            if (splitPunct && tokenizer::isPunctuation(c, fast)) {
                wordPiece(buf, i, i + 1);
                ++i;
                continue;
            }
            std::size_t j = i + 1;
            while (j < end) {
                const char32_t d = buf.chars[j];
                if (d == ' ' || tokenizer::isSplitSpace(d) || (splitPunct && tokenizer::isPunctuation(d, fast)))
                    break;
                ++j;
            }
            wordPiece(buf, i, j);
            i = j;
        }
    }

    // reference §6.5: greedy longest-match-first, "##" continuations, [UNK] for the whole word
    // when a piece cannot be matched or the word is longer than max_input_chars_per_word.
    void wordPiece(const CharBuffer &buf, std::size_t begin, std::size_t end)
    {
        const std::size_t chars = end - begin;
        if (chars > m_options.maxInputCharsPerWord) {
            emitSpan(m_unkId, buf, begin, end);
            return;
        }
        std::string &word = m_word;
        word.clear();
        m_charBytes.clear();
        for (std::size_t k = begin; k < end; ++k) {
            m_charBytes.push_back(static_cast<std::uint32_t>(word.size()));
            appendUtf8(word, buf.chars[k]);
        }
        m_charBytes.push_back(static_cast<std::uint32_t>(word.size()));
        const std::size_t firstPiece = m_pieces.size();
        const std::size_t maxBytes = m_vocab.maxTokenBytes();
        std::size_t start = 0;
        while (start < chars) {
            // the longest piece that could be a token: at most maxBytes bytes (a binary search,
            // so a long word costs O(length x maxBytes^2) at worst, not a power of its length)
            const auto limit = static_cast<std::uint64_t>(m_charBytes[start]) + maxBytes;
            std::size_t stop = static_cast<std::size_t>(
                                   std::upper_bound(m_charBytes.begin() + static_cast<std::ptrdiff_t>(start),
                                                    m_charBytes.begin() + static_cast<std::ptrdiff_t>(chars) + 1, limit,
                                                    [](std::uint64_t v, std::uint32_t b) { return v < b; }) -
                                   m_charBytes.begin()) -
                               1;
            std::int32_t id = -1;
            for (; stop > start; --stop) {
                const std::string_view piece(word.data() + m_charBytes[start], m_charBytes[stop] - m_charBytes[start]);
                id = start == 0 ? m_vocab.find(piece) : m_vocab.findContinuation(piece);
                if (id >= 0)
                    break;
            }
            if (id < 0) {
                m_pieces.resize(firstPiece);
                emitSpan(m_unkId, buf, begin, end);
                return;
            }
            m_pieces.push_back({id, start, stop});
            start = stop;
        }
        for (std::size_t k = firstPiece; k < m_pieces.size(); ++k)
            emitSpan(m_pieces[k].id, buf, begin + m_pieces[k].begin, begin + m_pieces[k].end);
        m_pieces.resize(firstPiece);
    }

    struct Piece {
        std::int32_t id;
        std::size_t begin;
        std::size_t end;
    };

    const Vocabulary &m_vocab;
    const TokenizerOptions &m_options;
    std::int32_t m_unkId;
    const std::vector<std::pair<std::u32string, std::int32_t>> &m_specials;
    const std::vector<std::u32string> &m_neverSplit;
    const DecodedText &m_text;
    CharBuffer m_buf;
    CharBuffer m_wordBuf;
    CharBuffer m_scratch;
    std::string m_word;
    std::vector<std::uint32_t> m_charBytes;
    std::vector<Piece> m_pieces;
    std::vector<Token> m_tokens;
};

} // namespace

Tokenizer::Tokenizer(std::unique_ptr<Vocabulary> vocab, TokenizerOptions options)
    : m_vocab(std::move(vocab)), m_options(std::move(options))
{
    resolveSpecialIds();
}

Tokenizer::Tokenizer(Tokenizer &&) noexcept = default;
Tokenizer &Tokenizer::operator=(Tokenizer &&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::fromVocabFile(const std::filesystem::path &vocabFile, TokenizerOptions options)
{
    return Tokenizer(Vocabulary::fromFile(vocabFile), std::move(options));
}

Tokenizer Tokenizer::fromTokens(std::vector<std::string> tokens, TokenizerOptions options)
{
    if (tokens.empty())
        throw FormatError("the vocabulary is empty");
    return Tokenizer(std::make_unique<Vocabulary>(std::move(tokens)), std::move(options));
}

void Tokenizer::resolveSpecialIds()
{
    m_unkId = m_vocab->find(m_options.unkToken);
    if (m_unkId < 0)
        throw FormatError("the unknown token '" + m_options.unkToken + "' is not in the vocabulary",
                          {{}, {}, "unk_token"});
    auto idOrUnk = [this](const std::string &token) {
        const std::int32_t id = m_vocab->find(token);
        return id >= 0 ? id : m_unkId;
    };
    m_clsId = idOrUnk(m_options.clsToken);
    m_sepId = idOrUnk(m_options.sepToken);
    m_padId = idOrUnk(m_options.padToken);
}

std::size_t Tokenizer::vocabSize() const noexcept
{
    return m_vocab->size();
}

std::int32_t Tokenizer::tokenId(std::string_view token) const noexcept
{
    return m_vocab->find(token);
}

const std::string &Tokenizer::tokenText(std::int32_t id) const
{
    return m_vocab->token(id);
}

std::vector<Token> Tokenizer::tokenize(std::string_view text) const
{
    const DecodedText decoded = decodeUtf8Replace(text);
    std::vector<std::pair<std::u32string, std::int32_t>> specials;
    for (const std::string *s :
         {&m_options.unkToken, &m_options.sepToken, &m_options.padToken, &m_options.clsToken, &m_options.maskToken}) {
        if (s->empty())
            continue;
        const std::int32_t id = m_vocab->find(*s);
        specials.emplace_back(toUtf32(*s), id >= 0 ? id : m_unkId);
    }
    std::vector<std::u32string> neverSplit;
    if (m_options.flavor == TokenizerFlavor::Slow)
        for (const std::string &s : m_options.neverSplit)
            neverSplit.push_back(toUtf32(s));
    Pipeline pipeline(*m_vocab, m_options, m_unkId, specials, neverSplit, decoded);
    return pipeline.run();
}

std::vector<std::string> Tokenizer::tokenizeToStrings(std::string_view text) const
{
    std::vector<std::string> out;
    for (const Token &t : tokenize(text))
        out.push_back(m_vocab->token(t.id));
    return out;
}

namespace {

std::string describe(TruncationStrategy s)
{
    return std::string(toString(s));
}

// reference §6.7 (slow, prepare_for_model/truncate_sequences): returns the new lengths.
std::pair<std::size_t, std::size_t> truncateSlow(TruncationStrategy strategy, std::size_t lenA, std::size_t lenB,
                                                 bool pair, std::size_t special, std::size_t maxLength)
{
    const std::size_t total = lenA + lenB + special;
    if (strategy == TruncationStrategy::DoNotTruncate || total <= maxLength)
        return {lenA, lenB};
    const std::size_t remove = total - maxLength;
    if (strategy == TruncationStrategy::OnlyFirst || (strategy == TruncationStrategy::LongestFirst && !pair)) {
        // Python logs an error and leaves the sequence alone when it is too short.
        return lenA > remove ? std::pair{lenA - remove, lenB} : std::pair{lenA, lenB};
    }
    if (strategy == TruncationStrategy::LongestFirst) {
        // One token at a time from the longer sequence; ties trim the second.
        for (std::size_t k = 0; k < remove; ++k) {
            if (lenA > lenB)
                --lenA;
            else if (lenB > 0)
                --lenB;
        }
        return {lenA, lenB};
    }
    if (pair && lenB > remove)
        return {lenA, lenB - remove};
    return {lenA, lenB};
}

// reference §6.8 (fast, tokenizers' truncate_encodings): room for the special tokens is taken
// off max_length first; a max_length smaller than that disables truncation.
std::pair<std::size_t, std::size_t> truncateFast(TruncationStrategy strategy, std::size_t lenA, std::size_t lenB,
                                                 bool pair, std::size_t special, std::size_t maxLength)
{
    if (strategy == TruncationStrategy::DoNotTruncate || maxLength < special)
        return {lenA, lenB};
    const std::size_t room = maxLength - special;
    if (room == 0)
        return {0, 0};
    const std::size_t total = lenA + lenB;
    if (total <= room)
        return {lenA, lenB};
    if (strategy == TruncationStrategy::LongestFirst) {
        if (!pair)
            return {room, 0};
        std::size_t n1 = lenA;
        std::size_t n2 = lenB;
        const bool swapped = n1 > n2;
        if (swapped)
            std::swap(n1, n2);
        n2 = n1 > room ? n1 : std::max(n1, room - n1);
        if (n1 + n2 > room) {
            n1 = room / 2;
            n2 = n1 + room % 2;
        }
        if (swapped)
            std::swap(n1, n2);
        return {std::min(n1, lenA), std::min(n2, lenB)};
    }
    if (strategy == TruncationStrategy::OnlySecond && !pair)
        throw ShapeError("truncation 'only_second' needs a second sequence");
    const std::size_t remove = total - room;
    const std::size_t target = strategy == TruncationStrategy::OnlyFirst ? lenA : lenB;
    if (target <= remove)
        throw ShapeError("truncation '" + describe(strategy) + "': the " +
                         (strategy == TruncationStrategy::OnlyFirst ? "first" : "second") + " sequence has " +
                         std::to_string(target) + " tokens, too few to remove " + std::to_string(remove) +
                         " and fit max_length " + std::to_string(maxLength));
    if (strategy == TruncationStrategy::OnlyFirst)
        return {lenA - remove, lenB};
    return {lenA, lenB - remove};
}

} // namespace

Encoding Tokenizer::encodeOne(const std::vector<Token> &first, const std::vector<Token> *second,
                              const EncodeOptions &options) const
{
    const bool pair = second != nullptr;
    const std::size_t special = options.addSpecialTokens ? (pair ? 3 : 2) : 0;
    const std::size_t maxLength = options.maxLength.value_or(m_options.modelMaxLength);
    const std::size_t lenB0 = pair ? second->size() : 0;
    const auto [lenA, lenB] = m_options.flavor == TokenizerFlavor::Fast
                                  ? truncateFast(options.truncation, first.size(), lenB0, pair, special, maxLength)
                                  : truncateSlow(options.truncation, first.size(), lenB0, pair, special, maxLength);

    Encoding e;
    const std::size_t total = lenA + lenB + special;
    e.ids.reserve(total);
    auto add = [&](std::int32_t id, std::int32_t type, std::int32_t sequence, bool isSpecial, TextSpan offset,
                   TextSpan bytes) {
        e.ids.push_back(id);
        e.tokens.push_back(m_vocab->token(id));
        e.typeIds.push_back(type);
        e.attentionMask.push_back(1);
        e.specialTokensMask.push_back(isSpecial ? 1 : 0);
        e.sequenceIds.push_back(sequence);
        e.offsets.push_back(offset);
        e.byteOffsets.push_back(bytes);
    };
    // reference §6.6: [CLS] A [SEP] (B [SEP]), token types 0 then 1.
    if (options.addSpecialTokens)
        add(m_clsId, 0, -1, true, {}, {});
    for (std::size_t i = 0; i < lenA; ++i)
        add(first[i].id, 0, 0, false, first[i].offset, first[i].byteOffset);
    if (options.addSpecialTokens)
        add(m_sepId, 0, -1, true, {}, {});
    if (pair) {
        for (std::size_t i = 0; i < lenB; ++i)
            add((*second)[i].id, 1, 1, false, (*second)[i].offset, (*second)[i].byteOffset);
        if (options.addSpecialTokens)
            add(m_sepId, 1, -1, true, {}, {});
    }
    return e;
}

void Tokenizer::pad(Encoding &e, std::size_t length) const
{
    // reference §6.7: [PAD] on the right, token type 0, attention 0.
    while (e.ids.size() < length) {
        e.ids.push_back(m_padId);
        e.tokens.push_back(m_vocab->token(m_padId));
        e.typeIds.push_back(0);
        e.attentionMask.push_back(0);
        e.specialTokensMask.push_back(1);
        e.sequenceIds.push_back(-1);
        e.offsets.push_back({});
        e.byteOffsets.push_back({});
    }
}

Encoding Tokenizer::encode(std::string_view text, const EncodeOptions &options) const
{
    std::vector<Encoding> out = encodeBatch({std::string(text)}, {}, options);
    return std::move(out.front());
}

Encoding Tokenizer::encodePair(std::string_view text, std::string_view pair, const EncodeOptions &options) const
{
    std::vector<Encoding> out = encodeBatch({std::string(text)}, {std::string(pair)}, options);
    return std::move(out.front());
}

std::vector<Encoding> Tokenizer::encodeBatch(const std::vector<std::string> &texts,
                                             const std::vector<std::string> &pairs, const EncodeOptions &options) const
{
    if (!pairs.empty() && pairs.size() != texts.size())
        throw ShapeError("a batch of " + std::to_string(texts.size()) + " texts needs as many pair texts, got " +
                         std::to_string(pairs.size()));
    std::size_t padTo = 0;
    if (options.padding == PaddingStrategy::MaxLength) {
        padTo = options.maxLength.value_or(m_options.modelMaxLength);
        // as transformers: no max_length and a model without a limit (1e30) -> no padding
        if (!options.maxLength && m_options.modelMaxLength == std::numeric_limits<std::size_t>::max())
            padTo = 0;
        // SECURITY.md "Limits": checked before anything is tokenized or padded
        if (padTo > limits::kMaxSequenceLength)
            throw ShapeError("padding to max_length " + std::to_string(padTo) + " is above the limit of " +
                                 std::to_string(limits::kMaxSequenceLength) + " tokens per sequence",
                             {{}, {}, "max_length"});
    }
    std::vector<Encoding> out;
    out.reserve(texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) {
        const std::vector<Token> first = tokenize(texts[i]);
        if (pairs.empty()) {
            out.push_back(encodeOne(first, nullptr, options));
        } else {
            const std::vector<Token> second = tokenize(pairs[i]);
            out.push_back(encodeOne(first, &second, options));
        }
    }
    std::size_t length = 0;
    if (options.padding == PaddingStrategy::Longest) {
        for (const Encoding &e : out)
            length = std::max(length, e.size());
    } else if (options.padding == PaddingStrategy::MaxLength) {
        length = padTo;
    }
    for (Encoding &e : out)
        pad(e, length);
    return out;
}

std::string_view toString(TruncationStrategy strategy) noexcept
{
    switch (strategy) {
    case TruncationStrategy::DoNotTruncate:
        return "do_not_truncate";
    case TruncationStrategy::LongestFirst:
        return "longest_first";
    case TruncationStrategy::OnlyFirst:
        return "only_first";
    case TruncationStrategy::OnlySecond:
        return "only_second";
    }
    return "do_not_truncate";
}

std::string_view toString(PaddingStrategy strategy) noexcept
{
    switch (strategy) {
    case PaddingStrategy::DoNotPad:
        return "do_not_pad";
    case PaddingStrategy::Longest:
        return "longest";
    case PaddingStrategy::MaxLength:
        return "max_length";
    }
    return "do_not_pad";
}

std::optional<TruncationStrategy> parseTruncationStrategy(std::string_view name) noexcept
{
    for (TruncationStrategy s : {TruncationStrategy::DoNotTruncate, TruncationStrategy::LongestFirst,
                                 TruncationStrategy::OnlyFirst, TruncationStrategy::OnlySecond})
        if (toString(s) == name)
            return s;
    return std::nullopt;
}

std::optional<PaddingStrategy> parsePaddingStrategy(std::string_view name) noexcept
{
    for (PaddingStrategy s : {PaddingStrategy::DoNotPad, PaddingStrategy::Longest, PaddingStrategy::MaxLength})
        if (toString(s) == name)
            return s;
    return std::nullopt;
}

} // namespace qdq

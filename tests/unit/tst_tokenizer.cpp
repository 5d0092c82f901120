// The WordPiece tokenizer step by step on hand-worked examples (reference §6): BasicTokenizer
// steps, WordPiece, special tokens, truncation, padding, offsets, invalid UTF-8, file loading
// and its error messages, and the `qdq tokenize` subcommand.
#include "support/test_support.h"

#include "qdq/errors.h"
#include "qdq/tokenizer.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

#include <limits>

using namespace qdq;

namespace {

using Strings = std::vector<std::string>;

// A small vocabulary whose tokenizations can be worked out by hand.
Strings smallVocab()
{
    return {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",   "un",  "##aff", "##able", "hello", "world",
            ",",     "!",     "$",     "a",     "b",        "c",   "d",     "##b",    "##c",   "##d",
            "cafe",  "café",  "Café",  "i",     "##\u0307", "σασ", "你",    "好",     "你好",  "[",
            "]",     "foo",   "[foo]", "e",     "f",        "g",   "h",     "€",      "##€"};
}

Tokenizer small(TokenizerOptions options = {})
{
    return Tokenizer::fromTokens(smallVocab(), std::move(options));
}

TokenizerOptions flavored(TokenizerFlavor flavor, bool lower = true)
{
    TokenizerOptions o;
    o.flavor = flavor;
    o.doLowerCase = lower;
    return o;
}

void writeFile(const QString &path, const QByteArray &data)
{
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(data);
}

QByteArray vocabBytes()
{
    QByteArray out;
    for (const std::string &t : smallVocab())
        out += QByteArray::fromStdString(t) + '\n';
    return out;
}

std::vector<TextSpan> offsets(const std::vector<Token> &tokens, bool bytes = false)
{
    std::vector<TextSpan> out;
    for (const Token &t : tokens)
        out.push_back(bytes ? t.byteOffset : t.offset);
    return out;
}

} // namespace

class TestTokenizer : public QObject {
    Q_OBJECT
private slots:
    void cleanTextDropsControlsAndReplacement();
    void whitespaceClasses();
    void punctuationIncludesAsciiSymbols();
    void cjkCharactersAreSplit();
    void lowerCaseAndAccents();
    void dottedCapitalIUsesFullLowercase();
    void noFinalSigma();
    void neverSplitIsSlowOnly();
    void specialTokensInText();
    void wordPieceGreedyLongestMatch();
    void longWordIsUnknown();
    void pairsAndTokenTypes();
    void truncationLongestFirstTieBreak();
    void truncationOnlySecondTooShort();
    void paddingMaxLengthAndLongest();
    void offsetsInCodePointsAndBytes();
    void invalidUtf8IsReplacedLikePython();
    void realVocabularies();
    void fromDirectoryReadsConfigs();
    void fromDirectoryInfersCasing();
    void missingVocabNamesThePath();
    void malformedConfigNamesFileAndField();
    void cliTokenizeJson();
    void cliErrors();
};

void TestTokenizer::cleanTextDropsControlsAndReplacement()
{
    for (const auto flavor : {TokenizerFlavor::Fast, TokenizerFlavor::Slow}) {
        const Tokenizer t = small(flavored(flavor));
        // reference §6.3 step 1: NUL, U+FFFD, Cc (BEL) and Cf (ZWSP, soft hyphen) are deleted
        QCOMPARE(t.tokenizeToStrings("hel\u200blo wor\xC2\xADld"), (Strings{"hello", "world"}));
        QCOMPARE(t.tokenizeToStrings(std::string("he\0l\alo\xEF\xBF\xBD", 9)), (Strings{"hello"}));
    }
    // Unassigned code points (Cn) are controls to Python but not to the Rust normaliser (§6.8).
    QCOMPARE(small(flavored(TokenizerFlavor::Slow)).tokenizeToStrings("a\u0378b"), (Strings{"a", "##b"}));
    QCOMPARE(small(flavored(TokenizerFlavor::Fast)).tokenizeToStrings("a\u0378b"), (Strings{"[UNK]"}));
    // Unicode versions (unicode_overrides.cpp): U+1FAE8 (Unicode 15) is unassigned to Python 3.11
    // (Unicode 14), so dropped by the slow tokenizer; U+061D (Po, Unicode 14) is not punctuation
    // to the Rust tables.
    QCOMPARE(small(flavored(TokenizerFlavor::Slow)).tokenizeToStrings("a\U0001FAE8b"), (Strings{"a", "##b"}));
    QCOMPARE(small(flavored(TokenizerFlavor::Fast)).tokenizeToStrings("a\U0001FAE8b"), (Strings{"[UNK]"}));
    QCOMPARE(small(flavored(TokenizerFlavor::Slow)).tokenizeToStrings("a\u061Db"), (Strings{"a", "[UNK]", "b"}));
    QCOMPARE(small(flavored(TokenizerFlavor::Fast)).tokenizeToStrings("a\u061Db"), (Strings{"[UNK]"}));
}

void TestTokenizer::whitespaceClasses()
{
    for (const auto flavor : {TokenizerFlavor::Fast, TokenizerFlavor::Slow}) {
        const Tokenizer t = small(flavored(flavor));
        // tab, newline, CR, NBSP (Zs), ideographic space (Zs), line separator (Zl)
        QCOMPARE(t.tokenizeToStrings("hello\tworld\nhello\rworld\u00a0hello\u3000world\u2028a"),
                 (Strings{"hello", "world", "hello", "world", "hello", "world", "a"}));
        QCOMPARE(t.tokenizeToStrings(" \t\n "), Strings{});
        QCOMPARE(t.tokenizeToStrings(""), Strings{});
    }
}

void TestTokenizer::punctuationIncludesAsciiSymbols()
{
    const Tokenizer t = small();
    // reference §6.4: '$' (Sc) is punctuation because it is printable ASCII; '€' (Sc) is not.
    QCOMPARE(t.tokenizeToStrings("hello$world!!"), (Strings{"hello", "$", "world", "!", "!"}));
    QCOMPARE(t.tokenizeToStrings("a€"), (Strings{"a", "##€"}));
    TokenizerOptions noSplit;
    noSplit.splitOnPunctuation = false;
    QCOMPARE(small(noSplit).tokenizeToStrings("hello,"), (Strings{"[UNK]"}));
}

void TestTokenizer::cjkCharactersAreSplit()
{
    QCOMPARE(small().tokenizeToStrings("你好"), (Strings{"你", "好"}));
    TokenizerOptions o;
    o.tokenizeChineseChars = false;
    QCOMPARE(small(o).tokenizeToStrings("你好"), (Strings{"你好"}));
    // U+2B820 is CJK to Python but not to the Rust normaliser (reference §6.8)
    QCOMPARE(small(flavored(TokenizerFlavor::Slow)).tokenizeToStrings("a\U0002B820b").size(), std::size_t{3});
    QCOMPARE(small(flavored(TokenizerFlavor::Fast)).tokenizeToStrings("a\U0002B820b"), (Strings{"[UNK]"}));
}

void TestTokenizer::lowerCaseAndAccents()
{
    for (const auto flavor : {TokenizerFlavor::Fast, TokenizerFlavor::Slow}) {
        QCOMPARE(small(flavored(flavor, true)).tokenizeToStrings("CAFÉ"), (Strings{"cafe"}));
        QCOMPARE(small(flavored(flavor, false)).tokenizeToStrings("Café"), (Strings{"Café"}));
        TokenizerOptions keep = flavored(flavor, true);
        keep.stripAccents = false;
        QCOMPARE(small(keep).tokenizeToStrings("CAFÉ"), (Strings{"café"}));
        TokenizerOptions strip = flavored(flavor, false);
        strip.stripAccents = true;
        QCOMPARE(small(strip).tokenizeToStrings("café"), (Strings{"cafe"}));
    }
    // A decomposed é (e + U+0301): the slow tokenizer composes it (NFC, §6.3 step 3), the fast
    // one does not (§6.8), so only the slow one finds "café".
    QCOMPARE(small(flavored(TokenizerFlavor::Slow, false)).tokenizeToStrings("cafe\u0301"), (Strings{"café"}));
    QCOMPARE(small(flavored(TokenizerFlavor::Fast, false)).tokenizeToStrings("cafe\u0301"), (Strings{"[UNK]"}));
}

void TestTokenizer::dottedCapitalIUsesFullLowercase()
{
    for (const auto flavor : {TokenizerFlavor::Fast, TokenizerFlavor::Slow}) {
        // str.lower("İ") == "i\u0307" (full mapping, not utf8proc's simple 'i')
        TokenizerOptions keep = flavored(flavor, true);
        keep.stripAccents = false;
        QCOMPARE(small(keep).tokenizeToStrings("\u0130"), (Strings{"i", "##\u0307"}));
        QCOMPARE(small(flavored(flavor, true)).tokenizeToStrings("\u0130"), (Strings{"i"}));
    }
}

void TestTokenizer::noFinalSigma()
{
    // reference §6.2 step 1: per-character lowering, so the final Σ becomes σ, never ς
    for (const auto flavor : {TokenizerFlavor::Fast, TokenizerFlavor::Slow})
        QCOMPARE(small(flavored(flavor, true)).tokenizeToStrings("ΣΑΣ"), (Strings{"σασ"}));
}

void TestTokenizer::neverSplitIsSlowOnly()
{
    TokenizerOptions o = flavored(TokenizerFlavor::Slow);
    o.neverSplit = {"[foo]"};
    QCOMPARE(small(o).tokenizeToStrings("[foo] foo"), (Strings{"[foo]", "foo"}));
    o.flavor = TokenizerFlavor::Fast;
    QCOMPARE(small(o).tokenizeToStrings("[foo] foo"), (Strings{"[", "foo", "]", "foo"}));
}

void TestTokenizer::specialTokensInText()
{
    for (const auto flavor : {TokenizerFlavor::Fast, TokenizerFlavor::Slow}) {
        const Tokenizer t = small(flavored(flavor));
        // exact, case-sensitive matches are single tokens; lower-cased ones are ordinary text
        QCOMPARE(t.tokenizeToStrings("hello[MASK]world [SEP]"), (Strings{"hello", "[MASK]", "world", "[SEP]"}));
        const std::vector<Token> tokens = t.tokenize("a [MASK]");
        QCOMPARE(tokens.at(1).offset, (TextSpan{2, 8}));
        QCOMPARE(t.tokenizeToStrings("[mask]").front(), std::string("["));
    }
}

void TestTokenizer::wordPieceGreedyLongestMatch()
{
    const Tokenizer t = small();
    QCOMPARE(t.tokenizeToStrings("unaffable"), (Strings{"un", "##aff", "##able"}));
    QCOMPARE(t.tokenizeToStrings("abcd"), (Strings{"a", "##b", "##c", "##d"}));
    // one unmatched remainder makes the whole word [UNK], pieces found so far are dropped
    QCOMPARE(t.tokenizeToStrings("unaffablex"), (Strings{"[UNK]"}));
}

void TestTokenizer::longWordIsUnknown()
{
    const Tokenizer t = small();
    // reference §6.5: more than 100 code points -> [UNK]; exactly 100 is WordPiece'd
    QCOMPARE(t.tokenizeToStrings(std::string(100, 'b')).size(), std::size_t{100});
    QCOMPARE(t.tokenizeToStrings(std::string(101, 'b')), (Strings{"[UNK]"}));
    std::string accented;
    for (int i = 0; i < 60; ++i)
        accented += "é"; // 60 code points, 120 bytes: not too long
    QCOMPARE(small(flavored(TokenizerFlavor::Fast, false)).tokenizeToStrings(accented), (Strings{"[UNK]"}));
    TokenizerOptions o;
    o.maxInputCharsPerWord = 3;
    QCOMPARE(small(o).tokenizeToStrings("abcd hello"), (Strings{"[UNK]", "[UNK]"}));
}

void TestTokenizer::pairsAndTokenTypes()
{
    const Encoding e = small().encodePair("hello world", "a");
    QCOMPARE(e.tokens, (Strings{"[CLS]", "hello", "world", "[SEP]", "a", "[SEP]"}));
    QCOMPARE(e.ids, (std::vector<std::int32_t>{2, 8, 9, 3, 13, 3}));
    QCOMPARE(e.typeIds, (std::vector<std::int32_t>{0, 0, 0, 0, 1, 1}));
    QCOMPARE(e.attentionMask, (std::vector<std::int32_t>{1, 1, 1, 1, 1, 1}));
    QCOMPARE(e.specialTokensMask, (std::vector<std::int32_t>{1, 0, 0, 1, 0, 1}));
    QCOMPARE(e.sequenceIds, (std::vector<std::int32_t>{-1, 0, 0, -1, 1, -1}));
    EncodeOptions none;
    none.addSpecialTokens = false;
    QCOMPARE(small().encode("hello", none).ids, (std::vector<std::int32_t>{8}));
}

void TestTokenizer::truncationLongestFirstTieBreak()
{
    // reference §6.8: lengths (4, 4), room 7 -> Rust (3, 4), Python (4, 3); (8, 4) -> both (4, 3)
    EncodeOptions o;
    o.truncation = TruncationStrategy::LongestFirst;
    o.maxLength = 10;
    const Encoding fast = small(flavored(TokenizerFlavor::Fast)).encodePair("a b c d", "e f g h", o);
    const Encoding slow = small(flavored(TokenizerFlavor::Slow)).encodePair("a b c d", "e f g h", o);
    QCOMPARE(fast.tokens, (Strings{"[CLS]", "a", "b", "c", "[SEP]", "e", "f", "g", "h", "[SEP]"}));
    QCOMPARE(slow.tokens, (Strings{"[CLS]", "a", "b", "c", "d", "[SEP]", "e", "f", "g", "[SEP]"}));
    for (const auto flavor : {TokenizerFlavor::Fast, TokenizerFlavor::Slow}) {
        const Encoding e = small(flavored(flavor)).encodePair("a b c d a b c d", "e f g h", o);
        QCOMPARE(e.tokens, (Strings{"[CLS]", "a", "b", "c", "d", "[SEP]", "e", "f", "g", "[SEP]"}));
    }
    // a single sequence: only_first and longest_first keep the first max_length - 2 tokens
    o.maxLength = 4;
    o.truncation = TruncationStrategy::OnlyFirst;
    QCOMPARE(small().encode("a b c d", o).tokens, (Strings{"[CLS]", "a", "b", "[SEP]"}));
}

void TestTokenizer::truncationOnlySecondTooShort()
{
    EncodeOptions o;
    o.truncation = TruncationStrategy::OnlySecond;
    o.maxLength = 5;
    // 4 + 2 + 3 = 9 tokens, 4 to remove from a second sequence of 2: Python leaves both as they
    // are (it logs an error), Rust raises.
    const Encoding slow = small(flavored(TokenizerFlavor::Slow)).encodePair("a b c d", "e f", o);
    QCOMPARE(slow.size(), std::size_t{9});
    QVERIFY_THROWS_EXCEPTION(ShapeError, small(flavored(TokenizerFlavor::Fast)).encodePair("a b c d", "e f", o));
    QVERIFY_THROWS_EXCEPTION(ShapeError, small(flavored(TokenizerFlavor::Fast)).encode("a b c d", o));
    // Rust needs the sequence to keep at least one token: removing 2 of 2 is an error too
    o.maxLength = 7;
    QVERIFY_THROWS_EXCEPTION(ShapeError, small(flavored(TokenizerFlavor::Fast)).encodePair("a b c d", "e f", o));
    o.maxLength = 8;
    const Encoding fast = small(flavored(TokenizerFlavor::Fast)).encodePair("a b c d", "e f", o);
    QCOMPARE(fast.tokens, (Strings{"[CLS]", "a", "b", "c", "d", "[SEP]", "e", "[SEP]"}));
}

void TestTokenizer::paddingMaxLengthAndLongest()
{
    EncodeOptions o;
    o.padding = PaddingStrategy::MaxLength;
    o.maxLength = 6;
    const Encoding e = small().encodePair("a", "b", o);
    QCOMPARE(e.ids, (std::vector<std::int32_t>{2, 13, 3, 14, 3, 0}));
    QCOMPARE(e.typeIds, (std::vector<std::int32_t>{0, 0, 0, 1, 1, 0}));
    QCOMPARE(e.attentionMask, (std::vector<std::int32_t>{1, 1, 1, 1, 1, 0}));
    QCOMPARE(e.offsets.back(), (TextSpan{0, 0}));

    o.padding = PaddingStrategy::Longest;
    o.maxLength.reset();
    const std::vector<Encoding> batch = small().encodeBatch({"a", "a b c", "hello"}, {}, o);
    QCOMPARE(batch.size(), std::size_t{3});
    for (const Encoding &b : batch)
        QCOMPARE(b.size(), std::size_t{5});
    QCOMPARE(batch[0].attentionMask, (std::vector<std::int32_t>{1, 1, 1, 0, 0}));
    QCOMPARE(batch[2].tokens, (Strings{"[CLS]", "hello", "[SEP]", "[PAD]", "[PAD]"}));
}

void TestTokenizer::offsetsInCodePointsAndBytes()
{
    const Tokenizer t = small();
    // "Héllo," : H é l l o = 5 code points, 6 bytes
    const std::vector<Token> tokens = t.tokenize("Hélló, wörld \u0130");
    QCOMPARE(offsets(tokens), (std::vector<TextSpan>{{0, 5}, {5, 6}, {7, 12}, {13, 14}}));
    QCOMPARE(offsets(tokens, true), (std::vector<TextSpan>{{0, 7}, {7, 8}, {9, 15}, {16, 18}}));
    // pieces of one word, and a CJK character between spaces it did not have
    const std::vector<Token> pieces = t.tokenize("xx unaffable你");
    QCOMPARE(offsets(pieces), (std::vector<TextSpan>{{0, 2}, {3, 5}, {5, 8}, {8, 12}, {12, 13}}));
    // the pair's offsets are into the pair text; special tokens get (0, 0)
    const Encoding e = t.encodePair("a", "  b");
    QCOMPARE(e.offsets, (std::vector<TextSpan>{{0, 0}, {0, 1}, {0, 0}, {2, 3}, {0, 0}}));
}

void TestTokenizer::invalidUtf8IsReplacedLikePython()
{
    // Python: b"...".decode("utf-8", errors="replace") (maximal subparts)
    const std::vector<std::pair<std::string, std::size_t>> cases = {{"\xE2\x82", 1},         {"\xF0\x80", 2},
                                                                    {"\xED\xA0\x80", 3},     {"\xC0\xAF", 2},
                                                                    {"\xF4\x90\x80\x80", 4}, {"\xF0\x9F\x98", 1}};
    for (const auto &[bytes, count] : cases) {
        const DecodedText d = decodeUtf8Replace(bytes);
        QCOMPARE(d.codePoints.size(), count);
        for (const char32_t c : d.codePoints)
            QCOMPARE(static_cast<std::uint32_t>(c), std::uint32_t{0xFFFD});
        QCOMPARE(d.byteStart.back(), static_cast<std::uint32_t>(bytes.size()));
    }
    for (const auto flavor : {TokenizerFlavor::Fast, TokenizerFlavor::Slow}) {
        // a b U+FFFD c d U+FFFD: the replacement characters are dropped by clean text
        const std::vector<Token> tokens = small(flavored(flavor))
                                              .tokenize("ab\xFF"
                                                        "cd \xE2\x82 hello");
        QCOMPARE(tokens.size(), std::size_t{5});
        QCOMPARE(small(flavored(flavor)).tokenText(tokens[0].id), std::string("a"));
        QCOMPARE(tokens[2].offset, (TextSpan{3, 4}));
        QCOMPARE(tokens[3].offset, (TextSpan{4, 5}));
        QCOMPARE(tokens[4].offset, (TextSpan{8, 13}));
        QCOMPARE(tokens[4].byteOffset, (TextSpan{9, 14}));
    }
}

void TestTokenizer::realVocabularies()
{
    const Tokenizer uncased =
        Tokenizer::fromPath(test::sharedPath("models/vocab-bert-base-uncased/vocab.txt").toStdString());
    QVERIFY(uncased.options().doLowerCase);
    QCOMPARE(uncased.encode("Hello, world!").ids, (std::vector<std::int32_t>{101, 7592, 1010, 2088, 999, 102}));
    const Tokenizer cased = Tokenizer::fromPath(test::sharedPath("models/vocab-bert-base-cased").toStdString());
    QVERIFY(!cased.options().doLowerCase);
    QCOMPARE(cased.vocabSize(), std::size_t{28996});
    QCOMPARE(cased.tokenizeToStrings("Hello"), (Strings{"Hello"}));
}

void TestTokenizer::fromDirectoryReadsConfigs()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    writeFile(dir.filePath("vocab.txt"), vocabBytes());
    writeFile(dir.filePath("tokenizer_config.json"),
              R"({"do_lower_case": false, "strip_accents": true, "model_max_length": 7,
                  "mask_token": {"content": "[MASK]", "lstrip": true}, "tokenize_chinese_chars": false})");
    writeFile(dir.filePath("config.json"), R"({"max_position_embeddings": 512})");
    const Tokenizer t = Tokenizer::fromDirectory(dir.path().toStdString());
    QVERIFY(!t.options().doLowerCase);
    QCOMPARE(t.options().stripAccents, std::optional<bool>(true));
    QVERIFY(!t.options().tokenizeChineseChars);
    QCOMPARE(t.options().modelMaxLength, std::size_t{7});
    QCOMPARE(t.tokenizeToStrings("Café"), (Strings{"[UNK]"})); // "Cafe" is not in the vocabulary
    EncodeOptions o;
    o.truncation = TruncationStrategy::LongestFirst; // max length from model_max_length
    QCOMPARE(t.encode("a b c d e f g h").size(), std::size_t{10});
    QCOMPARE(t.encode("a b c d e f g h", o).size(), std::size_t{7});

    // tokenizer.json alone: vocab and normaliser from it
    QTemporaryDir json;
    QJsonObject vocab;
    const Strings tokens = smallVocab();
    for (std::size_t i = 0; i < tokens.size(); ++i)
        vocab[QString::fromStdString(tokens[i])] = static_cast<int>(i);
    QJsonObject root;
    root["normalizer"] = QJsonObject{{"type", "BertNormalizer"}, {"lowercase", false}, {"strip_accents", QJsonValue()}};
    root["model"] = QJsonObject{{"type", "WordPiece"},
                                {"unk_token", "[UNK]"},
                                {"max_input_chars_per_word", 4},
                                {"continuing_subword_prefix", "##"},
                                {"vocab", vocab}};
    writeFile(json.filePath("tokenizer.json"), QJsonDocument(root).toJson());
    const Tokenizer fromJson = Tokenizer::fromDirectory(json.path().toStdString());
    QVERIFY(!fromJson.options().doLowerCase);
    QCOMPARE(fromJson.vocabSize(), tokens.size());
    QCOMPARE(fromJson.tokenizeToStrings("Café hello"), (Strings{"Café", "[UNK]"}));
}

void TestTokenizer::fromDirectoryInfersCasing()
{
    QTemporaryDir dir;
    writeFile(dir.filePath("vocab.txt"), "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n");
    const Tokenizer lower = Tokenizer::fromDirectory(dir.path().toStdString());
    QVERIFY(lower.options().doLowerCase);
    QCOMPARE(lower.options().modelMaxLength, std::size_t{512});
    writeFile(dir.filePath("vocab.txt"), "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nHello\n");
    writeFile(dir.filePath("config.json"), R"({"max_position_embeddings": 128})");
    const Tokenizer cased = Tokenizer::fromDirectory(dir.path().toStdString());
    QVERIFY(!cased.options().doLowerCase);
    QCOMPARE(cased.options().modelMaxLength, std::size_t{128});
    QCOMPARE(cased.tokenizeToStrings("Hello hello"), (Strings{"Hello", "[UNK]"}));

    // transformers' "no limit" (1e30): truncation and max_length padding without a length do nothing
    writeFile(dir.filePath("tokenizer_config.json"), R"({"model_max_length": 1e30})");
    const Tokenizer unlimited = Tokenizer::fromDirectory(dir.path().toStdString());
    QCOMPARE(unlimited.options().modelMaxLength, std::numeric_limits<std::size_t>::max());
    EncodeOptions o;
    o.truncation = TruncationStrategy::LongestFirst;
    o.padding = PaddingStrategy::MaxLength;
    QCOMPARE(unlimited.encode("Hello Hello Hello", o).size(), std::size_t{5});
}

void TestTokenizer::missingVocabNamesThePath()
{
    const std::string missing = "/nonexistent/dir/vocab.txt";
    try {
        (void)Tokenizer::fromVocabFile(missing);
        QFAIL("no error");
    } catch (const IoError &e) {
        QCOMPARE(e.where().file, missing);
        QVERIFY2(std::string(e.what()).find(missing) != std::string::npos, e.what());
    }
    QTemporaryDir dir;
    try {
        (void)Tokenizer::fromDirectory(dir.path().toStdString());
        QFAIL("no error");
    } catch (const IoError &e) {
        QVERIFY2(std::string(e.what()).find("vocab.txt") != std::string::npos, e.what());
    }
    writeFile(dir.filePath("vocab.txt"), "hello\n");
    QVERIFY_THROWS_EXCEPTION(FormatError, Tokenizer::fromDirectory(dir.path().toStdString())); // no [UNK]
}

void TestTokenizer::malformedConfigNamesFileAndField()
{
    QTemporaryDir dir;
    writeFile(dir.filePath("vocab.txt"), vocabBytes());
    const QString config = dir.filePath("tokenizer_config.json");
    writeFile(config, "{\"do_lower_case\": tru");
    try {
        (void)Tokenizer::fromDirectory(dir.path().toStdString());
        QFAIL("no error");
    } catch (const FormatError &e) {
        QCOMPARE(QString::fromStdString(e.where().file), config);
        QVERIFY2(e.message().find("malformed JSON") != std::string::npos, e.what());
    }
    writeFile(config, R"({"do_lower_case": "yes"})");
    try {
        (void)Tokenizer::fromDirectory(dir.path().toStdString());
        QFAIL("no error");
    } catch (const FormatError &e) {
        QCOMPARE(QString::fromStdString(e.where().file), config);
        QCOMPARE(e.where().field, std::string("do_lower_case"));
        QCOMPARE(std::string(e.what()), "field 'do_lower_case' must be true or false (file '" + config.toStdString() +
                                            "', field 'do_lower_case')");
    }
    writeFile(config, R"({"model_max_length": -3})");
    QVERIFY_THROWS_EXCEPTION(FormatError, Tokenizer::fromDirectory(dir.path().toStdString()));
}

void TestTokenizer::cliTokenizeJson()
{
    const QString vocab = test::sharedPath("models/vocab-bert-base-uncased");
    const test::ProcessResult r = test::runCli({"tokenize", "--model", vocab, "--text", "Héllo, world!", "--text-pair",
                                                "Paris", "--max-length", "6", "--padding", "max_length", "--json"});
    QCOMPARE(r.exitCode, 0);
    const QJsonObject o = QJsonDocument::fromJson(r.out).object();
    QCOMPARE(o["flavor"].toString(), QString("fast"));
    QCOMPARE(o["input_ids"].toArray(), (QJsonArray{101, 7592, 1010, 102, 3000, 102}));
    QCOMPARE(o["token_type_ids"].toArray(), (QJsonArray{0, 0, 0, 0, 1, 1}));
    QCOMPARE(o["attention_mask"].toArray(), (QJsonArray{1, 1, 1, 1, 1, 1}));
    QCOMPARE(o["offsets"].toArray().at(1).toArray(), (QJsonArray{0, 5}));
    QCOMPARE(o["byte_offsets"].toArray().at(1).toArray(), (QJsonArray{0, 6}));
    QCOMPARE(o["tokens"].toArray().at(4).toString(), QString("paris"));

    // raw bytes with invalid UTF-8 from a file, and the readable table
    QTemporaryDir dir;
    writeFile(dir.filePath("text.txt"), "hello \xFF world");
    const test::ProcessResult table =
        test::runCli({"tokenize", "--model", vocab + "/vocab.txt", "--text-file", dir.filePath("text.txt"), "--slow"});
    QCOMPARE(table.exitCode, 0);
    QVERIFY2(table.out.contains("tokenizer: slow, lower-cased"), table.out.constData());
    QVERIFY2(table.out.contains("   2088  world"), table.out.constData());
    QVERIFY2(table.out.contains("8-13"), table.out.constData()); // code points of "world"
}

void TestTokenizer::cliErrors()
{
    const test::ProcessResult missing = test::runCli({"tokenize", "--model", "/nonexistent/model", "--text", "x"});
    QCOMPARE(missing.exitCode, 2);
    QVERIFY2(missing.err.contains("/nonexistent/model"), missing.err.constData());
    const QString vocab = test::sharedPath("models/vocab-bert-base-uncased");
    const test::ProcessResult badStrategy =
        test::runCli({"tokenize", "--model", vocab, "--text", "x", "--truncation", "sometimes"});
    QCOMPARE(badStrategy.exitCode, 1);
    QVERIFY(badStrategy.err.contains("--truncation"));
    const test::ProcessResult tooShort = test::runCli({"tokenize", "--model", vocab, "--text", "a b c d", "--text-pair",
                                                       "e", "--max-length", "5", "--truncation", "only_second"});
    QCOMPARE(tooShort.exitCode, 2);
    QVERIFY2(tooShort.err.contains("only_second"), tooShort.err.constData());
}

QTEST_GUILESS_MAIN(TestTokenizer)
#include "tst_tokenizer.moc"

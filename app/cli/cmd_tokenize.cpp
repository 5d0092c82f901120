// qdq tokenize: the BERT WordPiece tokenizer on one text or a pair (reference §6).
#include "cli/cli.h"

#include "qdq/errors.h"
#include "qdq/io/text_file.h"
#include "qdq/tokenizer.h"

#include <QFile>

#include <cstdio>
#include <string>

namespace qdq::cli {
namespace {

// --text-file: the bytes as they are (invalid UTF-8 is then decoded with replacement by the
// tokenizer, like Python's errors="replace"); "-" reads standard input.
std::string readTextFile(const QString &path)
{
    if (path != "-") // a regular file, read whole (proportional to its size)
        return io::readTextFile(path.toStdString(), std::size_t{1} << 30);
    QFile file;
    const bool ok = file.open(stdin, QIODevice::ReadOnly);
    if (!ok)
        throw IoError("cannot open the text file: " + file.errorString().toStdString(), {path.toStdString(), {}, {}});
    const QByteArray bytes = file.readAll();
    return {bytes.constData(), static_cast<std::size_t>(bytes.size())};
}

std::string utf8(const QString &s)
{
    const QByteArray b = s.toUtf8();
    return {b.constData(), static_cast<std::size_t>(b.size())};
}

nlohmann::json spansJson(const std::vector<TextSpan> &spans)
{
    nlohmann::json out = nlohmann::json::array();
    for (const TextSpan &s : spans)
        out.push_back({s.begin, s.end});
    return out;
}

// Tokens are shown in the table as JSON-style escapes where they hold control or space chars.
std::string printable(const std::string &token)
{
    std::string out;
    for (const char c : token) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7F) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", u);
            out += buf;
        } else {
            out += c;
        }
    }
    return out;
}

int runTokenize(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        "Tokenize a text (or a pair) with the model's WordPiece tokenizer, as transformers' BertTokenizerFast "
        "(or BertTokenizer with --slow) would: ids, tokens, token type ids, attention mask and offsets.");
    addCommonOptions(parser);
    parser.addOption({"model",
                      "Model folder (vocab.txt, optional tokenizer_config.json, tokenizer.json, "
                      "config.json) or a vocab.txt file.",
                      "P"});
    parser.addOption({"text", "The text (UTF-8).", "T"});
    parser.addOption({"text-file", "Read the text from a file as raw bytes ('-': standard input).", "F"});
    parser.addOption({"text-pair", "The second text of a pair.", "T2"});
    parser.addOption({"max-length", "Maximum length in tokens, special tokens included.", "N"});
    parser.addOption({"truncation",
                      "longest_first, only_first, only_second or do_not_truncate (default: "
                      "longest_first when --max-length is given).",
                      "S"});
    parser.addOption({"padding", "longest or max_length (default: no padding).", "S"});
    parser.addOption({"slow", "Python BertTokenizer semantics instead of the fast (Rust) tokenizer's."});
    parser.addOption({"no-special-tokens", "Do not add [CLS] and [SEP]."});
    const CommonOptions common = parseArgs(parser, args, "tokenize");

    const QString model = requireOption(parser, "model");
    if (parser.isSet("text") == parser.isSet("text-file"))
        throw UsageError("give the text with exactly one of --text and --text-file");
    const std::string text =
        parser.isSet("text") ? utf8(parser.value("text")) : readTextFile(parser.value("text-file"));

    EncodeOptions options;
    options.addSpecialTokens = !parser.isSet("no-special-tokens");
    if (parser.isSet("max-length")) {
        options.maxLength = static_cast<std::size_t>(intOption(parser, "max-length", 1));
        options.truncation = TruncationStrategy::LongestFirst;
    }
    if (parser.isSet("truncation")) {
        const auto s = parseTruncationStrategy(parser.value("truncation").toStdString());
        if (!s)
            throw UsageError("--truncation expects longest_first, only_first, only_second or do_not_truncate, got '" +
                             parser.value("truncation").toStdString() + "'");
        options.truncation = *s;
    }
    if (parser.isSet("padding")) {
        const auto p = parsePaddingStrategy(parser.value("padding").toStdString());
        if (!p)
            throw UsageError("--padding expects longest or max_length, got '" + parser.value("padding").toStdString() +
                             "'");
        options.padding = *p;
    }

    const TokenizerFlavor flavor = parser.isSet("slow") ? TokenizerFlavor::Slow : TokenizerFlavor::Fast;
    const Tokenizer tokenizer = Tokenizer::fromPath(model.toStdString(), flavor);
    const Encoding e = parser.isSet("text-pair") ? tokenizer.encodePair(text, utf8(parser.value("text-pair")), options)
                                                 : tokenizer.encode(text, options);

    const char *flavorName = flavor == TokenizerFlavor::Fast ? "fast" : "slow";
    if (common.json) {
        printJson({{"flavor", flavorName},
                   {"do_lower_case", tokenizer.options().doLowerCase},
                   {"input_ids", e.ids},
                   {"tokens", e.tokens},
                   {"token_type_ids", e.typeIds},
                   {"attention_mask", e.attentionMask},
                   {"special_tokens_mask", e.specialTokensMask},
                   {"sequence_ids", e.sequenceIds},
                   {"offsets", spansJson(e.offsets)},
                   {"byte_offsets", spansJson(e.byteOffsets)}});
        return Ok;
    }
    std::printf("tokenizer: %s, %s, %zu tokens in the vocabulary; %zu tokens\n", flavorName,
                tokenizer.options().doLowerCase ? "lower-cased" : "cased", tokenizer.vocabSize(), e.size());
    std::printf("%5s %6s  %-20s %4s %4s %5s %13s %13s\n", "index", "id", "token", "type", "mask", "seq", "chars",
                "bytes");
    for (std::size_t i = 0; i < e.size(); ++i) {
        const std::string chars = std::to_string(e.offsets[i].begin) + "-" + std::to_string(e.offsets[i].end);
        const std::string bytes = std::to_string(e.byteOffsets[i].begin) + "-" + std::to_string(e.byteOffsets[i].end);
        std::printf("%5zu %6d  %-20s %4d %4d %5d %13s %13s\n", i, e.ids[i], printable(e.tokens[i]).c_str(),
                    e.typeIds[i], e.attentionMask[i], e.sequenceIds[i], chars.c_str(), bytes.c_str());
    }
    return Ok;
}

const RegisterCommand registerTokenize({"tokenize", "Tokenize a text or a pair with the model's WordPiece tokenizer",
                                        runTokenize});

} // namespace
} // namespace qdq::cli

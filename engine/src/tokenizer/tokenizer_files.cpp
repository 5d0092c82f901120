// Loading a tokenizer from a model folder: vocab.txt, tokenizer_config.json, tokenizer.json,
// config.json (design.md, "Checkpoints accepted").
#include "qdq/tokenizer.h"

#include "qdq/errors.h"
#include "qdq/io/text_file.h"
#include "tokenizer/vocabulary.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <iterator>
#include <limits>
#include <map>

namespace qdq {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using Files = std::map<std::string, std::string>;

// The JSON object in files[name], if present; `path` names it in messages.
std::optional<json> readJson(const Files &files, const std::string &name, const fs::path &path)
{
    const auto it = files.find(name);
    if (it == files.end())
        return std::nullopt;
    json value = io::parseJson(it->second, path.string(), "malformed JSON"); // depth-limited
    if (!value.is_object())
        throw FormatError("expected a JSON object at the top level", {path.string(), {}, {}});
    return value;
}

class FieldReader {
public:
    FieldReader(const json &object, const fs::path &file, std::string prefix = {})
        : m_object(object), m_file(file), m_prefix(std::move(prefix))
    {
    }

    [[nodiscard]] const json *find(const char *name) const
    {
        const auto it = m_object.find(name);
        return it == m_object.end() ? nullptr : &*it;
    }

    [[noreturn]] void fail(const char *name, const std::string &expected) const
    {
        throw FormatError("field '" + m_prefix + name + "' must be " + expected,
                          {m_file.string(), {}, m_prefix + name});
    }

    void readBool(const char *name, bool &out) const
    {
        if (const json *v = find(name)) {
            if (!v->is_boolean())
                fail(name, "true or false");
            out = v->get<bool>();
        }
    }

    // true/false/null; absent leaves out unchanged.
    void readOptionalBool(const char *name, std::optional<bool> &out) const
    {
        if (const json *v = find(name)) {
            if (v->is_null())
                out.reset();
            else if (v->is_boolean())
                out = v->get<bool>();
            else
                fail(name, "true, false or null");
        }
    }

    void readSize(const char *name, std::size_t &out) const
    {
        if (const json *v = find(name)) {
            if (v->is_number_unsigned()) {
                out = v->get<std::size_t>();
            } else if (v->is_number_float() && v->get<double>() >= 0) {
                // transformers writes "no limit" as 1e30 (VERY_LARGE_INTEGER)
                const double d = v->get<double>();
                out = d >= 1e18 ? std::numeric_limits<std::size_t>::max() : static_cast<std::size_t>(d);
            } else {
                fail(name, "a non-negative number");
            }
        }
    }

    // A special token: a string, or an AddedToken object with "content".
    void readToken(const char *name, std::string &out) const
    {
        if (const json *v = find(name)) {
            if (v->is_string())
                out = v->get<std::string>();
            else if (v->is_object() && v->contains("content") && (*v)["content"].is_string())
                out = (*v)["content"].get<std::string>();
            else if (!v->is_null())
                fail(name, "a string or an object with a string \"content\"");
        }
    }

    void readStrings(const char *name, std::vector<std::string> &out) const
    {
        if (const json *v = find(name)) {
            if (v->is_null())
                return;
            if (!v->is_array())
                fail(name, "an array of strings or null");
            out.clear();
            for (const json &s : *v) {
                if (!s.is_string())
                    fail(name, "an array of strings or null");
                out.push_back(s.get<std::string>());
            }
        }
    }

private:
    const json &m_object;
    const fs::path &m_file;
    std::string m_prefix;
};

} // namespace

Tokenizer Tokenizer::fromDirectory(const fs::path &directory, TokenizerFlavor flavor)
{
    std::error_code ec;
    if (!fs::is_directory(directory, ec))
        throw IoError("not a model folder", {directory.string(), {}, {}});
    Files files;
    for (const char *name : {"vocab.txt", "tokenizer.json", "tokenizer_config.json", "config.json"})
        if (fs::exists(directory / name, ec))
            files.emplace(name, io::readTextFile(directory / name)); // regular files, size-capped
    return fromFiles(files, directory, flavor);
}

Tokenizer Tokenizer::fromFiles(const std::map<std::string, std::string> &files, const fs::path &directory,
                               TokenizerFlavor flavor)
{
    // A value of the wrong JSON type anywhere below (a `.value()` or `get<>()` on it) is bad
    // input naming the tokenizer files, not an internal error.
    try {
        const fs::path vocabPath = directory / "vocab.txt";
        const fs::path tokenizerJsonPath = directory / "tokenizer.json";
        const fs::path tokenizerConfigPath = directory / "tokenizer_config.json";
        const fs::path configPath = directory / "config.json";
        const bool hasVocabTxt = files.count("vocab.txt") != 0;

        TokenizerOptions options;
        options.flavor = flavor;
        std::optional<bool> lowerCase;
        std::unique_ptr<Vocabulary> vocab;

        // tokenizer.json first; tokenizer_config.json overrides it, as BertTokenizerFast rebuilds
        // its normaliser from the config's arguments when they differ.
        const std::optional<json> tokenizerJson = readJson(files, "tokenizer.json", tokenizerJsonPath);
        if (tokenizerJson) {
            const FieldReader top(*tokenizerJson, tokenizerJsonPath);
            if (const json *normalizer = top.find("normalizer");
                normalizer && normalizer->is_object() && normalizer->value("type", "") == "BertNormalizer") {
                const FieldReader r(*normalizer, tokenizerJsonPath, "normalizer.");
                bool lower = true;
                r.readBool("lowercase", lower);
                lowerCase = lower;
                r.readOptionalBool("strip_accents", options.stripAccents);
                r.readBool("handle_chinese_chars", options.tokenizeChineseChars);
            }
            if (const json *model = top.find("model"); model && model->is_object()) {
                const FieldReader r(*model, tokenizerJsonPath, "model.");
                if (model->value("type", "WordPiece") != "WordPiece")
                    throw UnsupportedError("only WordPiece tokenizers are supported, this one is '" +
                                               model->value("type", std::string()) + "'",
                                           {tokenizerJsonPath.string(), {}, "model.type"});
                r.readSize("max_input_chars_per_word", options.maxInputCharsPerWord);
                r.readToken("unk_token", options.unkToken);
                std::string prefix = "##";
                r.readToken("continuing_subword_prefix", prefix);
                if (prefix != "##")
                    throw UnsupportedError("only the '##' continuation prefix is supported",
                                           {tokenizerJsonPath.string(), {}, "model.continuing_subword_prefix"});
                if (!hasVocabTxt) {
                    const json *v = r.find("vocab");
                    if (!v || !v->is_object())
                        r.fail("vocab", "an object of token: id");
                    std::vector<std::string> tokens(v->size());
                    for (const auto &[token, id] : v->items()) {
                        if (!id.is_number_unsigned() || id.get<std::size_t>() >= tokens.size())
                            r.fail("vocab", "an object mapping each token to an id below its size");
                        tokens[id.get<std::size_t>()] = token;
                    }
                    vocab = std::make_unique<Vocabulary>(std::move(tokens));
                }
            }
        }
        if (!vocab) {
            if (!hasVocabTxt)
                throw IoError("no vocab.txt (nor a WordPiece tokenizer.json) in the model folder",
                              {vocabPath.string(), {}, {}});
            vocab = Vocabulary::fromText(files.at("vocab.txt"), vocabPath.string());
        }

        bool modelMaxFromTokenizer = false;
        if (const std::optional<json> config = readJson(files, "tokenizer_config.json", tokenizerConfigPath)) {
            const FieldReader r(*config, tokenizerConfigPath);
            if (r.find("do_lower_case")) {
                bool lower = true;
                r.readBool("do_lower_case", lower);
                lowerCase = lower;
            }
            r.readOptionalBool("strip_accents", options.stripAccents);
            r.readBool("tokenize_chinese_chars", options.tokenizeChineseChars);
            r.readBool("do_split_on_punc", options.splitOnPunctuation);
            r.readStrings("never_split", options.neverSplit);
            r.readToken("unk_token", options.unkToken);
            r.readToken("sep_token", options.sepToken);
            r.readToken("pad_token", options.padToken);
            r.readToken("cls_token", options.clsToken);
            r.readToken("mask_token", options.maskToken);
            if (r.find("model_max_length")) {
                r.readSize("model_max_length", options.modelMaxLength);
                modelMaxFromTokenizer = true;
            }
        }
        if (const std::optional<json> config = readJson(files, "config.json", configPath);
            config && !modelMaxFromTokenizer) {
            const FieldReader r(*config, configPath);
            r.readSize("max_position_embeddings", options.modelMaxLength);
        }
        // No file says whether to lower-case: a vocabulary with upper-case entries is a cased one
        // (bert-base-cased has "The", bert-base-uncased has none).
        options.doLowerCase = lowerCase.value_or(!vocab->looksCased());
        return Tokenizer(std::move(vocab), std::move(options));
    } catch (const json::exception &e) {
        throw FormatError(std::string("unexpected JSON value in the tokenizer files: ") + e.what(),
                          {directory.string(), {}, {}});
    }
}

Tokenizer Tokenizer::fromPath(const fs::path &path, TokenizerFlavor flavor)
{
    std::error_code ec;
    if (fs::is_directory(path, ec))
        return fromDirectory(path, flavor);
    if (!fs::exists(path, ec))
        throw IoError("no such file or folder", {path.string(), {}, {}});
    auto vocab = Vocabulary::fromFile(path);
    TokenizerOptions options;
    options.flavor = flavor;
    options.doLowerCase = !vocab->looksCased();
    return Tokenizer(std::move(vocab), std::move(options));
}

} // namespace qdq

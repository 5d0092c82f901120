#include "tokenizer/vocabulary.h"

#include "qdq/errors.h"
#include "qdq/io/text_file.h"
#include "qdq/tokenizer.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <limits>

namespace qdq {

namespace {

// reference §6.5: one token per line, id = 0-based line index, only '\n' is stripped.
std::vector<std::string> vocabularyLines(const std::string &data, const std::string &origin)
{
    std::vector<std::string> tokens;
    std::size_t start = 0;
    while (start < data.size()) {
        std::size_t end = data.find('\n', start);
        if (end == std::string::npos)
            end = data.size();
        tokens.emplace_back(data, start, end - start);
        start = end + 1;
    }
    if (tokens.empty())
        throw FormatError("the vocabulary file is empty", {origin, {}, {}});
    if (tokens.size() > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
        throw FormatError("the vocabulary file has too many lines", {origin, {}, {}});
    return tokens;
}

} // namespace

std::vector<std::string> readVocabularyFile(const std::filesystem::path &path)
{
    // a regular file of at most 64 MiB (a symlink to a device would be read forever)
    return vocabularyLines(io::readTextFile(path), path.string());
}

std::unique_ptr<Vocabulary> Vocabulary::fromFile(const std::filesystem::path &path)
{
    return std::make_unique<Vocabulary>(readVocabularyFile(path));
}

std::unique_ptr<Vocabulary> Vocabulary::fromText(const std::string &data, const std::string &origin)
{
    return std::make_unique<Vocabulary>(vocabularyLines(data, origin));
}

Vocabulary::Vocabulary(std::vector<std::string> tokens) : m_tokens(std::move(tokens))
{
    m_ids.reserve(m_tokens.size() * 2);
    for (std::size_t i = 0; i < m_tokens.size(); ++i) {
        const std::string_view token = m_tokens[i];
        const auto id = static_cast<std::int32_t>(i);
        // WordPiece tries every piece length up to the longest token at every position of a
        // word (reference §6.5): a bound on that length keeps the work per character fixed
        if (token.size() > kMaxTokenBytes)
            throw FormatError("vocabulary token " + std::to_string(i) + " is " + std::to_string(token.size()) +
                              " bytes long; tokens of at most " + std::to_string(kMaxTokenBytes) +
                              " bytes are supported");
        m_ids[token] = id;
        if (token.size() > 2 && token.starts_with("##")) {
            m_continuations[token.substr(2)] = id;
            m_maxTokenBytes = std::max(m_maxTokenBytes, token.size() - 2);
        }
        m_maxTokenBytes = std::max(m_maxTokenBytes, token.size());
    }
}

const std::string &Vocabulary::token(std::int32_t id) const
{
    if (id < 0 || static_cast<std::size_t>(id) >= m_tokens.size())
        throw ShapeError("token id " + std::to_string(id) + " is outside the vocabulary of " +
                         std::to_string(m_tokens.size()) + " tokens");
    return m_tokens[static_cast<std::size_t>(id)];
}

bool Vocabulary::looksCased() const noexcept
{
    return std::any_of(m_tokens.begin(), m_tokens.end(), [](const std::string &t) {
        if (t.size() >= 2 && t.front() == '[' && t.back() == ']')
            return false;
        return std::any_of(t.begin(), t.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
    });
}

} // namespace qdq

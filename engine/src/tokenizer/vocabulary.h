#pragma once
// The WordPiece vocabulary: token strings by id and the two lookups WordPiece needs
// (whole tokens, and "##" continuations keyed without their prefix).

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace qdq {

class Vocabulary {
public:
    // reference §6.5: one token per line, id = 0-based line index, only '\n' is stripped.
    static std::unique_ptr<Vocabulary> fromFile(const std::filesystem::path &path);
    // The same from the file's contents; `origin` names the file in error messages.
    static std::unique_ptr<Vocabulary> fromText(const std::string &data, const std::string &origin);
    explicit Vocabulary(std::vector<std::string> tokens);

    Vocabulary(const Vocabulary &) = delete;
    Vocabulary &operator=(const Vocabulary &) = delete;

    [[nodiscard]] std::size_t size() const noexcept { return m_tokens.size(); }
    [[nodiscard]] const std::string &token(std::int32_t id) const;
    // -1 when absent. A token listed twice maps to its last line, as Python's dict does.
    [[nodiscard]] std::int32_t find(std::string_view token) const noexcept
    {
        const auto it = m_ids.find(token);
        return it == m_ids.end() ? -1 : it->second;
    }
    // The id of "##" + piece, or -1.
    [[nodiscard]] std::int32_t findContinuation(std::string_view piece) const noexcept
    {
        const auto it = m_continuations.find(piece);
        return it == m_continuations.end() ? -1 : it->second;
    }
    // Longest token in bytes (the "##" of continuations not counted): WordPiece never needs to
    // look up a longer candidate.
    [[nodiscard]] std::size_t maxTokenBytes() const noexcept { return m_maxTokenBytes; }
    // Longer tokens are refused (FormatError) when the vocabulary is built (BERT's are < 100).
    static constexpr std::size_t kMaxTokenBytes = 1024;
    // True if some token other than a [bracketed] special one has an upper-case ASCII letter.
    [[nodiscard]] bool looksCased() const noexcept;

private:
    std::vector<std::string> m_tokens;
    std::unordered_map<std::string_view, std::int32_t> m_ids;
    std::unordered_map<std::string_view, std::int32_t> m_continuations;
    std::size_t m_maxTokenBytes = 0;
};

} // namespace qdq

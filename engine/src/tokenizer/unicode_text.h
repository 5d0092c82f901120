#pragma once
// Character data for the BERT tokenizer (reference §6.3, §6.4, §6.8), from utf8proc.

#include <cstdint>
#include <vector>

namespace qdq::tokenizer {

// Text being normalised: each code point remembers the span [begin, end) of original code
// points it came from, so that every token can be mapped back to the input (offsets).
struct CharBuffer {
    std::vector<char32_t> chars;
    std::vector<std::uint32_t> begins;
    std::vector<std::uint32_t> ends;

    void clear()
    {
        chars.clear();
        begins.clear();
        ends.clear();
    }
    void push(char32_t c, std::uint32_t begin, std::uint32_t end)
    {
        chars.push_back(c);
        begins.push_back(begin);
        ends.push_back(end);
    }
    [[nodiscard]] std::size_t size() const noexcept { return chars.size(); }
};

// reference §6.4: ASCII 33–47, 58–64, 91–96, 123–126 or a "P*" category. `fast` picks whose
// Unicode data decides where the references differ from utf8proc (unicode_overrides.h).
bool isPunctuation(char32_t c, bool fast) noexcept;
// reference §6.4 (slow): category "C*" (Cc, Cf, Cs, Co and unassigned Cn) except \t \n \r.
bool isControlSlow(char32_t c) noexcept;
// reference §6.8 (fast): the Rust normaliser's "Other" test, which does not include unassigned
// code points (measured: transformers 4.37.2 / tokenizers 0.15.2 keep U+0378).
bool isControlFast(char32_t c) noexcept;
// reference §6.4 (slow): ' ', \t, \n, \r or category Zs.
bool isWhitespaceSlow(char32_t c) noexcept;
// reference §6.8 (fast): Rust char::is_whitespace (Unicode White_Space).
bool isWhitespaceFast(char32_t c) noexcept;
// Python str.isspace(), used by str.split() (reference §6.3 step 4).
bool isSplitSpace(char32_t c) noexcept;
// reference §6.3 step 2 / §6.8: the CJK ideograph ranges (they differ in one range).
bool isCjkSlow(char32_t c) noexcept;
bool isCjkFast(char32_t c) noexcept;

// Python str.lower() / Rust char::to_lowercase() of one code point, full case mapping without
// context (reference §6.2 step 1). Returns the number of code points written to out (1 or 2).
int lowerFull(char32_t c, char32_t out[2]) noexcept;

// Lower-cases buf[from..] in place, per code point (U+0130 grows into two).
void lowerCase(CharBuffer &buf, std::size_t from);
// NFD of buf[from..] (decomposition and canonical ordering), then every Mn is deleted
// (reference §6.3 step 5, "strip accents"). scratch is a reusable work buffer.
void stripAccents(CharBuffer &buf, std::size_t from, CharBuffer &scratch, bool fast);
// NFC of buf[from..] (reference §6.3 step 3). Each composed code point gets the span of the
// code points it was composed from.
void composeNfc(CharBuffer &buf, std::size_t from, CharBuffer &scratch);

} // namespace qdq::tokenizer

#include "tokenizer/unicode_text.h"

#include "tokenizer/unicode_overrides.h"

#include <utf8proc.h>

#include <algorithm>
#include <optional>

namespace qdq::tokenizer {
namespace {

utf8proc_category_t category(char32_t c) noexcept
{
    return utf8proc_category(static_cast<utf8proc_int32_t>(c));
}

int combiningClass(char32_t c) noexcept
{
    if (c < 0x300)
        return 0;
    return utf8proc_get_property(static_cast<utf8proc_int32_t>(c))->combining_class;
}

// The reference's class of c where its Unicode data differs from utf8proc's, else nullopt.
std::optional<CharClass> overrideFor(char32_t c, bool fast) noexcept
{
    const ClassOverride *table = fast ? kFastOverrides : kSlowOverrides;
    const std::size_t count = fast ? kFastOverrideCount : kSlowOverrideCount;
    const ClassOverride *end = table + count;
    const ClassOverride *it =
        std::upper_bound(table, end, c, [](char32_t value, const ClassOverride &o) { return value < o.first; });
    if (it == table)
        return std::nullopt;
    --it;
    return c <= it->last ? std::optional<CharClass>(it->cls) : std::nullopt;
}

bool isNonspacingMark(char32_t c, bool fast) noexcept
{
    if (c < 0x300)
        return false;
    if (const auto o = overrideFor(c, fast))
        return *o == CharClass::NonspacingMark;
    return category(c) == UTF8PROC_CATEGORY_MN;
}

bool isAsciiPunctuation(char32_t c) noexcept
{
    return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
}

// Canonical ordering (stable sort by combining class within runs of non-starters).
void canonicalOrder(CharBuffer &buf, std::size_t from)
{
    struct Item {
        char32_t c;
        std::uint32_t begin;
        std::uint32_t end;
        int ccc;
    };
    std::vector<Item> run;
    std::size_t i = from;
    const std::size_t n = buf.size();
    while (i < n) {
        if (combiningClass(buf.chars[i]) == 0) {
            ++i;
            continue;
        }
        std::size_t j = i;
        run.clear();
        while (j < n) {
            const int ccc = combiningClass(buf.chars[j]);
            if (ccc == 0)
                break;
            run.push_back({buf.chars[j], buf.begins[j], buf.ends[j], ccc});
            ++j;
        }
        if (run.size() > 1) {
            std::stable_sort(run.begin(), run.end(), [](const Item &a, const Item &b) { return a.ccc < b.ccc; });
            for (std::size_t k = 0; k < run.size(); ++k) {
                buf.chars[i + k] = run[k].c;
                buf.begins[i + k] = run[k].begin;
                buf.ends[i + k] = run[k].end;
            }
        }
        i = j;
    }
}

// NFD of buf[from..] into scratch (then swapped back), with canonical ordering.
void decompose(CharBuffer &buf, std::size_t from, CharBuffer &scratch)
{
    scratch.clear();
    bool needOrder = false;
    for (std::size_t i = from; i < buf.size(); ++i) {
        const char32_t c = buf.chars[i];
        if (c < 0xC0) {
            scratch.push(c, buf.begins[i], buf.ends[i]);
            continue;
        }
        utf8proc_int32_t out[32];
        int boundclass = 0;
        const utf8proc_ssize_t n =
            utf8proc_decompose_char(static_cast<utf8proc_int32_t>(c), out, 32, UTF8PROC_DECOMPOSE, &boundclass);
        if (n <= 0 || n > 32) {
            scratch.push(c, buf.begins[i], buf.ends[i]);
            continue;
        }
        for (utf8proc_ssize_t k = 0; k < n; ++k) {
            const auto d = static_cast<char32_t>(out[k]);
            needOrder = needOrder || combiningClass(d) != 0;
            scratch.push(d, buf.begins[i], buf.ends[i]);
        }
    }
    if (needOrder)
        canonicalOrder(scratch, 0);
    buf.chars.resize(from);
    buf.begins.resize(from);
    buf.ends.resize(from);
    buf.chars.insert(buf.chars.end(), scratch.chars.begin(), scratch.chars.end());
    buf.begins.insert(buf.begins.end(), scratch.begins.begin(), scratch.begins.end());
    buf.ends.insert(buf.ends.end(), scratch.ends.begin(), scratch.ends.end());
}

bool allAscii(const CharBuffer &buf, std::size_t from) noexcept
{
    return std::all_of(buf.chars.begin() + static_cast<std::ptrdiff_t>(from), buf.chars.end(),
                       [](char32_t c) { return c < 0x80; });
}

// The primary composite of starter + c, or 0 when there is none (composition exclusions
// and Hangul handled by utf8proc).
char32_t composePair(char32_t starter, char32_t c) noexcept
{
    utf8proc_int32_t pair[2] = {static_cast<utf8proc_int32_t>(starter), static_cast<utf8proc_int32_t>(c)};
    const utf8proc_ssize_t n = utf8proc_normalize_utf32(pair, 2, UTF8PROC_COMPOSE);
    return n == 1 ? static_cast<char32_t>(pair[0]) : 0;
}

} // namespace

bool isPunctuation(char32_t c, bool fast) noexcept
{
    if (c < 0x80)
        return isAsciiPunctuation(c);
    if (const auto o = overrideFor(c, fast))
        return *o == CharClass::Punctuation;
    const utf8proc_category_t cat = category(c);
    return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

bool isControlSlow(char32_t c) noexcept
{
    if (c == '\t' || c == '\n' || c == '\r')
        return false;
    if (c >= 0x80) {
        if (const auto o = overrideFor(c, false))
            return *o == CharClass::Control;
    }
    const utf8proc_category_t cat = category(c);
    return cat == UTF8PROC_CATEGORY_CN || cat >= UTF8PROC_CATEGORY_CC;
}

bool isControlFast(char32_t c) noexcept
{
    if (c == '\t' || c == '\n' || c == '\r')
        return false;
    if (c >= 0x80) {
        if (const auto o = overrideFor(c, true))
            return *o == CharClass::Control;
    }
    return category(c) >= UTF8PROC_CATEGORY_CC;
}

bool isWhitespaceSlow(char32_t c) noexcept
{
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
        return true;
    return c >= 0x80 && category(c) == UTF8PROC_CATEGORY_ZS;
}

bool isWhitespaceFast(char32_t c) noexcept
{
    switch (c) {
    case 0x09:
    case 0x0A:
    case 0x0B:
    case 0x0C:
    case 0x0D:
    case 0x20:
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
        return true;
    default:
        return c >= 0x2000 && c <= 0x200A;
    }
}

bool isSplitSpace(char32_t c) noexcept
{
    if (c < 0x80)
        return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20);
    if (c == 0x85)
        return true;
    const utf8proc_category_t cat = category(c);
    return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL || cat == UTF8PROC_CATEGORY_ZP;
}

bool isCjkSlow(char32_t c) noexcept
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

bool isCjkFast(char32_t c) noexcept
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

int lowerFull(char32_t c, char32_t out[2]) noexcept
{
    if (c < 0x80) {
        out[0] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
        return 1;
    }
    // The one unconditional multi-code-point lower-case mapping of SpecialCasing.txt; utf8proc
    // only has simple mappings (U+0130 -> 'i').
    if (c == 0x130) {
        out[0] = U'i';
        out[1] = 0x307;
        return 2;
    }
    out[0] = static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c)));
    return 1;
}

void lowerCase(CharBuffer &buf, std::size_t from)
{
    bool grows = false;
    for (std::size_t i = from; i < buf.size(); ++i) {
        const char32_t c = buf.chars[i];
        if (c == 0x130) {
            grows = true;
            continue;
        }
        char32_t out[2];
        lowerFull(c, out);
        buf.chars[i] = out[0];
    }
    if (!grows)
        return;
    CharBuffer expanded;
    for (std::size_t i = from; i < buf.size(); ++i) {
        char32_t out[2];
        const int n = lowerFull(buf.chars[i], out);
        for (int k = 0; k < n; ++k)
            expanded.push(out[k], buf.begins[i], buf.ends[i]);
    }
    buf.chars.resize(from);
    buf.begins.resize(from);
    buf.ends.resize(from);
    buf.chars.insert(buf.chars.end(), expanded.chars.begin(), expanded.chars.end());
    buf.begins.insert(buf.begins.end(), expanded.begins.begin(), expanded.begins.end());
    buf.ends.insert(buf.ends.end(), expanded.ends.begin(), expanded.ends.end());
}

void stripAccents(CharBuffer &buf, std::size_t from, CharBuffer &scratch, bool fast)
{
    if (allAscii(buf, from))
        return;
    decompose(buf, from, scratch);
    std::size_t out = from;
    for (std::size_t i = from; i < buf.size(); ++i) {
        const char32_t c = buf.chars[i];
        if (isNonspacingMark(c, fast))
            continue;
        buf.chars[out] = c;
        buf.begins[out] = buf.begins[i];
        buf.ends[out] = buf.ends[i];
        ++out;
    }
    buf.chars.resize(out);
    buf.begins.resize(out);
    buf.ends.resize(out);
}

void composeNfc(CharBuffer &buf, std::size_t from, CharBuffer &scratch)
{
    if (allAscii(buf, from))
        return;
    decompose(buf, from, scratch);
    // Canonical composition (UAX #15): a character composes with the last starter unless a
    // character between them is a starter or has a combining class >= its own.
    std::size_t out = from;
    std::ptrdiff_t starter = -1;
    int lastClass = -1; // class of the last character kept after the starter; -1: none
    for (std::size_t i = from; i < buf.size(); ++i) {
        const char32_t c = buf.chars[i];
        const int ccc = combiningClass(c);
        if (starter >= 0 && c >= 0x80 && (lastClass == -1 || (lastClass != 0 && lastClass < ccc))) {
            const auto s = static_cast<std::size_t>(starter);
            const char32_t composite = composePair(buf.chars[s], c);
            if (composite != 0) {
                buf.chars[s] = composite;
                buf.begins[s] = std::min(buf.begins[s], buf.begins[i]);
                buf.ends[s] = std::max(buf.ends[s], buf.ends[i]);
                continue;
            }
        }
        if (ccc == 0) {
            starter = static_cast<std::ptrdiff_t>(out);
            lastClass = -1;
        } else {
            lastClass = ccc;
        }
        buf.chars[out] = c;
        buf.begins[out] = buf.begins[i];
        buf.ends[out] = buf.ends[i];
        ++out;
    }
    buf.chars.resize(out);
    buf.begins.resize(out);
    buf.ends.resize(out);
}

} // namespace qdq::tokenizer

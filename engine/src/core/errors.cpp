#include "qdq/errors.h"

namespace qdq {

std::string Location::str() const
{
    std::string out;
    auto add = [&out](const char *label, const std::string &value) {
        if (value.empty())
            return;
        if (!out.empty())
            out += ", ";
        out += label;
        out += " '";
        out += value;
        out += '\'';
    };
    add("file", file);
    add("tensor", tensor);
    add("field", field);
    return out;
}

std::string printableUtf8(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    const auto *p = reinterpret_cast<const unsigned char *>(text.data());
    const std::size_t n = text.size();
    std::size_t i = 0;
    while (i < n) {
        const unsigned char c = p[i];
        // length of a well-formed sequence starting here (RFC 3629: no overlongs, no surrogates,
        // nothing above U+10FFFF), 0 when it is not one
        std::size_t len = 0;
        if (c < 0x80)
            len = 1;
        else if (c >= 0xC2 && c <= 0xDF)
            len = 2;
        else if (c >= 0xE0 && c <= 0xEF)
            len = 3;
        else if (c >= 0xF0 && c <= 0xF4)
            len = 4;
        if (len > 1) {
            if (i + len > n) {
                len = 0;
            } else {
                const unsigned char c1 = p[i + 1];
                const unsigned char lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
                const unsigned char hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
                if (c1 < lo || c1 > hi)
                    len = 0;
                for (std::size_t k = 2; len != 0 && k < len; ++k)
                    if ((p[i + k] & 0xC0) != 0x80)
                        len = 0;
            }
        }
        if (len == 0) {
            static constexpr char kHex[] = "0123456789abcdef";
            out += "\\x";
            out += kHex[c >> 4];
            out += kHex[c & 0xF];
            ++i;
            continue;
        }
        out.append(text.substr(i, len));
        i += len;
    }
    return out;
}

namespace {
std::string compose(const std::string &message, const Location &where)
{
    return where.empty() ? message : message + " (" + where.str() + ")";
}

Location printable(Location where)
{
    where.file = printableUtf8(where.file);
    where.tensor = printableUtf8(where.tensor);
    where.field = printableUtf8(where.field);
    return where;
}
} // namespace

Error::Error(const std::string &message, Location where)
    : std::runtime_error(compose(printableUtf8(message), printable(where))), m_message(printableUtf8(message)),
      m_where(printable(std::move(where)))
{
}

} // namespace qdq

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

namespace {
std::string compose(const std::string &message, const Location &where)
{
    return where.empty() ? message : message + " (" + where.str() + ")";
}
} // namespace

Error::Error(const std::string &message, Location where)
    : std::runtime_error(compose(message, where)), m_message(message), m_where(std::move(where))
{
}

} // namespace qdq

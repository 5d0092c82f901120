#include "qdq/dtype.h"

#include <array>

namespace qdq {

namespace {
struct DTypeInfo {
    DType type;
    std::size_t size;
    std::string_view name;
    bool floating;
};
constexpr std::array<DTypeInfo, 8> kInfo{{
    {DType::F32, 4, "f32", true},
    {DType::F16, 2, "f16", true},
    {DType::BF16, 2, "bf16", true},
    {DType::I8, 1, "i8", false},
    {DType::U8, 1, "u8", false},
    {DType::I32, 4, "i32", false},
    {DType::I64, 8, "i64", false},
    {DType::Bool, 1, "bool", false},
}};
const DTypeInfo &info(DType type) noexcept
{
    return kInfo[static_cast<std::size_t>(type)];
}
} // namespace

std::size_t dtypeSize(DType type) noexcept
{
    return info(type).size;
}
std::string_view dtypeName(DType type) noexcept
{
    return info(type).name;
}
bool isFloatingPoint(DType type) noexcept
{
    return info(type).floating;
}

std::optional<DType> dtypeFromName(std::string_view name) noexcept
{
    for (const DTypeInfo &i : kInfo)
        if (i.name == name)
            return i.type;
    return std::nullopt;
}

} // namespace qdq

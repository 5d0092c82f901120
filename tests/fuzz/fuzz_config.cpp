// libFuzzer target: config.json (BertConfig::fromJson); a config that parses must also survive
// its own toJson() round trip.
#include "qdq/config.h"
#include "qdq/errors.h"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    qdq::BertConfig config;
    try {
        config = qdq::BertConfig::fromJson(std::string_view(reinterpret_cast<const char *>(data), size), "config.json");
    } catch (const qdq::Error &) {
        return 0;
    }
    const qdq::BertConfig again = qdq::BertConfig::fromJson(config.toJson(), "round trip");
    if (again.toJson() != config.toJson())
        std::abort();
    return 0;
}

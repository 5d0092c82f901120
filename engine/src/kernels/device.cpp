#include "qdq/device.h"

#include "kernels/cuda_entry.h"

#include <charconv>

namespace qdq {

std::string Device::str() const
{
    return type == DeviceType::CPU ? std::string("cpu") : "cuda:" + std::to_string(index);
}

std::optional<Device> parseDevice(std::string_view text)
{
    if (text == "cpu")
        return Device{DeviceType::CPU, 0};
    if (text == "cuda")
        return Device{DeviceType::CUDA, 0};
    constexpr std::string_view prefix = "cuda:";
    if (text.substr(0, prefix.size()) == prefix) {
        const std::string_view digits = text.substr(prefix.size());
        int index = -1;
        const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
        if (ec == std::errc() && ptr == digits.data() + digits.size() && index >= 0 && !digits.empty())
            return Device{DeviceType::CUDA, index};
    }
    return std::nullopt;
}

CudaStatus cudaStatus()
{
    return detail::queryCudaStatus();
}

} // namespace qdq

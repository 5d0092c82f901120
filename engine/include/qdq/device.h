#pragma once
// Devices the engine can compute on, and what this build and machine offer.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qdq {

enum class DeviceType : std::uint8_t { CPU, CUDA };

struct Device {
    DeviceType type = DeviceType::CPU;
    int index = 0;

    [[nodiscard]] std::string str() const; // "cpu", "cuda:0"
    friend bool operator==(const Device &a, const Device &b) { return a.type == b.type && a.index == b.index; }
    friend bool operator!=(const Device &a, const Device &b) { return !(a == b); }
};

// Parses "cpu", "cuda", "cuda:N"; nullopt on anything else.
[[nodiscard]] std::optional<Device> parseDevice(std::string_view text);

struct CudaDeviceInfo {
    int index = 0;
    std::string name;
    int computeMajor = 0;
    int computeMinor = 0;
    std::uint64_t totalMemory = 0;
    std::uint64_t freeMemory = 0;
};

struct CudaStatus {
    bool compiledIn = false; // built with QDQ_WITH_CUDA
    bool available = false;  // driver answered and at least one device is present
    std::string message;     // why it is not available, or the runtime version
    std::vector<CudaDeviceInfo> devices;
};

// Never throws and never aborts, also on machines without a driver or a GPU.
[[nodiscard]] CudaStatus cudaStatus();

} // namespace qdq

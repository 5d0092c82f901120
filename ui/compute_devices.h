#pragma once
// The devices this build can run a model on: the CPU always; each CUDA device the driver reports
// when the build has the CUDA backend (with the CPU alone, the Settings dialog hides its device
// choice). The device setting goes through here, so a device shows up in Settings, the status
// bar and the runs at once.

#include "qdq/device.h"

#include <QString>

#include <vector>

namespace qdq::ui {

struct ComputeDevice {
    QString id;    // as saved in AppSettings: "cpu", "cuda:N"
    QString label; // for people: "CPU", "cuda:0 — NVIDIA H200"
    qdq::Device device{};
    QString memory; // a GPU's free / total memory when the list was made ("61.2 / 139.8 GiB free"), else empty
};

// The CPU first, then every usable CUDA device.
[[nodiscard]] std::vector<ComputeDevice> computeDevices();
// The device saved as `id` when this build can run on it, else the CPU.
[[nodiscard]] ComputeDevice computeDevice(const QString &id);

} // namespace qdq::ui

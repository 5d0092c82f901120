#pragma once
// The devices this build can run a model on: the CPU always; a CUDA device once the engine has a
// backend for it (its CUDA backend is not there yet, so none is offered and the Settings dialog
// hides its device choice). The device setting goes through here, so a second
// backend shows up in Settings, the status bar and the runs at once.

#include "qdq/device.h"

#include <QString>

#include <vector>

namespace qdq::ui {

struct ComputeDevice {
    QString id;         // as saved in AppSettings: "cpu", "cuda:N"
    QString label;      // for people: "CPU", "cuda:0 — NVIDIA H200"
    qdq::Device device; // what the model is created on (ModelOptions::device)
};

// The CPU first, then every usable CUDA device.
[[nodiscard]] std::vector<ComputeDevice> computeDevices();
// The device saved as `id` when this build can run on it, else the CPU.
[[nodiscard]] ComputeDevice computeDevice(const QString &id);

} // namespace qdq::ui

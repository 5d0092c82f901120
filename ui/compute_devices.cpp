#include "compute_devices.h"

#include "qdq/device.h"

#include <QObject>

#include <optional>

namespace qdq::ui {

namespace {

// The engine backend that computes on a device type (style.md: one dispatch point).
std::optional<qdq::BackendKind> backendFor(qdq::DeviceType type)
{
    switch (type) {
    case qdq::DeviceType::CPU:
        return qdq::BackendKind::Cpu;
    case qdq::DeviceType::CUDA:
        return std::nullopt; // device discovery only: the engine has no CUDA backend yet
    }
    return std::nullopt;
}

} // namespace

std::vector<ComputeDevice> computeDevices()
{
    std::vector<ComputeDevice> devices{{QStringLiteral("cpu"), QObject::tr("CPU"), qdq::BackendKind::Cpu}};
    if (const auto cudaBackend = backendFor(qdq::DeviceType::CUDA)) {
        const qdq::CudaStatus cuda = qdq::cudaStatus();
        for (const qdq::CudaDeviceInfo &d : cuda.devices)
            devices.push_back({QStringLiteral("cuda:%1").arg(d.index),
                               QStringLiteral("cuda:%1 — %2").arg(d.index).arg(QString::fromStdString(d.name)),
                               *cudaBackend});
    }
    return devices;
}

ComputeDevice computeDevice(const QString &id)
{
    const std::vector<ComputeDevice> devices = computeDevices();
    for (const ComputeDevice &d : devices)
        if (d.id == id)
            return d;
    return devices.front();
}

} // namespace qdq::ui

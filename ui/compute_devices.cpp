#include "compute_devices.h"

#include <QObject>

namespace qdq::ui {

namespace {

// Whether the engine has a backend that computes on a device type (kernels::createBackend).
bool engineComputesOn(qdq::DeviceType type)
{
    switch (type) {
    case qdq::DeviceType::CPU:
        return true;
    case qdq::DeviceType::CUDA:
        return false; // device discovery only: the engine's CUDA backend is not there yet
    }
    return false;
}

} // namespace

std::vector<ComputeDevice> computeDevices()
{
    std::vector<ComputeDevice> devices{{QStringLiteral("cpu"), QObject::tr("CPU"), qdq::Device{}}};
    if (engineComputesOn(qdq::DeviceType::CUDA)) {
        const qdq::CudaStatus cuda = qdq::cudaStatus();
        for (const qdq::CudaDeviceInfo &d : cuda.devices)
            devices.push_back({QStringLiteral("cuda:%1").arg(d.index),
                               QStringLiteral("cuda:%1 — %2").arg(d.index).arg(QString::fromStdString(d.name)),
                               qdq::Device{qdq::DeviceType::CUDA, d.index}});
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

#include "compute_devices.h"

#include "qdq/device.h"

#include <QObject>

namespace qdq::ui {

std::vector<ComputeDevice> computeDevices()
{
    std::vector<ComputeDevice> devices{{QStringLiteral("cpu"), QObject::tr("CPU"), qdq::Device{}, QString()}};
    // a CUDA device only where this build has the CUDA backend and the driver found the device
    const qdq::CudaStatus cuda = qdq::cudaStatus();
    if (cuda.compiledIn && cuda.available)
        for (const qdq::CudaDeviceInfo &d : cuda.devices)
            devices.push_back(
                {QStringLiteral("cuda:%1").arg(d.index),
                 QStringLiteral("cuda:%1 — %2").arg(d.index).arg(QString::fromStdString(d.name)),
                 qdq::Device{qdq::DeviceType::CUDA, d.index},
                 QObject::tr("%1 / %2 GiB free")
                     .arg(static_cast<double>(d.freeMemory) / static_cast<double>(1ULL << 30), 0, 'f', 1)
                     .arg(static_cast<double>(d.totalMemory) / static_cast<double>(1ULL << 30), 0, 'f', 1)});
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

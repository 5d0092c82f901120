// The dispatch from a Device to its backend, and the defaults of the optional Backend
// operations (a backend without integer kernels says so).
#include "kernels/backend.h"

#include "kernels/cuda_entry.h"
#include "qdq/errors.h"

namespace qdq::kernels {

std::unique_ptr<Backend> createBackend(const Device &device)
{
    switch (device.type) {
    case DeviceType::CPU:
        return createCpuBackend();
    case DeviceType::CUDA:
        return detail::createCudaBackend(device.index);
    }
    throw UnsupportedError("unknown device " + device.str());
}

std::unique_ptr<PackedLinear> Backend::packQuantizedLinear(const QuantizedTensor & /*weight*/, const Tensor & /*bias*/,
                                                           Activation /*activation*/)
{
    throw UnsupportedError("the " + name() + " backend has no INT8 kernels; use --precision qdq");
}

Tensor Backend::quantizedLinear(const Tensor & /*x*/, const IntegerQuant & /*xq*/, const PackedLinear & /*w*/)
{
    throw UnsupportedError("the " + name() + " backend has no INT8 kernels; use --precision qdq");
}

Tensor Backend::quantizedMatmul(const Tensor & /*a*/, const IntegerQuant & /*qa*/, const Tensor & /*b*/,
                                const IntegerQuant & /*qb*/)
{
    throw UnsupportedError("the " + name() + " backend has no INT8 kernels; use --precision qdq");
}

} // namespace qdq::kernels

#include "qdq/calibration_hooks.h"

#include "qdq/calibration.h"

namespace qdq {

Tensor CalibrationHooks::apply(const QuantizerSite &site, Tensor x, TensorObserver *observer)
{
    x = m_calibrator.preScaled(site, std::move(x)); // 2.2.x: before `_if_calib` (reference §3.1)
    m_calibrator.collect(site, x);                  // reference §4.1: calibrate, do not quantize
    return SiteHooks::apply(site, std::move(x), observer);
}

} // namespace qdq

#pragma once
// CalibrationHooks: the SiteHooks of a calibration pass (reference §4.1 step 2: calibration on,
// quantization off). Every site's tensor goes to the Calibrator's collectors and comes back
// unchanged, so the forward is the FP32 one. Weight sites are applied once per weight when the
// model prepares its weights, so each weight is collected once.

#include "qdq/model.h"

namespace qdq {

class Calibrator;

class CalibrationHooks : public SiteHooks {
public:
    explicit CalibrationHooks(Calibrator &calibrator) : m_calibrator(calibrator) {}
    Tensor apply(const QuantizerSite &site, Tensor x, TensorObserver *observer) override;

private:
    Calibrator &m_calibrator;
};

} // namespace qdq

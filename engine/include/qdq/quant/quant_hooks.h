#pragma once
// The SiteHooks of precisions qdq and int8 over a QuantConfig (reference §1.2, §3). The model
// installs them itself for ModelOptions::precision; they are public for tools that drive a model
// with hand-made hooks.
//
//  - qdq:  every enabled site applies its TensorQuantizer (f32 fake quant, bit-exact with
//          pytorch-quantization); weight sites once per weight (the model caches the result).
//  - int8: sites whose execution form is Int8Gemm (QuantConfig::executionPlan) answer
//          integerInput / integerWeight, so the linears and the attention matmuls run on the
//          backend's s8 kernels; every other enabled site is fake quant, as under qdq.
// The observer sees the tensor each quantizer receives (its input, as calibration needs).
// Under the pq-2.2 profiles a site with a `_pre_quant_scale` multiplies its input even when it
// is disabled (and under fp32), as 2.2.x does; hasQuantSiteHooks() says when fp32 needs them.

#include "qdq/model.h"
#include "qdq/quant/quant_config.h"

#include <memory>

namespace qdq {

[[nodiscard]] std::shared_ptr<SiteHooks> makeQuantSiteHooks(const QuantConfig &config, Precision precision);
// The hooks a model with `config` under `precision` runs with: nullptr (the plain FP32 forward)
// for fp32 without an applicable pre-quant scale, makeQuantSiteHooks otherwise.
[[nodiscard]] std::shared_ptr<SiteHooks> siteHooksFor(const QuantConfig &config, Precision precision);

} // namespace qdq

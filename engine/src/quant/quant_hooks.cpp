#include "qdq/quant/quant_hooks.h"

#include "qdq/errors.h"

#include <cmath>
#include <map>

namespace qdq {

namespace {

class QuantSiteHooks final : public SiteHooks {
public:
    QuantSiteHooks(const QuantConfig &config, Precision precision)
    {
        for (const SiteExecution &e : config.executionPlan(precision)) {
            if (e.form != ExecutionForm::Disabled) {
                m_sites.emplace(e.site, Entry{config.quantizer(e.site), e.form});
                continue;
            }
            // 2.2.x multiplies by `_pre_quant_scale` before its disabled check (reference §3.1):
            // a disabled site (or every site under fp32) still scales its input.
            const SiteQuantConfig *s = config.find(e.site);
            if (s && config.preQuantScaleApplies(*s)) {
                TensorQuantizer q = config.quantizer(e.site);
                q.setEnabled(false);
                m_sites.emplace(e.site, Entry{std::move(q), e.form});
            }
        }
    }

    Tensor apply(const QuantizerSite &site, Tensor x, TensorObserver *observer) override
    {
        const auto it = m_sites.find(site);
        if (it == m_sites.end()) {
            if (observer)
                observer->observe(site.modulePath(), x);
            return x;
        }
        // the observer sees what the quantizer quantizes (and a calibrator would collect):
        // x * _pre_quant_scale under the pq-2.2 profiles
        Tensor scaled = it->second.quantizer.preScaled(x);
        if (observer)
            observer->observe(site.modulePath(), scaled);
        return it->second.quantizer.quantize(scaled);
    }

    std::optional<IntegerQuant> integerInput(const QuantizerSite &site, const Tensor &x) override
    {
        const Entry *e = integerEntry(site);
        if (!e)
            return std::nullopt;
        const TensorQuantizer &q = e->quantizer;
        // stored amax, or max|x| over the tensor (reference §2.4): one pass before the GEMM
        const std::vector<float> amax = q.effectiveAmax(x);
        const float a = amax.front();
        if (std::isnan(a))
            throw UnsupportedError("amax of " + site.modulePath() + " is NaN: no integer codes exist");
        const QuantRange &r = q.range();
        IntegerQuant iq;
        iq.minLevel = r.minLevel;
        iq.maxLevel = r.maxLevel;
        // reference §3.3 steps 3-4: s = fl(B / a); s = 0 where a <= 2^-24 (< in the 2.2 CUDA kernel)
        const bool tiny = r.strictTinyTest ? a < kTinyAmax : a <= kTinyAmax;
        iq.scale = tiny ? 0.0F : r.maxLevel / a;
        iq.fixed = q.hasAmax();
        return iq;
    }

    std::optional<QuantizedTensor> integerWeight(const QuantizerSite &site, const Tensor &weight) override
    {
        const Entry *e = integerEntry(site);
        if (!e)
            return std::nullopt;
        std::vector<float> amax;
        const AmaxView view = e->quantizer.amaxFor(weight, amax); // rows (executionPlan checked)
        return quantizeToInt(weight, view, e->quantizer.range());
    }

private:
    struct Entry {
        TensorQuantizer quantizer;
        ExecutionForm form;
    };

    const Entry *integerEntry(const QuantizerSite &site) const
    {
        const auto it = m_sites.find(site);
        return it != m_sites.end() && it->second.form == ExecutionForm::Int8Gemm ? &it->second : nullptr;
    }

    std::map<QuantizerSite, Entry> m_sites;
};

} // namespace

std::shared_ptr<SiteHooks> makeQuantSiteHooks(const QuantConfig &config, Precision precision)
{
    return std::make_shared<QuantSiteHooks>(config, precision);
}

std::shared_ptr<SiteHooks> siteHooksFor(const QuantConfig &config, Precision precision)
{
    if (precision == Precision::Fp32 && !config.anyPreQuantScaleApplies())
        return nullptr;
    return makeQuantSiteHooks(config, precision);
}

} // namespace qdq

// SiteHooks with the ONNX Q/DQ arithmetic (reference §3.7 table, last row).
#include "qdq/io/onnx_export.h"

#include <map>

namespace qdq {

namespace {

class OnnxQdqSiteHooks final : public SiteHooks {
public:
    explicit OnnxQdqSiteHooks(const QuantConfig &config)
    {
        for (const SiteQuantConfig &s : config.sites())
            if (s.enabled || config.preQuantScaleApplies(s))
                m_sites.emplace(s.site, Entry{s, config.quantizer(s.site)});
    }

    Tensor apply(const QuantizerSite &site, Tensor x, TensorObserver *observer) override
    {
        if (observer)
            observer->observe(site.modulePath(), x);
        const auto it = m_sites.find(site);
        if (it == m_sites.end())
            return x;
        const Entry &e = it->second;
        const Tensor in = e.quantizer.preScaled(x).contiguous(); // the exporter's Mul (2.2 profiles)
        if (!e.config.enabled)
            return in.alias();
        // the amax the exporter writes: stored (or dynamic max|x|) times scale_amax
        const std::vector<float> amax = e.quantizer.effectiveAmax(in);
        Tensor out(DType::F32, in.shape());
        const auto n = static_cast<std::size_t>(in.numel());
        onnxFakeQuant(std::span<const float>(in.data<float>(), n), std::span<float>(out.mutableData<float>(), n),
                      in.shape(), AmaxView{amax, 0}, e.config.desc.numBits, e.config.desc.isUnsigned);
        return out;
    }

private:
    struct Entry {
        SiteQuantConfig config;
        TensorQuantizer quantizer;
    };
    std::map<QuantizerSite, Entry> m_sites;
};

} // namespace

std::shared_ptr<SiteHooks> makeOnnxQdqSiteHooks(const QuantConfig &config)
{
    return std::make_shared<OnnxQdqSiteHooks>(config);
}

} // namespace qdq

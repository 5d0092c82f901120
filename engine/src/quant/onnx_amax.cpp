// ONNX amax applied to a QuantConfig (qdq/quant/onnx_amax.h).
#include "qdq/quant/onnx_amax.h"

#include "qdq/errors.h"

#include <algorithm>
#include <map>
#include <span>

namespace qdq {
namespace {

std::optional<double> largest(const SiteQuantConfig &s)
{
    if (!s.amax || s.amax->empty())
        return std::nullopt;
    return static_cast<double>(*std::max_element(s.amax->begin(), s.amax->end()));
}

// The weight a weight quantizer reads: "...query._weight_quantizer" -> "...query.weight".
std::string weightKeyOf(const QuantizerSite &site)
{
    const std::string path = site.modulePath("bert.");
    return path.substr(0, path.rfind('.')) + ".weight";
}

} // namespace

OnnxAmaxApplied applyOnnxAmax(const Checkpoint &checkpoint, const OnnxAmaxImport &imported, QuantConfig &config,
                              bool disableMissing)
{
    std::map<QuantizerSite, const OnnxSiteAmax *> bySite;
    for (const OnnxSiteAmax &s : imported.sites) {
        const Location where{imported.source.string(), s.node, {}};
        if (config.find(s.site) == nullptr)
            throw ShapeError("maps to " + s.site.modulePath("bert.") + ", which this model does not have", where);
        if (s.amax.size() > 1) {
            const std::string key = weightKeyOf(s.site);
            if (!siteIsWeight(s.site.id) || !checkpoint.has(key))
                throw ShapeError("a per-channel amax for a quantizer that is not a weight's", where);
            const std::int64_t rows = checkpoint.get(key).size(0);
            if (static_cast<std::int64_t>(s.amax.size()) != rows)
                throw ShapeError("has " + std::to_string(s.amax.size()) + " channel scales, but " + key + " has " +
                                     std::to_string(rows) + " rows",
                                 where);
        }
        bySite[s.site] = &s;
    }
    OnnxAmaxApplied out;
    const std::vector<SiteQuantConfig> sites = config.sites(); // a copy: config changes below
    for (const SiteQuantConfig &s : sites) {
        OnnxAmaxMapping m;
        m.site = s.site;
        m.amaxBefore = largest(s);
        const auto it = bySite.find(s.site);
        if (it != bySite.end()) {
            const OnnxSiteAmax &o = *it->second;
            const Shape shape = o.amax.size() > 1 ? Shape{static_cast<std::int64_t>(o.amax.size()), 1} : Shape{};
            config.setSiteAmax(s.site, Tensor::fromValues<float>(shape, std::span<const float>(o.amax)));
            SiteSelector sel;
            sel.pattern = s.site.modulePath();
            config.setEnabled(sel, true);
            m.node = o.node;
            m.mappedBy = o.mappedBy;
            m.amaxAfter = static_cast<double>(*std::max_element(o.amax.begin(), o.amax.end()));
            m.channels = o.amax.size();
            m.status = "set";
            ++out.set;
        } else if (disableMissing && s.enabled) {
            SiteSelector sel;
            sel.pattern = s.site.modulePath();
            config.setEnabled(sel, false);
            m.status = "disabled";
            ++out.disabled;
        } else {
            m.status = "kept";
            ++out.kept;
        }
        out.mappings.push_back(std::move(m));
    }
    return out;
}

} // namespace qdq

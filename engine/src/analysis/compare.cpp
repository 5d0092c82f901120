#include "qdq/compare.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace qdq {

std::optional<double> QuantizerComparison::ratio() const
{
    if (!a || !b || !a->calibrated || !b->calibrated || !(a->max > 0.f))
        return std::nullopt;
    return static_cast<double>(b->max) / static_cast<double>(a->max);
}

AmaxSummary summarizeAmax(const Tensor &amax)
{
    const std::vector<float> v = amax.toFloatVector();
    AmaxSummary s;
    s.calibrated = true;
    s.channels = static_cast<std::int64_t>(v.size());
    if (!v.empty()) {
        const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
        s.min = *lo;
        s.max = *hi;
    }
    return s;
}

namespace {

std::optional<AmaxSummary> summaryOf(const Checkpoint &c, const QuantizerInfo *info)
{
    if (!info)
        return std::nullopt;
    if (!info->calibrated || !c.has(info->amaxKey))
        return AmaxSummary{};
    return summarizeAmax(c.get(info->amaxKey));
}

TensorComparison compareTensors(const std::string &name, const Tensor *a, const Tensor *b)
{
    TensorComparison t;
    t.name = name;
    t.inA = a != nullptr;
    t.inB = b != nullptr;
    if (!a || !b || a->shape() != b->shape())
        return t;
    t.sameShape = true;
    const std::vector<float> va = a->toFloatVector();
    const std::vector<float> vb = b->toFloatVector();
    double diff2 = 0.0;
    double norm2 = 0.0;
    for (std::size_t i = 0; i < va.size(); ++i) {
        const double d = static_cast<double>(vb[i]) - static_cast<double>(va[i]);
        t.maxAbsDiff = std::max(t.maxAbsDiff, std::fabs(d));
        diff2 += d * d;
        norm2 += static_cast<double>(va[i]) * static_cast<double>(va[i]);
    }
    t.relativeL2 = norm2 > 0.0 ? std::sqrt(diff2 / norm2) : (diff2 > 0.0 ? INFINITY : 0.0);
    return t;
}

bool isAmaxKey(const std::string &name)
{
    return name.size() > 6 && name.compare(name.size() - 6, 6, "._amax") == 0;
}

} // namespace

CheckpointComparison compareCheckpoints(const Checkpoint &a, const Checkpoint &b, Progress *progress)
{
    CheckpointComparison out;
    std::set<QuantizerSite> sites;
    for (const QuantizerInfo &q : a.quantizers)
        sites.insert(q.site);
    for (const QuantizerInfo &q : b.quantizers)
        sites.insert(q.site);
    for (const QuantizerSite &site : sites) {
        QuantizerComparison q;
        q.site = site;
        q.a = summaryOf(a, a.quantizer(site));
        q.b = summaryOf(b, b.quantizer(site));
        if (q.a && q.b && q.a->calibrated && q.b->calibrated && q.a->channels == q.b->channels) {
            const std::vector<float> va = a.get(a.quantizer(site)->amaxKey).toFloatVector();
            const std::vector<float> vb = b.get(b.quantizer(site)->amaxKey).toFloatVector();
            double worst = 0.0;
            for (std::size_t i = 0; i < va.size(); ++i)
                if (va[i] > 0.f && vb[i] > 0.f)
                    worst =
                        std::max(worst, std::fabs(std::log2(static_cast<double>(vb[i]) / static_cast<double>(va[i]))));
            q.maxLog2Ratio = worst;
        }
        out.quantizers.push_back(q);
    }
    std::set<std::string> names;
    for (const auto &[name, t] : a.tensors)
        if (!isAmaxKey(name))
            names.insert(name);
    for (const auto &[name, t] : b.tensors)
        if (!isAmaxKey(name))
            names.insert(name);
    const auto total = static_cast<std::int64_t>(names.size());
    std::int64_t done = 0;
    for (const std::string &name : names) {
        const auto ia = a.tensors.find(name);
        const auto ib = b.tensors.find(name);
        out.tensors.push_back(compareTensors(name, ia == a.tensors.end() ? nullptr : &ia->second,
                                             ib == b.tensors.end() ? nullptr : &ib->second));
        reportProgress(progress, "comparing tensors", ++done, total);
    }
    return out;
}

} // namespace qdq

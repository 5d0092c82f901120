#include "analysis_charts.h"

#include "divergence_chart.h"
#include "histogram_chart.h"

#include "qdq/quant/calibrator.h"

namespace qdq::ui {
namespace {

std::optional<int> firstDivergence(const qdq::AnalysisReport &r)
{
    return r.firstDivergence.layer >= 0 ? std::optional<int>(r.firstDivergence.layer) : std::nullopt;
}

} // namespace

void showLayerSqnr(DivergenceChart &chart, const qdq::AnalysisReport &r)
{
    using Series = DivergenceChart::Series;
    // short names, so that the legend fits in one row: the title says what is compared with FP32
    Series qdqCum{DivergenceChart::tr("qdq (cumulative)"), {}};
    Series qdqLocal{DivergenceChart::tr("qdq (layer alone)"), {}};
    Series int8Cum{DivergenceChart::tr("int8 (cumulative)"), {}};
    Series gap{DivergenceChart::tr("qdq vs int8"), {}};
    for (const qdq::LayerAnalysis &l : r.layers) {
        qdqCum.values.push_back(l.qdqCumulative ? l.qdqCumulative->sqnrDb : std::nullopt);
        qdqLocal.values.push_back(l.qdqLocal ? l.qdqLocal->sqnrDb : std::nullopt);
        int8Cum.values.push_back(l.int8Cumulative ? l.int8Cumulative->sqnrDb : std::nullopt);
        gap.values.push_back(l.qdqVsInt8 ? l.qdqVsInt8->sqnrDb : std::nullopt);
    }
    chart.setSeries(DivergenceChart::tr("Layer output SQNR against FP32 (higher is better)"),
                    DivergenceChart::tr("SQNR (dB)"), {qdqCum, qdqLocal, int8Cum, gap}, firstDivergence(r));
}

void showLayerCosine(DivergenceChart &chart, const qdq::AnalysisReport &r)
{
    using Series = DivergenceChart::Series;
    Series cosQdq{DivergenceChart::tr("qdq"), {}};
    Series cosInt8{DivergenceChart::tr("int8"), {}};
    for (const qdq::LayerAnalysis &l : r.layers) {
        cosQdq.values.push_back(l.qdqCumulative ? std::optional<double>(l.qdqCumulative->cosine) : std::nullopt);
        cosInt8.values.push_back(l.int8Cumulative ? std::optional<double>(l.int8Cumulative->cosine) : std::nullopt);
    }
    chart.setSeries(DivergenceChart::tr("Layer output cosine similarity to FP32"), DivergenceChart::tr("cosine"),
                    {cosQdq, cosInt8}, firstDivergence(r), 1.0); // a cosine is at most 1
}

bool showSiteHistogram(HistogramChart &chart, const qdq::SiteAnalysis &site)
{
    if (!site.histogram)
        return false;
    std::map<QString, double> methods;
    for (qdq::CalibMethod m :
         {qdq::CalibMethod::Max, qdq::CalibMethod::Percentile, qdq::CalibMethod::Mse, qdq::CalibMethod::Entropy})
        if (const auto &v = site.candidateAmax[static_cast<std::size_t>(m)])
            methods[QString::fromLatin1(qdq::calibMethodName(m))] = *v;
    const std::vector<double> counts(site.histogram->counts.begin(), site.histogram->counts.end());
    chart.setMethodMarkers(methods);
    chart.setHistogram(QString::fromStdString(site.name), counts, site.histogram->edges);
    chart.setAmaxInUse(site.dynamic ? std::nullopt : std::optional<double>(site.amax));
    return true;
}

} // namespace qdq::ui

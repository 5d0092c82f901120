#pragma once
// The analysis results as charts in the Layers view. Reports draw the same charts, series and
// colours (qdq/chart_palette.h) with the engine's painters (engine/src/export/report_charts.h),
// so `qdq report` needs no widgets.

#include "qdq/analysis.h"

namespace qdq::ui {

class DivergenceChart;
class HistogramChart;

// Per-layer SQNR of the hidden states: FP32 vs qdq (cumulative and this layer alone), FP32 vs
// int8, qdq vs int8; the first divergent layer marked.
void showLayerSqnr(DivergenceChart &chart, const qdq::AnalysisReport &report);
// Per-layer mean token cosine similarity, FP32 vs qdq and FP32 vs int8.
void showLayerCosine(DivergenceChart &chart, const qdq::AnalysisReport &report);
// A quantizer site's |x| histogram with the amax each calibration method would pick and the
// amax in use (static amax; none for a dynamic site). Returns false when the site has no histogram.
bool showSiteHistogram(HistogramChart &chart, const qdq::SiteAnalysis &site);

} // namespace qdq::ui

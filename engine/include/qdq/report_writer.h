#pragma once
// Renders a qdq::Report (report.h) to files: one self-contained HTML file (charts as embedded
// PNG), a paginated PDF with the same content, JSON, CSV tables, and a zip bundle of all of them.
// The charts (per-layer divergence, histograms, attention maps) are drawn by the engine's own
// painters, in the colours of the GUI's charts (chart_palette.h). Library qdq_report (export
// layer): Qt Core and Gui inside, never Widgets; this header is Qt-free.
//
// Drawing text needs a QGuiApplication (any platform; the CLI uses the offscreen one):
// renderReportImages() and reportPdf() throw qdq::UnsupportedError without one. Everything may run
// on any thread.

#include "qdq/progress.h"
#include "qdq/report.h"

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace qdq {

enum ReportFormat : unsigned {
    ReportHtml = 1U,
    ReportPdf = 2U,
    ReportJson = 4U,
    ReportCsv = 8U,
    ReportZip = 16U,
    ReportAllFormats = 31U,
};
// "html,pdf,json,csv,zip" (any subset, any order; "all"). Throws qdq::FormatError naming the
// unknown format.
[[nodiscard]] unsigned parseReportFormats(std::string_view text);

// A chart, encoded as PNG.
struct ReportImage {
    int width = 0;
    int height = 0;
    std::string png; // empty: no chart
    [[nodiscard]] bool isNull() const { return png.empty(); }
};

struct ReportImages {
    ReportImage layerSqnr;
    ReportImage layerCosine;
    std::vector<std::string> histogramSites; // site names, worst SQNR first (sites with a histogram)
    std::vector<ReportImage> histograms;
    std::vector<ReportImage> attention; // one per Report::attentionMaps entry: FP32 | quantized | difference
};

struct ReportRenderOptions {
    int worstQuantizers = 15; // rows of the worst-quantizer table
    int histograms = 6;       // histogram charts of the worst activation quantizers
};

// Draws every chart of the report.
[[nodiscard]] ReportImages renderReportImages(const Report &report, const ReportRenderOptions &options = {});

// The report as one well-formed HTML document (UTF-8). embedImages: PNGs as data: URIs (the file
// a browser opens); otherwise as "report:NAME" URLs that reportPdf() registers.
[[nodiscard]] std::string reportHtml(const Report &report, const ReportImages &images,
                                     const ReportRenderOptions &options = {}, bool embedImages = true);
// The PDF's bytes (A4, paginated).
[[nodiscard]] std::string reportPdf(const Report &report, const ReportImages &images,
                                    const ReportRenderOptions &options = {});

// File names inside a model's report folder (and its zip).
inline constexpr const char *kReportHtmlName = "report.html";
inline constexpr const char *kReportPdfName = "report.pdf";
inline constexpr const char *kReportJsonName = "report.json";
inline constexpr const char *kQuantizersCsvName = "quantizers.csv";
inline constexpr const char *kLayersCsvName = "layers.csv";
inline constexpr const char *kReportZipName = "report.zip";

// Writes the chosen formats into `dir` (created if needed); everything is rendered in memory
// first, then each file is written atomically (io/atomic_file.h), so a failure or a cancel
// (progress) leaves earlier files as they were and no partial file. The zip holds all five files
// whatever else is chosen. Returns the paths written (dir / name).
// Throws qdq::IoError naming the file on failure, qdq::CancelledError when cancelled.
std::vector<std::string> writeReport(const Report &report, const ReportImages &images, const std::filesystem::path &dir,
                                     unsigned formats, const ReportRenderOptions &options = {},
                                     Progress *progress = nullptr);

// One row of the batch index.
struct ReportIndexEntry {
    std::string folder; // relative to the index ("model", or "../host-a/model" in a merged index)
    ReportModelSummary model;
    std::map<std::string, double> metrics;
    std::vector<ThresholdOutcome> thresholds;
};
// index.html and index.json comparing the models of a batch (written atomically into `dir`).
// Returns their paths.
std::vector<std::string> writeReportIndex(const std::vector<ReportIndexEntry> &entries,
                                          const std::filesystem::path &dir);

} // namespace qdq

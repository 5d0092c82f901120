#pragma once
// Renders a qdq::Report (engine, report.h) to files: one self-contained HTML file (charts as
// embedded PNG), a paginated PDF with the same content (QTextDocument + QPdfWriter), JSON, CSV
// tables, and a zip bundle of all of them. Charts come from ui/charts - the widgets the GUI
// shows - drawn offscreen, so a report and the app never disagree.
//
// Threading: renderReportImages() creates widgets and must run on the GUI thread (in the CLI,
// the main thread under a QApplication). Everything else may run on any thread.

#include "qdq/progress.h"
#include "qdq/report.h"

#include <QImage>
#include <QString>
#include <QStringList>

#include <vector>

namespace qdq::ui {

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
[[nodiscard]] unsigned parseReportFormats(const QString &text);

struct ReportImages {
    QImage layerSqnr;
    QImage layerCosine;
    std::vector<QString> histogramSites; // site names, worst SQNR first (sites with a histogram)
    std::vector<QImage> histograms;
    std::vector<QImage> attention; // one per Report::attentionMaps entry: FP32 | quantized | difference
};

struct ReportRenderOptions {
    int worstQuantizers = 15; // rows of the worst-quantizer table
    int histograms = 6;       // histogram charts of the worst activation quantizers
};

// Draws every chart of the report offscreen (GUI thread only).
[[nodiscard]] ReportImages renderReportImages(const qdq::Report &report, const ReportRenderOptions &options = {});

// The report as one well-formed HTML document. embedImages: PNGs as data: URIs (the file a
// browser opens); otherwise as "report:NAME" URLs that reportDocument() registers (the PDF).
[[nodiscard]] QString reportHtml(const qdq::Report &report, const ReportImages &images,
                                 const ReportRenderOptions &options = {}, bool embedImages = true);
// The PDF's bytes (A4, paginated).
[[nodiscard]] QByteArray reportPdf(const qdq::Report &report, const ReportImages &images,
                                   const ReportRenderOptions &options = {});

// File names inside a model's report folder (and its zip).
inline constexpr const char *kReportHtmlName = "report.html";
inline constexpr const char *kReportPdfName = "report.pdf";
inline constexpr const char *kReportJsonName = "report.json";
inline constexpr const char *kQuantizersCsvName = "quantizers.csv";
inline constexpr const char *kLayersCsvName = "layers.csv";
inline constexpr const char *kReportZipName = "report.zip";

// Writes the chosen formats into `dir` (created if needed); each file is written to a temporary
// name and renamed, so a failure or a cancel (progress) leaves earlier files as they were and no
// partial file. The zip holds all five files whatever else is chosen. Returns the paths written.
// Throws qdq::IoError naming the file on failure, qdq::CancelledError when cancelled.
QStringList writeReport(const qdq::Report &report, const ReportImages &images, const QString &dir, unsigned formats,
                        const ReportRenderOptions &options = {}, qdq::Progress *progress = nullptr);

// One row of the batch index.
struct ReportIndexEntry {
    QString folder; // relative to the index ("model", or "../host-a/model" in a merged index)
    qdq::ReportModelSummary model;
    std::map<std::string, double> metrics;
    std::vector<qdq::ThresholdOutcome> thresholds;
};
// index.html and index.json comparing the models of a batch (written atomically into `dir`).
QStringList writeReportIndex(const std::vector<ReportIndexEntry> &entries, const QString &dir);

} // namespace qdq::ui

#include "qdq/report_writer.h"

#include "report_charts.h"

#include "qdq/errors.h"
#include "qdq/io/atomic_file.h"
#include "qdq/quant/calibrator.h"

#include <QBuffer>
#include <QCoreApplication>
#include <QDir>
#include <QFont>
#include <QGuiApplication>
#include <QPainter>
#include <QPdfWriter>
#include <QTextDocument>
#include <QUrl>

#include <nlohmann/json.hpp>
#include <quazip.h>
#include <quazipfile.h>

#include <cmath>

namespace qdq {
namespace {

constexpr int kChartWidth = 900;
constexpr int kChartHeight = 380;
constexpr int kHistogramWidth = 800;
constexpr int kHistogramHeight = 320;
constexpr int kHeatmapSize = 420;

// Fonts (and with them every chart and the PDF) need a QGuiApplication; without one Qt aborts.
void requireGuiApplication(const char *what)
{
    if (qobject_cast<QGuiApplication *>(QCoreApplication::instance()) == nullptr)
        throw qdq::UnsupportedError(std::string(what) + " needs a QGuiApplication (fonts); create one first");
}

QString esc(const std::string &s)
{
    return QString::fromStdString(s).toHtmlEscaped();
}

QString num(double v, int precision = 4)
{
    if (std::isnan(v))
        return QStringLiteral("n/a");
    if (std::isinf(v))
        return v > 0 ? QStringLiteral("lossless") : QStringLiteral("-inf");
    return QString::number(v, 'g', precision);
}

QString optNum(const std::optional<double> &v, int precision = 4)
{
    return v ? num(*v, precision) : QStringLiteral("-");
}

QString percent(double fraction, int decimals = 2)
{
    return QString::number(100.0 * fraction, 'f', decimals) + QStringLiteral(" %");
}

QString dbCell(const std::optional<Divergence> &d)
{
    if (!d)
        return QStringLiteral("-");
    return (d->sqnrDb ? QString::number(*d->sqnrDb, 'f', 1) : QStringLiteral("lossless")) + QStringLiteral(" / ") +
           QString::number(d->cosine, 'f', 5);
}

ReportImage pngImage(const QImage &image)
{
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    image.save(&buffer, "PNG");
    return {image.width(), image.height(), bytes.toStdString()};
}

// Builds the document once; image sources depend on the target (data: URIs or resources).
class HtmlBuilder {
public:
    HtmlBuilder(const qdq::Report &report, const ReportImages &images, const ReportRenderOptions &options, bool embed)
        : r(report), img(images), opt(options), embedImages(embed)
    {
    }

    QString build()
    {
        const ReportModelSummary &m = r.model;
        h += QStringLiteral("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\" />"
                            "<title>QDQ Inspector report: %1</title>\n<style>%2</style></head>\n<body>\n")
                 .arg(esc(m.name), css());
        h += QStringLiteral("<h1>QDQ Inspector report: %1</h1>\n").arg(esc(m.name));
        h += QStringLiteral("<p class=\"sub\">%1 · created %2 · qdq %3</p>\n")
                 .arg(esc(m.path), esc(r.environment.createdUtc), esc(r.environment.version));
        summary();
        thresholds();
        worstQuantizers();
        layers();
        histograms();
        attention();
        taskAgreement();
        sensitivity();
        environment();
        h += QStringLiteral("</body></html>\n");
        return h;
    }

    QString imageSource(const QString &name, const ReportImage &image) const
    {
        if (embedImages)
            return QStringLiteral("data:image/png;base64,") +
                   QString::fromLatin1(QByteArray::fromStdString(image.png).toBase64());
        return QStringLiteral("report:") + name;
    }

private:
    static QString css()
    {
        return QStringLiteral(
            "body{font-family:sans-serif;margin:2em;color:#222;max-width:1100px}"
            "h1{font-size:1.6em}h2{font-size:1.25em;border-bottom:1px solid #ccc;margin-top:1.6em}"
            "table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #bbb;padding:3px 8px;"
            "text-align:right;white-space:nowrap}th{background:#eee}td.l,th.l{text-align:left;white-space:normal}.sub{"
            "color:#666}"
            ".bad{background:#f6d5d5}.good{background:#d8f0d8}img{max-width:100%}");
    }

    void row(const QStringList &cells, bool header = false, const QString &cls = {})
    {
        h += cls.isEmpty() ? QStringLiteral("<tr>") : QStringLiteral("<tr class=\"%1\">").arg(cls);
        bool first = true;
        for (const QString &c : cells) {
            const QString tag = header ? QStringLiteral("th") : QStringLiteral("td");
            h += first ? QStringLiteral("<%1 class=\"l\">%2</%1>").arg(tag, c)
                       : QStringLiteral("<%1>%2</%1>").arg(tag, c);
            first = false;
        }
        h += QStringLiteral("</tr>\n");
    }

    void image(const QString &name, const ReportImage &image, int width, const QString &alt)
    {
        if (image.isNull())
            return;
        h += QStringLiteral("<p><img src=\"%1\" width=\"%2\" alt=\"%3\" /></p>\n")
                 .arg(imageSource(name, image))
                 .arg(width)
                 .arg(alt.toHtmlEscaped());
    }

    void summary()
    {
        const ReportModelSummary &m = r.model;
        const AnalysisReport &a = r.analysis;
        h += QStringLiteral("<h2 id=\"summary\">Model and calibration</h2>\n<table>\n");
        row({QStringLiteral("architecture"), esc(m.architecture)});
        row({QStringLiteral("format"), esc(m.format + " (" + m.container + ")")});
        row({QStringLiteral("layers / hidden / heads / intermediate"),
             QStringLiteral("%1 / %2 / %3 / %4").arg(m.layers).arg(m.hidden).arg(m.heads).arg(m.intermediate)});
        row({QStringLiteral("parameters"), QString::number(m.parameters)});
        row({QStringLiteral("quantizers"), QStringLiteral("%1 (%2 calibrated, %3 dynamic; %4 enabled)")
                                               .arg(m.quantizers)
                                               .arg(m.calibrated)
                                               .arg(m.quantizers - m.calibrated)
                                               .arg(m.enabled)});
        row({QStringLiteral("data"), QStringLiteral("%1: %2 samples, %3 tokens (task %4)")
                                         .arg(esc(r.environment.dataFile))
                                         .arg(a.samples)
                                         .arg(a.tokens)
                                         .arg(esc(a.task))});
        h += QStringLiteral("</table>\n<h3>Key figures</h3>\n<table>\n");
        row({QStringLiteral("metric"), QStringLiteral("value"), QStringLiteral("meaning")}, true);
        for (const auto &[name, description] : qdq::reportMetricDescriptions()) {
            const auto it = r.metrics.find(name);
            if (it == r.metrics.end())
                continue;
            h += QStringLiteral("<tr><td class=\"l\"><code>%1</code></td><td>%2</td><td class=\"l\">%3</td></tr>\n")
                     .arg(esc(name), num(it->second, 6), esc(description));
        }
        h += QStringLiteral("</table>\n");
    }

    void thresholds()
    {
        if (r.thresholds.empty())
            return;
        h += QStringLiteral("<h2 id=\"thresholds\">Thresholds (--fail-if)</h2>\n<table>\n");
        row({QStringLiteral("fail if"), QStringLiteral("actual"), QStringLiteral("result")}, true);
        for (const ThresholdOutcome &t : r.thresholds)
            row({QStringLiteral("<code>%1</code>").arg(esc(t.threshold.expression)),
                 t.actual ? num(*t.actual, 6) : QStringLiteral("not available"),
                 t.crossed ? QStringLiteral("FAILED") : QStringLiteral("passed")},
                false, t.crossed ? QStringLiteral("bad") : QStringLiteral("good"));
        h += QStringLiteral("</table>\n");
    }

    void worstQuantizers()
    {
        h += QStringLiteral("<h2 id=\"quantizers\">Worst quantizers</h2>\n<p>By SQNR of x against fake_quant(x) "
                            "on the FP32 inputs each quantizer receives (enabled quantizers; d = dynamic "
                            "amax).</p>\n<table>\n");
        row({QStringLiteral("quantizer"), QStringLiteral("kind"), QStringLiteral("SQNR dB"), QStringLiteral("clip"),
             QStringLiteral("amax"), QStringLiteral("max|x|"), QStringLiteral("max"), QStringLiteral("percentile"),
             QStringLiteral("mse"), QStringLiteral("entropy")},
            true);
        for (const SiteAnalysis *s : qdq::worstSites(r.analysis, static_cast<std::size_t>(opt.worstQuantizers))) {
            QStringList cells = {esc(s->name),
                                 QString::fromLatin1(qdq::siteKindName(s->site.kind())),
                                 s->sqnrDb ? QString::number(*s->sqnrDb, 'f', 1) : QStringLiteral("lossless"),
                                 percent(s->clipFraction, 3),
                                 num(s->amax) + (s->dynamic ? QStringLiteral(" d") : QString()),
                                 num(std::max(std::abs(s->min), std::abs(s->max)))};
            for (CalibMethod m : {CalibMethod::Max, CalibMethod::Percentile, CalibMethod::Mse, CalibMethod::Entropy})
                cells << optNum(s->candidateAmax[static_cast<std::size_t>(m)]);
            row(cells);
        }
        h += QStringLiteral("</table>\n");
    }

    void layers()
    {
        const AnalysisReport &a = r.analysis;
        h += QStringLiteral("<h2 id=\"layers\">Per-layer divergence</h2>\n<p>");
        h += a.firstDivergence.layer >= 0 ? QStringLiteral("First divergence: <b>layer %1</b> (%2).")
                                                .arg(a.firstDivergence.layer)
                                                .arg(esc(a.firstDivergence.reason))
                                          : QStringLiteral("No layer stands out: the error grows gradually.");
        h += QStringLiteral("</p>\n");
        image(QStringLiteral("layer-sqnr"), img.layerSqnr, 900, QStringLiteral("per-layer SQNR chart"));
        image(QStringLiteral("layer-cosine"), img.layerCosine, 900, QStringLiteral("per-layer cosine chart"));
        h += QStringLiteral("<table>\n");
        row({QStringLiteral("layer"), QStringLiteral("qdq cumulative"), QStringLiteral("qdq local"),
             QStringLiteral("int8 cumulative"), QStringLiteral("qdq vs int8")},
            true);
        for (const LayerAnalysis &l : a.layers)
            row({QString::number(l.layer), dbCell(l.qdqCumulative), dbCell(l.qdqLocal), dbCell(l.int8Cumulative),
                 dbCell(l.qdqVsInt8)},
                false, l.layer == a.firstDivergence.layer ? QStringLiteral("bad") : QString());
        h += QStringLiteral("</table>\n<p class=\"sub\">Cells: SQNR dB / mean token cosine of the layer's hidden "
                            "states against FP32.</p>\n");
    }

    void histograms()
    {
        if (img.histograms.empty())
            return;
        h += QStringLiteral("<h2 id=\"histograms\">Histograms of the worst activation quantizers</h2>\n"
                            "<p>|x| on a log scale, with the amax that max, percentile, MSE and entropy "
                            "calibration would choose and the amax in use.</p>\n");
        for (std::size_t i = 0; i < img.histograms.size(); ++i)
            image(QStringLiteral("histogram-%1").arg(i), img.histograms[i], 800,
                  QStringLiteral("histogram of %1").arg(QString::fromStdString(img.histogramSites[i])));
    }

    void attention()
    {
        if (r.attentionMaps.empty())
            return;
        const ReportAttentionMap &first = r.attentionMaps.front();
        h += QStringLiteral("<h2 id=\"attention\">Attention difference maps</h2>\n<p>Layer %1, head %2 (the head "
                            "whose attention changes most under %3, by JS divergence): FP32, %3, and %3 minus "
                            "FP32.</p>\n")
                 .arg(first.layer)
                 .arg(first.head)
                 .arg(QString::fromLatin1(qdq::precisionName(first.precision)));
        for (std::size_t i = 0; i < r.attentionMaps.size() && i < img.attention.size(); ++i) {
            const ReportAttentionMap &m = r.attentionMaps[i];
            h += QStringLiteral("<p>“%1” · largest change %2</p>\n").arg(esc(m.text), num(m.maxAbsDifference()));
            image(QStringLiteral("attention-%1").arg(i), img.attention[i], 1000,
                  QStringLiteral("attention maps of input %1").arg(i + 1));
        }
    }

    void taskAgreement()
    {
        h += QStringLiteral("<h2 id=\"task\">Task-level agreement</h2>\n<table>\n");
        row({QStringLiteral("precision"), QStringLiteral("output"), QStringLiteral("rows"),
             QStringLiteral("top-1 agreement"), QStringLiteral("mean KL"), QStringLiteral("output MSE"),
             QStringLiteral("accuracy FP32"), QStringLiteral("accuracy quantized")},
            true);
        for (const TaskAgreement &t : r.analysis.taskAgreement)
            row({QString::fromLatin1(qdq::precisionName(t.precision)), esc(t.output), QString::number(t.predictions),
                 t.top1Agreement ? percent(*t.top1Agreement) : QStringLiteral("-"), optNum(t.meanKl),
                 optNum(t.outputMse), t.accuracyFp32 ? percent(*t.accuracyFp32) : QStringLiteral("-"),
                 t.accuracyQuantized ? percent(*t.accuracyQuantized) : QStringLiteral("-")});
        h += QStringLiteral("</table>\n");
    }

    void sensitivity()
    {
        h += QStringLiteral("<h2 id=\"sensitivity\">Sensitivity ranking</h2>\n");
        if (!r.analysis.sensitivity) {
            h += QStringLiteral("<p>Not computed (run with --sensitivity).</p>\n");
            return;
        }
        const SensitivityReport &s = *r.analysis.sensitivity;
        h += QStringLiteral("<p>Impact = output KL against FP32 (%1); every quantizer as configured: %2. "
                            "Suggested to keep in FP32: %3.</p>\n<table>\n")
                 .arg(QString::fromLatin1(qdq::precisionName(s.precision)), num(s.fullImpact),
                      s.keepFp32.empty() ? QStringLiteral("none helps") : esc([&] {
                          std::string k;
                          for (const std::string &x : s.keepFp32)
                              k += (k.empty() ? "" : ", ") + x;
                          return k;
                      }()));
        row({QStringLiteral("sweep"), QStringLiteral("group"), QStringLiteral("impact"),
             QStringLiteral("top-1 agreement")},
            true);
        for (const SensitivityEntry &e : s.entries)
            row({QString::fromLatin1(qdq::sweepKindName(e.kind)), esc(e.selector), num(e.impact),
                 e.top1Agreement ? percent(*e.top1Agreement) : QStringLiteral("-")});
        h += QStringLiteral("</table>\n");
    }

    void environment()
    {
        const ReportEnvironment &e = r.environment;
        h += QStringLiteral("<h2 id=\"environment\">Environment</h2>\n<table>\n");
        row({QStringLiteral("qdq version"), esc(e.version)});
        row({QStringLiteral("device"), esc(e.device)});
        row({QStringLiteral("threads"), QString::number(e.threads)});
        row({QStringLiteral("version profile"), esc(e.profile)});
        row({QStringLiteral("analysis"), QStringLiteral("%1 forward passes in %2 s")
                                             .arg(r.analysis.forwardPasses)
                                             .arg(r.analysis.seconds, 0, 'f', 2)});
        if (!e.command.empty())
            row({QStringLiteral("command"), QStringLiteral("<code>%1</code>").arg(esc(e.command))});
        h += QStringLiteral("</table>\n");
    }

    const qdq::Report &r;
    const ReportImages &img;
    const ReportRenderOptions &opt;
    bool embedImages;
    QString h;
};

// FP32 | quantized | difference heatmaps side by side.
QImage attentionImage(const ReportAttentionMap &m)
{
    QStringList labels;
    for (const std::string &t : m.tokens)
        labels << QString::fromStdString(t);
    const QString precision = QString::fromLatin1(qdq::precisionName(m.precision));
    std::vector<float> diff(m.fp32.size());
    float range = 1e-6F;
    for (std::size_t i = 0; i < diff.size(); ++i) {
        diff[i] = m.quantized[i] - m.fp32[i];
        range = std::max(range, std::abs(diff[i]));
    }
    struct Panel {
        QString title;
        std::vector<float> values;
        float lo;
        float hi;
    };
    const Panel panels[] = {{QStringLiteral("FP32"), m.fp32, 0.F, 1.F},
                            {precision, m.quantized, 0.F, 1.F},
                            {precision + QStringLiteral(" - FP32"), diff, -range, range}};
    constexpr int titleHeight = 24;
    QImage out(3 * kHeatmapSize, kHeatmapSize + titleHeight, QImage::Format_ARGB32);
    out.fill(Qt::white);
    QPainter p(&out);
    QFont font;
    font.setPixelSize(13);
    p.setFont(font);
    for (int i = 0; i < 3; ++i) {
        const QImage panel = report::heatmap(kHeatmapSize, kHeatmapSize, panels[i].values, m.length, m.length, labels,
                                             labels, panels[i].lo, panels[i].hi);
        p.drawText(QRect(i * kHeatmapSize, 0, kHeatmapSize, titleHeight), Qt::AlignCenter, panels[i].title);
        p.drawImage(i * kHeatmapSize, titleHeight, panel);
    }
    return out;
}

void saveAtomically(const std::filesystem::path &path, const QByteArray &bytes)
{
    qdq::writeFileAtomically(path, std::string_view(bytes.constData(), static_cast<std::size_t>(bytes.size())));
}

// The layer charts, as the GUI's Layers view shows them (ui/charts/analysis_charts.cpp).
std::optional<int> firstDivergence(const qdq::AnalysisReport &r)
{
    return r.firstDivergence.layer >= 0 ? std::optional<int>(r.firstDivergence.layer) : std::nullopt;
}

QImage layerSqnrChart(const qdq::AnalysisReport &r)
{
    // short names, so that the legend fits in one row: the title says what is compared with FP32
    report::LineSeries qdqCum{QStringLiteral("qdq (cumulative)"), {}};
    report::LineSeries qdqLocal{QStringLiteral("qdq (layer alone)"), {}};
    report::LineSeries int8Cum{QStringLiteral("int8 (cumulative)"), {}};
    report::LineSeries gap{QStringLiteral("qdq vs int8"), {}};
    for (const qdq::LayerAnalysis &l : r.layers) {
        qdqCum.values.push_back(l.qdqCumulative ? l.qdqCumulative->sqnrDb : std::nullopt);
        qdqLocal.values.push_back(l.qdqLocal ? l.qdqLocal->sqnrDb : std::nullopt);
        int8Cum.values.push_back(l.int8Cumulative ? l.int8Cumulative->sqnrDb : std::nullopt);
        gap.values.push_back(l.qdqVsInt8 ? l.qdqVsInt8->sqnrDb : std::nullopt);
    }
    return report::lineChart(kChartWidth, kChartHeight,
                             QStringLiteral("Layer output SQNR against FP32 (higher is better)"),
                             QStringLiteral("SQNR (dB)"), {qdqCum, qdqLocal, int8Cum, gap}, firstDivergence(r));
}

QImage layerCosineChart(const qdq::AnalysisReport &r)
{
    report::LineSeries cosQdq{QStringLiteral("qdq"), {}};
    report::LineSeries cosInt8{QStringLiteral("int8"), {}};
    for (const qdq::LayerAnalysis &l : r.layers) {
        cosQdq.values.push_back(l.qdqCumulative ? std::optional<double>(l.qdqCumulative->cosine) : std::nullopt);
        cosInt8.values.push_back(l.int8Cumulative ? std::optional<double>(l.int8Cumulative->cosine) : std::nullopt);
    }
    return report::lineChart(kChartWidth, kChartHeight, QStringLiteral("Layer output cosine similarity to FP32"),
                             QStringLiteral("cosine"), {cosQdq, cosInt8}, firstDivergence(r),
                             1.0); // a cosine is at most 1
}

// A quantizer's |x| histogram with the amax each calibration method would pick and the amax in
// use (static amax; none for a dynamic site).
QImage siteHistogramChart(const qdq::SiteAnalysis &site)
{
    std::map<QString, double> methods;
    for (qdq::CalibMethod m :
         {qdq::CalibMethod::Max, qdq::CalibMethod::Percentile, qdq::CalibMethod::Mse, qdq::CalibMethod::Entropy})
        if (const auto &v = site.candidateAmax[static_cast<std::size_t>(m)])
            methods[QString::fromLatin1(qdq::calibMethodName(m))] = *v;
    const std::vector<double> counts(site.histogram->counts.begin(), site.histogram->counts.end());
    return report::histogramChart(kHistogramWidth, kHistogramHeight, QString::fromStdString(site.name), counts,
                                  site.histogram->edges, methods,
                                  site.dynamic ? std::nullopt : std::optional<double>(site.amax));
}

QByteArray zipBytes(const std::vector<std::pair<QString, QByteArray>> &files, const std::filesystem::path &where)
{
    QByteArray bytes;
    QBuffer buffer(&bytes);
    QuaZip zip(&buffer);
    if (!zip.open(QuaZip::mdCreate))
        throw qdq::IoError("cannot create the zip bundle", {where.string(), {}, {}});
    for (const auto &[name, data] : files) {
        QuaZipFile entry(&zip);
        if (!entry.open(QIODevice::WriteOnly, QuaZipNewInfo(name)) || entry.write(data) != data.size())
            throw qdq::IoError("cannot add " + name.toStdString() + " to the zip bundle", {where.string(), {}, {}});
        entry.close();
    }
    zip.close();
    if (zip.getZipError() != 0)
        throw qdq::IoError("cannot finish the zip bundle", {where.string(), {}, {}});
    return bytes;
}

QByteArray utf8(const std::string &s)
{
    return QByteArray::fromStdString(s);
}

} // namespace

unsigned parseReportFormats(std::string_view text)
{
    unsigned formats = 0;
    for (const QString &part : QString::fromUtf8(text.data(), static_cast<qsizetype>(text.size()))
                                   .split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        const QString f = part.trimmed().toLower();
        if (f == QLatin1String("html"))
            formats |= ReportHtml;
        else if (f == QLatin1String("pdf"))
            formats |= ReportPdf;
        else if (f == QLatin1String("json"))
            formats |= ReportJson;
        else if (f == QLatin1String("csv"))
            formats |= ReportCsv;
        else if (f == QLatin1String("zip"))
            formats |= ReportZip;
        else if (f == QLatin1String("all"))
            formats |= ReportAllFormats;
        else
            throw qdq::FormatError("unknown report format '" + f.toStdString() +
                                       "'; expected html, pdf, json, csv, zip",
                                   {{}, {}, "--format"});
    }
    if (formats == 0)
        throw qdq::FormatError("no report format given; expected html, pdf, json, csv, zip", {{}, {}, "--format"});
    return formats;
}

ReportImages renderReportImages(const qdq::Report &report, const ReportRenderOptions &options)
{
    requireGuiApplication("drawing the report's charts");
    ReportImages images;
    if (!report.analysis.layers.empty()) {
        images.layerSqnr = pngImage(layerSqnrChart(report.analysis));
        images.layerCosine = pngImage(layerCosineChart(report.analysis));
    }
    for (const SiteAnalysis *s : qdq::worstSites(report.analysis, report.analysis.sites.size())) {
        if (static_cast<int>(images.histograms.size()) >= options.histograms)
            break;
        if (!s->histogram)
            continue;
        images.histogramSites.push_back(s->name);
        images.histograms.push_back(pngImage(siteHistogramChart(*s)));
    }
    for (const ReportAttentionMap &m : report.attentionMaps)
        images.attention.push_back(pngImage(attentionImage(m)));
    return images;
}

std::string reportHtml(const qdq::Report &report, const ReportImages &images, const ReportRenderOptions &options,
                       bool embedImages)
{
    return HtmlBuilder(report, images, options, embedImages).build().toStdString();
}

namespace {

QByteArray pdfBytes(const qdq::Report &report, const ReportImages &images, const ReportRenderOptions &options)
{
    requireGuiApplication("writing the PDF report");
    QTextDocument doc;
    const auto add = [&doc](const QString &name, const ReportImage &image) {
        if (!image.isNull())
            doc.addResource(QTextDocument::ImageResource, QUrl(QStringLiteral("report:") + name),
                            QImage::fromData(QByteArray::fromStdString(image.png), "PNG"));
    };
    add(QStringLiteral("layer-sqnr"), images.layerSqnr);
    add(QStringLiteral("layer-cosine"), images.layerCosine);
    for (std::size_t i = 0; i < images.histograms.size(); ++i)
        add(QStringLiteral("histogram-%1").arg(i), images.histograms[i]);
    for (std::size_t i = 0; i < images.attention.size(); ++i)
        add(QStringLiteral("attention-%1").arg(i), images.attention[i]);
    doc.setHtml(HtmlBuilder(report, images, options, false).build());

    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    QPdfWriter writer(&buffer);
    writer.setPageSize(QPageSize(QPageSize::A4));
    writer.setPageMargins(QMarginsF(15, 15, 15, 15), QPageLayout::Millimeter);
    writer.setTitle(QStringLiteral("QDQ Inspector report: ") + QString::fromStdString(report.model.name));
    writer.setCreator(QStringLiteral("QDQ Inspector ") + QString::fromStdString(report.environment.version));
    writer.setResolution(150);
    // Lay the document out at the page's width in device pixels so images (900 px) fit.
    doc.setPageSize(writer.pageLayout().paintRectPixels(writer.resolution()).size());
    doc.print(&writer);
    return bytes;
}

} // namespace

std::string reportPdf(const qdq::Report &report, const ReportImages &images, const ReportRenderOptions &options)
{
    return pdfBytes(report, images, options).toStdString();
}

std::vector<std::string> writeReport(const qdq::Report &report, const ReportImages &images,
                                     const std::filesystem::path &dir, unsigned formats,
                                     const ReportRenderOptions &options, qdq::Progress *progress)
{
    if (!QDir().mkpath(QString::fromStdString(dir.string())))
        throw qdq::IoError("cannot create the report folder", {dir.string(), {}, {}});
    const bool zip = (formats & ReportZip) != 0;
    // Render everything first (in memory), then write: a failure while rendering writes nothing.
    std::vector<std::pair<QString, QByteArray>> files;
    const int steps = 6;
    int step = 0;
    const auto next = [&] { reportProgress(progress, "writing report", step++, steps); };
    next();
    if (zip || (formats & ReportHtml))
        files.emplace_back(kReportHtmlName, HtmlBuilder(report, images, options, true).build().toUtf8());
    next();
    if (zip || (formats & ReportPdf))
        files.emplace_back(kReportPdfName, pdfBytes(report, images, options));
    next();
    if (zip || (formats & ReportJson))
        files.emplace_back(kReportJsonName, utf8(qdq::reportToJson(report)));
    if (zip || (formats & ReportCsv)) {
        files.emplace_back(kQuantizersCsvName, utf8(qdq::quantizersCsv(report.analysis)));
        files.emplace_back(kLayersCsvName, utf8(qdq::layersCsv(report.analysis)));
    }
    next();
    QByteArray bundle;
    if (zip)
        bundle = zipBytes(files, dir / kReportZipName);
    next();
    std::vector<std::string> written;
    const auto wanted = [formats](const QString &name) {
        if (name == QLatin1String(kReportHtmlName))
            return (formats & ReportHtml) != 0;
        if (name == QLatin1String(kReportPdfName))
            return (formats & ReportPdf) != 0;
        if (name == QLatin1String(kReportJsonName))
            return (formats & ReportJson) != 0;
        return (formats & ReportCsv) != 0;
    };
    for (const auto &[name, bytes] : files) {
        if (!wanted(name))
            continue;
        saveAtomically(dir / name.toStdString(), bytes);
        written.push_back((dir / name.toStdString()).string());
    }
    if (zip) {
        saveAtomically(dir / kReportZipName, bundle);
        written.push_back((dir / kReportZipName).string());
    }
    reportProgress(progress, "writing report", steps, steps);
    return written;
}

std::vector<std::string> writeReportIndex(const std::vector<ReportIndexEntry> &entries,
                                          const std::filesystem::path &dir)
{
    if (!QDir().mkpath(QString::fromStdString(dir.string())))
        throw qdq::IoError("cannot create the report folder", {dir.string(), {}, {}});
    // Columns: the metrics any model has, in the documented order.
    std::vector<std::string> columns;
    for (const auto &[name, description] : qdq::reportMetricDescriptions())
        for (const ReportIndexEntry &e : entries)
            if (e.metrics.count(name)) {
                columns.push_back(name);
                break;
            }
    QString h = QStringLiteral("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\" />"
                               "<title>QDQ Inspector reports</title>\n<style>body{font-family:sans-serif;margin:2em}"
                               "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:3px 8px;"
                               "text-align:right}td.l,th.l{text-align:left}.bad{background:#f6d5d5}</style>"
                               "</head>\n<body>\n<h1>QDQ Inspector reports</h1>\n<table>\n<tr><th class=\"l\">model"
                               "</th><th class=\"l\">thresholds</th>");
    for (const std::string &c : columns)
        h += QStringLiteral("<th>%1</th>").arg(esc(c));
    h += QStringLiteral("</tr>\n");
    nlohmann::json models = nlohmann::json::array();
    for (const ReportIndexEntry &e : entries) {
        QStringList failed;
        nlohmann::json thresholds = nlohmann::json::array();
        for (const ThresholdOutcome &t : e.thresholds) {
            if (t.crossed)
                failed << esc(t.threshold.expression);
            thresholds.push_back({{"expression", t.threshold.expression}, {"crossed", t.crossed}});
        }
        h += QStringLiteral("<tr%1><td class=\"l\"><a href=\"%2/%3\">%4</a></td><td class=\"l\">%5</td>")
                 .arg(failed.isEmpty() ? QString() : QStringLiteral(" class=\"bad\""))
                 .arg(QString(QUrl::toPercentEncoding(QString::fromStdString(e.folder), "/")),
                      QString::fromLatin1(kReportHtmlName), esc(e.model.name),
                      e.thresholds.empty() ? QStringLiteral("-")
                                           : (failed.isEmpty() ? QStringLiteral("passed")
                                                               : QStringLiteral("FAILED: ") + failed.join(", ")));
        nlohmann::json metrics = nlohmann::json::object();
        for (const std::string &c : columns) {
            const auto it = e.metrics.find(c);
            h += QStringLiteral("<td>%1</td>").arg(it == e.metrics.end() ? QStringLiteral("-") : num(it->second, 5));
            if (it != e.metrics.end())
                metrics[c] = std::isfinite(it->second) ? nlohmann::json(it->second) : nlohmann::json(nullptr);
        }
        h += QStringLiteral("</tr>\n");
        models.push_back({{"name", e.model.name},
                          {"path", e.model.path},
                          {"folder", e.folder},
                          {"metrics", metrics},
                          {"thresholds", thresholds}});
    }
    h += QStringLiteral("</table>\n</body></html>\n");
    saveAtomically(dir / "index.html", h.toUtf8());
    const nlohmann::json index = {
        {"format", "qdq-report-index"}, {"schema_version", qdq::kReportSchemaVersion}, {"models", models}};
    saveAtomically(dir / "index.json", utf8(index.dump(1)));
    return {(dir / "index.html").string(), (dir / "index.json").string()};
}

} // namespace qdq

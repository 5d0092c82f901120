// qdq report end to end on the tiny demo model: every format, read back by other tools - the
// HTML as XML (well-formed, its tables and embedded PNGs), the PDF with poppler's pdftotext /
// pdfinfo, the JSON against docs/report.schema.json with Python's jsonschema (Debian
// python3-jsonschema), the zip with Python's zipfile - and the --fail-if exit codes. The HTML
// (headless Chromium) and the PDF pages (pdftoppm) are rendered to PNG under
// <build>/report-artifacts for a person to look at.
#include "support/test_support.h"

#include "qdq/checkpoint.h"
#include "qdq/errors.h"
#include "qdq/report_writer.h"
#include "qdq/text_task.h"

#include <nlohmann/json.hpp>

#include <QDir>
#include <QFile>
#include <QImage>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QUrl>
#include <QXmlStreamReader>

#include <set>

using qdq::test::runCli;
using qdq::test::runProcess;

namespace {

const QString kDemo = QStringLiteral(QDQ_SOURCE_DIR "/resources/demo/tiny-qdqbert");
const QString kData = QStringLiteral(QDQ_SOURCE_DIR "/tests/data/calibration/sentences.txt");
const QString kSchema = QStringLiteral(QDQ_SOURCE_DIR "/docs/report.schema.json");

QByteArray readAll(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return f.readAll();
}

QString artifactsDir()
{
    const QString dir = QDir(QCoreApplication::applicationDirPath()).filePath("../report-artifacts");
    QDir().mkpath(dir);
    return QDir::cleanPath(dir);
}

// Share of pixels that are not (near) white: a rendered page with content has some.
double inkFraction(const QImage &image)
{
    qint64 ink = 0;
    for (int y = 0; y < image.height(); y += 2)
        for (int x = 0; x < image.width(); x += 2)
            ink += qGray(image.pixel(x, y)) < 200 ? 1 : 0;
    return static_cast<double>(ink) / (static_cast<double>(image.width()) * image.height() / 4.0);
}

QStringList reportArgs(const QString &out)
{
    return {"report", "--model",      kDemo, "--data", kData, "--samples", "6", "--batch",
            "3",      "--max-length", "24",  "--out",  out,   "--threads", "1", "--quiet"};
}

} // namespace

class TestReportFiles : public QObject {
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    QString m_out;

private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true); // never the user's settings
        QVERIFY(m_dir.isValid());
        m_out = m_dir.filePath("out");
        QStringList args = reportArgs(m_out);
        args << "--fail-if"
             << "min_layer_sqnr_db<-1000"
             << "--fail-if"
             << "top1_agreement<0";
        const auto r = runCli(args, 300000);
        QVERIFY2(r.exitCode == 0, r.err.constData());
    }

    void writesEveryFileAndNoTemporaries()
    {
        const QDir model(m_out + "/tiny-qdqbert");
        const QStringList files = model.entryList(QDir::Files, QDir::Name);
        QCOMPARE(files, QStringList({"layers.csv", "quantizers.csv", "report.html", "report.json", "report.pdf",
                                     "report.zip"}));
        QCOMPARE(QDir(m_out).entryList(QDir::Files, QDir::Name), QStringList({"index.html", "index.json"}));
    }

    void htmlIsWellFormedAndSelfContained()
    {
        const QByteArray html = readAll(m_out + "/tiny-qdqbert/report.html");
        QXmlStreamReader xml(html);
        std::set<QString> ids;
        int tables = 0;
        int images = 0;
        while (!xml.atEnd()) {
            xml.readNext();
            if (!xml.isStartElement())
                continue;
            const auto attrs = xml.attributes();
            if (attrs.hasAttribute("id"))
                ids.insert(attrs.value("id").toString());
            if (xml.name() == QLatin1String("table"))
                ++tables;
            if (xml.name() == QLatin1String("img")) {
                ++images;
                const QString src = attrs.value("src").toString();
                QVERIFY2(src.startsWith("data:image/png;base64,"), qPrintable(src.left(40)));
                const QImage image =
                    QImage::fromData(QByteArray::fromBase64(src.mid(22).toLatin1()), "PNG"); // decodes as PNG
                QVERIFY(!image.isNull());
                QVERIFY(image.width() >= 400);
                QVERIFY(inkFraction(image) > 0.01);
            }
        }
        QVERIFY2(!xml.hasError(), qPrintable(xml.errorString() + " at line " + QString::number(xml.lineNumber())));
        for (const char *section :
             {"summary", "quantizers", "layers", "histograms", "attention", "task", "sensitivity", "environment"})
            QVERIFY2(ids.count(section), section);
        QVERIFY(tables >= 6);
        // 2 layer charts + 2 histograms at least (the tiny model has activation sites with
        // histograms) + 2 attention inputs
        QVERIFY2(images >= 6, qPrintable(QString::number(images)));
        QVERIFY(!html.contains("src=\"http") && !html.contains("href=\"http") && !html.contains("<script"));
    }

    void jsonValidatesAndAgreesWithCsv()
    {
        const QString path = m_out + "/tiny-qdqbert/report.json";
        const auto v = runProcess("/usr/bin/python3", {"-c",
                                                       "import json,sys,jsonschema\n"
                                                       "s=json.load(open(sys.argv[1]))\n"
                                                       "jsonschema.Draft202012Validator.check_schema(s)\n"
                                                       "jsonschema.validate(json.load(open(sys.argv[2])),s)\n"
                                                       "print('valid')",
                                                       kSchema, path});
        QVERIFY2(v.exitCode == 0 && v.out.contains("valid"), (v.out + v.err).constData());

        const nlohmann::json j = nlohmann::json::parse(readAll(path).toStdString());
        const qdq::Checkpoint ck = qdq::loadCheckpoint(kDemo.toStdString());
        QCOMPARE(j["model"]["layers"].get<int>(), static_cast<int>(ck.config.numHiddenLayers));
        QCOMPARE(j["analysis"]["samples"].get<int>(), 6);
        // the headline metric is the minimum of the per-layer table
        double minSqnr = 1e300;
        for (const auto &l : j["analysis"]["layers"])
            if (!l["qdq_cumulative"]["sqnr_db"].is_null())
                minSqnr = std::min(minSqnr, l["qdq_cumulative"]["sqnr_db"].get<double>());
        QCOMPARE(j["metrics"]["min_layer_sqnr_db"].get<double>(), minSqnr);
        QCOMPARE(j["thresholds"].size(), std::size_t(2));
        QCOMPARE(j["thresholds"][0]["crossed"].get<bool>(), false);
        QCOMPARE(j["attention_maps"].size(), std::size_t(2)); // --attention-inputs 2 (default)
        QCOMPARE(j["attention_maps"][0]["text"].get<std::string>(),
                 std::string("The quick brown fox jumps over the lazy dog.")); // the data's first line

        const QList<QByteArray> quantizerRows = readAll(m_out + "/tiny-qdqbert/quantizers.csv").split('\n');
        QCOMPARE(static_cast<std::size_t>(quantizerRows.size() - 1), j["analysis"]["sites"].size() + 1); // + header
        const QList<QByteArray> layerRows = readAll(m_out + "/tiny-qdqbert/layers.csv").split('\n');
        QCOMPARE(static_cast<std::size_t>(layerRows.size() - 1), j["analysis"]["layers"].size() + 1);
    }

    void pdfHasPagesAndText()
    {
        const QString pdf = m_out + "/tiny-qdqbert/report.pdf";
        const auto info = runProcess("pdfinfo", {pdf});
        QVERIFY2(info.exitCode == 0, info.err.constData());
        const auto m = QRegularExpression("Pages:\\s+(\\d+)").match(QString::fromUtf8(info.out));
        QVERIFY(m.hasMatch());
        const int pages = m.captured(1).toInt();
        QVERIFY2(pages >= 3 && pages <= 12, qPrintable(QString::number(pages)));
        const auto text = runProcess("pdftotext", {"-layout", pdf, "-"});
        QVERIFY(text.exitCode == 0);
        QString t = QString::fromUtf8(text.out);
        // the PDF's font draws ff / fi / fl as ligatures; pdftotext returns them as one character
        t.replace(QChar(0xFB00), "ff").replace(QChar(0xFB01), "fi").replace(QChar(0xFB02), "fl");
        for (const char *needle : {"QDQ Inspector report: tiny-qdqbert", "Model and calibration", "Worst quantizers",
                                   "Per-layer divergence", "Attention difference maps", "Task-level agreement",
                                   "Sensitivity ranking", "Environment", "min_layer_sqnr_db"})
            QVERIFY2(t.contains(needle), needle);
        // the worst quantizer of the JSON is named in the PDF's table
        const nlohmann::json j = nlohmann::json::parse(readAll(m_out + "/tiny-qdqbert/report.json").toStdString());
        std::string worst;
        double lowest = 1e300;
        for (const auto &s : j["analysis"]["sites"])
            if (s["enabled"].get<bool>() && !s["sqnr_db"].is_null() && s["sqnr_db"].get<double>() < lowest) {
                lowest = s["sqnr_db"].get<double>();
                worst = s["name"].get<std::string>();
            }
        // (the PDF's table may wrap a long name after "encoder.layer.N.")
        const std::string tail = worst.substr(worst.find('.', std::string("encoder.layer.").size()) + 1);
        QVERIFY2(t.contains(QString::fromStdString(tail)), worst.c_str());

        // pages as PNG for a person to look at (CI artifacts)
        const QString prefix = artifactsDir() + "/report-page";
        const auto png = runProcess("pdftoppm", {"-r", "60", "-png", pdf, prefix});
        QVERIFY2(png.exitCode == 0, png.err.constData());
        const QImage first(prefix + "-01.png");
        QVERIFY2(!first.isNull() || !QImage(prefix + "-1.png").isNull(), qPrintable(prefix));
    }

    void htmlRendersInChromium()
    {
        const QString shot = artifactsDir() + "/report-html.png";
        QFile::remove(shot);
        const auto r =
            runProcess("chromium",
                       {"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1200,2400",
                        "--screenshot=" + shot, QUrl::fromLocalFile(m_out + "/tiny-qdqbert/report.html").toString()},
                       120000);
        QVERIFY2(r.exitCode == 0, r.err.right(2000).constData());
        const QImage image(shot);
        QVERIFY(!image.isNull());
        QCOMPARE(image.width(), 1200);
        QVERIFY2(inkFraction(image) > 0.02, "the rendered report is blank");
    }

    void zipHoldsEveryFile()
    {
        const QString zip = m_out + "/tiny-qdqbert/report.zip";
        const auto r = runProcess("/usr/bin/python3", {"-c",
                                                       "import sys,zipfile\n"
                                                       "z=zipfile.ZipFile(sys.argv[1])\n"
                                                       "assert z.testzip() is None\n"
                                                       "print(' '.join(sorted(z.namelist())))\n"
                                                       "sys.stdout.flush()\n"
                                                       "open(sys.argv[2],'wb').write(z.read('report.json'))",
                                                       zip, m_dir.filePath("from-zip.json")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QCOMPARE(r.out.trimmed(), QByteArray("layers.csv quantizers.csv report.html report.json report.pdf"));
        QCOMPARE(readAll(m_dir.filePath("from-zip.json")), readAll(m_out + "/tiny-qdqbert/report.json"));
    }

    void failIfExitCodes()
    {
        const QString out = m_dir.filePath("gate");
        QStringList args = reportArgs(out);
        args << "--format"
             << "json"
             << "--fail-if"
             << "min_layer_sqnr_db<1000"
             << "--fail-if"
             << "top1_agreement<0";
        auto r = runCli(args, 300000);
        QCOMPARE(r.exitCode, 3);
        QVERIFY2(r.err.contains("threshold crossed: min_layer_sqnr_db<1000"), r.err.constData());
        QVERIFY(!r.err.contains("threshold crossed: top1_agreement<0"));
        QVERIFY(r.err.contains("1 of 1 models crossed"));
        // the report is still written (a failed gate is a finding, not an error), with the outcome
        QCOMPARE(QDir(out + "/tiny-qdqbert").entryList(QDir::Files), QStringList({"report.json"}));
        const nlohmann::json index = nlohmann::json::parse(readAll(out + "/index.json").toStdString());
        QCOMPARE(index["models"][0]["thresholds"][0]["crossed"].get<bool>(), true);
        QCOMPARE(index["models"][0]["thresholds"][1]["crossed"].get<bool>(), false);

        // a metric the model lacks (no labels: no accuracy) fails rather than passing silently
        args = reportArgs(out);
        args << "--format"
             << "json"
             << "--fail-if"
             << "accuracy_drop>0.01";
        r = runCli(args, 300000);
        QCOMPARE(r.exitCode, 3);
        QVERIFY2(r.err.contains("not available for this model"), r.err.constData());

        // mistakes in the expression are usage errors (1), before any work
        args = reportArgs(out);
        args << "--fail-if"
             << "sqnr<20";
        r = runCli(args);
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains("unknown metric 'sqnr'"), r.err.constData());
        args = reportArgs(out);
        args << "--format"
             << "html,docx";
        r = runCli(args);
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains("unknown report format 'docx'"), r.err.constData());
    }

    void batchWithIndex()
    {
        const QString out = m_dir.filePath("batch");
        QStringList args = reportArgs(out);
        args << "--model" << kDemo << "--format"
             << "json,csv"
             << "--attention-text"
             << "hello world";
        args.removeAll("--quiet");
        const auto r = runCli(args, 300000);
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QVERIFY2(r.err.contains("[2/2] analyzing"), r.err.constData()); // progress per model
        QVERIFY2(r.err.contains("wrote " + (out + "/index.html").toUtf8()), r.err.constData());
        const nlohmann::json index = nlohmann::json::parse(readAll(out + "/index.json").toStdString());
        QCOMPARE(index["format"].get<std::string>(), std::string("qdq-report-index"));
        QCOMPARE(index["models"].size(), std::size_t(2));
        QCOMPARE(index["models"][1]["folder"].get<std::string>(), std::string("tiny-qdqbert-2")); // unique folders
        const nlohmann::json second = nlohmann::json::parse(readAll(out + "/tiny-qdqbert-2/report.json").toStdString());
        QCOMPARE(second["attention_maps"].size(), std::size_t(1));              // the chosen text only
        QCOMPARE(second["attention_maps"][0]["tokens"].size(), std::size_t(4)); // [CLS] hello world [SEP]
        QCOMPARE(QDir(out + "/tiny-qdqbert-2").entryList(QDir::Files, QDir::Name),
                 QStringList({"layers.csv", "quantizers.csv", "report.json"}));
        // the same model twice: the same deterministic numbers
        QVERIFY(index["models"][0]["metrics"]["min_layer_sqnr_db"] ==
                index["models"][1]["metrics"]["min_layer_sqnr_db"]);
        QXmlStreamReader xml(readAll(out + "/index.html"));
        int links = 0;
        while (!xml.atEnd())
            if (xml.readNext() == QXmlStreamReader::StartElement && xml.name() == QLatin1String("a"))
                ++links;
        QVERIFY(!xml.hasError());
        QCOMPARE(links, 2);
    }

    void failureLeavesPreviousFilesIntact()
    {
        const QString json = m_out + "/tiny-qdqbert/report.json";
        const QByteArray before = readAll(json);
        QVERIFY(!before.isEmpty());
        // the output folder cannot be created (a file is in the way): a clear error, exit code 2
        const QString blocked = m_dir.filePath("blocked");
        {
            QFile f(blocked);
            QVERIFY(f.open(QIODevice::WriteOnly));
        }
        QStringList args = reportArgs(blocked);
        args << "--format"
             << "json";
        auto r = runCli(args, 300000);
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains("cannot create the report folder") && r.err.contains("blocked"), r.err.constData());
        // a bad data file fails before anything is written; the earlier report stays as it was
        args = reportArgs(m_out);
        args[args.indexOf("--data") + 1] = m_dir.filePath("missing.txt");
        r = runCli(args);
        QCOMPARE(r.exitCode, 2);
        QCOMPARE(readAll(json), before);
        const QStringList leftovers =
            QDir(m_out + "/tiny-qdqbert").entryList({"*.tmp", ".*"}, QDir::Files | QDir::Hidden);
        QVERIFY2(leftovers.isEmpty(), qPrintable(leftovers.join(", ")));
    }

    // The engine's painters draw the Layers view's layer charts (same series, same marked layer,
    // in the same colours), without widgets.
    void layerChartsAreDrawn()
    {
        qdq::Report report;
        report.model.name = "hand";
        for (int i = 0; i < 4; ++i) {
            qdq::LayerAnalysis l;
            l.layer = i;
            qdq::Divergence d;
            d.sqnrDb = 30.0 - 5.0 * i;
            d.cosine = 1.0 - 0.01 * i;
            l.qdqCumulative = d;
            report.analysis.layers.push_back(l);
        }
        report.analysis.firstDivergence.layer = 2;
        const qdq::ReportImages images = qdq::renderReportImages(report);
        const QImage sqnr = QImage::fromData(QByteArray::fromStdString(images.layerSqnr.png), "PNG");
        QCOMPARE(images.layerSqnr.width, 900);
        QCOMPARE(sqnr.width(), 900);
        QCOMPARE(sqnr.height(), 380);
        QVERIFY(inkFraction(sqnr) > 0.01);
        QVERIFY(images.histograms.empty()); // no sites
        QVERIFY(images.attention.empty());
        // the first divergence marker is drawn in red (200, 40, 40) in the SQNR chart
        bool red = false;
        for (int y = 0; y < sqnr.height() && !red; ++y)
            for (int x = 0; x < sqnr.width() && !red; ++x) {
                const QColor c = sqnr.pixelColor(x, y);
                red = c.red() > 180 && c.green() < 80 && c.blue() < 80;
            }
        QVERIFY(red);
    }

    // Files are saved through the engine's atomic writer: one that cannot be put in place fails
    // with an IoError naming it and leaves no temporary file behind.
    void writeFailureNamesTheFile()
    {
        qdq::Report report;
        report.model.name = "hand";
        QTemporaryDir dir;
        QVERIFY(QDir(dir.path()).mkpath("report.json")); // a folder where the file should go
        try {
            (void)qdq::writeReport(report, {}, dir.path().toStdString(), qdq::ReportJson | qdq::ReportCsv);
            QFAIL("writing over a folder succeeded");
        } catch (const qdq::IoError &e) {
            QVERIFY2(e.where().file == dir.filePath("report.json").toStdString(), e.what());
        }
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden | QDir::NoDotAndDotDot), QStringList());
    }
};

QTEST_MAIN(TestReportFiles)
#include "tst_report_files.moc"

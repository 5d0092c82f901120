// GUI smoke tests, offscreen: the main window renders, drag-and-drop and File ▸ Open share
// openPath(), errors are reported, recent files persist, --screenshot writes a real image.
#include "analyze_dialog.h"
#include "app_settings.h"
#include "attention_view.h"
#include "calibrate_dialog.h"
#include "charts/analysis_charts.h"
#include "charts/divergence_chart.h"
#include "charts/histogram_chart.h"
#include "compare_view.h"
#include "compute_devices.h"
#include "heatmap_widget.h"
#include "histogram_view.h"
#include "inference_worker.h"
#include "layers_view.h"
#include "main_window.h"
#include "playground_widget.h"
#include "quantizer_table_model.h"
#include "recent_files_model.h"
#include "repair_dialog.h"
#include "sensitivity_view.h"
#include "settings_dialog.h"
#include "support/test_support.h"
#include "tensor_table_model.h"
#include "theme.h"
#include "token_strip.h"

#include "qdq/analysis.h"
#include "qdq/calibration.h"
#include "qdq/calibration_data.h"
#include "qdq/device.h"
#include "qdq/io/onnx_export.h"
#include "qdq/io/onnx_import.h"
#include "qdq/io/safetensors.h"
#include "qdq/model.h"
#include "qdq/report_writer.h"
#include "qdq/text_task.h"
#include "qdq/threading.h"

#include <QAbstractItemModelTester>
#include <QComboBox>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QSpinBox>
#include <QTableView>
#include <QTableWidget>

#include <QApplication>
#include <QDir>
#include <QDragEnterEvent>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QGraphicsView>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMimeData>
#include <QMouseEvent>
#include <QSet>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QTextBrowser>
#include <QTimer>
#include <QToolButton>
#include <cmath>
#include <functional>

using namespace qdq::ui;

namespace {

// Number of distinct colours in an image: a blank render has one or two.
int distinctColours(const QImage &image)
{
    QSet<QRgb> colours;
    for (int y = 0; y < image.height(); y += 2)
        for (int x = 0; x < image.width(); x += 2)
            colours.insert(image.pixel(x, y));
    return static_cast<int>(colours.size());
}

// A tiny checkpoint folder: config.json and model.safetensors with one weight and one amax.
QString writeTinyCheckpoint(const QTemporaryDir &dir)
{
    const qdq::Tensor w = qdq::Tensor::fromValues<float>({2, 2}, {1.f, 2.f, 3.f, 4.f});
    const qdq::Tensor amax = qdq::Tensor::fromValues<float>({}, {2.5f});
    qdq::writeSafetensors(dir.filePath("model.safetensors").toStdString(),
                          {{"bert.encoder.layer.0.attention.self.query.weight", &w},
                           {"bert.encoder.layer.0.attention.self.query._input_quantizer._amax", &amax}});
    QFile config(dir.filePath("config.json"));
    if (config.open(QIODevice::WriteOnly))
        config.write(R"({"hidden_size": 2, "num_attention_heads": 1, "num_hidden_layers": 1, "intermediate_size": 4})");
    return dir.path();
}

// Opens `path` in `w` and waits for the load to finish; false when it failed or timed out.
// The window as a person would see it at the end of a view test, saved under
// <build>/gui-artifacts for CI (a look at every view, not an assertion).
void saveArtifact(MainWindow &w, const QString &name)
{
    const QString dir = QDir(QCoreApplication::applicationDirPath()).filePath("../gui-artifacts");
    QDir().mkpath(dir);
    w.resize(1280, 800);
    QVERIFY(w.grab().toImage().save(QDir(dir).filePath(name + ".png")));
}

bool openAndWait(MainWindow &w, const QString &path)
{
    QSignalSpy loaded(&w, &MainWindow::checkpointLoaded);
    return w.openPath(path) && loaded.wait(120000);
}

} // namespace

class TestMainWindow : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void init();
    void rendersNonBlank();
    void openPathLoadsAndRecordsRecent();
    void openCorruptFileReportsError();
    void openMissingPathReportsError();
    void dragAndDropOpens();
    void dragOfNonFileIsIgnored();
    void dropZipArchiveLoads();
    void recentModelIsConsistent();
    void quantizerViewOfDemoModel();
    void playgroundTokenizesLive();
    void playgroundRunsHeadLikeCli();
    void exportReportWritesFilesOnWorkers();
    void attentionViewShowsProbabilities();
    void whatIfOverrideRerunsQuantized();
    void histogramOfCalibratedCheckpoint();
    void calibrateDialogWritesAndOpens();
    void exportOnnxFromWindow();
    void exportOnnxCancel();
    void analyzeFillsLayersView();
    void settingsPersistAndApply();
    void settingsTakeEffect();
    void histogramOfAnalysis();
    void sensitivityRepairAndImportScales();
    void recentLabelsTellApart();
    void chartsFitAndFollowTheme();
    void tableColumnsFitContents();
    void playgroundPlaceholderBeforeFirstRun();
    void compareViewShowsAmaxRatios();
    void staysResponsiveDuringInference();
    void screenshotCommandWritesImage();
    void screenshotOfLoadedModel();
    void screenshotUnknownViewFails();
};

void TestMainWindow::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true); // settings go to a test location, not the user's
    QCoreApplication::setOrganizationName("qdq-inspector-tests");
}

void TestMainWindow::init()
{
    QSettings().clear(); // every test starts from the default settings, with no recent files
    qdq::ui::applyTheme(QStringLiteral("system"));
}

void TestMainWindow::rendersNonBlank()
{
    MainWindow w;
    w.setInteractive(false);
    w.resize(1000, 700);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    const QImage img = w.grab().toImage();
    QCOMPARE(img.size(), QSize(1000, 700));
    QVERIFY2(distinctColours(img) > 20, qPrintable(QString::number(distinctColours(img))));
    QCOMPARE(w.tabs()->tabText(0), QString("Start"));
}

void TestMainWindow::openPathLoadsAndRecordsRecent()
{
    QTemporaryDir dir;
    const QString folder = writeTinyCheckpoint(dir);
    MainWindow w;
    w.setInteractive(false);
    QSignalSpy opened(&w, &MainWindow::pathOpened);
    QSignalSpy loaded(&w, &MainWindow::checkpointLoaded);
    QVERIFY(w.openPath(folder));
    QCOMPARE(opened.count(), 1);
    QVERIFY(loaded.wait(120000));
    QCOMPARE(loaded.at(0).at(0).toString(), folder);
    QCOMPARE(w.checkpoint()->tensors.size(), std::size_t(2));
    QCOMPARE(w.tensorModel()->rowCount(), 2);
    // std::map order: "..._input_quantizer._amax" sorts before "...weight"
    QCOMPARE(w.tensorModel()->index(0, TensorTableModel::Role).data().toString(), QString("input quantizer amax"));
    QCOMPARE(w.tensorModel()->index(1, TensorTableModel::ShapeColumn).data().toString(), QString("[2, 2]"));
    QAbstractItemModelTester tester(w.tensorModel(), QAbstractItemModelTester::FailureReportingMode::QtTest);
    QVERIFY(w.viewNames().contains("tensors"));
    QCOMPARE(w.recentFiles()->pathAt(0), folder);
    QVERIFY(w.windowTitle().startsWith(QFileInfo(folder).fileName()));
    // a second window sees the persisted list
    MainWindow other;
    QCOMPARE(other.recentFiles()->pathAt(0), folder);
}

void TestMainWindow::openCorruptFileReportsError()
{
    QTemporaryDir dir;
    const QString file = dir.filePath("broken.safetensors");
    QFile f(file);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("abc");
    f.close();
    MainWindow w;
    w.setInteractive(false);
    QSignalSpy errors(&w, &MainWindow::errorOccurred);
    QSignalSpy loaded(&w, &MainWindow::checkpointLoaded);
    QVERIFY(w.openPath(file));
    QVERIFY(errors.wait(120000));
    QCOMPARE(loaded.count(), 0);
    const QString message = errors.at(0).at(0).toString();
    QVERIFY2(message.contains(file) && message.contains("not a weights file"), qPrintable(message));
    QVERIFY(!w.checkpoint());
    QCOMPARE(w.recentFiles()->rowCount(), 0); // only successful loads become recent
}

void TestMainWindow::openMissingPathReportsError()
{
    MainWindow w;
    w.setInteractive(false);
    QSignalSpy errors(&w, &MainWindow::errorOccurred);
    QSignalSpy opened(&w, &MainWindow::pathOpened);
    QVERIFY(!w.openPath("/nonexistent/checkpoint.bin"));
    QCOMPARE(opened.count(), 0);
    QCOMPARE(errors.count(), 1);
    QVERIFY(errors.at(0).at(0).toString().contains("/nonexistent/checkpoint.bin"));
}

void TestMainWindow::dragAndDropOpens()
{
    QTemporaryDir dir;
    writeTinyCheckpoint(dir);
    MainWindow w;
    w.setInteractive(false);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QSignalSpy opened(&w, &MainWindow::pathOpened);

    QMimeData mime;
    mime.setUrls({QUrl::fromLocalFile(dir.path())});
    QDragEnterEvent enter(QPoint(50, 50), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&w, &enter);
    QVERIFY(enter.isAccepted());
    QVERIFY(w.isDropHighlighted());
    QSignalSpy loaded(&w, &MainWindow::checkpointLoaded);
    QDropEvent drop(QPointF(50, 50), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&w, &drop);
    QVERIFY(!w.isDropHighlighted());
    QCOMPARE(opened.count(), 1);
    QCOMPARE(opened.at(0).at(0).toString(), dir.path());
    QVERIFY(loaded.wait(120000)); // the same loading path as File > Open
}

void TestMainWindow::dragOfNonFileIsIgnored()
{
    MainWindow w;
    w.setInteractive(false);
    w.show();
    QMimeData mime;
    mime.setText("just text");
    QDragEnterEvent enter(QPoint(5, 5), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&w, &enter);
    QVERIFY(!enter.isAccepted());
    QVERIFY(!w.isDropHighlighted());
}

void TestMainWindow::dropZipArchiveLoads()
{
    // a downloaded archive of a Hugging Face folder, nested one level (written by Python's zipfile)
    const QString zip = qdq::test::dataPath("checkpoints/hf_pytorch_nested.zip");
    QVERIFY2(QFile::exists(zip), qPrintable(zip));
    MainWindow w;
    w.setInteractive(false);
    w.show();
    QSignalSpy loaded(&w, &MainWindow::checkpointLoaded);
    QSignalSpy opened(&w, &MainWindow::pathOpened);
    QSignalSpy errors(&w, &MainWindow::errorOccurred);
    QMimeData mime;
    mime.setUrls({QUrl::fromLocalFile(zip)});
    QDragEnterEvent enter(QPoint(20, 20), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&w, &enter);
    QVERIFY(enter.isAccepted());
    QDropEvent drop(QPointF(20, 20), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&w, &drop);
    QCOMPARE(opened.count(), 1);
    QVERIFY(loaded.wait(120000) || !errors.isEmpty());
    QVERIFY2(errors.isEmpty(), qPrintable(errors.value(0).value(0).toString()));
    QCOMPARE(w.checkpoint()->container, std::string("zip"));
    QCOMPARE(w.quantizerModel()->rowCount(), static_cast<int>(w.checkpoint()->quantizers.size()));
    QVERIFY(w.quantizerModel()->rowCount() > 0);
}

void TestMainWindow::recentModelIsConsistent()
{
    RecentFilesModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QTemporaryDir dir;
    for (int i = 0; i < 12; ++i)
        model.add(dir.filePath(QString("m%1.bin").arg(i)));
    QCOMPARE(model.rowCount(), 10); // capped
    model.add(dir.filePath("m5.bin"));
    QCOMPARE(model.pathAt(0), dir.filePath("m5.bin"));
    QCOMPARE(model.rowCount(), 10); // moved to the front, not duplicated
    model.remove(dir.filePath("m5.bin"));
    QCOMPARE(model.rowCount(), 9);
}

void TestMainWindow::quantizerViewOfDemoModel()
{
    MainWindow w;
    w.setInteractive(false);
    QVERIFY(openAndWait(w, QStringLiteral(QDQ_SOURCE_DIR "/resources/demo/tiny-qdqbert")));
    QuantizerTableModel *m = w.quantizerModel();
    QAbstractItemModelTester tester(m, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QCOMPARE(m->rowCount(), 2 * 20); // 2 layers x 20 sites (reference §1.2)
    // row 1 = layer 0 query weight quantizer: per-row amax over 32 output channels
    QCOMPARE(m->index(1, QuantizerTableModel::Site).data().toString(), QString("self.query._weight_quantizer"));
    QCOMPARE(m->index(1, QuantizerTableModel::Kind).data().toString(), QString("weight"));
    QVERIFY(m->index(1, QuantizerTableModel::Amax).data().toString().contains(QString::fromUtf8(" … ")));
    QVERIFY(m->index(1, QuantizerTableModel::Amax).data(Qt::ToolTipRole).toString().startsWith("32 channels: min "));
    QCOMPARE(m->index(1, QuantizerTableModel::ShapeColumn).data().toString(), QString("[32, 1]"));
    // its largest channel amax is max |w| of the query weight (max calibration, reference §4.2)
    const std::vector<float> w0 =
        w.checkpoint()->get("bert.encoder.layer.0.attention.self.query.weight").toFloatVector();
    float maxAbs = 0.f;
    for (float v : w0)
        maxAbs = std::max(maxAbs, std::fabs(v));
    QCOMPARE(m->index(1, QuantizerTableModel::Amax).data(QuantizerTableModel::SortRole).toDouble(),
             static_cast<double>(maxAbs));
    QCOMPARE(m->index(39, QuantizerTableModel::Site).data().toString(), QString("output.add_residual_input_quantizer"));
    QCOMPARE(m->index(39, QuantizerTableModel::State).data().toString(), QString("calibrated"));
    QCOMPARE(w.tabs()->tabText(w.tabs()->currentIndex()), QString("Quantizers"));
    saveArtifact(w, "quantizers");
}

void TestMainWindow::playgroundTokenizesLive()
{
    MainWindow w;
    w.setInteractive(false);
    QVERIFY(openAndWait(w, QStringLiteral(QDQ_SOURCE_DIR "/resources/demo/tiny-qdqbert")));
    PlaygroundWidget *p = w.playground();
    p->setMaxLength(6);
    p->setText(QString::fromUtf8("the snowman \u2603 melts quickly"));
    // ids from the real bert-base-uncased vocabulary: the=1996 snow=4586 ##man=2386 [UNK]=100
    const QVector<TokenStrip::Chip> &chips = p->tokenStrip()->chips();
    QStringList texts;
    QList<int> ids;
    for (const auto &c : chips) {
        texts << c.text;
        ids << c.id;
    }
    QCOMPARE(texts, (QStringList{"[CLS]", "the", "snow", "##man", "[UNK]", "[SEP]", "melt", "##s", "quickly"}));
    QCOMPARE(ids.mid(0, 6), (QList<int>{101, 1996, 4586, 2386, 100, 102}));
    QCOMPARE(chips[4].kind, TokenStrip::Chip::Unknown);
    QCOMPARE(chips[5].kind, TokenStrip::Chip::Special);
    QCOMPARE(chips[6].kind, TokenStrip::Chip::Truncated);
    QCOMPARE(chips[8].kind, TokenStrip::Chip::Truncated);
    QCOMPARE(p->summary(), QString("6 tokens · 1 unknown ([UNK]) · 3 cut by max length 6 (struck through)"));
}

void TestMainWindow::playgroundRunsHeadLikeCli()
{
    const QString model = QStringLiteral(QDQ_SOURCE_DIR "/resources/demo/tiny-qdqbert");
    const QString text = QStringLiteral("the capital of france is [MASK] .");
    MainWindow w;
    w.setInteractive(false);
    QVERIFY(openAndWait(w, model));
    PlaygroundWidget *p = w.playground();
    QCOMPARE(p->task(), qdq::Task::MaskedLm);              // a head model opens on its head
    QVERIFY(!p->selectTask(qdq::Task::QuestionAnswering)); // the checkpoint has no such head
    QSignalSpy ready(p, &PlaygroundWidget::resultReady);
    p->setText(text);
    QVERIFY(ready.wait(120000)); // debounced run on the worker thread
    const auto result = p->lastResult();
    QVERIFY(result && result->error.isEmpty());
    QCOMPARE(result->runs.size(), std::size_t(2)); // FP32 and INT8 side by side by default
    QCOMPARE(result->runs[0].precision, qdq::Precision::Fp32);
    QCOMPARE(result->runs[1].precision, qdq::Precision::Int8);
    QVERIFY2(result->runs[1].error.empty(), result->runs[1].error.c_str());
    QCOMPARE(result->runs[0].results.size(), std::size_t(1));
    const auto &topK = result->runs[0].results[0].topK;
    QCOMPARE(topK.size(), std::size_t(1));
    QCOMPARE(topK[0].position, std::int64_t(6));

    // the CLI computes the same top-5 for the same text
    const qdq::test::ProcessResult cli =
        qdq::test::runCli({"run", "--model", model, "--task", "masked-lm", "--text", text, "--json"});
    QVERIFY2(cli.exitCode == 0, cli.err.constData());
    const QJsonArray top = QJsonDocument::fromJson(cli.out)
                               .object()["results"]
                               .toArray()[0]
                               .toObject()["positions"]
                               .toArray()[0]
                               .toObject()["top_k"]
                               .toArray();
    QCOMPARE(top.size(), 5);
    for (int i = 0; i < 5; ++i)
        QCOMPARE(topK[0].top[static_cast<std::size_t>(i)].id,
                 static_cast<std::int64_t>(top[i].toObject()["token_id"].toInt()));
    QVERIFY(p->resultsHtml().contains(QString::fromStdString(topK[0].top[0].token).toHtmlEscaped()));
    saveArtifact(w, "playground");
}

void TestMainWindow::whatIfOverrideRerunsQuantized()
{
    MainWindow w;
    w.setInteractive(false);
    QVERIFY(openAndWait(w, QStringLiteral(QDQ_SOURCE_DIR "/resources/demo/tiny-qdqbert")));
    PlaygroundWidget *p = w.playground();
    QVERIFY(p->selectComparison("qdq"));
    QSignalSpy ready(p, &PlaygroundWidget::resultReady);
    p->setText(QStringLiteral("the capital of france is [MASK] ."));
    p->runNow();
    QVERIFY(ready.wait(120000));
    const auto before = p->lastResult();
    QCOMPARE(before->runs[1].precision, qdq::Precision::Qdq);

    // row 39 = the last layer's FFN residual input quantizer (amax 3.5): clip it hard. (In this
    // tiny random model a change inside an attention block stays below the next residual
    // quantizer's step, so the last layer's residual is where an override must show.)
    QuantizerTableModel *m = w.quantizerModel();
    QCOMPARE(m->index(39, QuantizerTableModel::Site).data().toString(), QString("output.add_residual_input_quantizer"));
    QSignalSpy changed(m, &QuantizerTableModel::quantConfigChanged);
    QVERIFY(!m->setData(m->index(39, QuantizerTableModel::Amax), "-1")); // amax must be positive
    QVERIFY(m->setData(m->index(39, QuantizerTableModel::Amax), "0.05"));
    QCOMPARE(changed.count(), 1);
    QVERIFY(m->index(39, QuantizerTableModel::Amax).data().toString().contains("(override)"));
    QVERIFY(ready.wait(120000)); // the playground re-ran
    const auto after = p->lastResult();
    const float fp32Before = before->runs[0].results[0].topK[0].top[0].probability;
    const float fp32After = after->runs[0].results[0].topK[0].top[0].probability;
    QCOMPARE(fp32After, fp32Before); // FP32 is untouched by quantizer settings
    const auto &qb = before->runs[1].results[0].topK[0].top;
    const auto &qa = after->runs[1].results[0].topK[0].top;
    bool differs = false;
    for (std::size_t i = 0; i < qb.size(); ++i)
        differs = differs || qb[i].id != qa[i].id || qb[i].probability != qa[i].probability;
    QVERIFY2(differs, "clipping the last residual to 0.05 must change the quantized prediction");
    // the checkpoint keeps its amax (overrides never mutate it)
    const double stored = w.checkpoint()->get("bert.encoder.layer.1.output.add_residual_input_quantizer._amax").at({});
    QVERIFY2(stored > 1.0, qPrintable(QString::number(stored)));
    // unchecking disables the quantizer
    QVERIFY(m->setData(m->index(1, QuantizerTableModel::State), Qt::Unchecked, Qt::CheckStateRole));
    QCOMPARE(m->index(1, QuantizerTableModel::State).data().toString(), QString("disabled"));
    const qdq::SiteQuantConfig *weight = m->quantConfig().find({0, qdq::SiteId::QueryWeight});
    QVERIFY(weight && !weight->enabled);
}

void TestMainWindow::histogramOfCalibratedCheckpoint()
{
    // a calibrated folder written by `qdq calibrate` carries calibration.safetensors
    QTemporaryDir dir;
    QFile data(dir.filePath("data.txt"));
    QVERIFY(data.open(QIODevice::WriteOnly));
    data.write("the capital of france is paris .\nhe drove his car to work .\nthe cat sat on the mat .\n"
               "we ate dinner at a restaurant .\nshe opened the door slowly .\nthe sun rises in the east .\n");
    data.close();
    const QString out = dir.filePath("calibrated");
    const qdq::test::ProcessResult r = qdq::test::runCli(
        {"calibrate", "--model", QStringLiteral(QDQ_SOURCE_DIR "/resources/demo/tiny-qdqbert"), "--data",
         data.fileName(), "--method", "percentile", "--percentile", "99.9", "--out", out, "--quiet"});
    QVERIFY2(r.exitCode == 0, r.err.constData());

    MainWindow w;
    w.setInteractive(false);
    w.resize(1200, 800);
    w.show();
    QVERIFY(openAndWait(w, out));
    HistogramView *view = w.histogramView();
    QVERIFY(view->hasCalibration());
    QVERIFY(w.showView("histogram"));
    QVERIFY(view->site().has_value()); // opens on the first quantizer
    QCOMPARE(view->site()->id, qdq::SiteId::QueryInput);
    // four methods plus the amax in use
    QCOMPARE(view->chart()->markerCount(), 5);
    const double inUse = *view->chart()->amaxInUse();
    const double stored =
        w.checkpoint()->get("bert.encoder.layer.0.attention.self.query._input_quantizer._amax").at({});
    QCOMPARE(inUse, static_cast<double>(static_cast<float>(stored)));

    // drag the in-use marker to the left: the quantizer's amax is overridden (what-if)
    QSignalSpy changed(w.quantizerModel(), &QuantizerTableModel::quantConfigChanged);
    QApplication::processEvents();
    QWidget *viewport = view->chart()->findChild<QGraphicsView *>()->viewport();
    const QPointF from = view->chart()->valueToPosition(inUse);
    const QPointF to = view->chart()->valueToPosition(inUse / 2);
    QVERIFY(to.x() < from.x());
    QMouseEvent press(QEvent::MouseButtonPress, from, viewport->mapToGlobal(from), Qt::LeftButton, Qt::LeftButton,
                      Qt::NoModifier);
    QApplication::sendEvent(viewport, &press);
    QMouseEvent move(QEvent::MouseMove, to, viewport->mapToGlobal(to), Qt::NoButton, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(viewport, &move);
    QMouseEvent release(QEvent::MouseButtonRelease, to, viewport->mapToGlobal(to), Qt::LeftButton, Qt::NoButton,
                        Qt::NoModifier);
    QApplication::sendEvent(viewport, &release);
    QVERIFY(changed.count() >= 1);
    const double dragged = *w.quantizerModel()->amaxInUse(0);
    QVERIFY2(std::fabs(dragged - inUse / 2) < inUse * 0.05,
             qPrintable(QString("%1 vs %2").arg(dragged).arg(inUse / 2)));
    QVERIFY(w.quantizerModel()->index(0, QuantizerTableModel::Amax).data().toString().contains("(override)"));

    // a weight quantizer has no histogram (per-row max, reference §4.1)
    w.selectQuantizer(1);
    QCOMPARE(view->site()->id, qdq::SiteId::QueryWeight);
    QCOMPARE(view->chart()->markerCount(), 0);
    saveArtifact(w, "histogram");
}

void TestMainWindow::calibrateDialogWritesAndOpens()
{
    QTemporaryDir dir;
    QFile data(dir.filePath("data.txt"));
    QVERIFY(data.open(QIODevice::WriteOnly));
    for (int i = 0; i < 400; ++i)
        data.write(QStringLiteral("sentence number %1 about the weather in paris .\n").arg(i).toUtf8());
    data.close();
    MainWindow w;
    w.setInteractive(false);
    QSignalSpy loaded(&w, &MainWindow::checkpointLoaded);
    QVERIFY(w.openPath(QStringLiteral(QDQ_SOURCE_DIR "/resources/demo/tiny-qdqbert")));
    QVERIFY(loaded.wait(120000));

    // cancelled: nothing is written
    {
        CalibrateDialog dialog(w.checkpoint());
        dialog.setDataFile(data.fileName());
        dialog.setSamples(400);
        dialog.setOutputFolder(dir.filePath("cancelled"));
        QSignalSpy failed(&dialog, &CalibrateDialog::failed);
        dialog.start();
        dialog.cancel();
        QVERIFY(failed.wait(120000));
        QVERIFY2(failed.at(0).at(0).toString().contains("cancelled"), qPrintable(failed.at(0).at(0).toString()));
        QVERIFY(!QFileInfo::exists(dir.filePath("cancelled")));
    }
    // a bad data file: the error names it
    {
        CalibrateDialog dialog(w.checkpoint());
        dialog.setDataFile(dir.filePath("missing.txt"));
        dialog.setOutputFolder(dir.filePath("bad"));
        QSignalSpy failed(&dialog, &CalibrateDialog::failed);
        dialog.start();
        QVERIFY(failed.wait(120000));
        QVERIFY(failed.at(0).at(0).toString().contains("missing.txt"));
        QVERIFY(!QFileInfo::exists(dir.filePath("bad")));
    }
    // a full run writes the folder, which the window then opens with its histograms
    CalibrateDialog dialog(w.checkpoint());
    dialog.setDataFile(data.fileName());
    dialog.setSamples(16);
    dialog.setMethod("max");
    const QString out = dir.filePath("calibrated");
    dialog.setOutputFolder(out);
    QSignalSpy done(&dialog, &CalibrateDialog::calibrated);
    connect(&dialog, &CalibrateDialog::calibrated, &w, &MainWindow::openPath);
    dialog.start();
    QVERIFY(done.wait(120000));
    QVERIFY(QFileInfo::exists(out + "/calibration.safetensors"));
    QVERIFY(loaded.wait(120000));
    QCOMPARE(w.checkpoint()->calibratedQuantizers(), 40);
    QVERIFY(w.histogramView()->hasCalibration());
}

void TestMainWindow::exportOnnxFromWindow()
{
    MainWindow w;
    w.setInteractive(false);
    QVERIFY(openAndWait(w, QStringLiteral(QDQ_SOURCE_DIR "/resources/demo/tiny-qdqbert")));
    // disable one quantizer in the view: the export follows the view's settings
    QVERIFY(w.quantizerModel()->setData(w.quantizerModel()->index(2, QuantizerTableModel::State), Qt::Unchecked,
                                        Qt::CheckStateRole));
    QTemporaryDir dir;
    const QString path = dir.filePath("model.onnx");
    QSignalSpy exported(&w, &MainWindow::exported);
    QSignalSpy errors(&w, &MainWindow::errorOccurred);
    w.exportOnnx(path);
    QVERIFY(exported.wait(60000) || !errors.isEmpty());
    QVERIFY2(errors.isEmpty(), qPrintable(errors.value(0).value(0).toString()));
    // read the scales back: 39 of 40 sites carry Q/DQ, the disabled key input does not
    const qdq::OnnxAmaxImport imported = qdq::importOnnxAmax(path.toStdString());
    QCOMPARE(imported.sites.size(), std::size_t(39));
    QVERIFY(!imported.find({0, qdq::SiteId::KeyInput}));
    QVERIFY(imported.find({0, qdq::SiteId::QueryInput}));

    // the Compare view reads the ONNX file's scales as checkpoint B: every exported amax equals A's
    QSignalSpy compared(w.compareView(), &CompareView::compared);
    w.compareView()->openB(path);
    QVERIFY(compared.wait(120000));
    QuantizerCompareModel *q = w.compareView()->quantizerModel();
    int ones = 0;
    for (int r = 0; r < q->rowCount(); ++r)
        if (q->index(r, QuantizerCompareModel::Ratio).data().toString() == "1.000")
            ++ones;
    QCOMPARE(ones, 39);
}

// The status bar's Cancel during an ONNX export: exportCancelled, no error, the file that was
// there keeps its bytes, no temporary file is left; the next export runs to the end.
void TestMainWindow::exportOnnxCancel()
{
    MainWindow w;
    w.setInteractive(false);
    QVERIFY(openAndWait(w, QStringLiteral(QDQ_SOURCE_DIR "/resources/demo/tiny-qdqbert")));
    QTemporaryDir dir;
    const QString path = dir.filePath("model.onnx");
    {
        QFile previous(path);
        QVERIFY(previous.open(QIODevice::WriteOnly));
        previous.write("previous bytes");
    }
    QSignalSpy cancelled(&w, &MainWindow::exportCancelled);
    QSignalSpy exported(&w, &MainWindow::exported);
    QSignalSpy errors(&w, &MainWindow::errorOccurred);
    w.exportOnnx(path);
    w.exportOnnx(path); // a second request while one runs is refused, with a message
    QVERIFY2(w.statusBar()->currentMessage().contains(QStringLiteral("already running")),
             qPrintable(w.statusBar()->currentMessage()));
    auto *cancel = w.findChild<QToolButton *>(QStringLiteral("cancelJob"));
    QVERIFY(cancel);
    QVERIFY(cancel->isVisibleTo(&w));
    QCOMPARE(cancel->toolTip(), QStringLiteral("Cancel the export"));
    cancel->click();
    QVERIFY(cancelled.wait(60000));
    QCOMPARE(cancelled.at(0).at(0).toString(), path);
    QVERIFY(exported.isEmpty());
    QVERIFY2(errors.isEmpty(), qPrintable(errors.value(0).value(0).toString()));
    QVERIFY(!cancel->isVisibleTo(&w));
    QFile after(path);
    QVERIFY(after.open(QIODevice::ReadOnly));
    QCOMPARE(after.readAll(), QByteArray("previous bytes"));
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden), QStringList{QStringLiteral("model.onnx")});
    // the next export is not cancelled by the last one's request
    w.exportOnnx(path);
    QVERIFY(exported.wait(60000));
    QVERIFY(cancelled.size() == 1);
    QVERIFY(QFileInfo(path).size() > 1000);
}

void TestMainWindow::analyzeFillsLayersView()
{
    QTemporaryDir dir;
    QFile data(dir.filePath("data.txt"));
    QVERIFY(data.open(QIODevice::WriteOnly));
    data.write("the capital of france is paris .\nhe drove his car to work .\nthe cat sat on the mat .\n"
               "we ate dinner at a restaurant .\n");
    data.close();
    MainWindow w;
    w.setInteractive(false);
    QVERIFY(openAndWait(w, QStringLiteral(QDQ_SOURCE_DIR "/resources/demo/tiny-qdqbert")));
    // layer 1's residual input clipped hard: the analysis must single out layer 1
    QVERIFY(w.quantizerModel()->setData(w.quantizerModel()->index(39, QuantizerTableModel::Amax), "0.001"));
    AnalyzeDialog dialog(w.checkpoint(), w.quantizerModel()->quantConfig(), qdq::Task::MaskedLm);
    dialog.setDataFile(data.fileName());
    dialog.setSamples(4);
    QSignalSpy analyzed(&dialog, &AnalyzeDialog::analyzed);
    QSignalSpy failed(&dialog, &AnalyzeDialog::failed);
    dialog.start();
    QVERIFY(analyzed.wait(120000) || !failed.isEmpty());
    QVERIFY2(failed.isEmpty(), qPrintable(failed.value(0).value(0).toString()));
    const auto report = analyzed.at(0).at(0).value<std::shared_ptr<const qdq::AnalysisReport>>();
    QCOMPARE(report->layers.size(), std::size_t(2));
    QCOMPARE(report->firstDivergence.layer, 1);
    w.layersView()->setReport(report);
    QCOMPARE(w.layersView()->sqnrChart()->seriesCount(), 4);
    QCOMPARE(w.layersView()->sqnrChart()->markedLayer(), std::optional<int>(1));
    QVERIFY(w.layersView()->summary().contains("layer 1"));

    // the Quantizers view: clip % and SQNR from the analysis, the worst tinted, sortable, filterable
    QuantizerTableModel *m = w.quantizerModel();
    QCOMPARE(m->index(39, QuantizerTableModel::Sqnr).data().toString(), QString("-"));
    m->setAnalysis(report);
    const qdq::SiteAnalysis *clipped = nullptr;
    for (const qdq::SiteAnalysis &s : report->sites)
        if (m->rowOf(s.site) == 39)
            clipped = &s;
    QVERIFY(clipped && clipped->sqnrDb);
    QCOMPARE(m->index(39, QuantizerTableModel::Sqnr).data().toString(), QString::number(*clipped->sqnrDb, 'f', 1));
    QCOMPARE(m->index(39, QuantizerTableModel::ClipPercent).data().toString(),
             QString::number(100.0 * clipped->clipFraction, 'f', 3));
    QVERIFY(clipped->clipFraction > 0.5); // amax 0.001 clips nearly everything
    QVERIFY(m->isWorst(39));
    QVERIFY(m->index(39, QuantizerTableModel::Sqnr).data(Qt::BackgroundRole).isValid());
    int worst = 0;
    for (int r = 0; r < m->rowCount(); ++r)
        worst += m->isWorst(r) ? 1 : 0;
    QCOMPARE(worst, QuantizerTableModel::kWorstHighlighted);
    QTableView *table = w.findChild<QTableView *>("quantizerTable");
    QVERIFY(table);
    table->sortByColumn(QuantizerTableModel::Sqnr, Qt::AscendingOrder);
    QAbstractItemModel *proxy = table->model();
    // ascending SQNR: the clipped quantizer (the lowest SQNR of all) comes first, numbers in order
    QCOMPARE(proxy->index(0, QuantizerTableModel::Sqnr).data(QuantizerTableModel::SortRole).toDouble(),
             *clipped->sqnrDb);
    double previous = -1e300;
    for (int r = 0; r < proxy->rowCount(); ++r) {
        const double v = proxy->index(r, QuantizerTableModel::Sqnr).data(QuantizerTableModel::SortRole).toDouble();
        QVERIFY(v >= previous);
        previous = v;
    }
    auto *filter = w.findChild<QLineEdit *>("quantizerTableFilter");
    QVERIFY(filter);
    filter->setText("matmul");
    QCOMPARE(proxy->rowCount(), 4 * 2); // q, k, v and attention-probability inputs in each of 2 layers
    for (int r = 0; r < proxy->rowCount(); ++r)
        QVERIFY(proxy->index(r, QuantizerTableModel::Site).data().toString().contains("matmul"));
    filter->setText("WEIGHT"); // case-insensitive
    QCOMPARE(proxy->rowCount(), 6 * 2);
    filter->clear();
    QCOMPARE(proxy->rowCount(), m->rowCount());
    m->setAnalysis(nullptr);
    QCOMPARE(m->index(39, QuantizerTableModel::Sqnr).data().toString(), QString("-"));
    QVERIFY(!m->isWorst(39));
    saveArtifact(w, "layers");
}

// File ▸ Export ▸ Report…: analysis and file writing on workers (the window keeps answering),
// the chosen formats written, the Layers view updated; a cancelled export writes nothing.
void TestMainWindow::exportReportWritesFilesOnWorkers()
{
    QTemporaryDir dir;
    QFile data(dir.filePath("data.txt"));
    QVERIFY(data.open(QIODevice::WriteOnly));
    data.write("the cat sat on the mat .\nhe drove his car to work .\nwe ate dinner at a restaurant .\n");
    data.close();
    MainWindow w;
    w.setInteractive(false);
    QVERIFY(openAndWait(w, QStringLiteral(QDQ_SOURCE_DIR "/resources/demo/tiny-qdqbert")));
    QAction *action = w.findChild<QAction *>("actionExportReport");
    QVERIFY(action && action->shortcut() == QKeySequence(Qt::CTRL | Qt::Key_R));

    AnalyzeDialog *dialog = w.showExportReport();
    QVERIFY(dialog);
    QCOMPARE(dialog->objectName(), QString("reportDialog"));
    QCOMPARE(dialog->formats(), qdq::ReportAllFormats); // every format by default
    const QString out = dir.filePath("report");
    dialog->setDataFile(data.fileName());
    dialog->setSamples(3);
    dialog->setOutputFolder(out);
    dialog->setFormats(qdq::ReportHtml | qdq::ReportJson);
    QSignalSpy written(dialog, &AnalyzeDialog::reportWritten);
    QSignalSpy failed(dialog, &AnalyzeDialog::failed);
    QSignalSpy exported(&w, &MainWindow::exported);
    dialog->start();
    QVERIFY(dialog->isRunning()); // the analysis runs on a worker
    QVERIFY(written.wait(120000) || !failed.isEmpty());
    QVERIFY2(failed.isEmpty(), qPrintable(failed.value(0).value(0).toString()));
    QCOMPARE(written.at(0).at(0).toStringList(), QStringList({out + "/report.html", out + "/report.json"}));
    QCOMPARE(QDir(out).entryList(QDir::Files, QDir::Name), QStringList({"report.html", "report.json"}));
    QCOMPARE(exported.at(0).at(0).toString(), out);
    QFile json(out + "/report.json");
    QVERIFY(json.open(QIODevice::ReadOnly));
    const QJsonObject j = QJsonDocument::fromJson(json.readAll()).object();
    QCOMPARE(j["analysis"].toObject()["samples"].toInt(), 3);
    QCOMPARE(j["model"].toObject()["name"].toString(), QString("tiny-qdqbert"));
    QVERIFY(w.layersView()->report()); // the analysis also fills the Layers view
    QCOMPARE(w.layersView()->report()->samples, 3);

    // cancelled while analysing: an error message, no folder, no file
    AnalyzeDialog *second = w.showExportReport();
    const QString out2 = dir.filePath("cancelled");
    second->setDataFile(data.fileName());
    second->setOutputFolder(out2);
    QSignalSpy failed2(second, &AnalyzeDialog::failed);
    second->start();
    second->cancel();
    QVERIFY(failed2.wait(120000));
    QVERIFY2(failed2.at(0).at(0).toString().contains("cancelled"), qPrintable(failed2.at(0).at(0).toString()));
    QVERIFY(!QFileInfo::exists(out2));
    second->close();
    saveArtifact(w, "report-export");
}

void TestMainWindow::attentionViewShowsProbabilities()
{
    MainWindow w;
    w.setInteractive(false);
    QVERIFY(openAndWait(w, QStringLiteral(QDQ_SOURCE_DIR "/resources/demo/tiny-qdqbert")));
    QVERIFY(w.showView("attention"));
    QSignalSpy ready(w.playground(), &PlaygroundWidget::resultReady);
    w.playground()->setText(QStringLiteral("hello world"));
    w.playground()->runNow();
    QVERIFY(ready.wait(120000));
    AttentionView *view = w.attentionView();
    view->showHead(1, 3);
    HeatmapWidget *map = view->heatmap();
    QCOMPARE(map->rows(), 4); // [CLS] hello world [SEP]
    QCOMPARE(map->cols(), 4);
    // each row is a softmax over the keys: probabilities in [0, 1] summing to 1
    for (int r = 0; r < 4; ++r) {
        double sum = 0.0;
        for (int c = 0; c < 4; ++c) {
            QVERIFY(map->valueAt(r, c) >= 0.f && map->valueAt(r, c) <= 1.f);
            sum += static_cast<double>(map->valueAt(r, c));
        }
        QVERIFY2(std::fabs(sum - 1.0) < 1e-5, qPrintable(QString::number(sum)));
    }
    // the heatmap shows the requested layer and head of the worker's attentions
    const auto &maps = w.playground()->lastResult()->runs[0].attention;
    QCOMPARE(maps.heads, 4);
    const std::size_t cell = 3 * 16 + 2 * 4 + 1; // head 3, row 2, column 1 of a [4, 4, 4] layer
    QCOMPARE(map->valueAt(2, 1), maps.layers[1][cell]);
    QCOMPARE(map->cellAt(QPoint(-5, -5)), QPoint(-1, -1));
    // quantized and difference modes show the INT8 run and INT8 - FP32
    const auto &quant = w.playground()->lastResult()->runs[1].attention;
    QVERIFY(view->setMode(AttentionView::Mode::Quantized));
    QCOMPARE(map->valueAt(2, 1), quant.layers[1][cell]);
    QVERIFY(view->setMode(AttentionView::Mode::Difference));
    QCOMPARE(map->valueAt(2, 1), quant.layers[1][cell] - maps.layers[1][cell]);
    saveArtifact(w, "attention");
}

void TestMainWindow::compareViewShowsAmaxRatios()
{
    // B = the demo model with one amax doubled and one weight changed
    const QString demo = QStringLiteral(QDQ_SOURCE_DIR "/resources/demo/tiny-qdqbert");
    QTemporaryDir dir;
    {
        const qdq::Checkpoint a = qdq::loadCheckpoint(demo.toStdString());
        std::vector<qdq::Tensor> owned;
        owned.reserve(a.tensors.size());
        std::vector<std::pair<std::string, const qdq::Tensor *>> tensors;
        const std::string amaxKey = "bert.encoder.layer.1.attention.self.matmul_a_input_quantizer._amax";
        const std::string weightKey = "bert.embeddings.LayerNorm.bias";
        for (const auto &[name, t] : a.tensors) {
            if (std::find(a.tiedKeys.begin(), a.tiedKeys.end(), name) != a.tiedKeys.end())
                continue;
            owned.push_back(t.clone());
            if (name == amaxKey)
                owned.back().mutableData<float>()[0] *= 2.f;
            if (name == weightKey)
                owned.back().mutableData<float>()[0] += 0.5f;
            tensors.emplace_back(name, &owned.back());
        }
        qdq::writeSafetensors(dir.filePath("model.safetensors").toStdString(), tensors);
        QVERIFY(QFile::copy(demo + "/config.json", dir.filePath("config.json")));
    }
    MainWindow w;
    w.setInteractive(false);
    QVERIFY(openAndWait(w, demo));
    CompareView *view = w.compareView();
    QSignalSpy compared(view, &CompareView::compared);
    view->openB(dir.path());
    QVERIFY(compared.wait(120000));
    QuantizerCompareModel *q = view->quantizerModel();
    QAbstractItemModelTester tester(q, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QCOMPARE(q->rowCount(), 40);
    int changed = 0;
    for (int r = 0; r < q->rowCount(); ++r) {
        const QString ratio = q->index(r, QuantizerCompareModel::Ratio).data().toString();
        if (ratio != "1.000") {
            ++changed;
            QCOMPARE(ratio, QString("2.000"));
            QCOMPARE(q->index(r, QuantizerCompareModel::Layer).data().toInt(), 1);
            QCOMPARE(q->index(r, QuantizerCompareModel::Site).data().toString(),
                     QString("attention.self.matmul_a_input_quantizer"));
        }
    }
    QCOMPARE(changed, 1);
    TensorCompareModel *t = view->tensorModel();
    int moved = 0;
    for (int r = 0; r < t->rowCount(); ++r)
        if (t->index(r, TensorCompareModel::MaxAbs).data(Qt::UserRole).toDouble() != 0.0) {
            ++moved;
            QCOMPARE(t->index(r, TensorCompareModel::Name).data().toString(),
                     QString("bert.embeddings.LayerNorm.bias"));
            QCOMPARE(t->index(r, TensorCompareModel::MaxAbs).data(Qt::UserRole).toDouble(), 0.5);
        }
    QCOMPARE(moved, 1);

    // per-layer divergence of A and B on the same data, in one chart
    QSignalSpy ready(view, &CompareView::divergenceReady);
    QSignalSpy failed(view, &CompareView::errorOccurred);
    const QString data = QStringLiteral(QDQ_SOURCE_DIR "/tests/data/calibration/sentences.txt");
    view->analyzeBoth(data, 4);
    QVERIFY(ready.wait(120000) || !failed.isEmpty());
    QVERIFY2(failed.isEmpty(), qPrintable(failed.value(0).value(0).toString()));
    QCOMPARE(view->divergenceChart()->seriesCount(), 4); // A and B, qdq and int8
    QVERIFY(view->divergenceChart()->isVisibleTo(view));
    // A's numbers are the engine's own analysis with the same options
    const qdq::Checkpoint a = qdq::loadCheckpoint(demo.toStdString());
    qdq::AnalysisOptions options;
    options.local = false;
    options.attention = false;
    const qdq::AnalysisReport direct =
        qdq::analyzeQuantization(a, qdq::selectExamples(qdq::readCalibrationData(data.toStdString()), 4),
                                 qdq::tokenizerForCheckpoint(a), options);
    const auto &ra = *view->divergenceA();
    QCOMPARE(ra.layers.size(), direct.layers.size());
    for (std::size_t i = 0; i < ra.layers.size(); ++i)
        QCOMPARE(ra.layers[i].qdqCumulative->sqnrDb, direct.layers[i].qdqCumulative->sqnrDb);
    // B's doubled attention-probability amax (layer 1) changes layer 1's quantized output
    QVERIFY(view->divergenceB()->layers[1].qdqCumulative->sqnrDb != ra.layers[1].qdqCumulative->sqnrDb);
    saveArtifact(w, "compare");
}

void TestMainWindow::settingsPersistAndApply()
{
    {
        SettingsDialog dialog;
        dialog.threadsBox()->setValue(1);
        dialog.profileBox()->setCurrentIndex(dialog.profileBox()->findData("pq-2.2-cuda"));
        dialog.binsBox()->setValue(4096);
        dialog.precisionBox()->setCurrentIndex(dialog.precisionBox()->findData("int8"));
        dialog.save();
    }
    QCOMPARE(qdq::numThreads(), 1);
    SettingsDialog again;
    QCOMPARE(again.threadsBox()->value(), 1);
    QCOMPARE(again.profileBox()->currentData().toString(), QString("pq-2.2-cuda"));
    QCOMPARE(again.binsBox()->value(), 4096);
    QCOMPARE(again.precisionBox()->currentData().toString(), QString("int8"));
    // one device (the CPU alone until the engine has a second backend): no choice is offered
    QCOMPARE(again.deviceBox()->count(), static_cast<int>(computeDevices().size()));
    QCOMPARE(again.deviceBox()->isVisibleTo(&again), computeDevices().size() > 1);
    // the dark palette applies at once and persists
    again.themeBox()->setCurrentIndex(again.themeBox()->findData("dark"));
    again.threadsBox()->setValue(0);
    again.save();
    QVERIFY(QApplication::palette().color(QPalette::Window).lightness() < 80);
    again.themeBox()->setCurrentIndex(again.themeBox()->findData("system"));
    again.save();
    QVERIFY(QApplication::palette().color(QPalette::Window).lightness() > 128);
    QCOMPARE(qdq::numThreads(), qdq::hardwareThreads());
}

// Each setting changes what it claims (issue #28), not only what is saved: the default precision
// is what the playground runs beside FP32 and what the status bar shows; the profile reaches the
// playground's runs (their numbers), the analysis and the quantizer configuration that exports use;
// the device choice appears only where there is one.
void TestMainWindow::settingsTakeEffect()
{
    MainWindow w;
    w.setInteractive(false);
    auto *precisionLabel = w.findChild<QLabel *>("statusPrecision");
    auto *profileLabel = w.findChild<QLabel *>("statusProfile");
    auto *deviceLabel = w.findChild<QLabel *>("statusDevice");
    QVERIFY(precisionLabel && profileLabel && deviceLabel);
    QCOMPARE(precisionLabel->text(), QString("Precision: INT8")); // the default: what TensorRT runs
    QCOMPARE(profileLabel->text(), QString("Profile: pq-2.1.x"));
    QCOMPARE(deviceLabel->text(), QString("Device: CPU"));
    QVERIFY(openAndWait(w, QStringLiteral(QDQ_SOURCE_DIR "/resources/demo/tiny-qdqbert")));
    PlaygroundWidget *p = w.playground();
    QCOMPARE(p->comparison(), qdq::Precision::Int8);
    // the last residual clipped hard: the profiles' clamp ranges ([-128, 127] in 2.1.x,
    // [-127, 127] in 2.1.0, reference §3.5) then give different outputs
    QuantizerTableModel *m = w.quantizerModel();
    QVERIFY(m->setData(m->index(39, QuantizerTableModel::Amax), "0.05"));
    QSignalSpy ready(p, &PlaygroundWidget::resultReady);
    const auto runWith = [&](const std::function<void(SettingsDialog &)> &change) {
        SettingsDialog *dialog = w.showSettings();
        change(*dialog);
        ready.clear();
        dialog->save(); // what OK does; the window applies it at once and the playground re-runs
        dialog->close();
        return ready.wait(120000) ? p->lastResult() : nullptr;
    };
    p->setText(QStringLiteral("the capital of france is [MASK] ."));

    // default precision: fake quant
    const auto qdqRun = runWith([](SettingsDialog &d) {
        d.precisionBox()->setCurrentIndex(d.precisionBox()->findData("qdq"));
        // one device: no device choice is offered
        QCOMPARE(d.deviceBox()->isVisibleTo(&d), computeDevices().size() > 1);
    });
    QVERIFY(qdqRun && qdqRun->error.isEmpty());
    QCOMPARE(p->comparison(), qdq::Precision::Qdq);
    QCOMPARE(precisionLabel->text(), QString("Precision: QDQ"));
    QCOMPARE(qdqRun->runs.size(), std::size_t(2));
    QCOMPARE(qdqRun->runs[1].precision, qdq::Precision::Qdq);
    QCOMPARE(qdqRun->runs[1].profile, qdq::VersionProfile::Pq21x);

    // profile: pq-2.1.0
    const auto pq210Run =
        runWith([](SettingsDialog &d) { d.profileBox()->setCurrentIndex(d.profileBox()->findData("pq-2.1.0")); });
    QVERIFY(pq210Run && pq210Run->error.isEmpty());
    QCOMPARE(profileLabel->text(), QString("Profile: pq-2.1.0"));
    QCOMPARE(pq210Run->runs[1].precision, qdq::Precision::Qdq);
    QCOMPARE(pq210Run->runs[1].profile, qdq::VersionProfile::Pq210);
    QCOMPARE(pq210Run->runs[0].profile, qdq::VersionProfile::Pq210); // FP32 follows the profile too
    const auto &before = qdqRun->runs[1].results[0].topK[0].top;
    const auto &after = pq210Run->runs[1].results[0].topK[0].top;
    bool differs = false;
    for (std::size_t i = 0; i < before.size(); ++i)
        differs = differs || before[i].id != after[i].id || before[i].probability != after[i].probability;
    QVERIFY2(differs, "the narrow range of pq-2.1.0 must change the clipped model's fake-quant output");
    QCOMPARE(pq210Run->runs[0].results[0].topK[0].top[0].probability,
             qdqRun->runs[0].results[0].topK[0].top[0].probability); // FP32: no _pre_quant_scale here
    // the what-if override survives the profile change; Analyze, reports and the ONNX export
    // take this configuration
    QCOMPARE(m->quantConfig().profile(), qdq::VersionProfile::Pq210);
    QVERIFY(m->index(39, QuantizerTableModel::Amax).data().toString().contains("(override)"));
    AnalyzeDialog *analyze = w.showAnalyze();
    QVERIFY(analyze);
    QCOMPARE(analyze->quantConfig().profile(), qdq::VersionProfile::Pq210);
    const qdq::SiteQuantConfig *clipped = analyze->quantConfig().find({1, qdq::SiteId::OutputResidual});
    QVERIFY(clipped && clipped->amaxOverridden && clipped->amax->front() == 0.05F);
    analyze->close();

    // a choice in the playground's Compare box stands (and shows) until the default changes
    QVERIFY(p->selectComparison("int8"));
    QCOMPARE(precisionLabel->text(), QString("Precision: INT8"));
    SettingsDialog *unchanged = w.showSettings();
    unchanged->binsBox()->setValue(1024);
    unchanged->save();
    unchanged->close();
    QCOMPARE(p->comparison(), qdq::Precision::Int8);
    QCOMPARE(precisionLabel->text(), QString("Precision: INT8"));

    // a saved device this build cannot run on falls back to the CPU, in the status bar and the runs
    AppSettings().setDevice(QStringLiteral("cuda:7"));
    w.applySettings();
    QCOMPARE(deviceLabel->text(), QString("Device: CPU"));
    QVERIFY(ready.wait(120000)); // the INT8 run the Compare box asked for
    QCOMPARE(p->lastResult()->runs[1].precision, qdq::Precision::Int8);
    QCOMPARE(p->lastResult()->runs[0].device, qdq::Device{});
    QCOMPARE(p->lastResult()->runs[1].device, qdq::Device{});
}

// The Histogram view shows the histograms an analysis collected, also for a model without
// calibration.safetensors: its sites are listed and the bins drawn are the report's counts.
void TestMainWindow::sensitivityRepairAndImportScales()
{
    // a calibrated model with one quantizer's amax cut to 2 %: the Sensitivity view ranks it
    // first, its Keep FP32 box disables it in the Quantizers view, the Layers view's link leads
    // there, Tools > Repair restores it and File > Import Scales writes ONNX scales into a copy
    const std::string guilty = "encoder.layer.1.output.add_residual_input_quantizer";
    const auto guiltySite = *qdq::QuantizerSite::fromKey(guilty);
    QTemporaryDir dir;
    const qdq::Checkpoint tiny = qdq::loadCheckpoint(QDQ_SOURCE_DIR "/resources/demo/tiny-qdqbert");
    qdq::QuantConfig damaged = qdq::QuantConfig::fromCheckpoint(tiny);
    damaged.setSiteAmax(guiltySite, qdq::Tensor::fromValues<float>(
                                        {}, std::vector<float>{damaged.find(guiltySite)->amax->front() * 0.02F}));
    qdq::QuantizedOutput broken;
    broken.directory = dir.filePath("broken").toStdString();
    qdq::writeQuantizedCheckpoint(tiny, damaged, broken);
    QFile data(dir.filePath("data.txt"));
    QVERIFY(data.open(QIODevice::WriteOnly));
    data.write("the capital of france is paris .\nhe drove his car to work .\nthe cat sat on the mat .\n"
               "we ate dinner at a restaurant .\n");
    data.close();

    MainWindow w;
    w.setInteractive(false);
    w.resize(1200, 800);
    w.show();
    QVERIFY(openAndWait(w, dir.filePath("broken")));
    SensitivityView *view = w.sensitivityView();
    QCOMPARE(view->quantizerTable()->rowCount(), 0);

    AnalyzeDialog *dialog = w.showAnalyze();
    QVERIFY(dialog);
    dialog->setDataFile(data.fileName());
    dialog->setSamples(4);
    dialog->setPerQuantizer(true);
    QSignalSpy analyzed(dialog, &AnalyzeDialog::analyzed);
    dialog->start();
    QVERIFY(analyzed.wait(300000));
    const auto report = analyzed.at(0).at(0).value<std::shared_ptr<const qdq::AnalysisReport>>();
    QVERIFY(report->sensitivity && report->sensitivity->quantizers);
    QTableWidget *table = view->quantizerTable();
    QCOMPARE(table->rowCount(), 40);
    QCOMPARE(table->item(0, SensitivityView::Quantizer)->text(), QString::fromStdString(guilty));
    QVERIFY(view->sweepTable()->rowCount() > 0); // the layer and kind sweeps come along

    // Keep FP32 on the first row disables that quantizer where the runs read it
    QSignalSpy changed(w.quantizerModel(), &QuantizerTableModel::quantConfigChanged);
    table->item(0, SensitivityView::KeepFp32)->setCheckState(Qt::Checked);
    QCOMPARE(changed.count(), 1);
    QVERIFY(!w.quantizerModel()->quantConfig().find(guiltySite)->enabled);
    const int row = w.quantizerModel()->rowOf(guiltySite);
    QCOMPARE(w.quantizerModel()
                 ->data(w.quantizerModel()->index(row, QuantizerTableModel::State), Qt::CheckStateRole)
                 .toInt(),
             static_cast<int>(Qt::Unchecked));
    // ... and clearing it in the Quantizers view clears the box here
    w.quantizerModel()->setData(w.quantizerModel()->index(row, QuantizerTableModel::State), Qt::Checked,
                                Qt::CheckStateRole);
    QCOMPARE(table->item(0, SensitivityView::KeepFp32)->checkState(), Qt::Unchecked);

    // the Layers view's first-divergence link opens this view on that layer
    QVERIFY(w.showView("layers"));
    QCOMPARE(report->firstDivergence.layer, 1); // the damaged layer
    QVERIFY(w.layersView()->summary().contains("sensitivity:1"));
    w.layersView()->activateFirstDivergence();
    QCOMPARE(view->shownLayer(), 1);
    QCOMPARE(w.findChild<QTabWidget *>("centralTabs")->currentWidget(), view);
    for (int r = 0; r < table->rowCount(); ++r)
        QCOMPARE(table->isRowHidden(r), table->item(r, SensitivityView::Layer)->text().toInt() != 1);

    // Tools > Repair
    RepairDialog *repair = w.showRepair();
    QVERIFY(repair);
    repair->setDataFile(data.fileName());
    repair->setSamples(4);
    repair->setCandidates(4);
    repair->setMaxDisabled(0);
    const QString out = dir.filePath("repaired");
    repair->setOutputFolder(out);
    QSignalSpy repaired(repair, &RepairDialog::repaired);
    repair->start();
    QVERIFY(repaired.wait(300000));
    const auto result = repaired.at(0).at(0).value<std::shared_ptr<const qdq::RepairResult>>();
    QVERIFY(result->after.impact < result->before.impact);
    QVERIFY(view->repairTable()->rowCount() > 0);
    QCOMPARE(view->repairTable()->item(0, 0)->text(), QString::fromStdString(guilty));
    QVERIFY(QFile::exists(out + "/repair.md") && QFile::exists(out + "/model.safetensors"));
    const qdq::QuantConfig fixed = qdq::QuantConfig::fromCheckpoint(qdq::loadCheckpoint(out.toStdString()));
    QCOMPARE(*fixed.find(guiltySite)->amax, *result->repaired.find(guiltySite)->amax);

    // File > Import Scales: the original model's scales written into a copy of the broken one
    const QString onnx = dir.filePath("tiny.onnx");
    qdq::OnnxExportOptions eo;
    eo.task = qdq::Task::MaskedLm;
    (void)qdq::exportOnnx(tiny, qdq::QuantConfig::fromCheckpoint(tiny), eo, onnx.toStdString());
    ImportScalesDialog *import = w.showImportScales();
    QVERIFY(import);
    import->setOnnxFile(onnx);
    const QString scaled = dir.filePath("scaled");
    import->setOutputFolder(scaled);
    QSignalSpy imported(import, &ImportScalesDialog::imported);
    import->start();
    QVERIFY(imported.wait(120000));
    QVERIFY2(imported.at(0).at(1).toString().startsWith("40 quantizers set"),
             qPrintable(imported.at(0).at(1).toString()));
    QVERIFY(QFile::exists(scaled + "/onnx-import.json"));
    const qdq::QuantConfig restored = qdq::QuantConfig::fromCheckpoint(qdq::loadCheckpoint(scaled.toStdString()));
    const float want = qdq::QuantConfig::fromCheckpoint(tiny).find(guiltySite)->amax->front();
    QVERIFY(std::abs(restored.find(guiltySite)->amax->front() - want) <= 2e-7F * want);
}

void TestMainWindow::histogramOfAnalysis()
{
    QTemporaryDir dir;
    QFile data(dir.filePath("data.txt"));
    QVERIFY(data.open(QIODevice::WriteOnly));
    data.write("the capital of france is paris .\nhe drove his car to work .\nthe cat sat on the mat .\n"
               "we ate dinner at a restaurant .\n");
    data.close();
    MainWindow w;
    w.setInteractive(false);
    w.resize(1200, 800);
    w.show();
    QVERIFY(openAndWait(w, QStringLiteral(QDQ_SOURCE_DIR "/resources/demo/tiny-qdqbert")));
    HistogramView *view = w.histogramView();
    QVERIFY(!view->hasCalibration());
    QVERIFY(!view->hasAnalysis());
    QVERIFY(w.showView("histogram"));
    QVERIFY(!view->chart()->isVisible()); // nothing to draw yet; the text says how to get histograms

    AnalyzeDialog *dialog = w.showAnalyze();
    QVERIFY(dialog);
    dialog->setDataFile(data.fileName());
    dialog->setSamples(4);
    QSignalSpy analyzed(dialog, &AnalyzeDialog::analyzed);
    dialog->start();
    QVERIFY(analyzed.wait(120000));
    const auto report = analyzed.at(0).at(0).value<std::shared_ptr<const qdq::AnalysisReport>>();
    QVERIFY(view->hasAnalysis());
    QCOMPARE(view->source(), HistogramView::Source::Analysis);
    QVERIFY(!view->setSource(HistogramView::Source::Calibration)); // this model has none
    std::vector<const qdq::SiteAnalysis *> withHistogram;
    for (const qdq::SiteAnalysis &s : report->sites)
        if (s.histogram)
            withHistogram.push_back(&s);
    QCOMPARE(withHistogram.size(), std::size_t(2 * 14)); // every activation quantizer of 2 layers
    QCOMPARE(view->siteBox()->count(), static_cast<int>(withHistogram.size()));

    const auto drawsCountsOf = [&](const qdq::SiteAnalysis &s) {
        QCOMPARE(view->site(), std::optional<qdq::QuantizerSite>(s.site));
        const std::vector<double> &drawn = view->chart()->counts();
        QCOMPARE(drawn.size(), s.histogram->counts.size());
        for (std::size_t i = 0; i < drawn.size(); ++i)
            QCOMPARE(drawn[i], static_cast<double>(s.histogram->counts[i]));
        int candidates = 0;
        for (const auto &a : s.candidateAmax)
            candidates += a ? 1 : 0;
        QVERIFY(candidates >= 3);
        const int row = w.quantizerModel()->rowOf(s.site);
        QCOMPARE(view->chart()->markerCount(), candidates + (w.quantizerModel()->amaxInUse(row) ? 1 : 0));
    };
    // picked in the view's own list: the Quantizers view follows
    const qdq::SiteAnalysis &last = *withHistogram.back();
    emit view->siteBox()->activated(view->siteBox()->count() - 1);
    drawsCountsOf(last);
    auto *table = w.findChild<QTableView *>("quantizerTable");
    QCOMPARE(table->currentIndex().row(), w.quantizerModel()->rowOf(last.site));
    // picked in the Quantizers view
    w.selectQuantizer(w.quantizerModel()->rowOf(withHistogram.front()->site));
    drawsCountsOf(*withHistogram.front());
    QCOMPARE(view->siteBox()->currentIndex(), 0);
    // a weight quantizer has none
    w.selectQuantizer(1);
    QCOMPARE(view->chart()->markerCount(), 0);
    QVERIFY(view->chart()->counts().empty());
    saveArtifact(w, "histogram-analysis");
    // another model: the analysis does not describe it
    QVERIFY(openAndWait(w, QStringLiteral(QDQ_SOURCE_DIR "/resources/demo/tiny-qdqbert")));
    QVERIFY(!view->hasAnalysis());
}

void TestMainWindow::recentLabelsTellApart()
{
    const QStringList paths = {
        "/home/alice/models/tiny-qdqbert",
        "/work/main/resources/demo/tiny-qdqbert",
        "/work/wt-gui/resources/demo/tiny-qdqbert",
        "/srv/shared/checkpoints/bert-base-2024/calibration/run-03/tiny-qdqbert",
        "/srv/archive/checkpoints/bert-base-2024/calibration/run-03/tiny-qdqbert",
        "/opt/qdq-inspector/share/qdq-inspector/demo/model",
        "/model.safetensors",
    };
    const QStringList labels = RecentFilesModel::labels(paths, "/home/alice");
    QCOMPARE(labels, (QStringList{
                         QString::fromUtf8("tiny-qdqbert — ~/models"),
                         QString::fromUtf8("tiny-qdqbert — /work/main/resources/demo"),
                         QString::fromUtf8("tiny-qdqbert — /work/wt-gui/resources/demo"),
                         QString::fromUtf8("tiny-qdqbert — …/shared/checkpoints/bert-base-2024/calibration/run-03"),
                         QString::fromUtf8("tiny-qdqbert — …/archive/checkpoints/bert-base-2024/calibration/run-03"),
                         QString::fromUtf8("model — …/qdq-inspector/demo"),
                         QString::fromUtf8("model.safetensors — /"),
                     }));
    // the model: the label to read, the full path in the tooltip and the menu
    RecentFilesModel model;
    for (auto it = paths.rbegin(); it != paths.rend(); ++it)
        model.add(*it);
    QCOMPARE(model.pathAt(0), paths.front());
    QCOMPARE(model.index(1).data(Qt::ToolTipRole).toString(), paths[1]);
    QCOMPARE(QSet<QString>(labels.begin(), labels.end()).size(), labels.size());
    MainWindow w;
    const auto actions = w.findChild<QMenu *>("menuRecent")->actions();
    QVERIFY(actions.size() > 3);
    QCOMPARE(actions[2]->text(), "&3 " + labels[2]);
    QCOMPARE(actions[2]->toolTip(), paths[2]);
}

// The analysis charts: the cosine axis ends at 1 with round ticks, legends show every name in
// full, colours follow the light and dark palettes.
void TestMainWindow::chartsFitAndFollowTheme()
{
    qdq::AnalysisReport r;
    const double cosine[] = {0.995, 0.99, 0.97, 0.93, 0.88, 0.734};
    const double sqnr[] = {30.1, 24.3, 18.9, 12.2, 9.5, 1.8};
    for (int i = 0; i < 6; ++i) {
        qdq::LayerAnalysis l;
        l.layer = i;
        qdq::Divergence d;
        d.cosine = cosine[i];
        d.sqnrDb = sqnr[i];
        l.qdqCumulative = d;
        l.int8Cumulative = d;
        l.qdqLocal = d;
        l.qdqVsInt8 = d;
        r.layers.push_back(l);
    }
    r.firstDivergence.layer = 5;
    DivergenceChart cos;
    showLayerCosine(cos, r);
    QCOMPARE(cos.yMax(), 1.0); // a cosine is at most 1
    QVERIFY(cos.yMin() <= 0.734);
    const double step = cos.yTickStep();
    const double mantissa = step / std::pow(10.0, std::floor(std::log10(step)));
    QVERIFY2(std::fabs(mantissa - 1) < 1e-9 || std::fabs(mantissa - 2) < 1e-9 || std::fabs(mantissa - 5) < 1e-9,
             qPrintable(QString::number(step)));
    QVERIFY(std::fabs(cos.yMin() / step - std::round(cos.yMin() / step)) < 1e-6);
    DivergenceChart snr;
    showLayerSqnr(snr, r);
    // the width the Layers view has beside the playground in a 1280-pixel window, and a report's
    for (int width : {820, 900}) {
        snr.resize(width, 340);
        snr.show();
        QVERIFY(QTest::qWaitForWindowExposed(&snr));
        QVERIFY2(snr.legendFits(), qPrintable(snr.legendTexts().join(", ")));
    }
    QCOMPARE(snr.legendTexts().size(), 5);
    QVERIFY(snr.legendTexts().contains("first divergence: layer 5"));
    // the dark theme darkens the chart at once (background, plot area), the light one lightens it
    const auto meanLightness = [&] {
        QApplication::processEvents(); // the palette change reaches widgets as posted events
        const QImage img = snr.grab().toImage();
        qint64 sum = 0;
        int n = 0;
        for (int y = 0; y < img.height(); y += 4)
            for (int x = 0; x < img.width(); x += 4, ++n)
                sum += QColor(img.pixel(x, y)).lightness();
        return static_cast<double>(sum) / n;
    };
    QVERIFY2(meanLightness() > 180, qPrintable(QString::number(meanLightness())));
    qdq::ui::applyTheme("dark");
    QVERIFY2(meanLightness() < 80, qPrintable(QString::number(meanLightness())));
    qdq::ui::applyTheme("light");
    QVERIFY2(meanLightness() > 180, qPrintable(QString::number(meanLightness())));
}

// Columns as wide as their contents and headers (none clipped), the name column taking the rest.
void TestMainWindow::tableColumnsFitContents()
{
    MainWindow w;
    w.setInteractive(false);
    w.resize(1280, 800);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QVERIFY(openAndWait(w, QStringLiteral(QDQ_SOURCE_DIR "/resources/demo/tiny-qdqbert")));
    auto *table = w.findChild<QTableView *>("quantizerTable");
    QVERIFY(table);
    QApplication::processEvents();
    QHeaderView *header = table->horizontalHeader();
    for (int c = 0; c < header->count(); ++c) {
        const QString name = table->model()->headerData(c, Qt::Horizontal).toString();
        QVERIFY2(header->sectionSize(c) >= header->sectionSizeHint(c), qPrintable(name)); // the header text
        const int textWidth = table->fontMetrics().horizontalAdvance(table->model()->index(1, c).data().toString());
        QVERIFY2(header->sectionSize(c) >= textWidth, qPrintable(name)); // a per-channel amax
    }
    // nothing left over: the quantizer name column takes the rest of the width
    int total = 0;
    for (int c = 0; c < header->count(); ++c)
        total += header->sectionSize(c);
    QVERIFY2(total >= table->viewport()->width(),
             qPrintable(QString("%1 < %2").arg(total).arg(table->viewport()->width())));
}

void TestMainWindow::playgroundPlaceholderBeforeFirstRun()
{
    MainWindow w;
    w.setInteractive(false);
    auto *results = w.findChild<QTextBrowser *>("playgroundResults");
    QVERIFY(results);
    QVERIFY(results->document()->isEmpty());
    QVERIFY(results->placeholderText().contains("Open a checkpoint"));
    QVERIFY(openAndWait(w, QStringLiteral(QDQ_SOURCE_DIR "/resources/demo/tiny-qdqbert")));
    QVERIFY(results->document()->isEmpty());
    QVERIFY2(results->placeholderText().contains("masked-lm"), qPrintable(results->placeholderText()));
    QVERIFY(results->placeholderText().contains("Type a sentence"));
    QSignalSpy ready(w.playground(), &PlaygroundWidget::resultReady);
    w.playground()->setText(QStringLiteral("hello [MASK] ."));
    w.playground()->runNow();
    QVERIFY(ready.wait(120000));
    QVERIFY(!results->document()->isEmpty());
}

void TestMainWindow::staysResponsiveDuringInference()
{
    // a BERT-base-sized forward on 384 tokens runs on the worker thread for seconds; the GUI
    // thread's event loop must keep answering a 20 ms timer within 100 ms
    qdq::BertConfig config;
    config.vocabSize = 30522;
    auto checkpoint = std::make_shared<const qdq::Checkpoint>(qdq::randomCheckpoint(config, qdq::Task::Base, 1));
    std::vector<std::string> tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "word"};
    auto tokenizer = std::make_shared<const qdq::Tokenizer>(qdq::Tokenizer::fromTokens(tokens));
    InferenceWorker worker;
    worker.setModel(checkpoint, tokenizer);
    QString text;
    for (int i = 0; i < 382; ++i)
        text += QStringLiteral("word ");
    QSignalSpy done(&worker, &InferenceWorker::finished);
    InferenceRequest request;
    request.id = 1;
    request.examples = {{text.toStdString(), std::nullopt}};
    request.maxLength = 384;
    QElapsedTimer clock;
    clock.start();
    qint64 last = 0;
    qint64 worstGap = 0;
    QTimer tick;
    tick.setInterval(20);
    connect(&tick, &QTimer::timeout, [&] {
        worstGap = std::max(worstGap, clock.elapsed() - last);
        last = clock.elapsed();
    });
    tick.start();
    worker.submit(request);
    QVERIFY(done.wait(120000));
    const qint64 jobMs = clock.elapsed();
    tick.stop();
    const auto result = done.at(0).at(0).value<std::shared_ptr<const InferenceResult>>();
    QVERIFY2(result->error.isEmpty(), qPrintable(result->error));
    QCOMPARE(result->encodings.front().size(), std::size_t(384));
    qInfo("job %lld ms, worst event-loop gap %lld ms", jobMs, worstGap);
    QVERIFY2(jobMs > 200, "the job must be long enough to measure anything");
    QVERIFY2(worstGap < 100, qPrintable(QString("event loop stalled for %1 ms").arg(worstGap)));
}

void TestMainWindow::screenshotCommandWritesImage()
{
    QTemporaryDir dir;
    const QString out = dir.filePath("shot.png");
    const qdq::test::ProcessResult r = qdq::test::runProcess(
        QStringLiteral(QDQ_GUI_PATH), {"--screenshot", out, "--size", "900x600", "--view", "start"});
    QVERIFY2(r.exitCode == 0 && !r.crashed, r.err.constData());
    const QImage img(out);
    QCOMPARE(img.size(), QSize(900, 600));
    QVERIFY(distinctColours(img) > 20);
    QVERIFY(!QFile::exists(out + ".part"));
}

void TestMainWindow::screenshotOfLoadedModel()
{
    QTemporaryDir dir;
    writeTinyCheckpoint(dir);
    const QString out = dir.filePath("tensors.png");
    qdq::test::ProcessResult r = qdq::test::runProcess(
        QStringLiteral(QDQ_GUI_PATH), {"--screenshot", out, "--model", dir.path(), "--view", "tensors"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QVERIFY(distinctColours(QImage(out)) > 20);
    // a model that fails to load: exit code 2, the message names the file, no image
    const QString bad = dir.filePath("bad.png");
    r = qdq::test::runProcess(QStringLiteral(QDQ_GUI_PATH), {"--screenshot", bad, "--model", out});
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(r.err.contains(out.toUtf8()), r.err.constData());
    QVERIFY(!QFile::exists(bad));
}

void TestMainWindow::screenshotUnknownViewFails()
{
    QTemporaryDir dir;
    const QString out = dir.filePath("shot.png");
    const qdq::test::ProcessResult r =
        qdq::test::runProcess(QStringLiteral(QDQ_GUI_PATH), {"--screenshot", out, "--view", "nosuchview"});
    QCOMPARE(r.exitCode, 1);
    QVERIFY(r.err.contains("unknown view 'nosuchview'"));
    QVERIFY(!QFile::exists(out));
}

QTEST_MAIN(TestMainWindow)
#include "tst_main_window.moc"

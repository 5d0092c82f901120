// GUI robustness (issue #15): a failing load leaves the previous model open and usable, dropping
// 100 files at once opens the first and names the rest, and jobs running on a model that the user
// replaced or whose window was closed meanwhile end cleanly. Offscreen (QT_QPA_PLATFORM).
#include "main_window.h"
#include "recent_files_model.h"
#include "tensor_table_model.h"

#include "qdq/checkpoint.h"
#include "qdq/io/onnx_import.h"

#include <QApplication>
#include <QDragEnterEvent>
#include <QFile>
#include <QMimeData>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QTest>
#include <QThreadPool>

#include <memory>

using namespace qdq::ui;

namespace {

const QString kTiny = QStringLiteral(QDQ_SOURCE_DIR "/resources/demo/tiny-qdqbert");

bool openAndWait(MainWindow &w, const QString &path)
{
    QSignalSpy loaded(&w, &MainWindow::checkpointLoaded);
    return w.openPath(path) && loaded.wait(30000);
}

void writeFile(const QString &path, const QByteArray &bytes)
{
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(bytes) != bytes.size())
        qFatal("cannot write %s", qPrintable(path));
}

void drop(MainWindow &w, const QList<QUrl> &urls)
{
    QMimeData mime;
    mime.setUrls(urls);
    QDragEnterEvent enter(QPoint(50, 50), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&w, &enter);
    QDropEvent event(QPointF(50, 50), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&w, &event);
}

} // namespace

class TestRobustness : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void init();
    void failingLoadKeepsPreviousModel();
    void dropHundredFilesOpensFirst();
    void dropHundredFilesFirstBroken();
    void exportOnReplacedModelEndsCleanly();
    void exportOutlivesClosedWindow();
    void loadInFlightWhenWindowCloses();
};

void TestRobustness::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName("qdq-inspector-tests");
}

void TestRobustness::init()
{
    RecentFilesModel().clear();
}

void TestRobustness::failingLoadKeepsPreviousModel()
{
    MainWindow w;
    w.setInteractive(false);
    QVERIFY(openAndWait(w, kTiny));
    const std::shared_ptr<const qdq::Checkpoint> before = w.checkpoint();
    QVERIFY(before);
    const int rows = w.tensorModel()->rowCount();
    QVERIFY(rows > 0);

    QTemporaryDir dir;
    // a pickle that tries to run code, a truncated zip, an empty file, a missing path
    static const char evil[] = "\x80\x02"
                               "cos\nsystem\nX\x02\x00\x00\x00lsq\x00\x85R.";
    writeFile(dir.filePath("evil.pt"), QByteArray(evil, sizeof evil - 1));
    writeFile(dir.filePath("cut.zip"), QByteArray("PK\x03\x04\x14\x00\x00\x00", 8));
    writeFile(dir.filePath("empty.safetensors"), QByteArray());
    const QList<QPair<QString, QString>> cases{{dir.filePath("evil.pt"), "global 'os.system', which is not allowed"},
                                               {dir.filePath("cut.zip"), "not a readable zip archive"},
                                               {dir.filePath("empty.safetensors"), "not a weights file"}};
    for (const auto &[path, expected] : cases) {
        QSignalSpy errors(&w, &MainWindow::errorOccurred);
        QSignalSpy loaded(&w, &MainWindow::checkpointLoaded);
        QVERIFY(w.openPath(path));
        QVERIFY(errors.wait(20000));
        const QString message = errors.at(0).at(0).toString();
        QVERIFY2(message.contains(expected) && message.contains(QFileInfo(path).fileName()), qPrintable(message));
        QCOMPARE(loaded.count(), 0);
        QVERIFY(!w.isLoading());
        // the previous model is still the open one, with its views
        QCOMPARE(w.checkpoint(), before);
        QCOMPARE(w.tensorModel()->rowCount(), rows);
    }
    QSignalSpy errors(&w, &MainWindow::errorOccurred);
    QVERIFY(!w.openPath(dir.filePath("does-not-exist.bin")));
    QCOMPARE(errors.count(), 1);
    QCOMPARE(w.checkpoint(), before);

    // ... and usable: an ONNX export of it succeeds and holds its quantizers
    const QString onnx = dir.filePath("after-failures.onnx");
    QSignalSpy exported(&w, &MainWindow::exported);
    w.exportOnnx(onnx);
    QVERIFY(exported.wait(60000));
    QCOMPARE(qdq::importOnnxAmax(onnx.toStdString()).sites.size(),
             static_cast<std::size_t>(before->calibratedQuantizers()));
}

void TestRobustness::dropHundredFilesOpensFirst()
{
    QTemporaryDir dir;
    QList<QUrl> urls{QUrl::fromLocalFile(kTiny)};
    for (int i = 1; i < 100; ++i) {
        const QString path = dir.filePath(QString("extra-%1.safetensors").arg(i, 2, 10, QChar('0')));
        writeFile(path, "not opened");
        urls << QUrl::fromLocalFile(path);
    }
    MainWindow w;
    w.setInteractive(false);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QSignalSpy opened(&w, &MainWindow::pathOpened);
    QSignalSpy loaded(&w, &MainWindow::checkpointLoaded);
    QSignalSpy errors(&w, &MainWindow::errorOccurred);
    drop(w, urls);
    QCOMPARE(opened.count(), 1);
    QCOMPARE(opened.at(0).at(0).toString(), QFileInfo(kTiny).absoluteFilePath());
    const QString message = w.statusBar()->currentMessage();
    QVERIFY2(message.contains("99 other dropped items not opened") && message.contains("extra-01.safetensors") &&
                 message.contains("tiny-qdqbert"),
             qPrintable(message));
    QVERIFY(loaded.wait(30000));
    QCOMPARE(opened.count(), 1); // none of the other 99 was opened afterwards
    QCOMPARE(errors.count(), 0);
    QCOMPARE(w.recentFiles()->rowCount(), 1);
}

void TestRobustness::dropHundredFilesFirstBroken()
{
    QTemporaryDir dir;
    QList<QUrl> urls;
    for (int i = 0; i < 100; ++i) {
        const QString path = dir.filePath(QString("broken-%1.bin").arg(i, 2, 10, QChar('0')));
        writeFile(path, "GIF89a");
        urls << QUrl::fromLocalFile(path);
    }
    MainWindow w;
    w.setInteractive(false);
    QVERIFY(openAndWait(w, kTiny));
    const auto before = w.checkpoint();
    QSignalSpy errors(&w, &MainWindow::errorOccurred);
    drop(w, urls);
    QVERIFY(errors.wait(20000));
    QTest::qWait(200);
    QCOMPARE(errors.count(), 1); // one error for the one file that was tried, not 100 dialogs
    QVERIFY(errors.at(0).at(0).toString().contains("broken-00.bin"));
    QCOMPARE(w.checkpoint(), before);
}

void TestRobustness::exportOnReplacedModelEndsCleanly()
{
    QTemporaryDir dir;
    MainWindow w;
    w.setInteractive(false);
    QVERIFY(openAndWait(w, kTiny));
    const auto first = w.checkpoint();
    const QString onnx = dir.filePath("first.onnx");
    QSignalSpy exported(&w, &MainWindow::exported);
    QSignalSpy errors(&w, &MainWindow::errorOccurred);
    QSignalSpy loaded(&w, &MainWindow::checkpointLoaded);
    w.exportOnnx(onnx);
    // the user opens another model while the export of the first one runs
    QVERIFY(w.openPath(QStringLiteral(QDQ_SOURCE_DIR "/tests/data/checkpoints/hf_safetensors")));
    QVERIFY(exported.wait(60000));
    QVERIFY2(errors.isEmpty(), qPrintable(errors.value(0).value(0).toString()));
    // the export is the first model's, complete
    QCOMPARE(qdq::importOnnxAmax(onnx.toStdString()).sites.size(),
             static_cast<std::size_t>(first->calibratedQuantizers()));
    // the second model is shown once its load has been delivered (a queued signal)
    QTRY_VERIFY_WITH_TIMEOUT(loaded.count() == 1, 60000);
    QVERIFY(w.checkpoint() != first);
    QCOMPARE(QDir(dir.path()).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot),
             QStringList{"first.onnx"});
}

void TestRobustness::exportOutlivesClosedWindow()
{
    QTemporaryDir dir;
    const QString onnx = dir.filePath("closed.onnx");
    std::size_t calibrated = 0;
    {
        auto w = std::make_unique<MainWindow>();
        w->setInteractive(false);
        QVERIFY(openAndWait(*w, kTiny));
        calibrated = static_cast<std::size_t>(w->checkpoint()->calibratedQuantizers());
        w->exportOnnx(onnx);
        w->close();
    } // the window (and the model it held) is gone while the export runs
    QVERIFY(QThreadPool::globalInstance()->waitForDone(60000));
    QCoreApplication::processEvents();
    QCOMPARE(qdq::importOnnxAmax(onnx.toStdString()).sites.size(), calibrated);
    QCOMPARE(QDir(dir.path()).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot),
             QStringList{"closed.onnx"});
}

void TestRobustness::loadInFlightWhenWindowCloses()
{
    for (int i = 0; i < 5; ++i) {
        auto w = std::make_unique<MainWindow>();
        w->setInteractive(false);
        QVERIFY(w->openPath(kTiny));
        QTest::qWait(i * 5); // closed at different points of the load
        w.reset();           // cancels and waits for the load: no callback into a destroyed window
        QCoreApplication::processEvents();
    }
    QVERIFY(QThreadPool::globalInstance()->waitForDone(30000));
}

QTEST_MAIN(TestRobustness)
#include "tst_robustness.moc"

// GUI smoke tests, offscreen: the main window renders, drag-and-drop and File ▸ Open share
// openPath(), errors are reported, recent files persist, --screenshot writes a real image.
#include "main_window.h"
#include "recent_files_model.h"
#include "support/test_support.h"

#include <QAbstractItemModelTester>
#include <QApplication>
#include <QDragEnterEvent>
#include <QFile>
#include <QImage>
#include <QMimeData>
#include <QSet>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTest>

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

} // namespace

class TestMainWindow : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void init();
    void rendersNonBlank();
    void openPathRecordsRecent();
    void openMissingPathReportsError();
    void dragAndDropOpens();
    void dragOfNonFileIsIgnored();
    void recentModelIsConsistent();
    void screenshotCommandWritesImage();
    void screenshotUnknownViewFails();
};

void TestMainWindow::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true); // settings go to a test location, not the user's
    QCoreApplication::setOrganizationName("qdq-inspector-tests");
}

void TestMainWindow::init()
{
    RecentFilesModel().clear();
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

void TestMainWindow::openPathRecordsRecent()
{
    QTemporaryDir dir;
    const QString file = dir.filePath("model.safetensors");
    QFile f(file);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("x");
    f.close();
    MainWindow w;
    w.setInteractive(false);
    QSignalSpy opened(&w, &MainWindow::pathOpened);
    QVERIFY(w.openPath(file));
    QCOMPARE(opened.count(), 1);
    QCOMPARE(opened.at(0).at(0).toString(), file);
    QCOMPARE(w.recentFiles()->rowCount(), 1);
    QCOMPARE(w.recentFiles()->pathAt(0), file);
    QVERIFY(w.windowTitle().startsWith("model.safetensors"));
    // a second window sees the persisted list
    MainWindow other;
    QCOMPARE(other.recentFiles()->pathAt(0), file);
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
    QDropEvent drop(QPointF(50, 50), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&w, &drop);
    QVERIFY(!w.isDropHighlighted());
    QCOMPARE(opened.count(), 1);
    QCOMPARE(opened.at(0).at(0).toString(), dir.path());
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

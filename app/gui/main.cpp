// qdq-inspector: the desktop application.
//   qdq-inspector [PATH]                          open PATH (file, folder or zip) at start
//   qdq-inspector --screenshot FILE [--view NAME] [--model P] [--size WxH]
//                                                 render the window offscreen to FILE and exit
#include "analyze_dialog.h"
#include "app_settings.h"
#include "compare_view.h"
#include "main_window.h"
#include "playground_widget.h"
#include "quantizer_table_model.h"
#include "theme.h"

#include "qdq/threading.h"
#include "qdq/version.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QEventLoop>
#include <QFileInfo>
#include <QImageWriter>
#include <QScreen>
#include <QTimer>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace {

bool wantsScreenshot(int argc, char **argv)
{
    for (int i = 1; i < argc; ++i)
        if (QByteArray(argv[i]) == "--screenshot" || QByteArray(argv[i]).startsWith("--screenshot="))
            return true;
    return false;
}

// The bundled demo model: installed beside the program (share/qdq-inspector/demo) or in the
// source tree it was built from; the assembled real-weights demo first, else the tiny one.
QString demoModelPath()
{
    const QString appDir = QCoreApplication::applicationDirPath();
    const QStringList roots = {appDir + "/../share/qdq-inspector/demo", QStringLiteral(QDQ_SOURCE_DEMO_DIR)};
    for (const QString &root : roots)
        for (const char *name : {"model", "tiny-qdqbert"})
            if (QFileInfo::exists(root + "/" + name + "/config.json"))
                return QDir(root + "/" + name).canonicalPath();
    return {};
}

} // namespace

int main(int argc, char **argv)
{
    qdq::reexecWithRuntimeSettings(argv); // OpenMP spin and malloc huge pages (threading.h)
    // A screenshot run needs no display: default to the offscreen platform unless the
    // caller chose one (e.g. xcb under Xvfb for a real window).
    if (wantsScreenshot(argc, argv) && qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");

    QApplication app(argc, argv);
    QApplication::setApplicationName("QDQ Inspector");
    QApplication::setOrganizationName("qdq-inspector");
    QApplication::setApplicationVersion(qdq::versionString());
    // the installed desktop file id (resources/desktop): Wayland docks match window and icon by it
    QApplication::setDesktopFileName(QStringLiteral("io.github.qdqinspector.QDQInspector"));

    QCommandLineParser parser;
    parser.setApplicationDescription("Inspect quantized (Q/DQ) BERT checkpoints.");
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument("path", "Checkpoint file, folder or zip to open.", "[path]");
    parser.addOption({"model", "Checkpoint to open (same as the positional path).", "path"});
    parser.addOption({"screenshot", "Render the window to this PNG file and exit.", "file"});
    parser.addOption({"no-demo", "Start without opening the bundled demo model."});
    parser.addOption({"view", "Tab to show before the screenshot (e.g. start).", "name"});
    parser.addOption({"size", "Window size for the screenshot, WxH (default 1280x800).", "WxH"});
    parser.addOption({"text", "Text for the playground (runs the head before the screenshot).", "T"});
    parser.addOption({"text-pair", "Second text for the playground.", "T2"});
    parser.addOption({"task", "Head for the playground, e.g. masked-lm.", "TASK"});
    parser.addOption(
        {"analyze", "Screenshot: analyse the model on this data file first (Layers, Quantizers).", "FILE"});
    parser.addOption({"per-quantizer", "With --analyze: also the per-quantizer sensitivity (Sensitivity view)."});
    parser.addOption({"samples", "With --analyze: examples to analyse (default 32).", "N", "32"});
    parser.addOption({"compare", "Screenshot: open this checkpoint as B in the Compare view first.", "B"});
    parser.process(app);

    qdq::ui::applyTheme(qdq::ui::AppSettings().theme());
    qdq::ui::MainWindow window;
    const bool screenshot = parser.isSet("screenshot");
    window.setInteractive(!screenshot);

    QString path = parser.value("model");
    if (path.isEmpty() && !parser.positionalArguments().isEmpty())
        path = parser.positionalArguments().first();

    if (path.isEmpty() && !screenshot && !parser.isSet("no-demo"))
        path = demoModelPath();
    if (!screenshot) {
        window.show();
        if (!path.isEmpty())
            window.openPath(path);
        return QApplication::exec();
    }

    if (!path.isEmpty()) {
        // a screenshot of a model view needs the model loaded first
        QString error;
        bool done = false;
        QEventLoop loop;
        QObject::connect(&window, &qdq::ui::MainWindow::checkpointLoaded, &loop, [&] {
            done = true;
            loop.quit();
        });
        QObject::connect(&window, &qdq::ui::MainWindow::errorOccurred, &loop, [&](const QString &message) {
            error = message;
            done = true;
            loop.quit();
        });
        if (!window.openPath(path) && error.isEmpty())
            error = QStringLiteral("cannot open '%1'").arg(path);
        // the load finishes through queued signals: wait for one of them, however fast it was
        if (error.isEmpty() && !done)
            loop.exec();
        if (!error.isEmpty()) {
            std::fprintf(stderr, "qdq-inspector: error: %s\n", qPrintable(error));
            return 2;
        }
    }

    if (parser.isSet("task")) {
        const auto task = qdq::taskFromName(parser.value("task").toStdString());
        if (!task || !window.playground()->selectTask(*task)) {
            std::fprintf(stderr, "qdq-inspector: error: the model has no '%s' head\n",
                         qPrintable(parser.value("task")));
            return 1;
        }
    }
    if (parser.isSet("text")) {
        QEventLoop loop;
        QObject::connect(window.playground(), &qdq::ui::PlaygroundWidget::resultReady, &loop, &QEventLoop::quit);
        window.playground()->setText(parser.value("text"), parser.value("text-pair"));
        window.playground()->runNow();
        QTimer::singleShot(60000, &loop, &QEventLoop::quit);
        loop.exec();
    }

    if (parser.isSet("analyze")) {
        qdq::ui::AnalyzeDialog dialog(window.checkpoint(), window.quantizerModel()->quantConfig(),
                                      window.playground()->task(), &window);
        dialog.setDataFile(parser.value("analyze"));
        dialog.setPerQuantizer(parser.isSet("per-quantizer"));
        dialog.setSamples(std::max(1, parser.value("samples").toInt()));
        QEventLoop loop;
        QString error;
        QObject::connect(&dialog, &qdq::ui::AnalyzeDialog::analyzed, &window,
                         [&](std::shared_ptr<const qdq::AnalysisReport> report) {
                             window.applyAnalysis(std::move(report));
                             loop.quit();
                         });
        QObject::connect(&dialog, &qdq::ui::AnalyzeDialog::failed, &loop, [&](const QString &message) {
            error = message;
            loop.quit();
        });
        dialog.start();
        loop.exec();
        if (!error.isEmpty()) {
            std::fprintf(stderr, "qdq-inspector: error: analysis failed: %s\n", qPrintable(error));
            return 2;
        }
    }
    if (parser.isSet("compare")) {
        QEventLoop loop;
        QString error;
        QObject::connect(window.compareView(), &qdq::ui::CompareView::compared, &loop, &QEventLoop::quit);
        QObject::connect(window.compareView(), &qdq::ui::CompareView::errorOccurred, &loop,
                         [&](const QString &message) {
                             error = message;
                             loop.quit();
                         });
        window.compareView()->openB(parser.value("compare"));
        loop.exec();
        if (!error.isEmpty()) {
            std::fprintf(stderr, "qdq-inspector: error: compare failed: %s\n", qPrintable(error));
            return 2;
        }
    }

    QSize size(1280, 800);
    if (parser.isSet("size")) {
        const QStringList wh = parser.value("size").split('x');
        bool okW = false;
        bool okH = false;
        if (wh.size() == 2)
            size = QSize(wh[0].toInt(&okW), wh[1].toInt(&okH));
        if (!okW || !okH || size.width() < 200 || size.height() < 150) {
            std::fprintf(stderr, "qdq-inspector: error: --size expects WxH of at least 200x150, got '%s'\n",
                         qPrintable(parser.value("size")));
            return 1;
        }
    }
    if (parser.isSet("view") && !window.showView(parser.value("view"))) {
        std::fprintf(stderr, "qdq-inspector: error: unknown view '%s' (available: %s)\n",
                     qPrintable(parser.value("view").toLower()), qPrintable(window.viewNames().join(", ")));
        return 1;
    }
    window.resize(size);
    window.show();
    QApplication::processEvents();

    const QString file = parser.value("screenshot");
    const QImage image = window.grab().toImage();
    // write next to the target and rename, so a failed run leaves no partial file
    const QString tmp = file + ".part";
    QImageWriter writer(tmp, "png");
    if (!writer.write(image) || !(QFile::remove(file) || !QFileInfo::exists(file)) || !QFile::rename(tmp, file)) {
        QFile::remove(tmp);
        std::fprintf(stderr, "qdq-inspector: error: cannot write screenshot '%s': %s\n", qPrintable(file),
                     qPrintable(writer.errorString()));
        return 2;
    }
    return 0;
}

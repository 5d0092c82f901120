// qdq: the command-line face of QDQ Inspector. Each subcommand lives in cmd_<name>.cpp and
// is a thin adapter over the engine call the GUI makes too.
#include "cli/cli.h"

#include "qdq/threading.h"
#include "qdq/version.h"

#include <QCoreApplication>
#include <QGuiApplication>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

namespace {

void printUsage(std::FILE *to)
{
    std::fputs("Usage: qdq <command> [options]\n"
               "       qdq help <command>\n"
               "       qdq --version | --help\n\n"
               "Inspect quantized (Q/DQ) BERT checkpoints: run them in FP32, fake-quant and INT8,\n"
               "calibrate, analyze where INT8 diverges, export and report.\n\nCommands:\n",
               to);
    auto commands = qdq::cli::registry();
    std::sort(commands.begin(), commands.end(), [](const auto &a, const auto &b) { return a.name < b.name; });
    for (const auto &c : commands)
        std::fprintf(to, "  %-15s %s\n", c.name.c_str(), c.summary.c_str());
    std::fputs("\n'qdq <command> --help' or 'qdq help <command>' describes a command's options.\n"
               "Exit codes: 0 ok, 1 usage error, 2 bad input, 3 a --fail-if threshold was crossed, 4 internal error,\n"
               "130 interrupted (Ctrl-C; partial outputs are removed).\n",
               to);
}

} // namespace

int main(int argc, char **argv)
{
    qdq::reexecWithRuntimeSettings(argv); // OpenMP spin and malloc huge pages (threading.h)
    // A command that draws charts needs a QGuiApplication (fonts); the CLI never opens a window,
    // so it uses the offscreen platform unless the caller chose one.
    bool gui = false;
    const bool helpFor = argc > 2 && std::strcmp(argv[1], "help") == 0; // qdq help CMD
    for (const auto &command : qdq::cli::registry())
        gui = gui || (argc > 1 && command.gui && command.name == argv[helpFor ? 2 : 1]);
    std::unique_ptr<QCoreApplication> application;
    if (gui) {
        if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
            qputenv("QT_QPA_PLATFORM", "offscreen");
        // Qt's notes about the platform (runtime dir, size hints) mean nothing to a CLI user;
        // keep its critical messages.
        qInstallMessageHandler([](QtMsgType type, const QMessageLogContext &, const QString &message) {
            if (type == QtCriticalMsg || type == QtFatalMsg)
                std::fprintf(stderr, "qdq: qt: %s\n", qPrintable(message));
        });
        application = std::make_unique<QGuiApplication>(argc, argv);
    }
    if (!application)
        application = std::make_unique<QCoreApplication>(argc, argv);
    QCoreApplication::setApplicationName("qdq");
    QCoreApplication::setApplicationVersion(qdq::versionString());
    const QStringList args = QCoreApplication::arguments();

    if (args.size() < 2) {
        printUsage(stderr);
        return qdq::cli::Usage;
    }
    const QString first = args.at(1);
    if (first == "--version" || first == "-V" || first == "version") {
        std::fputs(qdq::buildSummary().c_str(), stdout);
        return qdq::cli::Ok;
    }
    QStringList rest = args.mid(2);
    QString name = first;
    if (first == "--help" || first == "-h" || first == "help") {
        if (first != "help" || rest.isEmpty()) {
            printUsage(stdout);
            return qdq::cli::Ok;
        }
        // `qdq help CMD` is `qdq CMD --help`
        name = rest.first();
        rest = {QStringLiteral("--help")};
    }
    for (const auto &command : qdq::cli::registry()) {
        if (command.name == name.toStdString()) {
            QStringList sub = rest;
            sub.prepend("qdq " + name);
            const bool json = sub.contains("--json");
            return qdq::cli::runGuarded(json, [&] { return command.run(sub); });
        }
    }
    qdq::cli::printError(false, qdq::cli::Usage, "usage",
                         "unknown command '" + name.toStdString() + "' (see 'qdq --help')", {});
    return qdq::cli::Usage;
}

// qdq: the command-line face of QDQ Inspector. Each subcommand lives in cmd_<name>.cpp and
// is a thin adapter over the engine call the GUI makes too.
#include "cli/cli.h"

#include "qdq/version.h"

#include <QCoreApplication>

#include <algorithm>
#include <cstdio>
#include <string>

namespace {

void printUsage(std::FILE *to)
{
    std::fputs("Usage: qdq <command> [options]\n"
               "       qdq --version | --help\n\n"
               "Inspect quantized (Q/DQ) BERT checkpoints: run them in FP32, fake-quant and INT8,\n"
               "calibrate, analyze where INT8 diverges, export and report.\n\nCommands:\n",
               to);
    auto commands = qdq::cli::registry();
    std::sort(commands.begin(), commands.end(), [](const auto &a, const auto &b) { return a.name < b.name; });
    for (const auto &c : commands)
        std::fprintf(to, "  %-15s %s\n", c.name.c_str(), c.summary.c_str());
    std::fputs("\n'qdq <command> --help' describes a command's options.\n"
               "Exit codes: 0 ok, 1 usage error, 2 bad input, 3 a --fail-if threshold was crossed, 4 internal error.\n",
               to);
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
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
    if (first == "--help" || first == "-h" || first == "help") {
        printUsage(stdout);
        return qdq::cli::Ok;
    }
    const std::string name = first.toStdString();
    for (const auto &command : qdq::cli::registry()) {
        if (command.name == name) {
            QStringList sub = args.mid(2);
            sub.prepend("qdq " + first);
            const bool json = sub.contains("--json");
            return qdq::cli::runGuarded(json, [&] { return command.run(sub); });
        }
    }
    qdq::cli::printError(false, qdq::cli::Usage, "usage", "unknown command '" + name + "' (see 'qdq --help')", {});
    return qdq::cli::Usage;
}

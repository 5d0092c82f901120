#include "cli/cli.h"

#include "qdq/errors.h"
#include "qdq/progress.h"
#include "qdq/threading.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <mutex>

#include <unistd.h>

namespace qdq::cli {

std::vector<Command> &registry()
{
    static std::vector<Command> commands;
    return commands;
}

RegisterCommand::RegisterCommand(Command command)
{
    registry().push_back(std::move(command));
}

void addCommonOptions(QCommandLineParser &parser)
{
    parser.setSingleDashWordOptionMode(QCommandLineParser::ParseAsLongOptions);
    parser.addHelpOption();
    parser.addOption({"json", "Machine-readable JSON on stdout."});
    parser.addOption({"quiet", "No progress output on stderr."});
    parser.addOption({"threads", "CPU threads to use (default: all).", "N"});
}

CommonOptions parseArgs(QCommandLineParser &parser, const QStringList &args, const std::string &command,
                        bool positionals)
{
    if (!parser.parse(args))
        throw UsageError(parser.errorText().toStdString() + " (see 'qdq " + command + " --help')");
    if (parser.isSet("help")) {
        // QCommandLineParser names the binary's full path; the user typed "qdq <command>"
        QString help = parser.helpText();
        const qsizetype eol = help.indexOf('\n');
        help.replace(0, eol, QStringLiteral("Usage: qdq %1 [options]").arg(QString::fromStdString(command)));
        std::fputs(help.toStdString().c_str(), stdout);
        std::exit(Ok);
    }
    if (!positionals && !parser.positionalArguments().isEmpty())
        throw UsageError("unexpected argument '" + parser.positionalArguments().first().toStdString() + "' (see 'qdq " +
                         command + " --help')");
    if (parser.isSet("threads")) {
        bool ok = false;
        const int threads = parser.value("threads").toInt(&ok);
        if (!ok || threads < 1)
            throw UsageError("--threads expects a positive integer, got '" + parser.value("threads").toStdString() +
                             "'");
        setNumThreads(threads);
    }
    return CommonOptions{parser.isSet("json"), parser.isSet("quiet")};
}

std::int64_t intOption(const QCommandLineParser &parser, const QString &name, std::int64_t min, std::int64_t max)
{
    bool ok = false;
    const qlonglong v = parser.value(name).toLongLong(&ok);
    if (ok && v >= min && v <= max)
        return v;
    std::string expected;
    if (max < std::numeric_limits<int>::max()) // a real upper bound, not just "fits an int"
        expected = "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
    else if (min == 1)
        expected = "a positive integer";
    else if (min == 0)
        expected = "a non-negative integer";
    else
        expected = "an integer >= " + std::to_string(min);
    throw UsageError("--" + name.toStdString() + " expects " + expected + ", got '" + parser.value(name).toStdString() +
                     "'");
}

void addDeviceOption(QCommandLineParser &parser)
{
    parser.addOption(
        {"device", "Where the model computes: cpu (default), cuda or cuda:N (see qdq devices).", "D", "cpu"});
}

Device deviceOption(const QCommandLineParser &parser)
{
    const std::string text = parser.value("device").toStdString();
    const std::optional<Device> device = parseDevice(text);
    if (!device)
        throw UsageError("--device expects cpu, cuda or cuda:N, got '" + text + "'");
    if (device->type == DeviceType::CPU)
        return *device;
    const CudaStatus cuda = cudaStatus();
    std::string why;
    if (!cuda.compiledIn)
        why = "this build has no CUDA backend";
    else if (!cuda.available)
        why = cuda.message;
    else if (device->index >= static_cast<int>(cuda.devices.size()))
        why = "there are " + std::to_string(cuda.devices.size()) + " CUDA devices (see qdq devices)";
    if (why.empty())
        return *device;
    std::fprintf(stderr, "qdq: warning: %s is not usable (%s); running on the CPU\n", device->str().c_str(),
                 why.c_str());
    return Device{};
}

double fractionOption(const QCommandLineParser &parser, const QString &name)
{
    bool ok = false;
    const double v = parser.value(name).toDouble(&ok);
    if (!ok || !(v >= 0.0 && v <= 1.0))
        throw UsageError("--" + name.toStdString() + " expects a number from 0 to 1, got '" +
                         parser.value(name).toStdString() + "'");
    return v;
}

namespace {
Progress *g_interruptible = nullptr; // the job SIGINT cancels

extern "C" void cancelOnSigint(int /*signal*/)
{
    if (g_interruptible)
        g_interruptible->cancel(); // a lock-free atomic store: async-signal-safe
    // a second Ctrl-C stops at once (exit status 130 from the signal), without waiting for the
    // job to reach its next cancellation point
    std::signal(SIGINT, SIG_DFL);
}
} // namespace

CancelOnInterrupt::CancelOnInterrupt(Progress &progress)
{
    g_interruptible = &progress;
    m_previous = std::signal(SIGINT, cancelOnSigint);
}

CancelOnInterrupt::~CancelOnInterrupt()
{
    std::signal(SIGINT, m_previous);
    g_interruptible = nullptr;
}

QString requireOption(const QCommandLineParser &parser, const QString &name)
{
    if (!parser.isSet(name) || parser.value(name).isEmpty())
        throw UsageError("missing required option --" + name.toStdString());
    return parser.value(name);
}

void printJson(const nlohmann::json &value)
{
    // strings from files may hold invalid UTF-8: replaced (U+FFFD) instead of throwing
    std::cout << value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    std::cout.flush();
}

void printError(bool json, int code, const std::string &kind, const std::string &rawMessage,
                const std::string &rawWhere)
{
    // one line of valid UTF-8: invalid bytes as \xNN (errors.h), line breaks from names in files
    // (a tensor key, a header) as spaces
    auto oneLine = [](const std::string &text) {
        std::string out = printableUtf8(text);
        std::replace_if(
            out.begin(), out.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
        return out;
    };
    const std::string message = oneLine(rawMessage);
    const std::string where = oneLine(rawWhere);
    std::cerr << "qdq: error: " << message;
    if (!where.empty())
        std::cerr << " (" << where << ")";
    std::cerr << '\n';
    if (json) {
        nlohmann::json err = {{"code", code}, {"kind", kind}, {"message", message}};
        if (!where.empty())
            err["where"] = where;
        printJson({{"error", err}});
    }
}

int runGuarded(bool json, const std::function<int()> &body)
{
    try {
        return body();
    } catch (const UsageError &e) {
        printError(json, Usage, "usage", e.what(), {});
        return Usage;
    } catch (const CancelledError &e) {
        // the CLI cancels only on SIGINT (CancelOnInterrupt); partial outputs are already removed
        printError(json, Interrupted, e.kind(), "interrupted: " + e.message(), e.where().str());
        return Interrupted;
    } catch (const Error &e) {
        printError(json, BadInput, e.kind(), e.message(), e.where().str());
        return BadInput;
    } catch (const nlohmann::json::exception &e) {
        // a JSON value of the wrong type that a reader did not check itself: bad input, not a bug
        // in the program's state (the readers name their file; this is the backstop)
        printError(json, BadInput, "format", std::string("unexpected JSON value: ") + e.what(), {});
        return BadInput;
    } catch (const std::length_error &e) {
        printError(json, BadInput, "format", std::string("a size in the input is too large: ") + e.what(), {});
        return BadInput;
    } catch (const std::bad_alloc &) {
        printError(json, Internal, "internal", "out of memory", {});
        return Internal;
    } catch (const std::exception &e) {
        printError(json, Internal, "internal", std::string("internal error: ") + e.what(), {});
        return Internal;
    }
}

void printProgress(bool quiet, const std::string &stage, long long done, long long total, const std::string &detail)
{
    if (quiet)
        return;
    static const bool terminal = isatty(fileno(stderr)) != 0;
    const bool finished = total > 0 && done >= total;
    if (terminal) { // one line redrawn in place
        if (total > 0)
            std::fprintf(stderr, "\r%s %3lld%%", stage.c_str(), done * 100 / total);
        else
            std::fprintf(stderr, "\r%s %lld", stage.c_str(), done);
        if (!detail.empty())
            std::fprintf(stderr, " %s   ", detail.c_str()); // spaces: clear a longer previous line
        if (finished)
            std::fputc('\n', stderr);
        std::fflush(stderr);
        return;
    }
    // A log file or a CI log: no carriage returns, one plain line when a stage starts, at each
    // tenth of it and when it ends.
    static std::mutex mutex;
    static std::string lastStage;
    static long long lastTenth = -1;
    const std::lock_guard<std::mutex> lock(mutex);
    const long long tenth = total > 0 ? done * 10 / total : -1;
    if (stage == lastStage && tenth == lastTenth)
        return;
    lastStage = stage;
    lastTenth = tenth;
    if (total > 0)
        std::fprintf(stderr, "%s %lld%%", stage.c_str(), done * 100 / total);
    else
        std::fprintf(stderr, "%s %lld", stage.c_str(), done);
    std::fprintf(stderr, detail.empty() ? "\n" : " %s\n", detail.c_str());
    std::fflush(stderr);
}

} // namespace qdq::cli

#pragma once
// Shared plumbing of the `qdq` subcommands: the registry, exit codes, error reporting
// and common options (design.md, "The command-line contract").

#include "qdq/device.h"

#include <QCommandLineParser>
#include <QStringList>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace qdq {
class Progress;
}

namespace qdq::cli {

// Interrupted: Ctrl-C (SIGINT) cancelled the job; 128 + SIGINT, as a shell reports a process killed by it.
enum ExitCode : int { Ok = 0, Usage = 1, BadInput = 2, ThresholdCrossed = 3, Internal = 4, Interrupted = 130 };

// A command-line mistake: wrong or missing option, bad option value. Exit code 1.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct Command {
    std::string name;
    std::string summary;
    // args[0] is "qdq <name>"; the rest are the subcommand's arguments.
    std::function<int(const QStringList &args)> run;
    // Draws (report charts, PDF: fonts need Qt Gui): main() creates a QGuiApplication on the
    // offscreen platform instead of a QCoreApplication.
    bool gui = false;
};

std::vector<Command> &registry();

struct RegisterCommand {
    explicit RegisterCommand(Command command);
};

// Options every subcommand takes: --json, --quiet, --threads N, --help.
struct CommonOptions {
    bool json = false;
    bool quiet = false;
};
void addCommonOptions(QCommandLineParser &parser);
// Parses args; prints help and exits 0 on --help; throws UsageError on mistakes;
// applies --threads. Returns the common options.
// Positional arguments are a usage error unless `positionals` (a command that declared them).
CommonOptions parseArgs(QCommandLineParser &parser, const QStringList &args, const std::string &command,
                        bool positionals = false);
// An integer option's value in [min, max]; throws UsageError naming the option and the range
// otherwise. The one integer parser of every subcommand.
std::int64_t intOption(const QCommandLineParser &parser, const QString &name, std::int64_t min,
                       std::int64_t max = std::numeric_limits<std::int64_t>::max());
// A number in [0, 1] (UsageError naming the option otherwise).
double fractionOption(const QCommandLineParser &parser, const QString &name);
// Adds --device (default cpu) to a command that runs a model.
void addDeviceOption(QCommandLineParser &parser);
// --device: cpu, cuda or cuda:N (UsageError otherwise). A CUDA device this build or machine cannot
// use is not an error: a warning on stderr says why and the command runs on the CPU.
Device deviceOption(const QCommandLineParser &parser);

// While alive, Ctrl-C (SIGINT) cancels `progress` instead of killing the process, so a long job
// stops between units of work and leaves no partial output; the previous handler is restored.
class CancelOnInterrupt {
public:
    explicit CancelOnInterrupt(Progress &progress);
    ~CancelOnInterrupt();
    CancelOnInterrupt(const CancelOnInterrupt &) = delete;
    CancelOnInterrupt &operator=(const CancelOnInterrupt &) = delete;

private:
    void (*m_previous)(int);
};

// A required option's value; throws UsageError naming it when absent.
QString requireOption(const QCommandLineParser &parser, const QString &name);

// Runs body, turning exceptions into the contract's messages and exit codes.
int runGuarded(bool json, const std::function<int()> &body);
// Error output: `qdq: error: <message> (<where>)`, and with --json a JSON object on stdout.
void printError(bool json, int code, const std::string &kind, const std::string &message, const std::string &where);

void printJson(const nlohmann::json &value);

// min / median / max of a non-empty sample (benchmark timings, per-channel amax).
template <class T>
struct Spread {
    T min{};
    T median{};
    T max{};
};
template <class T>
Spread<T> spreadOf(std::vector<T> v)
{
    if (v.empty())
        return {};
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return {v.front(), n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / T(2), v.back()};
}
// Progress on stderr unless quiet: on a terminal one line redrawn in place ("\r<stage> 42%",
// newline when done); otherwise (a log, CI) plain lines, one per stage and tenth, no '\r'.
// `detail` follows the percentage (rates, ETA).
void printProgress(bool quiet, const std::string &stage, long long done, long long total,
                   const std::string &detail = {});

} // namespace qdq::cli

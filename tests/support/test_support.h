#pragma once
// Helpers shared by the test suites: paths to data and built programs, running the CLI.

#include <QByteArray>
#include <QString>
#include <QStringList>

namespace qdq::test {

// tests/data/<relative>; fails the test (QFAIL through the caller's check) if missing.
QString dataPath(const QString &relative);
// ../shared/<relative> (vocabularies, docs)
QString sharedPath(const QString &relative);

struct ProcessResult {
    int exitCode = -1;
    bool crashed = false;
    bool timedOut = false;
    QByteArray out;
    QByteArray err;
};
// Runs `program` with `args`; waits at most `timeoutMs`. The program gets its own settings,
// data and cache folders (XDG_*_HOME in a temporary folder): tests never touch the user's.
ProcessResult runProcess(const QString &program, const QStringList &args, int timeoutMs = 120000);
// Runs the built `qdq` CLI.
ProcessResult runCli(const QStringList &args, int timeoutMs = 120000);
// Runs `qdq info --model path` and checks the bad-input contract (design.md): no crash or
// hang, exit code 2, nothing on stdout, a last stderr line "qdq: error: ..." containing `needle`.
// Returns what was wrong, empty when all held: QVERIFY2(checkInfoRejects(p, n).isEmpty(), ...).
QString checkInfoRejects(const QString &path, const QByteArray &needle);

// The data rows of a fake-quant table test: columns profile (int, a VersionProfile), perChannel,
// isUnsigned, narrow (bool), one row per combination over every version profile.
void addFakeQuantRows();
// The data rows of a histogram table test: collection (int, a HistogramCollection), skipZeros.
void addHistogramRows();

// A "Name:   N kB" field of /proc/self/status (VmHWM, RssFile, ...) in KiB; -1 when unknown.
long procStatusKiB(const char *field);

} // namespace qdq::test

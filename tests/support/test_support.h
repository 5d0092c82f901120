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
// Runs `program` with `args`; waits at most `timeoutMs`.
ProcessResult runProcess(const QString &program, const QStringList &args, int timeoutMs = 120000);
// Runs the built `qdq` CLI.
ProcessResult runCli(const QStringList &args, int timeoutMs = 120000);

} // namespace qdq::test

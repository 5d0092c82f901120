#include "support/test_support.h"

#include <QDir>
#include <QFileInfo>
#include <QProcess>

namespace qdq::test {

QString dataPath(const QString &relative)
{
    return QDir(QStringLiteral(QDQ_TEST_DATA_DIR)).filePath(relative);
}

QString sharedPath(const QString &relative)
{
    return QDir(QStringLiteral(QDQ_SHARED_DIR)).filePath(relative);
}

ProcessResult runProcess(const QString &program, const QStringList &args, int timeoutMs)
{
    QProcess p;
    p.setProgram(program);
    p.setArguments(args);
    p.start();
    ProcessResult r;
    if (!p.waitForStarted(30000)) {
        r.err = ("cannot start " + program + ": " + p.errorString()).toUtf8();
        return r;
    }
    p.closeWriteChannel();
    if (!p.waitForFinished(timeoutMs)) {
        r.timedOut = true;
        p.kill();
        p.waitForFinished(5000);
    }
    r.crashed = p.exitStatus() == QProcess::CrashExit;
    r.exitCode = p.exitCode();
    r.out = p.readAllStandardOutput();
    r.err = p.readAllStandardError();
    return r;
}

ProcessResult runCli(const QStringList &args, int timeoutMs)
{
    return runProcess(QStringLiteral(QDQ_CLI_PATH), args, timeoutMs);
}

} // namespace qdq::test

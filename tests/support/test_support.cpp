#include "support/test_support.h"

#include "qdq/quant/calibrator.h"
#include "qdq/quant/quant_descriptor.h"

#include <QDir>
#include <QFileInfo>
#include <QProcess>
#include <QProcessEnvironment>
#include <QTemporaryDir>
#include <QTest>

#include <fstream>
#include <string>

namespace qdq::test {

QString dataPath(const QString &relative)
{
    return QDir(QStringLiteral(QDQ_TEST_DATA_DIR)).filePath(relative);
}

void addFakeQuantRows()
{
    QTest::addColumn<int>("profile");
    QTest::addColumn<bool>("perChannel");
    QTest::addColumn<bool>("isUnsigned");
    QTest::addColumn<bool>("narrow");
    for (const VersionProfile p :
         {VersionProfile::Pq210, VersionProfile::Pq21x, VersionProfile::Pq22Cpu, VersionProfile::Pq22Cuda})
        for (const bool perChannel : {false, true})
            for (const bool isUnsigned : {false, true})
                for (const bool narrow : {false, true})
                    QTest::addRow("%s/%s/%s/%s", std::string(versionProfileName(p)).c_str(),
                                  perChannel ? "channel" : "tensor", isUnsigned ? "unsigned" : "signed",
                                  narrow ? "narrow" : "full")
                        << static_cast<int>(p) << perChannel << isUnsigned << narrow;
}

void addHistogramRows()
{
    QTest::addColumn<int>("collection");
    QTest::addColumn<bool>("skipZeros");
    for (const auto &[c, name] :
         {std::pair{HistogramCollection::Torch, "torch"}, std::pair{HistogramCollection::NumPy, "numpy"},
          std::pair{HistogramCollection::NumPyFromZero, "numpy-from-zero"}})
        for (const bool skip : {false, true})
            QTest::addRow("%s/%s", name, skip ? "skip-zeros" : "zeros") << static_cast<int>(c) << skip;
}

QString sharedPath(const QString &relative)
{
    return QDir(QStringLiteral(QDQ_SHARED_DIR)).filePath(relative);
}

// Settings, data and cache folders of every program a test starts: one temporary folder per test
// process, so that no test reads or writes the user's own settings (recent checkpoints, ...).
QProcessEnvironment isolatedEnvironment()
{
    static const QTemporaryDir home(QDir::tempPath() + QStringLiteral("/qdq-test-home-XXXXXX"));
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    for (const char *var : {"XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"})
        env.insert(QString::fromLatin1(var), home.path() + '/' + QString::fromLatin1(var).toLower());
    return env;
}

ProcessResult runProcess(const QString &program, const QStringList &args, int timeoutMs)
{
    QProcess p;
    p.setProgram(program);
    p.setArguments(args);
    p.setProcessEnvironment(isolatedEnvironment());
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

QString checkInfoRejects(const QString &path, const QByteArray &needle)
{
    const ProcessResult r = runCli({QStringLiteral("info"), QStringLiteral("--model"), path}, 60000);
    if (r.crashed || r.timedOut)
        return QStringLiteral("qdq info crashed or hung on ") + path;
    if (r.exitCode != 2)
        return QStringLiteral("exit code %1, expected 2: ").arg(r.exitCode) + QString::fromUtf8(r.err);
    const QList<QByteArray> lines = r.err.trimmed().split('\n');
    if (!lines.last().startsWith("qdq: error: ") || !lines.last().contains(needle))
        return QStringLiteral("expected 'qdq: error: ...%1...', got: ").arg(QString::fromUtf8(needle)) +
               QString::fromUtf8(r.err);
    if (!r.out.isEmpty())
        return QStringLiteral("unexpected stdout: ") + QString::fromUtf8(r.out);
    return {};
}

long procStatusKiB(const char *field)
{
    std::ifstream status("/proc/self/status");
    const std::string prefix = std::string(field) + ':';
    std::string line;
    while (std::getline(status, line))
        if (line.rfind(prefix, 0) == 0)
            return std::stol(line.substr(prefix.size()));
    return -1;
}

} // namespace qdq::test

// The qdq command-line contract: --version, --help, exit codes, error lines, --json errors.
#include "support/test_support.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>

using namespace qdq::test;

class TestCli : public QObject {
    Q_OBJECT
private slots:
    void version();
    void help();
    void noArgumentsIsUsageError();
    void unknownCommand();
    void subcommandHelp();
    void helpCommandIsCommandHelp();
    void progressIntoPipeHasNoCarriageReturn();
    void devicesJson();
    void badOptionValueIsUsageError();
    void unknownOptionIsUsageError();
    void interruptExits130AndLeavesNothing();
};

void TestCli::version()
{
    const ProcessResult r = runCli({"--version"});
    QCOMPARE(r.exitCode, 0);
    QVERIFY2(r.out.startsWith("qdq-inspector 0.1.0"), r.out.constData());
    QVERIFY(r.out.contains("oneDNN 2."));
    QVERIFY(r.out.contains("CUDA backend: "));
}

void TestCli::help()
{
    const ProcessResult r = runCli({"--help"});
    QCOMPARE(r.exitCode, 0);
    QVERIFY(r.out.contains("Usage: qdq <command>"));
    QVERIFY(r.out.contains("devices"));
    QVERIFY(r.out.contains("Exit codes"));
}

void TestCli::noArgumentsIsUsageError()
{
    const ProcessResult r = runCli({});
    QCOMPARE(r.exitCode, 1);
    QVERIFY(r.err.contains("Usage: qdq"));
}

void TestCli::unknownCommand()
{
    const ProcessResult r = runCli({"frobnicate"});
    QCOMPARE(r.exitCode, 1);
    QCOMPARE(r.err.trimmed(), QByteArray("qdq: error: unknown command 'frobnicate' (see 'qdq --help')"));
}

void TestCli::subcommandHelp()
{
    const ProcessResult r = runCli({"devices", "--help"});
    QCOMPARE(r.exitCode, 0);
    QVERIFY2(r.out.startsWith("Usage: qdq devices [options]\n"), r.out.constData());
    QVERIFY(r.out.contains("--json"));
    QVERIFY(r.out.contains("--threads"));
}

void TestCli::helpCommandIsCommandHelp()
{
    // every command `qdq --help` lists: `qdq help CMD` prints what `qdq CMD --help` prints
    const QByteArray top = runCli({"--help"}).out;
    const qsizetype from = top.indexOf("Commands:\n");
    QVERIFY(from >= 0);
    QStringList commands;
    for (const QByteArray &line : top.mid(from).split('\n').mid(1)) {
        if (!line.startsWith("  "))
            break;
        commands << QString::fromUtf8(line.trimmed().split(' ').first());
    }
    QVERIFY2(commands.size() >= 10, qPrintable(commands.join(' ')));
    for (const QString &command : commands) {
        const ProcessResult viaHelp = runCli({"help", command});
        const ProcessResult direct = runCli({command, "--help"});
        QCOMPARE(viaHelp.exitCode, 0);
        QCOMPARE(direct.exitCode, 0);
        QVERIFY2(direct.out.startsWith("Usage: qdq " + command.toUtf8()), direct.out.constData());
        QCOMPARE(viaHelp.out, direct.out);
    }
    QCOMPARE(runCli({"help"}).out, top);
    const ProcessResult unknown = runCli({"help", "frobnicate"});
    QCOMPARE(unknown.exitCode, 1);
    QVERIFY(unknown.err.contains("unknown command 'frobnicate'"));
}

void TestCli::progressIntoPipeHasNoCarriageReturn()
{
    // stderr is a pipe here, as in a CI log: plain progress lines, no '\r' redraws
    const QString model = QStringLiteral(QDQ_SOURCE_DIR "/resources/demo/tiny-qdqbert");
    const QString data = QStringLiteral(QDQ_SOURCE_DIR "/tools/demo/calibration.txt");
    const ProcessResult r = runCli({"analyze", "--model", model, "--data", data, "--samples", "4"});
    QCOMPARE(r.exitCode, 0);
    QVERIFY2(!r.err.isEmpty(), "no progress at all");
    QVERIFY2(!r.err.contains('\r'), r.err.constData());
    QVERIFY2(r.err.count('\n') < 200, r.err.constData()); // a few lines per stage, not one per update
    const ProcessResult quiet = runCli({"analyze", "--model", model, "--data", data, "--samples", "4", "--quiet"});
    QCOMPARE(quiet.exitCode, 0);
    QVERIFY2(quiet.err.isEmpty(), quiet.err.constData());
}

void TestCli::devicesJson()
{
    const ProcessResult r = runCli({"devices", "--json", "--threads", "1"});
    QCOMPARE(r.exitCode, 0);
    QJsonParseError perr;
    const QJsonDocument doc = QJsonDocument::fromJson(r.out, &perr);
    QVERIFY2(perr.error == QJsonParseError::NoError, r.out.constData());
    const QJsonObject o = doc.object();
    QCOMPARE(o["cpu"].toObject()["threads"].toInt(), 1);
    QVERIFY(o["cuda"].toObject()["compiled_in"].isBool());
    QVERIFY(!o["cuda"].toObject()["message"].toString().isEmpty());
}

void TestCli::badOptionValueIsUsageError()
{
    const ProcessResult r = runCli({"devices", "--threads", "0", "--json"});
    QCOMPARE(r.exitCode, 1);
    QVERIFY(r.err.startsWith("qdq: error: --threads expects a positive integer"));
    const QJsonObject err = QJsonDocument::fromJson(r.out).object()["error"].toObject();
    QCOMPARE(err["code"].toInt(), 1);
    QVERIFY(err["message"].toString().contains("--threads"));
}

void TestCli::unknownOptionIsUsageError()
{
    const ProcessResult r = runCli({"devices", "--frob"});
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains("Unknown option 'frob'"), r.err.constData());
}

// issue #27: Ctrl-C (SIGINT) during a calibration exits 130 ("interrupted"), not 4, and the
// output folder is neither created nor left half-written.
void TestCli::interruptExits130AndLeavesNothing()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString out = dir.filePath("calibrated");
    QProcess p;
    p.start(QStringLiteral(QDQ_CLI_PATH),
            {"calibrate", "--model", QStringLiteral(QDQ_SOURCE_DIR "/resources/demo/model"), "--data",
             QStringLiteral(QDQ_SOURCE_DIR "/tools/demo/calibration.txt"), "--method", "max", "--samples", "0",
             "--batch", "1", "--threads", "1", "--out", out});
    QVERIFY(p.waitForStarted());
    QByteArray err;
    // wait until the calibration pass runs (its first progress line), then interrupt it
    for (int i = 0; i < 600 && !err.contains("calibrating"); ++i) {
        p.waitForReadyRead(100);
        err += p.readAllStandardError();
        QVERIFY2(p.state() == QProcess::Running, err.constData());
    }
    QVERIFY2(err.contains("calibrating"), err.constData());
    QCOMPARE(::kill(static_cast<pid_t>(p.processId()), SIGINT), 0);
    QVERIFY(p.waitForFinished(60000));
    err += p.readAllStandardError();
    QCOMPARE(p.exitStatus(), QProcess::NormalExit);
    QCOMPARE(p.exitCode(), 130);
    QVERIFY2(err.contains("qdq: error: interrupted"), err.constData());
    QVERIFY(!QFileInfo::exists(out));
    QCOMPARE(QDir(dir.path()).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot), QStringList{});
}

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"

// Bad input to the checkpoint loader (issue "Checkpoint loading"): each case must throw a typed
// error naming the file and the problem, and through `qdq info` exit with code 2 and one line
// "qdq: error: ..."; no crash, no hang, nothing written next to the input.
#include "qdq/checkpoint.h"
#include "qdq/errors.h"
#include "support/test_support.h"

#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <cstring>

using namespace qdq;
using qdq::test::dataPath;

namespace {

QByteArray readAll(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        qFatal("missing test data %s", qPrintable(path));
    return f.readAll();
}

void writeAll(const QString &path, const QByteArray &bytes)
{
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(bytes) != bytes.size())
        qFatal("cannot write %s", qPrintable(path));
}

void copyDir(const QString &from, const QString &to)
{
    QDir().mkpath(to);
    for (const QString &name : QDir(from).entryList(QDir::Files))
        QFile::copy(from + "/" + name, to + "/" + name);
}

// name, size and modification time of everything under `dir`
QStringList listing(const QString &dir)
{
    QStringList out;
    QDirIterator it(dir, QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        it.next();
        out << it.filePath() + " " + QString::number(it.fileInfo().size()) + " " +
                   QString::number(it.fileInfo().lastModified().toMSecsSinceEpoch());
    }
    out.sort();
    return out;
}

QByteArray safetensors(const QByteArray &header, const QByteArray &data)
{
    QByteArray out(8, '\0');
    const auto len = static_cast<std::uint64_t>(header.size());
    std::memcpy(out.data(), &len, 8);
    return out + header + data;
}

// A raw pickle (protocol 2): sniffed as a (legacy) PyTorch pickle by its PROTO opcode.
QByteArray pickle(const QByteArray &body)
{
    return QByteArray("\x80\x02", 2) + body;
}

} // namespace

class TestCheckpointBad : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void badInput_data();
    void badInput();
    void configErrorsNameTheField_data();
    void configErrorsNameTheField();

private:
    QTemporaryDir m_dir;
};

void TestCheckpointBad::initTestCase()
{
    QVERIFY(m_dir.isValid());
}

void TestCheckpointBad::badInput_data()
{
    QTest::addColumn<QString>("path");    // what is opened
    QTest::addColumn<QString>("kind");    // Error::kind()
    QTest::addColumn<QString>("message"); // a part of the message
    const QString tmp = m_dir.path();
    const QString data = dataPath("checkpoints");

    // --- truncated files at several offsets ------------------------------------------------
    struct Cut {
        const char *file;
        QList<qsizetype> at;
    };
    const QList<Cut> cuts{{"hf_safetensors/model.safetensors", {4, 20, 600, 30000}},
                          {"model.pt", {3, 200, 20000, 47000}},
                          {"legacy.bin", {12, 300, 9000, 38000}}};
    for (const Cut &c : cuts) {
        const QByteArray bytes = readAll(data + "/" + c.file);
        for (qsizetype at : c.at) {
            QVERIFY(at < bytes.size());
            const QString name = QString("truncated_%1_%2").arg(QFileInfo(c.file).fileName()).arg(at);
            writeAll(tmp + "/" + name, bytes.left(at));
            QTest::newRow(qPrintable(name)) << tmp + "/" + name << ""
                                            << "";
        }
    }

    // --- safetensors headers -------------------------------------------------------------------
    const QByteArray eight(8, '\0');
    auto st = [&](const char *name, const QByteArray &header, const QByteArray &payload, const char *kind,
                  const char *message) {
        writeAll(tmp + "/" + name, safetensors(header, payload));
        QTest::newRow(name) << tmp + "/" + name << kind << message;
    };
    {
        QByteArray lie = safetensors("{}", "");
        const std::uint64_t huge = 1 << 20;
        std::memcpy(lie.data(), &huge, 8);
        writeAll(tmp + "/st_header_beyond_file", lie);
        QTest::newRow("st_header_beyond_file") << tmp + "/st_header_beyond_file"
                                               << "format"
                                               << "header length 1048576 exceeds the file size";
    }
    st("st_overlap",
       R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
       eight, "format", "tensors overlap");
    st("st_out_of_range", R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", eight, "format",
       "lie outside the 8 data bytes");
    st("st_unknown_dtype", R"({"a":{"dtype":"F8_E9M9","shape":[2],"data_offsets":[0,8]}})", eight, "unsupported",
       "unsupported dtype F8_E9M9");
    st("st_shape_bytes", R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight, "format",
       "8 bytes do not hold F32[3]");
    st("st_not_json", "{not json", eight, "format", "header is not valid JSON");

    // --- pickles: forbidden globals, opcodes, bombs ---------------------------------------------
    QTest::newRow("torch zip with os.system") << data + "/bad/pickle_os_system.pt"
                                              << "format"
                                              << "global 'posix.system', which is not allowed";
    QTest::newRow("torch zip with builtins.eval") << data + "/bad/pickle_builtins_eval.pt"
                                                  << "format"
                                                  << "global '__builtin__.eval', which is not allowed";
    auto pk = [&](const char *name, const QByteArray &body, const char *message) {
        writeAll(tmp + "/" + name, pickle(body));
        QTest::newRow(name) << tmp + "/" + name << "format" << message;
    };
    pk("pickle_os_system", "cos\nsystem\nX\x02\x00\x00\x00lsq\x00\x85R.", "global 'os.system', which is not allowed");
    pk("pickle_builtins_eval", "cbuiltins\neval\n(X\x01\x00\x00\x001tR.", "global 'builtins.eval'");
    pk("pickle_stack_global", QByteArray("X\x02\x00\x00\x00osX\x06\x00\x00\x00system\x93.", 20),
       "global 'os.system', which is not allowed");
    pk("pickle_inst_opcode", "ios\nsystem\n.", "opcode 0x69 is not one torch.save of a state dict emits");
    pk("pickle_obj_opcode", "(o.", "opcode 0x6f is not one torch.save");
    pk("pickle_text_persid", "P0\n.", "opcode 0x50");
    pk("pickle_recursion_bomb", QByteArray(100000, ']') + QByteArray(99999, 'a') + ".", "nests deeper than 64");
    pk("pickle_tuple_bomb", QByteArray(100, '(') + QByteArray(100, 't') + ".", "nests deeper than 64");
    pk("pickle_mark_bomb", QByteArray(1 << 23, '(') + ".", "too many MARKs");
    pk("pickle_memo_miss", QByteArray("h\x05.", 3), "memo entry 5 was never stored");
    pk("pickle_underflow", "R.", "stack underflow");
    pk("pickle_not_state_dict", QByteArray("]q\x00.", 4), "wrong magic number");
    pk("pickle_no_stop", QByteArray("}q\x00", 3), "no STOP opcode");
    pk("pickle_string_past_end", QByteArray("X\xff\xff\xff\x7f", 5), "runs past the end");

    // --- zips ----------------------------------------------------------------------------------------
    QTest::newRow("zip path traversal") << data + "/bad/zip_traversal.zip"
                                        << "format"
                                        << "path traversal";
    QTest::newRow("zip absolute name") << data + "/bad/zip_absolute.zip"
                                       << "format"
                                       << "absolute entry name";
    QTest::newRow("zip duplicate entries") << data + "/bad/zip_duplicate.zip"
                                           << "format"
                                           << "duplicate zip entry";
    QTest::newRow("zip bomb, ratio") << data + "/bad/zip_bomb_ratio.zip"
                                     << "format"
                                     << "above the 100:1 cap";
    QTest::newRow("zip bomb, declared size") << data + "/bad/zip_bomb_declared.zip"
                                             << "format"
                                             << "does not match its CRC and declared size 1000";

    // --- folders ---------------------------------------------------------------------------------------
    {
        const QString dir = tmp + "/shape_vs_config";
        copyDir(data + "/hf_safetensors", dir);
        QByteArray cfg = readAll(dir + "/config.json");
        cfg.replace("\"hidden_size\": 16", "\"hidden_size\": 32");
        writeAll(dir + "/config.json", cfg);
        QTest::newRow("tensor shapes disagree with config")
            << dir << "shape"
            << "shape [64, 16] disagrees with the config, which implies [64, 32]";
    }
    {
        const QString dir = tmp + "/intermediate_vs_config";
        copyDir(data + "/hf_pytorch", dir);
        QByteArray cfg = readAll(dir + "/config.json");
        cfg.replace("\"intermediate_size\": 32", "\"intermediate_size\": 48");
        writeAll(dir + "/config.json", cfg);
        QTest::newRow("intermediate size disagrees with config") << dir << "shape"
                                                                 << "bert.encoder.layer.0.intermediate.dense.weight";
    }
    {
        const QString dir = tmp + "/shard_traversal";
        copyDir(data + "/sharded_safetensors", dir);
        QByteArray index = readAll(dir + "/model.safetensors.index.json");
        index.replace("\"model-00001-of-00002.safetensors\"", "\"../model-00001-of-00002.safetensors\"");
        writeAll(dir + "/model.safetensors.index.json", index);
        QTest::newRow("shard name escapes the folder") << dir << "format"
                                                       << "is not a plain file name";
    }
    {
        const QString dir = tmp + "/no_weights";
        QDir().mkpath(dir);
        QFile::copy(data + "/hf_pytorch/config.json", dir + "/config.json");
        QTest::newRow("folder without weights") << dir << "format"
                                                << "no weights in this folder";
    }
    writeAll(tmp + "/random.bin", QByteArray("GIF89a this is not a checkpoint at all"));
    QTest::newRow("unknown content") << tmp + "/random.bin"
                                     << "format"
                                     << "not a weights file";
    writeAll(tmp + "/empty.safetensors", QByteArray());
    QTest::newRow("empty file") << tmp + "/empty.safetensors"
                                << "format"
                                << "not a weights file";
    QTest::newRow("missing path") << tmp + "/does-not-exist"
                                  << "io"
                                  << "no such file or folder";
}

void TestCheckpointBad::badInput()
{
    QFETCH(QString, path);
    QFETCH(QString, kind);
    QFETCH(QString, message);
    const QString parent = QFileInfo(path).isDir() ? path : QFileInfo(path).absolutePath();
    const QStringList before = listing(parent);

    std::string what;
    std::string errorKind = "<none>";
    std::string file;
    try {
        (void)loadCheckpoint(path.toStdString());
    } catch (const Error &e) {
        what = e.what();
        errorKind = e.kind();
        file = e.where().file;
    }
    QVERIFY2(errorKind != "<none>", "no error thrown");
    if (!kind.isEmpty())
        QCOMPARE(QString::fromStdString(errorKind), kind);
    QVERIFY2(what.find(message.toStdString()) != std::string::npos, what.c_str());
    // the message names the file (or the archive entry) the problem is in
    QVERIFY2(file.find(QFileInfo(path).fileName().toStdString()) != std::string::npos, what.c_str());

    const QString rejected = qdq::test::checkInfoRejects(path, QFileInfo(path).fileName().toUtf8());
    QVERIFY2(rejected.isEmpty(), qPrintable(rejected));

    QCOMPARE(listing(parent), before); // nothing written beside the input
}

void TestCheckpointBad::configErrorsNameTheField_data()
{
    QTest::addColumn<QByteArray>("from");
    QTest::addColumn<QByteArray>("to");
    QTest::addColumn<QString>("message");
    QTest::newRow("wrong type") << QByteArray("\"hidden_size\": 16") << QByteArray("\"hidden_size\": \"16\"")
                                << "expected an integer, got \"16\" (file '%1', field 'hidden_size')";
    QTest::newRow("negative size") << QByteArray("\"num_hidden_layers\": 2") << QByteArray("\"num_hidden_layers\": -2")
                                   << "must be positive, got -2 (file '%1', field 'num_hidden_layers')";
    QTest::newRow("heads do not divide hidden")
        << QByteArray("\"num_attention_heads\": 4") << QByteArray("\"num_attention_heads\": 3")
        << "hidden_size 16 is not a multiple of num_attention_heads 3 (file '%1', field 'hidden_size')";
    QTest::newRow("bool as string") << QByteArray("\"is_decoder\": false") << QByteArray("\"is_decoder\": \"no\"")
                                    << "expected true or false, got \"no\" (file '%1', field 'is_decoder')";
    QTest::newRow("not json") << QByteArray("{") << QByteArray("{{") << "not valid JSON";
}

void TestCheckpointBad::configErrorsNameTheField()
{
    QFETCH(QByteArray, from);
    QFETCH(QByteArray, to);
    QFETCH(QString, message);
    QTemporaryDir dir;
    copyDir(dataPath("checkpoints/hf_safetensors"), dir.path());
    QByteArray cfg = readAll(dir.filePath("config.json"));
    QVERIFY(cfg.contains(from));
    cfg.replace(from, to);
    writeAll(dir.filePath("config.json"), cfg);
    const QStringList before = listing(dir.path());
    const std::string expected =
        (message.contains("%1") ? message.arg(dir.filePath("config.json")) : message).toStdString();
    try {
        (void)loadCheckpoint(dir.path().toStdString());
        QFAIL("no error");
    } catch (const FormatError &e) {
        QVERIFY2(std::string(e.what()).find(expected) != std::string::npos, e.what());
    }
    const auto r = qdq::test::runCli({"info", "--model", dir.path(), "--quiet"});
    QCOMPARE(r.exitCode, 2);
    QCOMPARE(r.err.count('\n'), 1);
    QVERIFY2(r.err.startsWith("qdq: error: "), r.err.constData());
    QCOMPARE(listing(dir.path()), before);
}

QTEST_GUILESS_MAIN(TestCheckpointBad)
#include "tst_checkpoint_bad.moc"

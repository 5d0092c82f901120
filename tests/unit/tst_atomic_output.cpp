// Nothing lost (issue #15): every file the engine writes goes through write-temp-then-rename, so a
// job that is cancelled or fails at any point leaves the previous output byte-identical and no
// temporary file behind. Covers the calibrated checkpoint (cancelled at every progress point, with
// a previous checkpoint in place), the ONNX export and safetensors writers (failing after the
// previous file exists) and writeFileAtomically itself (a writer that dies half way).
#include "qdq/calibration.h"
#include "qdq/calibration_data.h"
#include "qdq/checkpoint.h"
#include "qdq/errors.h"
#include "qdq/io/atomic_file.h"
#include "qdq/io/onnx_export.h"
#include "qdq/io/safetensors.h"
#include "qdq/quant/quant_config.h"
#include "support/test_support.h"

#include <QCryptographicHash>
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <stdexcept>

using namespace qdq;
using qdq::test::dataPath;

namespace {

const QString kDemo = QStringLiteral(QDQ_SOURCE_DIR "/resources/demo/tiny-qdqbert");

// relative path -> SHA-256 of every file under `dir` (and the folder names), hidden entries included
QMap<QString, QByteArray> snapshot(const QString &dir)
{
    QMap<QString, QByteArray> out;
    QDirIterator it(dir, QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        it.next();
        const QString rel = QDir(dir).relativeFilePath(it.filePath());
        if (it.fileInfo().isDir()) {
            out.insert(rel + "/", {});
            continue;
        }
        QFile f(it.filePath());
        if (!f.open(QIODevice::ReadOnly))
            qFatal("cannot read %s", qPrintable(it.filePath()));
        out.insert(rel, QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256));
    }
    return out;
}

QByteArray readAll(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        qFatal("cannot read %s", qPrintable(path));
    return f.readAll();
}

} // namespace

class TestAtomicOutput : public QObject {
    Q_OBJECT
private slots:
    void calibratedCheckpointSurvivesCancel();
    void calibrationCancelledBeforeWriting();
    void onnxExportFailureKeepsPreviousFile();
    void onnxExportSurvivesCancel();
    void safetensorsFailureKeepsPreviousFile();
    void writerDyingHalfWayKeepsPreviousFile();
    void unwritableFolderLeavesNothing();
};

void TestAtomicOutput::calibratedCheckpointSurvivesCancel()
{
    QTemporaryDir parent;
    QVERIFY(parent.isValid());
    const Checkpoint ck = loadCheckpoint(kDemo.toStdString());
    const Tokenizer tok = tokenizerForCheckpoint(ck);
    const auto examples = readCalibrationData(dataPath("calibration/sentences.txt").toStdString());
    CalibrationOptions o;
    o.batchSize = 4;
    Calibrator cal(ck, o);
    cal.run(examples, tok);

    // the previous output: a max calibration
    const QString out = parent.filePath("calibrated");
    CalibratedOutput output;
    output.directory = out.toStdString();
    output.method = CalibMethod::Max;
    writeCalibratedCheckpoint(ck, cal, output);
    const QMap<QString, QByteArray> previous = snapshot(parent.path());
    QVERIFY(previous.contains("calibrated/model.safetensors"));
    QVERIFY(previous.contains("calibrated/calibration.safetensors"));

    // a second job (another method, so its files differ) cancelled at each progress report of
    // the write before the new folder is renamed into place ("writing" 0..3)
    output.force = true;
    output.method = CalibMethod::Percentile;
    int reports = 0;
    {
        Progress count([&](const ProgressEvent &) { ++reports; });
        QTemporaryDir scratch;
        CalibratedOutput probe = output;
        probe.directory = scratch.filePath("probe").toStdString();
        writeCalibratedCheckpoint(ck, cal, probe, &count);
    }
    QCOMPARE(reports, 5); // writing 0, 1, 2, 3 and the final 4
    for (const int cancelAt : {0, 1, 2, 3}) {
        int seen = 0;
        Progress progress([&](const ProgressEvent &) {
            if (seen++ == cancelAt)
                progress.cancel();
        });
        QVERIFY_THROWS_EXCEPTION(CancelledError, writeCalibratedCheckpoint(ck, cal, output, &progress));
        QCOMPARE(snapshot(parent.path()), previous); // byte-identical, and no temporary folder beside it
    }
    // a cancel that arrives with the last report comes too late: the new checkpoint is complete,
    // in place, and the job reports success rather than "cancelled"
    {
        Progress progress([&](const ProgressEvent &e) {
            if (e.done == 4)
                progress.cancel();
        });
        writeCalibratedCheckpoint(ck, cal, output, &progress);
        const QMap<QString, QByteArray> now = snapshot(parent.path());
        QCOMPARE(now.keys(), previous.keys()); // the same files, no leftovers
        QVERIFY(now.value("calibrated/model.safetensors") != previous.value("calibrated/model.safetensors"));
        const Checkpoint back = loadCheckpoint(out.toStdString());
        QCOMPARE(back.calibratedQuantizers(), ck.calibratedQuantizers());
    }
}

void TestAtomicOutput::calibrationCancelledBeforeWriting()
{
    // the GUI's calibrate job: run, then write; a cancel during the run never reaches the writer
    QTemporaryDir parent;
    const Checkpoint ck = loadCheckpoint(kDemo.toStdString());
    const Tokenizer tok = tokenizerForCheckpoint(ck);
    const auto examples = readCalibrationData(dataPath("calibration/sentences.txt").toStdString());
    const QString out = parent.filePath("calibrated");
    QDir().mkpath(out);
    QFile keep(out + "/model.safetensors");
    QVERIFY(keep.open(QIODevice::WriteOnly));
    keep.write("previous contents");
    keep.close();
    const QMap<QString, QByteArray> previous = snapshot(parent.path());
    for (const std::int64_t cancelAfter : {0, 4, 8}) {
        CalibrationOptions o;
        o.batchSize = 4;
        Calibrator cal(ck, o);
        Progress progress([&](const ProgressEvent &e) {
            if (e.done >= cancelAfter)
                progress.cancel();
        });
        bool cancelled = false;
        try {
            cal.run(examples, tok, &progress);
            CalibratedOutput output;
            output.directory = out.toStdString();
            output.force = true;
            writeCalibratedCheckpoint(ck, cal, output, &progress);
        } catch (const CancelledError &) {
            cancelled = true;
        }
        QVERIFY(cancelled);
        QCOMPARE(snapshot(parent.path()), previous);
    }
}

void TestAtomicOutput::onnxExportFailureKeepsPreviousFile()
{
    QTemporaryDir parent;
    const QString path = parent.filePath("model.onnx");
    // a successful export first, then one over it
    const Checkpoint calibrated = loadCheckpoint(kDemo.toStdString());
    exportOnnx(calibrated, QuantConfig::fromCheckpoint(calibrated), {}, path.toStdString());
    const QByteArray first = readAll(path);
    QVERIFY(first.size() > 1000);
    exportOnnx(calibrated, QuantConfig::fromCheckpoint(calibrated), {}, path.toStdString());
    QCOMPARE(readAll(path), first); // deterministic, replaced in place
    QCOMPARE(QDir(parent.path()).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot),
             QStringList{"model.onnx"});

    // an export that fails (a plain BERT checkpoint: dynamic amax cannot be exported)
    const Checkpoint plain = loadCheckpoint(dataPath("model/base").toStdString());
    QVERIFY(plain.calibratedQuantizers() == 0);
    const QMap<QString, QByteArray> previous = snapshot(parent.path());
    QVERIFY_THROWS_EXCEPTION(UnsupportedError,
                             exportOnnx(plain, QuantConfig::fromCheckpoint(plain), {}, path.toStdString()));
    QCOMPARE(snapshot(parent.path()), previous);
}

void TestAtomicOutput::onnxExportSurvivesCancel()
{
    QTemporaryDir parent;
    const QString path = parent.filePath("model.onnx");
    const Checkpoint ck = loadCheckpoint(kDemo.toStdString());
    const QuantConfig quant = QuantConfig::fromCheckpoint(ck);
    exportOnnx(ck, quant, {}, path.toStdString());
    const QMap<QString, QByteArray> previous = snapshot(parent.path());

    // the second export writes other bytes (f32 weights with Q/DQ instead of int8 initializers)
    OnnxExportOptions other;
    other.weights = OnnxWeightForm::Fp32QDQ;
    int reports = 0;
    {
        QTemporaryDir scratch;
        Progress count([&](const ProgressEvent &) { ++reports; });
        exportOnnx(ck, quant, other, scratch.filePath("probe.onnx").toStdString(), &count);
        QVERIFY(readAll(scratch.filePath("probe.onnx")) != readAll(path));
    }
    QVERIFY2(reports >= 3, qPrintable(QString::number(reports))); // per MiB, and the end
    for (int cancelAt = -1; cancelAt < reports; ++cancelAt) {
        int seen = 0;
        Progress progress([&](const ProgressEvent &) {
            if (seen++ == cancelAt)
                progress.cancel();
        });
        if (cancelAt < 0)
            progress.cancel(); // cancelled before the job started
        QVERIFY_THROWS_EXCEPTION(CancelledError, exportOnnx(ck, quant, other, path.toStdString(), &progress));
        QCOMPARE(snapshot(parent.path()), previous);
    }
    exportOnnx(ck, quant, other, path.toStdString());
    QVERIFY(snapshot(parent.path()) != previous);
    QCOMPARE(snapshot(parent.path()).keys(), previous.keys());
}

void TestAtomicOutput::safetensorsFailureKeepsPreviousFile()
{
    QTemporaryDir parent;
    const QString path = parent.filePath("out.safetensors");
    const Tensor a = Tensor::fromValues<float>({2}, {1.0F, 2.0F});
    writeSafetensors(path.toStdString(), {{"a", &a}});
    const QMap<QString, QByteArray> previous = snapshot(parent.path());
    const Tensor undefined;
    QVERIFY_THROWS_EXCEPTION(ShapeError, writeSafetensors(path.toStdString(), {{"a", &a}, {"b", &undefined}}));
    QCOMPARE(snapshot(parent.path()), previous);
    QVERIFY_THROWS_EXCEPTION(ShapeError, writeSafetensors(path.toStdString(), {{"a", &a}, {"a", &a}}));
    QCOMPARE(snapshot(parent.path()), previous);
}

void TestAtomicOutput::writerDyingHalfWayKeepsPreviousFile()
{
    QTemporaryDir parent;
    const QString path = parent.filePath("settings.json");
    writeFileAtomically(path.toStdString(), std::string_view("{\"previous\": true}\n"));
    const QMap<QString, QByteArray> previous = snapshot(parent.path());
    for (const int dieAfter : {0, 1, 1000, 100000}) {
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, writeFileAtomically(path.toStdString(), [&](std::ostream &out) {
                                     const std::string chunk(static_cast<std::size_t>(dieAfter), 'x');
                                     out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
                                     throw std::runtime_error("the writer died");
                                 }));
        QCOMPARE(snapshot(parent.path()), previous);
    }
    QVERIFY_THROWS_EXCEPTION(CancelledError, writeFileAtomically(path.toStdString(), [](std::ostream &out) {
                                 out << "half";
                                 throw CancelledError();
                             }));
    QCOMPARE(snapshot(parent.path()), previous);
}

void TestAtomicOutput::unwritableFolderLeavesNothing()
{
    QTemporaryDir parent;
    const QString missing = parent.filePath("no/such/folder/out.onnx");
    try {
        writeFileAtomically(missing.toStdString(), std::string_view("x"));
        QFAIL("no error");
    } catch (const IoError &e) {
        QVERIFY2(std::string(e.what()).find("cannot create file") != std::string::npos, e.what());
        QCOMPARE(e.where().file, missing.toStdString());
    }
    QVERIFY(snapshot(parent.path()).isEmpty());
}

QTEST_GUILESS_MAIN(TestAtomicOutput)
#include "tst_atomic_output.moc"

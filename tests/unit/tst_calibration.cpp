// Calibration (issue 8): data readers, the calibrated folder written by `qdq calibrate` read back
// (every original tensor bit-exact, every _amax key and shape as reference §2.1), bad input
// (exit code 2), cancellation (no output) and collector memory bounded over 10,000 samples.
#include "support/test_support.h"

#include "qdq/calibration.h"
#include "qdq/checkpoint.h"
#include "qdq/errors.h"
#include "qdq/io/safetensors.h"
#include "qdq/quant/tensor_quantizer.h"

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

#include <cstring>
#include <filesystem>
#include <fstream>

using namespace qdq;
using namespace qdq::test;
namespace fs = std::filesystem;

namespace {

const QString kDemo = QStringLiteral(QDQ_SOURCE_DIR "/resources/demo/tiny-qdqbert");

void writeText(const QString &path, const std::string &text)
{
    std::ofstream out(path.toStdString(), std::ios::binary);
    out << text;
}

bool bitEqual(const Tensor &a, const Tensor &b)
{
    if (a.dtype() != b.dtype() || a.shape() != b.shape())
        return false;
    const Tensor ca = a.contiguous();
    const Tensor cb = b.contiguous();
    return std::memcmp(ca.rawData(), cb.rawData(), ca.nbytes()) == 0;
}

// Entries of `parent` whose name starts with "." + `name` + ".": the temporary folders.
int leftovers(const QString &parent, const QString &name)
{
    return static_cast<int>(QDir(parent).entryList({"." + name + ".*"}, QDir::AllEntries | QDir::Hidden).size());
}

std::vector<CalibrationExample> syntheticExamples(int n)
{
    static const char *words[] = {"the",     "model",     "calibration", "histogram", "paris", "quantization",
                                  "bert",    "attention", "is",          "a",         "very",  "small",
                                  "network", "of",        "numbers",     "!"};
    std::vector<CalibrationExample> out;
    std::uint64_t s = 12345;
    for (int i = 0; i < n; ++i) {
        std::string text;
        const int len = 3 + static_cast<int>(i % 17);
        for (int w = 0; w < len; ++w) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            text += std::string(w ? " " : "") + words[(s >> 33U) % 16];
        }
        out.push_back({text, std::nullopt});
    }
    return out;
}

// Fake quant at every site with the existing TensorQuantizer (reference §3): calibrated amax
// from a checkpoint's _amax buffers, or dynamic amax when `dynamic` (§2.4). A stand-in for
// `qdq run --precision qdq`, which is being built in parallel (issue "Quantized execution").
class FakeQuantHooks : public SiteHooks {
public:
    FakeQuantHooks(const Checkpoint &ck, bool dynamic)
    {
        for (const QuantizerInfo &q : ck.quantizers) {
            QuantDescriptor d;
            if (siteIsWeight(q.site.id))
                d.axis = 0;
            TensorQuantizer tq(d);
            if (!dynamic)
                tq.setAmax(ck.get(q.amaxKey));
            m_q.emplace(q.site, std::move(tq));
        }
    }
    Tensor apply(const QuantizerSite &site, Tensor x, TensorObserver *) override { return m_q.at(site).apply(x); }

private:
    std::map<QuantizerSite, TensorQuantizer> m_q;
};

// SQNR in dB of `y` against the reference `x`.
double sqnr(const Tensor &x, const Tensor &y)
{
    const std::vector<float> a = x.toFloatVector();
    const std::vector<float> b = y.toFloatVector();
    double s = 0;
    double n = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        s += double(a[i]) * a[i];
        n += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    }
    return 10 * std::log10(s / n);
}

} // namespace

class TestCalibration : public QObject {
    Q_OBJECT
private slots:
    void textFile();
    void jsonlWithPairs();
    void csvAndTsvColumns();
    void badDataNamesFileLineAndField();
    void selectIsDeterministic();
    void roundTripKeepsEveryTensorAndAddsEveryAmax();
    void calibrationFileRestoresEveryMethod();
    void everyMethodWritesItsAmax();
    void badCliInputIsExit2();
    void outputExistsNeedsForce();
    void cancelledLeavesNoOutput();
    void collectorMemoryIsBounded();
    void calibratedAmaxVersusDynamic();

private:
    QTemporaryDir m_dir;
    QString calibrated(const QString &method); // a folder written by qdq calibrate (cached)
    std::map<QString, QString> m_outputs;
};

QString TestCalibration::calibrated(const QString &method)
{
    if (m_outputs.count(method))
        return m_outputs[method];
    const QString out = m_dir.filePath("out-" + method);
    const ProcessResult r = runCli({"calibrate", "--model", kDemo, "--data", dataPath("calibration/sentences.txt"),
                                    "--method", method, "--batch", "4", "--max-length", "32", "--samples", "0",
                                    "--percentile", "99.9", "--out", out, "--quiet"});
    if (r.exitCode != 0)
        qWarning("%s", r.err.constData());
    m_outputs[method] = r.exitCode == 0 ? out : QString();
    return m_outputs[method];
}

void TestCalibration::textFile()
{
    const QString path = m_dir.filePath("a.txt");
    writeText(path, "first line\r\n\n  \nsecond, with comma\nthird");
    const auto ex = readCalibrationData(path.toStdString());
    QCOMPARE(ex.size(), std::size_t(3));
    QCOMPARE(ex[0].text, std::string("first line"));
    QCOMPARE(ex[1].text, std::string("second, with comma"));
    QCOMPARE(ex[2].text, std::string("third"));
    QVERIFY(!ex[0].pair);
}

void TestCalibration::jsonlWithPairs()
{
    const QString path = m_dir.filePath("a.jsonl");
    writeText(path,
              "{\"text\": \"q one\", \"text_pair\": \"ctx one\"}\n\n{\"text\": \"q \\\"two\\\"\", \"other\": 1}\n");
    const auto ex = readCalibrationData(path.toStdString());
    QCOMPARE(ex.size(), std::size_t(2));
    QCOMPARE(ex[0].text, std::string("q one"));
    QCOMPARE(*ex[0].pair, std::string("ctx one"));
    QCOMPARE(ex[1].text, std::string("q \"two\""));
    QVERIFY(!ex[1].pair);
    DataOptions o;
    o.column = "other";
    QVERIFY_THROWS_EXCEPTION(FormatError, (void)readCalibrationData(path.toStdString(), o));
}

void TestCalibration::csvAndTsvColumns()
{
    const QString csv = m_dir.filePath("a.csv");
    writeText(csv, "id,sentence,label\n1,\"hello, world\",0\n2,\"say \"\"hi\"\"\nagain\",1\n");
    DataOptions o;
    o.column = "sentence";
    auto ex = readCalibrationData(csv.toStdString(), o);
    QCOMPARE(ex.size(), std::size_t(2));
    QCOMPARE(ex[0].text, std::string("hello, world"));
    QCOMPARE(ex[1].text, std::string("say \"hi\"\nagain"));
    const QString tsv = m_dir.filePath("a.tsv");
    writeText(tsv, "question\tcontext\nwho?\tme, myself\nwhat?\tthat\n");
    o.column = "question";
    o.pairColumn = "context";
    ex = readCalibrationData(tsv.toStdString(), o);
    QCOMPARE(ex.size(), std::size_t(2));
    QCOMPARE(ex[0].text, std::string("who?"));
    QCOMPARE(*ex[0].pair, std::string("me, myself"));
}

void TestCalibration::badDataNamesFileLineAndField()
{
    auto messageOf = [](const QString &path, DataOptions o = {}) -> std::string {
        try {
            (void)readCalibrationData(path.toStdString(), o);
        } catch (const FormatError &e) {
            return e.what();
        }
        return "no error";
    };
    const QString empty = m_dir.filePath("empty.txt");
    writeText(empty, "\n \n");
    QVERIFY(messageOf(empty).find("no examples") != std::string::npos);

    const QString jsonl = m_dir.filePath("bad.jsonl");
    writeText(jsonl, "{\"text\": \"ok\"}\n{\"text\": \"ok\"}\n{\"text\": broken}\n");
    const std::string m = messageOf(jsonl);
    QVERIFY2(m.find("bad.jsonl") != std::string::npos && m.find("line 3") != std::string::npos, m.c_str());

    const QString noText = m_dir.filePath("notext.jsonl");
    writeText(noText, "{\"sentence\": \"ok\"}\n");
    const std::string m2 = messageOf(noText);
    QVERIFY2(m2.find("line 1") != std::string::npos && m2.find("text") != std::string::npos, m2.c_str());

    const QString csv = m_dir.filePath("cols.csv");
    writeText(csv, "a,b\n1,2\n3\n");
    DataOptions o;
    o.column = "sentence";
    const std::string m3 = messageOf(csv, o);
    QVERIFY2(m3.find("no column \"sentence\"") != std::string::npos && m3.find("columns: a, b") != std::string::npos,
             m3.c_str());
    o.column = "b";
    const std::string m4 = messageOf(csv, o);
    QVERIFY2(m4.find("line 3") != std::string::npos && m4.find("expected 2 fields") != std::string::npos, m4.c_str());
}

void TestCalibration::selectIsDeterministic()
{
    std::vector<CalibrationExample> ex;
    for (int i = 0; i < 10; ++i)
        ex.push_back({std::to_string(i), std::nullopt});
    const auto first = selectExamples(ex, 4);
    QCOMPARE(first.size(), std::size_t(4));
    QCOMPARE(first[3].text, std::string("3"));
    const auto a = selectExamples(ex, 5, 7);
    const auto b = selectExamples(ex, 5, 7);
    const auto c = selectExamples(ex, 0, 8);
    QCOMPARE(c.size(), std::size_t(10));
    std::string sa;
    std::string sb;
    for (std::size_t i = 0; i < 5; ++i) {
        sa += a[i].text;
        sb += b[i].text;
    }
    QCOMPARE(sa, sb);
    // splitmix64 Fisher-Yates with seed 7 (documented in calibration_data.h), fixed forever
    QVERIFY(sa != "01234");
}

void TestCalibration::roundTripKeepsEveryTensorAndAddsEveryAmax()
{
    const QString out = calibrated("max");
    QVERIFY(!out.isEmpty());
    const Checkpoint orig = loadCheckpoint(kDemo.toStdString());
    const Checkpoint back = loadCheckpoint(out.toStdString());
    QVERIFY(back.configFromFile);
    QCOMPARE(back.config.toJson(), orig.config.toJson());
    QCOMPARE(back.tokenizerFiles, orig.tokenizerFiles);
    // every original tensor (including aliases, re-created by the loader) bit for bit
    for (const auto &[name, t] : orig.tensors) {
        if (name.size() > 6 && name.compare(name.size() - 6, 6, "._amax") == 0)
            continue;
        QVERIFY2(back.has(name), name.c_str());
        QVERIFY2(bitEqual(t, back.get(name)), name.c_str());
    }
    // nothing but _amax added; tied aliases not stored twice
    const SafetensorsFile file = SafetensorsFile::open((out + "/model.safetensors").toStdString());
    QCOMPARE(file.metadata().at("format"), std::string("pt"));
    for (const std::string &k : file.names())
        QVERIFY2(orig.has(k) && std::find(orig.tiedKeys.begin(), orig.tiedKeys.end(), k) == orig.tiedKeys.end(),
                 k.c_str());
    // reference §2.1: 20 sites per layer, per-tensor [] f32, per-row weights [out, 1] f32
    QCOMPARE(back.quantizers.size(), std::size_t(40));
    QCOMPARE(back.calibratedQuantizers(), 40);
    const BertConfig &c = back.config;
    for (const QuantizerInfo &q : back.quantizers) {
        QVERIFY(file.contains(q.amaxKey));
        QCOMPARE(q.amaxDType, DType::F32);
        if (siteIsWeight(q.site.id)) {
            const std::int64_t rows = q.site.id == SiteId::IntermediateWeight ? c.intermediateSize : c.hiddenSize;
            QCOMPARE(q.amaxShape, (Shape{rows, 1}));
        } else {
            QCOMPARE(q.amaxShape, Shape{});
        }
    }
    // weights: max per row = max |w| of that row (§4.1: what the HF example stores)
    const Tensor w = orig.get("bert.encoder.layer.1.intermediate.dense.weight").contiguous();
    const Tensor &a = back.get("bert.encoder.layer.1.intermediate.dense._weight_quantizer._amax");
    const float *wp = w.data<float>();
    for (std::int64_t r = 0; r < w.size(0); ++r) {
        float m = 0;
        for (std::int64_t k = 0; k < w.size(1); ++k)
            m = std::max(m, std::fabs(wp[r * w.size(1) + k]));
        QCOMPARE(a.data<float>()[r], m);
    }
}

void TestCalibration::calibrationFileRestoresEveryMethod()
{
    const QString out = calibrated("max");
    QVERIFY(!out.isEmpty());
    const CalibrationFile f = loadCalibrationFile((out + "/calibration.safetensors").toStdString());
    QCOMPARE(f.metadata.at("format"), std::string("qdq-calibration/1"));
    QCOMPARE(f.metadata.at("samples"), std::string("20"));
    QCOMPARE(f.metadata.at("batches"), std::string("5"));
    QCOMPARE(f.sites.size(), std::size_t(40));
    int histograms = 0;
    AmaxOptions o;
    o.percentile = std::stod(f.metadata.at("percentile"));
    for (const CalibrationFile::Site &s : f.sites) {
        QVERIFY(s.site.has_value());
        QVERIFY(s.max.defined());
        if (!s.histogram)
            continue;
        ++histograms;
        // the restored histogram recomputes exactly the stored amax of every method
        for (const CalibMethod m :
             {CalibMethod::Max, CalibMethod::Percentile, CalibMethod::Mse, CalibMethod::Entropy}) {
            const std::string key(calibMethodName(m));
            QVERIFY2(s.amaxByMethod.count(key), (s.name + " " + key).c_str());
            QCOMPARE(*s.histogram->computeAmax(m, o), s.amaxByMethod.at(key));
        }
        QCOMPARE(s.histogram->runningMax(), s.max.toFloatVector().at(0));
    }
    QCOMPARE(histograms, 28);
}

void TestCalibration::everyMethodWritesItsAmax()
{
    const QString maxOut = calibrated("max");
    QVERIFY(!maxOut.isEmpty());
    const CalibrationFile f = loadCalibrationFile((maxOut + "/calibration.safetensors").toStdString());
    for (const QString method : {"percentile", "mse", "entropy"}) {
        const QString out = calibrated(method);
        QVERIFY2(!out.isEmpty(), qPrintable(method));
        const SafetensorsFile model = SafetensorsFile::open((out + "/model.safetensors").toStdString());
        for (const CalibrationFile::Site &s : f.sites) {
            const Tensor a = model.tensor(s.name + "._amax");
            if (!s.histogram) { // weights stay max per row
                QVERIFY(bitEqual(a, s.max));
                continue;
            }
            QCOMPARE(a.shape(), Shape{});
            QCOMPARE(a.toFloatVector().at(0), s.amaxByMethod.at(method.toStdString()));
        }
    }
}

void TestCalibration::badCliInputIsExit2()
{
    const QString empty = m_dir.filePath("empty-cli.txt");
    writeText(empty, "");
    const QString csv = m_dir.filePath("cli.csv");
    writeText(csv, "a,b\n1,2\n");
    const QString jsonl = m_dir.filePath("cli.jsonl");
    writeText(jsonl, "{\"text\": \"fine\"}\n{\"text\": \"unterminated}\n");
    struct Case {
        QStringList args;
        const char *expect;
    };
    const Case cases[] = {
        {{"--data", empty}, "no examples"},
        {{"--data", csv, "--column", "sentence"}, "no column \"sentence\""},
        {{"--data", jsonl}, "line 2"},
        {{"--data", m_dir.filePath("missing.txt")}, "cannot open"},
    };
    for (const Case &c : cases) {
        const QString out = m_dir.filePath("bad-out");
        const ProcessResult r =
            runCli(QStringList{"calibrate", "--model", kDemo, "--method", "max", "--out", out} + c.args);
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains(c.expect), r.err.constData());
        QVERIFY2(r.err.startsWith("qdq: error: "), r.err.constData());
        QVERIFY(!QFileInfo::exists(out));
        QCOMPARE(leftovers(m_dir.path(), "bad-out"), 0);
    }
    // usage mistakes are exit 1
    const ProcessResult u =
        runCli({"calibrate", "--model", kDemo, "--data", empty, "--method", "median", "--out", m_dir.filePath("x")});
    QCOMPARE(u.exitCode, 1);
    // --json: the error object
    const ProcessResult j = runCli(
        {"calibrate", "--model", kDemo, "--data", empty, "--method", "max", "--out", m_dir.filePath("x"), "--json"});
    QCOMPARE(j.exitCode, 2);
    QCOMPARE(QJsonDocument::fromJson(j.out).object()["error"].toObject()["code"].toInt(), 2);
}

void TestCalibration::outputExistsNeedsForce()
{
    const QString out = m_dir.filePath("exists");
    QDir().mkpath(out);
    writeText(out + "/keep.txt", "mine");
    const QStringList args{"calibrate", "--model",    kDemo,       "--data", dataPath("calibration/sentences.txt"),
                           "--method",  "percentile", "--samples", "4",      "--out",
                           out,         "--quiet"};
    const ProcessResult r = runCli(args);
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(r.err.contains("--force"), r.err.constData());
    QVERIFY(QFileInfo::exists(out + "/keep.txt"));
    const ProcessResult f = runCli(args + QStringList{"--force", "--json"});
    QCOMPARE(f.exitCode, 0);
    QVERIFY(!QFileInfo::exists(out + "/keep.txt"));
    QVERIFY(QFileInfo::exists(out + "/model.safetensors"));
    QVERIFY(QFileInfo::exists(out + "/calibration.safetensors"));
    QVERIFY(QFileInfo::exists(out + "/config.json"));
    QVERIFY(QFileInfo::exists(out + "/vocab.txt"));
    QCOMPARE(leftovers(m_dir.path(), "exists"), 0);
    const QJsonObject j = QJsonDocument::fromJson(f.out).object();
    QCOMPARE(j["samples"].toInt(), 4);
    QCOMPARE(j["method"].toString(), QString("percentile"));
    // an empty existing folder is fine without --force
    const QString emptyOut = m_dir.filePath("empty-out");
    QDir().mkpath(emptyOut);
    QStringList a2 = args;
    a2[a2.indexOf(out)] = emptyOut;
    QCOMPARE(runCli(a2).exitCode, 0);
}

void TestCalibration::cancelledLeavesNoOutput()
{
    const Checkpoint ck = loadCheckpoint(kDemo.toStdString());
    const Tokenizer tok = tokenizerForCheckpoint(ck);
    const auto examples = readCalibrationData(dataPath("calibration/sentences.txt").toStdString());
    CalibrationOptions o;
    o.batchSize = 4;
    // cancelled during the pass (from the callback, as a Cancel button on another thread would)
    {
        Calibrator cal(ck, o);
        Progress progress([&](const ProgressEvent &e) {
            if (e.done >= 8)
                progress.cancel();
        });
        QVERIFY_THROWS_EXCEPTION(CancelledError, cal.run(examples, tok, &progress));
        QCOMPARE(cal.samples(), std::int64_t(8));
    }
    // cancelled while writing: nothing at the output, no temporary folder left
    Calibrator cal(ck, o);
    cal.run(examples, tok);
    for (const int cancelAt : {0, 1, 2, 3}) {
        const QString out = m_dir.filePath("cancelled");
        Progress progress([&](const ProgressEvent &e) {
            if (e.stage == "writing" && e.done >= cancelAt)
                progress.cancel();
        });
        CalibratedOutput output;
        output.directory = out.toStdString();
        QVERIFY_THROWS_EXCEPTION(CancelledError, writeCalibratedCheckpoint(ck, cal, output, &progress));
        QVERIFY(!QFileInfo::exists(out));
        QCOMPARE(leftovers(m_dir.path(), "cancelled"), 0);
    }
}

void TestCalibration::collectorMemoryIsBounded()
{
    // 10,000 samples: the collectors' state after 1,000 and after 10,000 is the same size
    // (histogram growth aside, bounded by bins x sites; reference §4.3).
    const Checkpoint ck = loadCheckpoint(kDemo.toStdString());
    const Tokenizer tok = tokenizerForCheckpoint(ck);
    const auto examples = syntheticExamples(10000);
    CalibrationOptions o;
    o.batchSize = 100;
    Calibrator cal(ck, o);
    QDQBertModel model(ck);
    const std::vector<CalibrationExample> first(examples.begin(), examples.begin() + 1000);
    const std::vector<CalibrationExample> rest(examples.begin() + 1000, examples.end());
    cal.run(model, first, tok);
    const std::size_t after1k = cal.memoryBytes();
    const long rss1k = test::procStatusKiB("VmHWM");
    cal.run(model, rest, tok);
    const std::size_t after10k = cal.memoryBytes();
    const long rss10k = test::procStatusKiB("VmHWM");
    qInfo("peak RSS: %ld KiB after 1,000 samples, %ld KiB after 10,000", rss1k, rss10k);
    QVERIFY(rss1k > 0);
    QVERIFY(rss10k - rss1k < 32 * 1024);
    QCOMPARE(cal.samples(), std::int64_t(10000));
    qInfo("collector state: %zu bytes after 1,000 samples, %zu after 10,000", after1k, after10k);
    std::size_t bins = 0;
    for (const SiteStatistics &s : cal.sites())
        if (s.histogram)
            bins += s.histogram->counts().size();
    QVERIFY(after10k <= after1k + after1k / 10);
    // 2 doubles (count, edge) per bin, capacity slack at most 2x, plus the per-row maxima
    QVERIFY(after10k <= 2 * 16 * (bins + 28) + 40 * 64 * 4 * 2);
}

void TestCalibration::calibratedAmaxVersusDynamic()
{
    // Masked-LM logits of the demo model on the calibration sentences: FP32 versus fake quant
    // with each method's calibrated amax and with dynamic amax (per call, §2.4).
    const Checkpoint fp = loadCheckpoint(kDemo.toStdString());
    const Tokenizer tok = tokenizerForCheckpoint(fp);
    const auto examples = readCalibrationData(dataPath("calibration/sentences.txt").toStdString());
    std::vector<std::string> texts;
    for (const auto &e : examples)
        texts.push_back(e.text);
    EncodeOptions eo;
    eo.padding = PaddingStrategy::Longest;
    const auto enc = tok.encodeBatch(texts, {}, eo);
    std::vector<std::int64_t> ids;
    std::vector<std::int64_t> mask;
    for (const Encoding &e : enc) {
        ids.insert(ids.end(), e.ids.begin(), e.ids.end());
        mask.insert(mask.end(), e.attentionMask.begin(), e.attentionMask.end());
    }
    const auto b = static_cast<std::int64_t>(enc.size());
    const auto l = static_cast<std::int64_t>(enc.front().size());
    ForwardInputs in;
    in.inputIds = Tensor::fromValues<std::int64_t>({b, l}, ids);
    in.attentionMask = Tensor::fromValues<std::int64_t>({b, l}, mask);
    QDQBertModel model(fp, ModelOptions{Task::MaskedLm});
    const Tensor ref = model.forward(in).logits.clone();
    model.setSiteHooks(std::make_shared<FakeQuantHooks>(fp, true));
    const double dynamic = sqnr(ref, model.forward(in).logits);
    QVERIFY(dynamic > 10 && dynamic < 200);
    for (const QString method : {"max", "percentile", "mse", "entropy"}) {
        const QString out = calibrated(method);
        QVERIFY(!out.isEmpty());
        const Checkpoint ck = loadCheckpoint(out.toStdString());
        QDQBertModel q(ck, ModelOptions{Task::MaskedLm});
        q.setSiteHooks(std::make_shared<FakeQuantHooks>(ck, false));
        const double calibrated = sqnr(ref, q.forward(in).logits);
        qInfo("logits SQNR vs FP32: %s calibrated %.2f dB, dynamic amax %.2f dB", qPrintable(method), calibrated,
              dynamic);
        QVERIFY(calibrated > 10 && calibrated < 200);
        // measured: max 37.0, percentile (99.9) 37.3, mse 36.8, entropy 35.4 dB vs dynamic 36.8 dB
        if (method == "max" || method == "percentile")
            QVERIFY2(calibrated >= dynamic, qPrintable(method));
    }
}

QTEST_GUILESS_MAIN(TestCalibration)
#include "tst_calibration.moc"

// qdq make-synthetic through the built CLI: the folder holds the keys and shapes of reference
// §2.1 (with 20 `_amax` per layer under --qdq), loads and runs; the same seed gives the same
// bytes; outlier dims show in every LayerNorm and in the calibrated activations; bad arguments
// exit 1 and a missing vocabulary exits 2, with nothing written.
#include "support/test_support.h"

#include "qdq/checkpoint.h"
#include "qdq/io/safetensors.h"
#include "qdq/model.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

#include <set>

using namespace qdq;
using namespace qdq::test;

namespace {

constexpr int kLayers = 2;
constexpr int kHidden = 64;
constexpr int kIntermediate = 96;
constexpr int kVocab = 1100;

QByteArray readAll(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

float maxAbs(const Tensor &t)
{
    const Tensor c = t.contiguous();
    float m = 0.0f;
    for (std::int64_t i = 0; i < c.numel(); ++i)
        m = std::max(m, std::abs(c.data<float>()[i]));
    return m;
}

} // namespace

class TestMakeSynthetic : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void keysAndShapes();
    void loadsAndRuns();
    void sameSeedSameBytes();
    void outlierDims();
    void badArguments_data();
    void badArguments();
    void missingVocabularyIsExit2();
    void existingFolderNeedsForce();

private:
    QTemporaryDir m_dir;
    QString m_vocab;
    QStringList args(const QString &out, const QStringList &extra = {}) const
    {
        return QStringList{"make-synthetic",
                           "--layers",
                           QString::number(kLayers),
                           "--hidden",
                           QString::number(kHidden),
                           "--heads",
                           "4",
                           "--intermediate",
                           QString::number(kIntermediate),
                           "--max-position",
                           "64",
                           "--vocab",
                           m_vocab,
                           "--out",
                           out,
                           "--quiet"} +
               extra;
    }
    QString make(const QString &name, const QStringList &extra = {})
    {
        const QString out = m_dir.filePath(name);
        const ProcessResult r = runCli(args(out, extra));
        if (r.exitCode != 0)
            qWarning("%s", r.err.constData());
        return r.exitCode == 0 ? out : QString();
    }
};

void TestMakeSynthetic::initTestCase()
{
    QVERIFY(m_dir.isValid());
    // a small vocabulary: the specials where BERT has them, then made-up word pieces
    QStringList tokens{"[PAD]"};
    for (int i = 1; i < 100; ++i)
        tokens << QString("[unused%1]").arg(i - 1);
    tokens << "[UNK]"
           << "[CLS]"
           << "[SEP]"
           << "[MASK]";
    while (tokens.size() < kVocab)
        tokens << QString("w%1").arg(tokens.size());
    m_vocab = m_dir.filePath("vocab.txt");
    QFile f(m_vocab);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(tokens.join('\n').toUtf8() + "\n");
}

void TestMakeSynthetic::keysAndShapes()
{
    const QString out = make("qdq", {"--qdq", "--outliers", "3", "--seed", "7"});
    QVERIFY(!out.isEmpty());
    for (const char *file :
         {"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json", "synthetic.json"})
        QVERIFY2(QFile::exists(out + "/" + file), file);
    QVERIFY(!QDir(m_dir.path()).exists("qdq.partial"));

    const QJsonObject config = QJsonDocument::fromJson(readAll(out + "/config.json")).object();
    QCOMPARE(config["num_hidden_layers"].toInt(), kLayers);
    QCOMPARE(config["hidden_size"].toInt(), kHidden);
    QCOMPARE(config["num_attention_heads"].toInt(), 4);
    QCOMPARE(config["intermediate_size"].toInt(), kIntermediate);
    QCOMPARE(config["vocab_size"].toInt(), kVocab);
    QCOMPARE(config["architectures"].toArray().first().toString(), QString("BertForMaskedLM"));

    const SafetensorsFile st = SafetensorsFile::open((out + "/model.safetensors").toStdString());
    const auto shape = [&](const std::string &name) {
        if (!st.contains(name))
            return Shape{-1};
        return st.shape(name);
    };
    const std::int64_t h = kHidden;
    const std::int64_t in = kIntermediate;
    QCOMPARE(shape("bert.embeddings.word_embeddings.weight"), (Shape{kVocab, h}));
    QCOMPARE(shape("bert.embeddings.position_embeddings.weight"), (Shape{64, h}));
    QCOMPARE(shape("bert.embeddings.token_type_embeddings.weight"), (Shape{2, h}));
    QCOMPARE(shape("bert.embeddings.LayerNorm.weight"), (Shape{h}));
    QCOMPARE(shape("cls.predictions.transform.dense.weight"), (Shape{h, h}));
    QCOMPARE(shape("cls.predictions.transform.LayerNorm.bias"), (Shape{h}));
    QCOMPARE(shape("cls.predictions.bias"), (Shape{kVocab}));
    QVERIFY(!st.contains("cls.predictions.decoder.weight")); // tied to the word embeddings (§2.1)

    int amaxKeys = 0;
    for (const std::string &name : st.names())
        amaxKeys += name.ends_with("._amax") ? 1 : 0;
    QCOMPARE(amaxKeys, 20 * kLayers);
    for (int i = 0; i < kLayers; ++i) {
        const std::string b = "bert.encoder.layer." + std::to_string(i) + ".";
        const std::vector<std::tuple<std::string, std::int64_t, std::int64_t>> linears = {
            {"attention.self.query", h, h},   {"attention.self.key", h, h},  {"attention.self.value", h, h},
            {"attention.output.dense", h, h}, {"intermediate.dense", in, h}, {"output.dense", h, in}};
        for (const auto &[name, outF, inF] : linears) {
            QCOMPARE(shape(b + name + ".weight"), (Shape{outF, inF}));
            QCOMPARE(shape(b + name + ".bias"), (Shape{outF}));
            QCOMPARE(shape(b + name + "._weight_quantizer._amax"), (Shape{outF, 1})); // per row
            QCOMPARE(shape(b + name + "._input_quantizer._amax"), Shape{});           // 0-dim
            QCOMPARE(st.dtype(b + name + "._input_quantizer._amax"), DType::F32);
        }
        for (const char *q :
             {"attention.self.matmul_q_input_quantizer", "attention.self.matmul_k_input_quantizer",
              "attention.self.matmul_v_input_quantizer", "attention.self.matmul_a_input_quantizer",
              "attention.output.add_local_input_quantizer", "attention.output.add_residual_input_quantizer",
              "output.add_local_input_quantizer", "output.add_residual_input_quantizer"})
            QCOMPARE(shape(b + q + "._amax"), Shape{});
        QCOMPARE(shape(b + "attention.output.LayerNorm.weight"), (Shape{h}));
        QCOMPARE(shape(b + "output.LayerNorm.bias"), (Shape{h}));
    }

    // without --qdq: the same weights, no _amax at all (every quantizer dynamic, §2.2)
    const QString plain = make("plain", {"--outliers", "3", "--seed", "7"});
    QVERIFY(!plain.isEmpty());
    const SafetensorsFile p = SafetensorsFile::open((plain + "/model.safetensors").toStdString());
    for (const std::string &name : p.names())
        QVERIFY2(!name.ends_with("._amax"), name.c_str());
    QCOMPARE(p.names().size() + 20 * kLayers, st.names().size());
}

void TestMakeSynthetic::loadsAndRuns()
{
    const QString out = make("runs", {"--qdq", "--seed", "3"});
    QVERIFY(!out.isEmpty());
    const Checkpoint ck = loadCheckpoint(out.toStdString());
    QCOMPARE(ck.calibratedQuantizers(), 20 * kLayers);
    QVERIFY(ck.hasHead("masked-lm"));
    QVERIFY(ck.missingKeys.empty());
    QCOMPARE(ck.tokenizerFiles.count("vocab.txt"), std::size_t(1));
    QDQBertModel model(ck, ModelOptions{Task::MaskedLm});
    ForwardInputs in;
    in.inputIds = Tensor::fromValues<std::int64_t>({1, 4}, {101, 500, 103, 102});
    const ForwardOutputs o = model.forward(in);
    QCOMPARE(o.logits.shape(), (Shape{1, 4, kVocab}));

    const ProcessResult r = runCli({"info", "--model", out, "--json"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
}

void TestMakeSynthetic::sameSeedSameBytes()
{
    const QString a = make("seed-a", {"--qdq", "--outliers", "2", "--seed", "11"});
    const QString b = make("seed-b", {"--qdq", "--outliers", "2", "--seed", "11"});
    const QString c = make("seed-c", {"--qdq", "--outliers", "2", "--seed", "12"});
    QVERIFY(!a.isEmpty() && !b.isEmpty() && !c.isEmpty());
    for (const char *file : {"model.safetensors", "config.json", "synthetic.json"})
        QVERIFY2(readAll(a + "/" + file) == readAll(b + "/" + file), file);
    QVERIFY(readAll(a + "/model.safetensors") != readAll(c + "/model.safetensors"));
}

void TestMakeSynthetic::outlierDims()
{
    const QString out = make("outliers", {"--qdq", "--outliers", "4", "--seed", "5"});
    const QString none = make("no-outliers", {"--qdq", "--seed", "5"});
    QVERIFY(!out.isEmpty() && !none.isEmpty());
    const QJsonArray listed =
        QJsonDocument::fromJson(readAll(out + "/synthetic.json")).object()["outlier_dims"].toArray();
    QCOMPARE(listed.size(), 4);
    std::set<std::int64_t> dims;
    for (const auto &d : listed)
        dims.insert(d.toInteger());
    QCOMPARE(dims.size(), std::size_t(4));

    const SafetensorsFile st = SafetensorsFile::open((out + "/model.safetensors").toStdString());
    std::vector<std::string> norms = {"bert.embeddings.LayerNorm"};
    for (int i = 0; i < kLayers; ++i) {
        norms.push_back("bert.encoder.layer." + std::to_string(i) + ".attention.output.LayerNorm");
        norms.push_back("bert.encoder.layer." + std::to_string(i) + ".output.LayerNorm");
    }
    for (const std::string &norm : norms) {
        const Tensor w = st.tensor(norm + ".weight").contiguous();
        for (std::int64_t d = 0; d < kHidden; ++d) {
            const float g = w.data<float>()[d];
            if (dims.count(d))
                QVERIFY2(g >= 12.0f && g < 20.0f, (norm + " dim " + std::to_string(d)).c_str());
            else
                QCOMPARE(g, 1.0f);
        }
    }
    // the outliers reach the activations: residual-add inputs have amax far above the plain model's
    const SafetensorsFile plain = SafetensorsFile::open((none + "/model.safetensors").toStdString());
    const std::string key = "bert.encoder.layer.1.attention.output.add_residual_input_quantizer._amax";
    QVERIFY(maxAbs(st.tensor(key)) > 3.0f * maxAbs(plain.tensor(key)));
}

void TestMakeSynthetic::badArguments_data()
{
    QTest::addColumn<QStringList>("bad");
    const QString vocab = m_dir.filePath("vocab.txt");
    const QString out = m_dir.filePath("never");
    const QStringList base{"make-synthetic", "--vocab", vocab, "--out", out};
    QTest::newRow("no layers") << base + QStringList{"--hidden", "64", "--heads", "4"};
    QTest::newRow("no out") << QStringList{"make-synthetic", "--layers", "1",       "--hidden", "64",
                                           "--heads",        "4",        "--vocab", vocab};
    QTest::newRow("not a number") << base + QStringList{"--layers", "two", "--hidden", "64", "--heads", "4"};
    QTest::newRow("zero layers") << base + QStringList{"--layers", "0", "--hidden", "64", "--heads", "4"};
    QTest::newRow("heads do not divide") << base + QStringList{"--layers", "1", "--hidden", "100", "--heads", "12"};
    QTest::newRow("too many outliers") << base + QStringList{"--layers", "1", "--hidden",   "64",
                                                             "--heads",  "4", "--outliers", "65"};
    QTest::newRow("negative seed") << base + QStringList{"--layers", "1", "--hidden", "64",
                                                         "--heads",  "4", "--seed",   "-1"};
    QTest::newRow("unknown option") << base + QStringList{"--layers", "1", "--hidden", "64", "--heads", "4", "--bogus"};
}

void TestMakeSynthetic::badArguments()
{
    QFETCH(QStringList, bad);
    const ProcessResult r = runCli(bad);
    QCOMPARE(r.exitCode, 1);
    QVERIFY(r.err.contains("qdq: error:"));
    QVERIFY(!QFile::exists(m_dir.filePath("never")));
    QVERIFY(!QFile::exists(m_dir.filePath("never.partial")));
}

void TestMakeSynthetic::missingVocabularyIsExit2()
{
    const ProcessResult r = runCli({"make-synthetic", "--layers", "1", "--hidden", "64", "--heads", "4", "--vocab",
                                    m_dir.filePath("absent.txt"), "--out", m_dir.filePath("never2")});
    QCOMPARE(r.exitCode, 2);
    QVERIFY(r.err.contains("absent.txt"));
    QVERIFY(!QFile::exists(m_dir.filePath("never2")));
}

void TestMakeSynthetic::existingFolderNeedsForce()
{
    const QString out = make("twice", {"--seed", "1"});
    QVERIFY(!out.isEmpty());
    const QByteArray before = readAll(out + "/model.safetensors");
    const ProcessResult again = runCli(args(out, {"--seed", "2"}));
    QCOMPARE(again.exitCode, 1);
    QCOMPARE(readAll(out + "/model.safetensors"), before);
    const ProcessResult forced = runCli(args(out, {"--seed", "2", "--force"}));
    QVERIFY2(forced.exitCode == 0, forced.err.constData());
    QVERIFY(readAll(out + "/model.safetensors") != before);
}

QTEST_GUILESS_MAIN(TestMakeSynthetic)
#include "tst_make_synthetic.moc"

// qdq run / qdq bench through the built CLI: --inputs of a golden case gives the reference's
// tensors in --save-tensors; bad input is exit code 2 with one clear line; usage mistakes exit 1.
#include "support/test_support.h"

#include "qdq/io/safetensors.h"
#include "qdq/tensor.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>

using namespace qdq;
using namespace qdq::test;

class TestCliRun : public QObject {
    Q_OBJECT
private slots:
    void savesTheReferenceTensors_data();
    void savesTheReferenceTensors();
    void jsonResults();
    void idsOutsideVocabularyIsExit2();
    void wrongPastLengthIsExit2();
    void missingHeadIsExit2();
    void unknownInputNameIsExit2();
    void textAndInputsAreExclusive();
    void unknownTaskIsUsageError();
    void generate();
    void benchJson();

private:
    QTemporaryDir m_dir;
    QString writeInputs(const QString &name, const std::vector<std::pair<std::string, const Tensor *>> &tensors)
    {
        const QString path = m_dir.filePath(name);
        writeSafetensors(path.toStdString(), tensors);
        return path;
    }
};

void TestCliRun::savesTheReferenceTensors_data()
{
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("task");
    QTest::addColumn<QString>("kase");
    QTest::addColumn<QStringList>("flags");
    QTest::newRow("base") << "base"
                          << "base"
                          << "base_padding" << QStringList{"--output-attentions", "--output-hidden-states"};
    QTest::newRow("decoder") << "decoder_cross"
                             << "causal-lm"
                             << "decoder_cross_past" << QStringList{"--output-attentions"};
    // labels turn the cache off in transformers: loss and logits, no past_key_values (issue #30)
    QTest::newRow("causal-labels") << "causal_lm"
                                   << "causal-lm"
                                   << "causal_lm_labels" << QStringList{};
    QTest::newRow("qa") << "qa"
                        << "question-answering"
                        << "qa_clamped" << QStringList{};
    QTest::newRow("legacy") << "base"
                            << "base"
                            << "base_mask3d_legacy" << QStringList{"--output-attentions", "--mask-constant", "legacy"};
}

void TestCliRun::savesTheReferenceTensors()
{
    QFETCH(QString, model);
    QFETCH(QString, task);
    QFETCH(QString, kase);
    QFETCH(QStringList, flags);
    const QString out = m_dir.filePath(kase + ".out.safetensors");
    const ProcessResult r = runCli(QStringList{"run", "--model", dataPath("model/" + model), "--task", task, "--inputs",
                                               dataPath("model/cases/" + kase + ".inputs.safetensors"),
                                               "--save-tensors", out, "--threads", "1"} +
                                   flags);
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const SafetensorsFile got = SafetensorsFile::open(out.toStdString());
    const SafetensorsFile ref =
        SafetensorsFile::open(dataPath("model/cases/" + kase + ".outputs.safetensors").toStdString());
    QCOMPARE(got.names().size(), ref.names().size());
    for (const std::string &name : ref.names()) {
        QVERIFY2(got.contains(name), name.c_str());
        const auto a = got.tensor(name).toFloatVector();
        const auto b = ref.tensor(name).toFloatVector();
        QCOMPARE(got.shape(name), ref.shape(name));
        double maxRef = 0.0, err = 0.0;
        for (std::size_t i = 0; i < a.size(); ++i) {
            maxRef = std::max(maxRef, std::abs(static_cast<double>(b[i])));
            err = std::max(err, std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
        }
        QVERIFY2(err <= (name == "loss" ? 1e-5 * std::abs(static_cast<double>(b[0])) : 1e-4 * std::max(1.0, maxRef)),
                 (name + " error " + std::to_string(err)).c_str());
    }
}

void TestCliRun::jsonResults()
{
    const ProcessResult r =
        runCli({"run", "--model", dataPath("model/seqcls"), "--task", "sequence-classification", "--inputs",
                dataPath("model/cases/seqcls_single.inputs.safetensors"), "--json", "--threads", "1"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QJsonObject o = QJsonDocument::fromJson(r.out).object();
    QCOMPARE(o["task"].toString(), QString("sequence-classification"));
    QVERIFY(o["loss"].toDouble() > 0.0);
    QVERIFY(o["milliseconds"].toDouble() > 0.0);
    const QJsonArray results = o["results"].toArray();
    QCOMPARE(results.size(), 2);
    double sum = 0.0;
    for (const auto &p : results[0].toObject()["probabilities"].toArray())
        sum += p.toObject()["probability"].toDouble();
    QVERIFY(std::abs(sum - 1.0) < 1e-5);
    QCOMPARE(results[0].toObject()["probabilities"].toArray()[0].toObject()["label"].toString(), QString("LABEL_0"));
}

void TestCliRun::idsOutsideVocabularyIsExit2()
{
    const Tensor ids = Tensor::fromValues<std::int64_t>({1, 3}, {1, 2, 500});
    const QString in = writeInputs("bad_ids.safetensors", {{"input_ids", &ids}});
    const ProcessResult r = runCli({"run", "--model", dataPath("model/base"), "--task", "base", "--inputs", in});
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(r.err.startsWith("qdq: error: input_ids contains token id 500 outside the vocabulary [0, 99)"),
             r.err.constData());
    QCOMPARE(r.err.count('\n'), 1);
}

void TestCliRun::wrongPastLengthIsExit2()
{
    const Tensor ids = Tensor::fromValues<std::int64_t>({1, 1}, {4});
    const Tensor k(DType::F32, {1, 4, 3, 8});
    const Tensor v(DType::F32, {1, 4, 3, 8});
    const QString in = writeInputs("bad_past.safetensors",
                                   {{"input_ids", &ids}, {"past_key_values.0.0", &k}, {"past_key_values.0.1", &v}});
    const ProcessResult r =
        runCli({"run", "--model", dataPath("model/causal_lm"), "--task", "causal-lm", "--inputs", in});
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(r.err.contains("past_key_values has 1 layers; the model has 2"), r.err.constData());
}

void TestCliRun::missingHeadIsExit2()
{
    const ProcessResult r = runCli({"run", "--model", dataPath("model/base"), "--task", "question-answering",
                                    "--inputs", dataPath("model/cases/base_plain.inputs.safetensors"), "--json"});
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(r.err.startsWith("qdq: error: checkpoint has no question-answering head; use --task base"),
             r.err.constData());
    QCOMPARE(QJsonDocument::fromJson(r.out).object()["error"].toObject()["code"].toInt(), 2);
}

void TestCliRun::unknownInputNameIsExit2()
{
    const Tensor ids = Tensor::fromValues<std::int64_t>({1, 2}, {1, 2});
    const QString in = writeInputs("bad_name.safetensors", {{"input_idz", &ids}});
    const ProcessResult r = runCli({"run", "--model", dataPath("model/base"), "--task", "base", "--inputs", in});
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(r.err.contains("unknown forward() argument") && r.err.contains("input_idz"), r.err.constData());
}

void TestCliRun::textAndInputsAreExclusive()
{
    const ProcessResult r = runCli(
        {"run", "--model", dataPath("model/base"), "--task", "base", "--text", "hello", "--inputs", "in.safetensors"});
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains("give either --text T"), r.err.constData());
}

void TestCliRun::unknownTaskIsUsageError()
{
    const ProcessResult r = runCli({"run", "--model", dataPath("model/base"), "--task", "fill-mask", "--inputs", "x"});
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains("unknown task 'fill-mask'"), r.err.constData());
}

void TestCliRun::generate()
{
    const Tensor ids = Tensor::fromValues<std::int64_t>({1, 3}, {3, 17, 42});
    const QString in = writeInputs("prompt.safetensors", {{"input_ids", &ids}});
    const ProcessResult r = runCli({"run", "--model", dataPath("model/causal_lm"), "--task", "causal-lm", "--inputs",
                                    in, "--generate", "5", "--json"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QJsonArray tokens = QJsonDocument::fromJson(r.out).object()["token_ids"].toArray();
    QCOMPARE(tokens.size(), 8);
    QCOMPARE(tokens[2].toInt(), 42);

    // the first generated token is the argmax of a plain forward's next-token distribution
    const ProcessResult f = runCli({"run", "--model", dataPath("model/causal_lm"), "--task", "causal-lm", "--inputs",
                                    in, "--top-k", "5", "--json"});
    QVERIFY2(f.exitCode == 0, f.err.constData());
    const QJsonArray top5 = QJsonDocument::fromJson(f.out)
                                .object()["results"]
                                .toArray()[0]
                                .toObject()["positions"]
                                .toArray()[0]
                                .toObject()["top_k"]
                                .toArray();
    QCOMPARE(top5.size(), 5);
    QCOMPARE(tokens[3].toInt(), top5[0].toObject()["token_id"].toInt());

    // sampling: top-1 is greedy; top-5 with a seed is reproducible and stays within the top 5
    auto sample = [&](const QString &k, const QString &seed) {
        const ProcessResult s =
            runCli({"run", "--model", dataPath("model/causal_lm"), "--task", "causal-lm", "--inputs", in, "--generate",
                    "5", "--sample-top-k", k, "--seed", seed, "--json"});
        return QJsonDocument::fromJson(s.out).object()["token_ids"].toArray();
    };
    QCOMPARE(sample("1", "3"), tokens);
    const QJsonArray a = sample("5", "7");
    QCOMPARE(a.size(), 8);
    QCOMPARE(sample("5", "7"), a);
    bool inTop5 = false;
    for (const auto &t : top5)
        inTop5 = inTop5 || t.toObject()["token_id"].toInt() == a[3].toInt();
    QVERIFY(inTop5);
}

void TestCliRun::benchJson()
{
    const ProcessResult r = runCli({"bench", "--model", dataPath("model/base"), "--seq", "8", "--batch", "2", "--runs",
                                    "3", "--threads", "1", "--roofline", "--json"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QJsonObject o = QJsonDocument::fromJson(r.out).object();
    QCOMPARE(o["runs"].toInt(), 3);
    const QJsonObject f = o["forward_ms"].toObject();
    QVERIFY(f["min"].toDouble() > 0.0);
    QVERIFY(f["min"].toDouble() <= f["median"].toDouble() && f["median"].toDouble() <= f["max"].toDouble());
    QVERIFY(o["linears_only_ms"].toObject()["median"].toDouble() > 0.0);
    // --roofline: the GEMM-only bound in both kinds of kernels, linears and attention matmuls apart
    QCOMPARE(o["gemm_kernels"].toString(), QString("fp32"));
    const QJsonObject roofline = o["roofline"].toObject();
    for (const char *kind : {"fp32", "int8"}) {
        const QJsonObject k = roofline[kind].toObject();
        QVERIFY2(k["attention_ms"].toObject()["median"].toDouble() > 0.0, kind);
        QVERIFY2(k["linears_ms"].toObject()["median"].toDouble() > 0.0, kind);
        QVERIFY2(k["forward_ratio"].toDouble() > 0.0, kind);
    }
    QCOMPARE(o["tokens_per_second"].toDouble(), 16.0 * 1000.0 / f["median"].toDouble());
    QVERIFY(o["peak_rss_mib"].toDouble() > 0.0);
    // the settings libgomp and glibc read at start (threading.h): the caller's are kept, the
    // missing ones are filled in by qdq's re-execution of itself
    const QByteArray tunables = qgetenv("GLIBC_TUNABLES");
    QCOMPARE(o["glibc_tunables"].toString(),
             tunables.isEmpty() ? QStringLiteral("glibc.malloc.hugetlb=1") : QString::fromUtf8(tunables));
    const QByteArray policy = qgetenv("OMP_WAIT_POLICY");
    const QByteArray spin = qgetenv("GOMP_SPINCOUNT");
    if (!policy.isEmpty())
        QCOMPARE(o["openmp_wait"].toString(), "OMP_WAIT_POLICY=" + QString::fromUtf8(policy));
    else if (!spin.isEmpty())
        QCOMPARE(o["openmp_wait"].toString(), "GOMP_SPINCOUNT=" + QString::fromUtf8(spin));
    else
        QVERIFY(QStringList({"GOMP_SPINCOUNT=1000", "GOMP_SPINCOUNT=10000"}).contains(o["openmp_wait"].toString()));
}

QTEST_GUILESS_MAIN(TestCliRun)
#include "tst_cli_run.moc"

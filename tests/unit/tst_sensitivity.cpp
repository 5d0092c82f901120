// Per-quantizer sensitivity, repair, ONNX amax import and the default task (issue 28), on cases
// with a known answer: a calibrated model in which one quantizer's amax was cut to 2 % must put
// that quantizer first in both sweeps and in the greedy suggestion, and repair must bring top-1
// agreement back to at least 0.99 of the undamaged model's; the evaluator's metric equals the
// analysis' task agreement; checkpoints written with disabled quantizers and imported ONNX scales
// load back with exactly those settings.
#include "qdq/analysis.h"
#include "qdq/calibration.h"
#include "qdq/checkpoint.h"
#include "qdq/errors.h"
#include "qdq/io/onnx_export.h"
#include "qdq/io/onnx_import.h"
#include "qdq/quant/onnx_amax.h"
#include "qdq/sensitivity.h"
#include "qdq/text_task.h"
#include "support/test_support.h"

#include <nlohmann/json.hpp>

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <fstream>

using namespace qdq;
using qdq::test::runCli;

namespace {

const QString kDemo = QStringLiteral(QDQ_SOURCE_DIR "/resources/demo/tiny-qdqbert");
const std::string kGuilty = "encoder.layer.1.output.add_residual_input_quantizer";

std::vector<CalibrationExample> sentences()
{
    return {{"the quick brown fox jumps over the lazy dog.", {}},
            {"a stitch in time saves nine.", {}},
            {"paris is the capital of france.", {}},
            {"quantization makes models smaller and faster, but not always better.", {}},
            {"the cat sat on the mat.", {}},
            {"she sells sea shells by the sea shore.", {}}};
}

std::vector<ForwardInputs> batchesOf(const Checkpoint &ck)
{
    return tokenizeExamples(ck, sentences(), tokenizerForCheckpoint(ck), Task::MaskedLm, 3, 32);
}

QuantizerSite siteOf(const std::string &name)
{
    return *QuantizerSite::fromKey(name);
}

// The checkpoint's amax with the guilty quantizer's cut to 2 %.
QuantConfig damaged(const Checkpoint &ck)
{
    QuantConfig q = QuantConfig::fromCheckpoint(ck);
    const SiteQuantConfig *s = q.find(siteOf(kGuilty));
    const float amax = s->amax->front();
    q.setSiteAmax(siteOf(kGuilty), Tensor::fromValues<float>({}, std::vector<float>{amax * 0.02F}));
    return q;
}

void writeText(const QString &path, const std::string &text)
{
    std::ofstream f(path.toStdString());
    f << text;
}

// sentences() as a .txt data file in `dir`.
QString writeSentences(const QTemporaryDir &dir)
{
    const QString path = dir.filePath("data.txt");
    std::string lines;
    for (const CalibrationExample &e : sentences())
        lines += e.text + "\n";
    writeText(path, lines);
    return path;
}

} // namespace

class TestSensitivity : public QObject {
    Q_OBJECT
private slots:
    void evaluatorMatchesAnalysis();
    void guiltyQuantizerRanksFirst();
    void layerRestriction();
    void repairRecoversAgreement();
    void disabledQuantizersRoundTrip();
    void defaultTaskFromArchitectures();
    void tokenClassificationReport();
    void importOnnxAmax();
    void cliRepairAndImport();
};

void TestSensitivity::evaluatorMatchesAnalysis()
{
    const Checkpoint ck = loadCheckpoint(kDemo.toStdString());
    const QuantConfig q = damaged(ck);
    const std::vector<ForwardInputs> batches = batchesOf(ck);
    TaskEvaluator evaluator(ck, batches, Task::MaskedLm, Precision::Qdq);
    const TaskMetric m = evaluator.evaluate(q);

    AnalysisOptions o;
    o.task = Task::MaskedLm;
    o.quant = q;
    o.runInt8 = false;
    o.local = false;
    o.attention = false;
    const AnalysisReport r = analyzeQuantization(ck, batches, o);
    QCOMPARE(r.taskAgreement.size(), std::size_t(1));
    QCOMPARE(m.top1Agreement.value(), r.taskAgreement[0].top1Agreement.value());
    QCOMPARE(m.impact, r.taskAgreement[0].meanKl.value());
    QVERIFY(m.impact > 0.0);

    // every quantizer disabled: exactly FP32
    QuantConfig off = q;
    off.disableAll();
    const TaskMetric zero = evaluator.evaluate(off);
    QCOMPARE(zero.impact, 0.0);
    QCOMPARE(zero.top1Agreement.value(), 1.0);
    QCOMPARE(evaluator.evaluations(), std::int64_t(2));
    // references once (2 batches), then one pass per batch per configuration
    QCOMPARE(evaluator.forwardPasses(), std::int64_t(2 + 2 * 2));
}

void TestSensitivity::guiltyQuantizerRanksFirst()
{
    const Checkpoint ck = loadCheckpoint(kDemo.toStdString());
    QuantizerSensitivityOptions o;
    o.task = Task::MaskedLm;
    o.quant = damaged(ck);
    o.maxKeepFp32 = 2;
    o.targetAgreement = 1.0;
    const QuantizerSensitivity s = quantizerSensitivity(ck, batchesOf(ck), o);
    QCOMPARE(s.quantizers.size(), std::size_t(40)); // 20 per layer, all enabled
    QCOMPARE(s.quantizers.front().name, kGuilty);
    // "all but this one": disabling the guilty one gives back most of the impact
    QVERIFY(s.quantizers.front().relief > 0.5 * s.full.impact);
    // "only this one": the guilty quantizer alone costs more than any other alone
    double worstOther = 0.0;
    for (std::size_t i = 1; i < s.quantizers.size(); ++i)
        worstOther = std::max(worstOther, s.quantizers[i].only->impact);
    QVERIFY2(s.quantizers.front().only->impact > worstOther,
             qPrintable(QString("%1 vs %2").arg(s.quantizers.front().only->impact).arg(worstOther)));
    // the greedy suggestion starts with it and re-measures: its step's metric is the full model's
    // with that quantizer disabled
    QVERIFY(!s.keepFp32.empty());
    QCOMPARE(s.keepFp32.front().quantizers, std::vector<std::string>{kGuilty});
    QCOMPARE(s.keepFp32.front().after.impact, s.quantizers.front().without.impact);
    QVERIFY(s.keepFp32.size() <= 2);
    for (std::size_t i = 1; i < s.keepFp32.size(); ++i)
        QVERIFY(s.keepFp32[i].after.impact < s.keepFp32[i - 1].after.impact);
    // 1 full + 40 without + 40 only + greedy steps of at most 4 candidates each
    QVERIFY(s.evaluations >= 81 && s.evaluations <= 81 + 8);

    // the analysis carries it (fast first pass: layer 1 only) into its JSON
    AnalysisOptions a;
    a.task = Task::MaskedLm;
    a.quant = damaged(ck);
    a.sensitivity = true;
    a.quantizerSensitivity = true;
    a.quantizerLayers = 1;
    a.keepFp32Budget = 1;
    a.runInt8 = false;
    const AnalysisReport r = analyzeQuantization(ck, batchesOf(ck), a);
    QVERIFY(r.sensitivity && r.sensitivity->quantizers);
    QCOMPARE(r.sensitivity->quantizers->quantizers.size(), std::size_t(20));
    QCOMPARE(r.sensitivity->quantizers->quantizers.front().name, kGuilty);
    const nlohmann::json j = nlohmann::json::parse(analysisToJson(r, false));
    QCOMPARE(j["sensitivity"]["quantizers"]["quantizers"][0]["quantizer"].get<std::string>(), kGuilty);
    QCOMPARE(j["sensitivity"]["quantizers"]["keep_fp32"][0]["quantizers"][0].get<std::string>(), kGuilty);
}

void TestSensitivity::layerRestriction()
{
    const Checkpoint ck = loadCheckpoint(kDemo.toStdString());
    QuantizerSensitivityOptions o;
    o.task = Task::MaskedLm;
    o.quant = damaged(ck);
    o.layers = {0};
    o.only = false;
    o.maxKeepFp32 = 0;
    const QuantizerSensitivity s = quantizerSensitivity(ck, batchesOf(ck), o);
    QCOMPARE(s.quantizers.size(), std::size_t(20));
    for (const QuantizerImpact &q : s.quantizers) {
        QCOMPARE(q.site.layer, 0);
        QVERIFY(!q.only);
    }
    QVERIFY(s.keepFp32.empty());
    QCOMPARE(s.evaluations, std::int64_t(21));
}

void TestSensitivity::repairRecoversAgreement()
{
    const Checkpoint ck = loadCheckpoint(kDemo.toStdString());
    const std::vector<ForwardInputs> batches = batchesOf(ck);
    TaskEvaluator evaluator(ck, batches, Task::MaskedLm, Precision::Qdq);
    const TaskMetric undamaged = evaluator.evaluate(QuantConfig::fromCheckpoint(ck));
    const TaskMetric broken = evaluator.evaluate(damaged(ck));
    QVERIFY2(*broken.top1Agreement < 0.99 * *undamaged.top1Agreement,
             qPrintable(QString("%1 vs %2").arg(*broken.top1Agreement).arg(*undamaged.top1Agreement)));

    RepairOptions o;
    o.task = Task::MaskedLm;
    o.quant = damaged(ck);
    o.maxDisabled = 0; // amax only: the fix must come from the calibration methods
    o.candidates = 4;
    const RepairResult r = repairQuantization(ck, batches, o);
    QCOMPARE(r.before.impact, broken.impact);
    QVERIFY2(*r.after.top1Agreement >= 0.99 * *undamaged.top1Agreement,
             qPrintable(QString("%1 vs %2").arg(*r.after.top1Agreement).arg(*undamaged.top1Agreement)));
    QVERIFY(r.after.impact < r.before.impact);
    QCOMPARE(r.disabled, 0);
    QVERIFY(!r.changes.empty());
    QCOMPARE(r.changes.front().name, kGuilty);
    QVERIFY(r.changes.front().action.rfind("amax:", 0) == 0);
    QVERIFY(*r.changes.front().amaxAfter > 10.0 * *r.changes.front().amaxBefore);
    QCOMPARE(r.ranking.front().name, kGuilty);

    // written and loaded back: the same quantizers, the same metric
    QTemporaryDir dir;
    QuantizedOutput out;
    out.directory = dir.filePath("repaired").toStdString();
    out.files["repair.json"] = repairToJson(r, "masked-lm");
    writeQuantizedCheckpoint(ck, r.repaired, out);
    const Checkpoint back = loadCheckpoint(out.directory);
    const QuantConfig q = QuantConfig::fromCheckpoint(back);
    QCOMPARE(*q.find(siteOf(kGuilty))->amax, *r.repaired.find(siteOf(kGuilty))->amax);
    TaskEvaluator again(back, batchesOf(back), Task::MaskedLm, Precision::Qdq);
    QCOMPARE(again.evaluate(q).impact, r.after.impact);
    const nlohmann::json j = nlohmann::json::parse(std::ifstream(out.directory / "repair.json"));
    QCOMPARE(j["format"].get<std::string>(), std::string("qdq-repair"));
    QCOMPARE(j["changes"][0]["quantizer"].get<std::string>(), kGuilty);
}

void TestSensitivity::disabledQuantizersRoundTrip()
{
    const Checkpoint ck = loadCheckpoint(kDemo.toStdString());
    QuantConfig q = QuantConfig::fromCheckpoint(ck);
    SiteSelector sel;
    sel.pattern = kGuilty;
    QCOMPARE(q.setEnabled(sel, false), 1);
    QTemporaryDir dir;
    QuantizedOutput out;
    out.directory = dir.filePath("m").toStdString();
    writeQuantizedCheckpoint(ck, q, out);
    const nlohmann::json config = nlohmann::json::parse(std::ifstream(out.directory / "config.json"));
    QVERIFY(config["qdq_disabled_quantizers"] == nlohmann::json::array({kGuilty}));
    const Checkpoint back = loadCheckpoint(out.directory);
    const QuantConfig b = QuantConfig::fromCheckpoint(back);
    int disabled = 0;
    for (const SiteQuantConfig &s : b.sites())
        disabled += s.enabled ? 0 : 1;
    QCOMPARE(disabled, 1);
    QVERIFY(!b.find(siteOf(kGuilty))->enabled);
    // the amax of every site is kept (the disabled one too)
    for (const SiteQuantConfig &s : q.sites())
        QCOMPARE(*b.find(s.site)->amax, *s.amax);
    QVERIFY(!QFile::exists(QString::fromStdString((out.directory / "calibration.safetensors").string())));

    // calibrating it again keeps the choice (fresh amax, the quantizer still in FP32)
    CalibrationOptions co;
    co.histograms = false;
    Calibrator calibrator(back, co);
    calibrator.run(sentences(), tokenizerForCheckpoint(back));
    CalibratedOutput recalibrated;
    recalibrated.directory = dir.filePath("recalibrated").toStdString();
    writeCalibratedCheckpoint(back, calibrator, recalibrated);
    QVERIFY(!QuantConfig::fromCheckpoint(loadCheckpoint(recalibrated.directory)).find(siteOf(kGuilty))->enabled);

    // a wrong name is an error naming config.json's field
    nlohmann::json bad = config;
    bad["qdq_disabled_quantizers"] = {"encoder.layer.9.output.dense._input_quantizer"};
    writeText(QString::fromStdString((out.directory / "config.json").string()), bad.dump());
    // the load fails (so no view or command ever sees the checkpoint)
    try {
        (void)loadCheckpoint(out.directory);
        QFAIL("expected FormatError");
    } catch (const FormatError &e) {
        QVERIFY2(std::string(e.what()).find("qdq_disabled_quantizers") != std::string::npos, e.what());
        QVERIFY2(std::string(e.what()).find("encoder.layer.9") != std::string::npos, e.what());
    }
    bad["qdq_disabled_quantizers"] = "all";
    writeText(QString::fromStdString((out.directory / "config.json").string()), bad.dump());
    QVERIFY_THROWS_EXCEPTION(FormatError, (void)loadCheckpoint(out.directory));
}

void TestSensitivity::defaultTaskFromArchitectures()
{
    QCOMPARE(taskFromArchitecture("QDQBertForTokenClassification"), std::optional<Task>(Task::TokenClassification));
    QCOMPARE(taskFromArchitecture("BertForMaskedLM"), std::optional<Task>(Task::MaskedLm));
    QCOMPARE(taskFromArchitecture("BertLMHeadModel"), std::optional<Task>(Task::CausalLm));
    QCOMPARE(taskFromArchitecture("QDQBertForQuestionAnswering"), std::optional<Task>(Task::QuestionAnswering));
    QCOMPARE(taskFromArchitecture("BertForNextSentencePrediction"), std::optional<Task>(Task::NextSentence));
    QCOMPARE(taskFromArchitecture("BertForMultipleChoice"), std::optional<Task>(Task::MultipleChoice));
    QCOMPARE(taskFromArchitecture("BertForSequenceClassification"), std::optional<Task>(Task::SequenceClassification));
    QCOMPARE(taskFromArchitecture("QDQBertModel"), std::optional<Task>(Task::Base));
    QCOMPARE(taskFromArchitecture("GPT2Tokenizer"), std::optional<Task>());

    BertConfig c;
    c.vocabSize = 50;
    c.hiddenSize = 16;
    c.numHiddenLayers = 1;
    c.numAttentionHeads = 2;
    c.intermediateSize = 32;
    c.maxPositionEmbeddings = 32;
    c.numLabels = 3;
    Checkpoint tok = randomCheckpoint(c, Task::TokenClassification, 1);
    tok.tensors.erase("bert.pooler.dense.weight");
    tok.tensors.erase("bert.pooler.dense.bias");
    // a classifier without a pooler: token classification, never sequence classification
    QCOMPARE(defaultTask(tok), Task::TokenClassification);
    tok.config.architectures = {"QDQBertForTokenClassification"};
    QCOMPARE(defaultTask(tok), Task::TokenClassification);
    const std::vector<Task> tasks = availableTasks(tok);
    QVERIFY(std::find(tasks.begin(), tasks.end(), Task::SequenceClassification) == tasks.end());

    Checkpoint seq = randomCheckpoint(c, Task::SequenceClassification, 2);
    QCOMPARE(defaultTask(seq), Task::SequenceClassification);
    seq.config.id2label = {"O", "B-PER", "I-PER"}; // no architectures: BIO labels tag tokens
    QCOMPARE(defaultTask(seq), Task::TokenClassification);
    seq.config.id2label = {"negative", "neutral", "positive"};
    QCOMPARE(defaultTask(seq), Task::SequenceClassification);
    seq.config.architectures = {"BertForTokenClassification"};
    QCOMPARE(defaultTask(seq), Task::TokenClassification);   // the same classifier weights, as named
    seq.config.architectures = {"BertForQuestionAnswering"}; // no qa_outputs: falls back
    QCOMPARE(defaultTask(seq), Task::SequenceClassification);
}

void TestSensitivity::tokenClassificationReport()
{
    // a token-classification checkpoint (no pooler) analysed and reported without --task
    const Checkpoint tiny = loadCheckpoint(kDemo.toStdString());
    Checkpoint ck = loadCheckpoint(kDemo.toStdString());
    for (auto it = ck.tensors.begin(); it != ck.tensors.end();)
        it = it->first.rfind("cls.", 0) == 0 || it->first.rfind("bert.pooler.", 0) == 0 ? ck.tensors.erase(it)
                                                                                        : std::next(it);
    ck.tiedKeys.clear();
    const std::int64_t hidden = ck.config.hiddenSize;
    std::vector<float> w(static_cast<std::size_t>(3 * hidden));
    for (std::size_t i = 0; i < w.size(); ++i)
        w[i] = 0.05F * std::sin(static_cast<float>(i));
    ck.tensors["classifier.weight"] = Tensor::fromValues<float>({3, hidden}, w);
    ck.tensors["classifier.bias"] = Tensor::fromValues<float>({3}, std::vector<float>{0.1F, -0.2F, 0.0F});
    ck.config.architectures = {"QDQBertForTokenClassification"};
    ck.config.numLabels = 3;
    ck.config.id2label = {"O", "B-PER", "I-PER"};
    QTemporaryDir dir;
    QuantizedOutput out;
    out.directory = dir.filePath("tok").toStdString();
    writeQuantizedCheckpoint(ck, QuantConfig::fromCheckpoint(tiny), out);
    const QString data = writeSentences(dir);
    const QString model = QString::fromStdString(out.directory.string());
    auto p = runCli({"analyze", "--model", model, "--data", data, "--json", "--quiet", "--no-histograms"});
    QVERIFY2(p.exitCode == 0, p.err.constData());
    QCOMPARE(QJsonDocument::fromJson(p.out).object()["task"].toString(), QString("token-classification"));
    p = runCli({"report", "--model", model, "--data", data, "--out", dir.filePath("report"), "--quiet"});
    QVERIFY2(p.exitCode == 0, p.err.constData());
    QFile f(dir.filePath("report/tok/report.json")); // one folder per model
    QVERIFY2(f.open(QIODevice::ReadOnly), qPrintable(f.fileName()));
    const QJsonObject report = QJsonDocument::fromJson(f.readAll()).object();
    QCOMPARE(report["analysis"].toObject()["task"].toString(), QString("token-classification"));
}

void TestSensitivity::importOnnxAmax()
{
    const Checkpoint ck = loadCheckpoint(kDemo.toStdString());
    // an ONNX file whose scales differ from the checkpoint: the guilty amax x 3, one site without Q/DQ
    QuantConfig exported = QuantConfig::fromCheckpoint(ck);
    const float amax = exported.find(siteOf(kGuilty))->amax->front();
    exported.setSiteAmax(siteOf(kGuilty), Tensor::fromValues<float>({}, std::vector<float>{amax * 3.0F}));
    SiteSelector off;
    off.pattern = "encoder.layer.0.output.add_residual_input_quantizer";
    QCOMPARE(exported.setEnabled(off, false), 1);
    QTemporaryDir dir;
    OnnxExportOptions eo;
    eo.task = Task::MaskedLm;
    const std::string onnx = dir.filePath("m.onnx").toStdString();
    (void)exportOnnx(ck, exported, eo, onnx);

    const OnnxAmaxImport imported = qdq::importOnnxAmax(onnx);
    QuantConfig q = QuantConfig::fromCheckpoint(ck);
    const OnnxAmaxApplied applied = applyOnnxAmax(ck, imported, q);
    QCOMPARE(applied.set, 39);
    QCOMPARE(applied.kept, 1);
    // amax = fl(fl(amax / 127) x 127): within one ulp of what was exported, per row for weights
    for (const SiteQuantConfig &s : q.sites()) {
        const SiteQuantConfig &e = *exported.find(s.site);
        QCOMPARE(s.amax->size(), e.amax->size());
        for (std::size_t i = 0; i < s.amax->size(); ++i)
            QVERIFY(std::abs((*s.amax)[i] - (*e.amax)[i]) <= 2e-7F * (*e.amax)[i]);
    }
    QuantConfig d = QuantConfig::fromCheckpoint(ck);
    QCOMPARE(applyOnnxAmax(ck, imported, d, true).disabled, 1);
    QVERIFY(!d.find(siteOf("encoder.layer.0.output.add_residual_input_quantizer"))->enabled);

    // a model with fewer rows than the ONNX file's per-channel scales: refused, naming the node
    Checkpoint other = loadCheckpoint(kDemo.toStdString());
    other.config.intermediateSize = 8; // intermediate.dense has fewer rows than the file's scales
    other.tensors["bert.encoder.layer.0.intermediate.dense.weight"] = Tensor::fromValues<float>(
        {8, other.config.hiddenSize}, std::vector<float>(static_cast<std::size_t>(8 * other.config.hiddenSize), 0.5F));
    QuantConfig small = QuantConfig::fromCheckpoint(other);
    QVERIFY_THROWS_EXCEPTION(ShapeError, (void)applyOnnxAmax(other, imported, small));
}

void TestSensitivity::cliRepairAndImport()
{
    QTemporaryDir dir;
    const QString data = writeSentences(dir);
    // a damaged checkpoint on disk
    const Checkpoint ck = loadCheckpoint(kDemo.toStdString());
    QuantizedOutput broken;
    broken.directory = dir.filePath("broken").toStdString();
    writeQuantizedCheckpoint(ck, damaged(ck), broken);
    const QString model = QString::fromStdString(broken.directory.string());

    auto p = runCli({"analyze", "--model", model, "--data", data, "--per-quantizer", "--quantizer-layers", "1",
                     "--precision", "qdq", "--no-local", "--quiet", "--keep-fp32", "1"});
    QVERIFY2(p.exitCode == 0, p.err.constData());
    QVERIFY2(p.out.contains("per-quantizer sensitivity"), p.out.constData());
    QVERIFY2(p.out.contains(QByteArray("    1 ")) && p.out.contains(QByteArray::fromStdString(kGuilty)),
             p.out.constData());
    p = runCli({"analyze", "--model", model, "--data", data, "--per-quantizer", "--target-agreement", "1.5"});
    QCOMPARE(p.exitCode, 1);
    QVERIFY2(p.err.contains("--target-agreement"), p.err.constData());

    const QString out = dir.filePath("repaired");
    p = runCli({"repair", "--model", model, "--data", data, "--out", out, "--candidates", "4", "--max-disabled", "0",
                "--json", "--quiet"});
    QVERIFY2(p.exitCode == 0, p.err.constData());
    const QJsonObject j = QJsonDocument::fromJson(p.out).object();
    QCOMPARE(j["format"].toString(), QString("qdq-repair"));
    QCOMPARE(j["changes"].toArray().first().toObject()["quantizer"].toString(), QString::fromStdString(kGuilty));
    QVERIFY(j["after"].toObject()["top1_agreement"].toDouble() > j["before"].toObject()["top1_agreement"].toDouble());
    QVERIFY(QFile::exists(out + "/repair.json") && QFile::exists(out + "/repair.md") &&
            QFile::exists(out + "/model.safetensors") && QFile::exists(out + "/vocab.txt"));
    // an existing output is not replaced without --force
    p = runCli({"repair", "--model", model, "--data", data, "--out", out, "--candidates", "1", "--quiet"});
    QCOMPARE(p.exitCode, 2);
    QVERIFY2(p.err.contains("--force"), p.err.constData());

    // import-onnx-amax: the repaired model's export written into the broken checkpoint
    const QString onnx = dir.filePath("r.onnx");
    p = runCli({"export-onnx", "--model", out, "--out", onnx, "--quiet"});
    QVERIFY2(p.exitCode == 0, p.err.constData());
    const QString imported = dir.filePath("imported");
    p = runCli({"import-onnx-amax", "--model", model, "--onnx", onnx, "--out", imported, "--json", "--quiet"});
    QVERIFY2(p.exitCode == 0, p.err.constData());
    QVERIFY(QJsonDocument::fromJson(p.out).object()["set"].toInt() >= 38);
    QVERIFY(QFile::exists(imported + "/onnx-import.json"));
    const QuantConfig a = QuantConfig::fromCheckpoint(loadCheckpoint(out.toStdString()));
    const QuantConfig b = QuantConfig::fromCheckpoint(loadCheckpoint(imported.toStdString()));
    const float ra = a.find(siteOf(kGuilty))->amax->front();
    const float rb = b.find(siteOf(kGuilty))->amax->front();
    QVERIFY2(std::abs(ra - rb) <= 2e-7F * ra, qPrintable(QString("%1 vs %2").arg(ra).arg(rb)));
    p = runCli(
        {"import-onnx-amax", "--model", model, "--onnx", dir.filePath("missing.onnx"), "--out", dir.filePath("x")});
    QCOMPARE(p.exitCode, 2);
    QVERIFY(!QFile::exists(dir.filePath("x")));
}

QTEST_GUILESS_MAIN(TestSensitivity)
#include "tst_sensitivity.moc"

// The session layer (qdq/session.h) that the CLI and the GUI share: its text runs equal the
// layers below it called by hand (encodeForTask, a model built with the same options,
// interpretOutputs), bit for bit; its models are cached per task and precision and follow the
// quantizer settings; a device it cannot use fails the runs with a message, not the session;
// and the data selection reads examples and labels as the files hold them.
#include "support/test_support.h"

#include "qdq/errors.h"
#include "qdq/session.h"

#include <QTemporaryDir>
#include <QTest>

#include <fstream>

using namespace qdq;

namespace {

const std::string kDemo = QDQ_SOURCE_DIR "/resources/demo/tiny-qdqbert";

// The same model built by hand, below the session.
std::vector<float> directLogits(const Checkpoint &ck, Precision precision, const QuantConfig &quant,
                                const EncodedText &text)
{
    ModelOptions options{Task::MaskedLm};
    options.precision = precision;
    options.quant = quant;
    QDQBertModel model(ck, options);
    return model.forward(text.inputs).logits.toFloatVector();
}

QuantConfig damaged(const Checkpoint &ck)
{
    QuantConfig q = QuantConfig::fromCheckpoint(ck);
    const QuantizerSite site = *QuantizerSite::fromKey("encoder.layer.1.output.add_residual_input_quantizer");
    q.setSiteAmax(site, Tensor::fromValues<float>({}, std::vector<float>{q.find(site)->amax->front() * 0.02F}));
    return q;
}

void writeFile(const QString &path, const std::string &text)
{
    std::ofstream(path.toStdString()) << text;
}

} // namespace

class TestSession : public QObject {
    Q_OBJECT
private slots:
    void runTextEqualsTheLayersBelow();
    void modelsAreCachedAndFollowTheQuantizers();
    void unusableDeviceFailsTheRunsNotTheSession();
    void readsExamplesAndLabels();
    void analyzeUsesTheSessionQuantizers();
};

void TestSession::runTextEqualsTheLayersBelow()
{
    Session session = Session::open(kDemo);
    QCOMPARE(session.defaultTask(), Task::MaskedLm); // architectures: BertForMaskedLM
    TextRunRequest request;
    request.task = Task::MaskedLm;
    request.examples = {{"paris is the [MASK] of france.", std::nullopt}, {"the cat sat on the [MASK].", std::nullopt}};
    request.precisions = {Precision::Fp32, Precision::Qdq, Precision::Int8};
    request.keepOutputs = true;
    request.attentions = true;
    request.topK = 3;
    const TextRunResult result = session.runText(request);
    QCOMPARE(result.runs.size(), std::size_t(3));

    const Checkpoint ck = loadCheckpoint(kDemo);
    const Tokenizer tokenizer = tokenizerForCheckpoint(ck);
    const EncodedText text = encodeForTask(tokenizer, ck.config, Task::MaskedLm, request.examples);
    QCOMPARE(result.encodings.size(), text.encodings.size());
    QCOMPARE(result.encodings[0].ids, text.encodings[0].ids);
    const QuantConfig quant = QuantConfig::fromCheckpoint(ck);
    for (const PrecisionRun &run : result.runs) {
        QVERIFY2(run.error.empty(), run.error.c_str());
        QCOMPARE(run.device, Device{});
        QCOMPARE(run.outputs.logits.toFloatVector(), directLogits(ck, run.precision, quant, text));
        // the readable results: the [MASK] position's top 3 of each sentence
        QCOMPARE(run.results.size(), std::size_t(2));
        QCOMPARE(run.results[0].topK.size(), std::size_t(1));
        QCOMPARE(run.results[0].topK[0].top.size(), std::size_t(3));
        // attention maps of the first sentence, its real tokens only: [heads, L, L] per layer
        QCOMPARE(run.attention.layers.size(), std::size_t(ck.config.numHiddenLayers));
        const auto length = static_cast<std::size_t>(run.attention.length);
        QCOMPARE(length, text.encodings[0].size());
        QCOMPARE(run.attention.layers[0].size(), static_cast<std::size_t>(run.attention.heads) * length * length);
        double rowSum = 0.0; // a softmax row
        for (std::size_t j = 0; j < length; ++j)
            rowSum += run.attention.layers[0][j];
        QVERIFY(std::abs(rowSum - 1.0) < 1e-5);
    }
    // quantization changes the logits (else the comparison above would prove little)
    QVERIFY(result.runs[0].outputs.logits.toFloatVector() != result.runs[1].outputs.logits.toFloatVector());
    QCOMPARE(result.run(Precision::Int8), &result.runs[2]);
    QCOMPARE(result.run(Precision::Fp32), &result.runs[0]);
}

void TestSession::modelsAreCachedAndFollowTheQuantizers()
{
    Session session = Session::open(kDemo);
    const Checkpoint &ck = session.checkpoint();
    QDQBertModel *qdq = &session.model(Task::MaskedLm, Precision::Qdq);
    QCOMPARE(&session.model(Task::MaskedLm, Precision::Qdq), qdq);
    QVERIFY(&session.model(Task::MaskedLm, Precision::Fp32) != qdq);

    const EncodedText text = session.encode(Task::MaskedLm, {{"a stitch in time saves [MASK].", std::nullopt}});
    const std::vector<float> fp32Before =
        session.model(Task::MaskedLm, Precision::Fp32).forward(text.inputs).logits.toFloatVector();
    const std::vector<float> qdqBefore = qdq->forward(text.inputs).logits.toFloatVector();

    session.setQuantConfig(damaged(ck));
    QCOMPARE(&session.model(Task::MaskedLm, Precision::Qdq), qdq); // reconfigured, not rebuilt
    const std::vector<float> qdqAfter = qdq->forward(text.inputs).logits.toFloatVector();
    QVERIFY(qdqAfter != qdqBefore);
    QCOMPARE(qdqAfter, directLogits(ck, Precision::Qdq, damaged(ck), text));
    // FP32 follows only the profile: unchanged
    QCOMPARE(session.model(Task::MaskedLm, Precision::Fp32).forward(text.inputs).logits.toFloatVector(), fp32Before);
    QCOMPARE(session.quantConfig()
                 .find(*QuantizerSite::fromKey("encoder.layer.1.output.add_residual_input_quantizer"))
                 ->amax->front(),
             damaged(ck)
                 .find(*QuantizerSite::fromKey("encoder.layer.1.output.add_residual_input_quantizer"))
                 ->amax->front());

    session.setQuantConfig(std::nullopt); // back to the checkpoint's
    QCOMPARE(session.model(Task::MaskedLm, Precision::Qdq).forward(text.inputs).logits.toFloatVector(), qdqBefore);
}

void TestSession::unusableDeviceFailsTheRunsNotTheSession()
{
    Session session = Session::open(kDemo);
    TextRunRequest request;
    request.task = Task::MaskedLm;
    request.examples = {{"the [MASK] sat on the mat.", std::nullopt}};
    request.precisions = {Precision::Fp32, Precision::Int8};
    session.setDevice(Device{DeviceType::CUDA, 99}); // no machine has a 100th GPU
    const TextRunResult failed = session.runText(request);
    QCOMPARE(failed.runs.size(), std::size_t(2));
    for (const PrecisionRun &run : failed.runs) {
        QVERIFY2(!run.error.empty(), "a run on an unusable device must say why");
        QVERIFY(run.results.empty());
        QCOMPARE(run.device, (Device{DeviceType::CUDA, 99}));
    }
    QCOMPARE(failed.encodings.size(), std::size_t(1)); // the text was encoded

    session.setDevice(Device{});
    const TextRunResult ok = session.runText(request);
    for (const PrecisionRun &run : ok.runs) {
        QVERIFY2(run.error.empty(), run.error.c_str());
        QCOMPARE(run.results.size(), std::size_t(1));
    }
}

void TestSession::readsExamplesAndLabels()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath("data.jsonl");
    writeFile(path, "{\"text\": \"first\", \"label\": 1}\n\n{\"text\": \"second\", \"label\": \"LABEL_0\"}\n"
                    "{\"text\": \"third\", \"label\": 1}\n");
    const Session session = Session::open(kDemo);
    DataSelection selection{path.toStdString(), {}, 2, std::nullopt, "label"};
    const SelectedExamples two = session.readExamples(selection);
    QCOMPARE(two.examples.size(), std::size_t(2));
    QCOMPARE(two.examples[1].text, std::string("second"));
    QCOMPARE(two.labels, (std::vector<std::int64_t>{1, 0}));

    selection.samples = 0;
    selection.labelColumn.clear();
    selection.seed = 7; // a shuffle equals selectExamples' own
    const SelectedExamples shuffled = session.readExamples(selection);
    const auto expected = selectExamples(readCalibrationData(path.toStdString()), 0, 7);
    QCOMPARE(shuffled.examples.size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i)
        QCOMPARE(shuffled.examples[i].text, expected[i].text);
    QVERIFY(shuffled.labels.empty());

    selection.labelColumn = "label"; // labels follow file order: no shuffle with them
    QVERIFY_THROWS_EXCEPTION(UnsupportedError, (void)session.readExamples(selection));

    writeFile(path, "{\"text\": \"first\", \"label\": \"POSITIVE\"}\n");
    selection.seed.reset();
    try {
        (void)session.readExamples(selection);
        QFAIL("a label outside id2label must be refused");
    } catch (const FormatError &e) {
        const std::string what = e.what();
        QVERIFY2(what.find("POSITIVE") != std::string::npos && what.find("data.jsonl") != std::string::npos &&
                     what.find("line 1") != std::string::npos,
                 e.what());
    }
}

void TestSession::analyzeUsesTheSessionQuantizers()
{
    Session session = Session::open(kDemo);
    const std::vector<CalibrationExample> examples = {{"paris is the capital of france.", {}},
                                                      {"the cat sat on the mat.", {}}};
    AnalysisOptions options;
    options.task = Task::MaskedLm;
    options.runInt8 = false;
    options.local = false;
    options.attention = false;
    options.batchSize = 2;
    options.maxLength = 16;
    session.setQuantConfig(damaged(session.checkpoint()));
    const AnalysisReport viaSession = session.analyze(examples, options);
    AnalysisOptions direct = options;
    direct.quant = damaged(session.checkpoint());
    const AnalysisReport byHand =
        analyzeQuantization(session.checkpoint(), examples, tokenizerForCheckpoint(session.checkpoint()), direct);
    QCOMPARE(viaSession.taskAgreement.size(), byHand.taskAgreement.size());
    QVERIFY(!byHand.taskAgreement.empty());
    QCOMPARE(*viaSession.taskAgreement[0].top1Agreement, *byHand.taskAgreement[0].top1Agreement);
    QCOMPARE(viaSession.layers.size(), byHand.layers.size());
    for (std::size_t i = 0; i < byHand.layers.size(); ++i)
        QCOMPARE(viaSession.layers[i].qdqCumulative->sqnrDb, byHand.layers[i].qdqCumulative->sqnrDb);
    // and it is the damaged model that was analysed: the checkpoint's own agrees better
    options.quant = QuantConfig::fromCheckpoint(session.checkpoint());
    const AnalysisReport undamaged = session.analyze(examples, options);
    QVERIFY(*undamaged.taskAgreement[0].top1Agreement >= *byHand.taskAgreement[0].top1Agreement);
    QVERIFY(undamaged.layers.back().qdqCumulative->sqnrDb > byHand.layers.back().qdqCumulative->sqnrDb);
}

QTEST_GUILESS_MAIN(TestSession)
#include "tst_session.moc"

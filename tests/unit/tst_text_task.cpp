// From text to task results (qdq/text_task.h): batch encoding for each head, and the readable
// results, checked against independent computations from the raw logits.
#include "support/test_support.h"

#include "qdq/checkpoint.h"
#include "qdq/errors.h"
#include "qdq/io/safetensors.h"
#include "qdq/model.h"
#include "qdq/text_task.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <limits>

using namespace qdq;
using namespace qdq::test;

namespace {

// A 99-token vocabulary matching the tiny golden models (vocab_size 99): specials, then w5..w98.
Tokenizer tinyTokenizer()
{
    std::vector<std::string> tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    for (int i = 5; i < 99; ++i)
        tokens.push_back(std::string("w").append(std::to_string(i)));
    return Tokenizer::fromTokens(tokens);
}

} // namespace

class TestTextTask : public QObject {
    Q_OBJECT
private slots:
    void encodesPaddedBatch();
    void multipleChoiceShape();
    void answerSpanLiesInContext();
    void fillMaskTextMatchesInputsPath();
    void checkpointWithoutVocabulary();
};

void TestTextTask::encodesPaddedBatch()
{
    const Tokenizer tok = tinyTokenizer();
    BertConfig config;
    config.vocabSize = 99;
    const EncodedText e = encodeForTask(tok, config, Task::SequenceClassification,
                                        {{"w5 w6 w7", std::nullopt}, {"w8", std::string("w9 w10")}});
    // [CLS] w5 w6 w7 [SEP]  /  [CLS] w8 [SEP] w9 w10 [SEP]
    QCOMPARE(e.inputs.inputIds.shape(), (Shape{2, 6}));
    QCOMPARE(e.inputs.inputIds.toInt64Vector(), (std::vector<std::int64_t>{2, 5, 6, 7, 3, 0, 2, 8, 3, 9, 10, 3}));
    QCOMPARE(e.inputs.attentionMask.toInt64Vector(), (std::vector<std::int64_t>{1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1}));
    QCOMPARE(e.inputs.tokenTypeIds.toInt64Vector(), (std::vector<std::int64_t>{0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1}));
    QCOMPARE(e.inputs.inputIds.dtype(), DType::I64);
    // truncation to the model's max_position_embeddings
    config.maxPositionEmbeddings = 4;
    const EncodedText cut = encodeForTask(tok, config, Task::Base, {{"w5 w6 w7 w8 w9", std::nullopt}});
    QCOMPARE(cut.inputs.inputIds.toInt64Vector(), (std::vector<std::int64_t>{2, 5, 6, 3}));
    QVERIFY_THROWS_EXCEPTION(ShapeError, (void)encodeForTask(tok, config, Task::Base, {}));
}

void TestTextTask::multipleChoiceShape()
{
    const Tokenizer tok = tinyTokenizer();
    BertConfig config;
    const EncodedText e =
        encodeForTask(tok, config, Task::MultipleChoice,
                      {{"w5", std::string("w6")}, {"w5", std::string("w7 w8")}, {"w5", std::string("w9")}});
    QCOMPARE(e.inputs.inputIds.shape(), (Shape{1, 3, 6}));
    QVERIFY_THROWS_EXCEPTION(ShapeError,
                             (void)encodeForTask(tok, config, Task::MultipleChoice, {{"w5", std::string("w6")}}));
}

void TestTextTask::answerSpanLiesInContext()
{
    const Checkpoint ck = loadCheckpoint(dataPath("model/qa").toStdString());
    QDQBertModel model(ck, {Task::QuestionAnswering});
    const Tokenizer tok = tinyTokenizer();
    const std::string context = "w20 w21 w22 w23 w24 w25 w26 w27";
    const EncodedText e = encodeForTask(tok, ck.config, Task::QuestionAnswering, {{"w10 w11 w12", context}});
    const ForwardOutputs out = model.forward(e.inputs);
    const std::vector<TaskResult> results = interpretOutputs(model, out, 5, &tok, &e);
    QCOMPARE(results.size(), std::size_t(1));
    QVERIFY(results[0].answer.has_value());
    const AnswerSpan &a = *results[0].answer;
    // independent search: context tokens are 5..12 ([CLS] q q q [SEP] c*8 [SEP]), span <= 30
    const std::vector<float> s = out.startLogits.toFloatVector();
    const std::vector<float> en = out.endLogits.toFloatVector();
    float best = -std::numeric_limits<float>::infinity();
    std::size_t bs = 0, be = 0;
    for (std::size_t i = 5; i <= 12; ++i)
        for (std::size_t j = i; j <= 12; ++j)
            if (s[i] + en[j] > best) {
                best = s[i] + en[j];
                bs = i;
                be = j;
            }
    QCOMPARE(a.start, static_cast<std::int64_t>(bs));
    QCOMPARE(a.end, static_cast<std::int64_t>(be));
    QCOMPARE(a.score, best);
    // the answer text is the context words of that token span
    std::string expected;
    for (std::size_t t = bs; t <= be; ++t) {
        if (t > bs)
            expected.push_back(' ');
        expected.append("w").append(std::to_string(20 + t - 5));
    }
    QCOMPARE(a.text, expected);
}

void TestTextTask::fillMaskTextMatchesInputsPath()
{
    // the demo model with the real uncased vocabulary: the text path must produce exactly the ids
    // and results of the --inputs path
    const QString model = QStringLiteral(QDQ_SOURCE_DIR "/resources/demo/tiny-qdqbert");
    ProcessResult r = runCli({"run", "--model", model, "--task", "masked-lm", "--text",
                              "the capital of france is [MASK] .", "--top-k", "3", "--json"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QJsonObject j = QJsonDocument::fromJson(r.out).object();
    const QJsonArray ids = j["inputs"].toArray()[0].toObject()["ids"].toArray();
    // bert-base-uncased: [CLS] the capital of france is [MASK] . [SEP]
    QCOMPARE(ids.size(), 9);
    QCOMPARE(ids[0].toInt(), 101);
    QCOMPARE(ids[4].toInt(), 2605); // france
    QCOMPARE(ids[6].toInt(), 103);  // [MASK]
    const QJsonArray positions = j["results"].toArray()[0].toObject()["positions"].toArray();
    QCOMPARE(positions.size(), 1); // only the [MASK] position
    QCOMPARE(positions[0].toObject()["position"].toInt(), 6);
    const QJsonArray top = positions[0].toObject()["top_k"].toArray();
    QCOMPARE(top.size(), 3);
    QVERIFY(top[0].toObject()["probability"].toDouble() >= top[1].toObject()["probability"].toDouble());
    QVERIFY(!top[0].toObject()["token"].toString().isEmpty());

    QTemporaryDir dir;
    std::vector<std::int64_t> v;
    for (const auto &x : ids)
        v.push_back(x.toInt());
    const Tensor inputIds = Tensor::fromValues<std::int64_t>({1, 9}, std::span<const std::int64_t>(v));
    writeSafetensors(dir.filePath("in.safetensors").toStdString(), {{"input_ids", &inputIds}});
    r = runCli({"run", "--model", model, "--task", "masked-lm", "--inputs", dir.filePath("in.safetensors"), "--json"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QJsonArray all =
        QJsonDocument::fromJson(r.out).object()["results"].toArray()[0].toObject()["positions"].toArray();
    QCOMPARE(all.size(), 9); // without text every position is listed
    const QJsonObject sixth = all[6].toObject()["top_k"].toArray()[0].toObject();
    QCOMPARE(sixth["token_id"].toInt(), top[0].toObject()["token_id"].toInt());
    QCOMPARE(sixth["probability"].toDouble(), top[0].toObject()["probability"].toDouble());
}

void TestTextTask::checkpointWithoutVocabulary()
{
    const Checkpoint ck = loadCheckpoint(dataPath("model/qa").toStdString());
    try {
        (void)tokenizerForCheckpoint(ck);
        QFAIL("expected IoError");
    } catch (const IoError &e) {
        QVERIFY2(std::string(e.what()).find("no vocab.txt") != std::string::npos, e.what());
    }
    const ProcessResult r = runCli(
        {"run", "--model", dataPath("model/qa"), "--task", "question-answering", "--text", "who", "--text-pair", "me"});
    QCOMPARE(r.exitCode, 2);
    QVERIFY(r.err.contains("qdq: error: the checkpoint has no vocab.txt"));
    const ProcessResult both = runCli({"run", "--model", dataPath("model/qa"), "--task", "base"});
    QCOMPARE(both.exitCode, 1);
}

QTEST_GUILESS_MAIN(TestTextTask)
#include "tst_text_task.moc"

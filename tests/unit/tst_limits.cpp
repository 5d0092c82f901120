// Resource limits (issue #15, SECURITY.md "Limits", qdq/limits.h): sizes that a file or an option
// declares are refused with an error naming the field before anything is allocated from them.
// File-borne cases go through `qdq info` in tst_hostile_files; these are the API-level ones.
#include "qdq/calibration.h"
#include "qdq/checkpoint.h"
#include "qdq/config.h"
#include "qdq/errors.h"
#include "qdq/limits.h"
#include "qdq/tokenizer.h"
#include "support/test_support.h"

#include <QDir>
#include <QFileInfo>
#include <QTest>

#include <functional>
#include <string>

using namespace qdq;

namespace {

std::string errorOf(const std::function<void()> &f)
{
    try {
        f();
    } catch (const Error &e) {
        return e.what();
    }
    return "<no error>";
}

const QString kTiny = QStringLiteral(QDQ_SOURCE_DIR "/resources/demo/tiny-qdqbert");

} // namespace

class TestLimits : public QObject {
    Q_OBJECT
private slots:
    void configSizesAreCapped_data();
    void configSizesAreCapped();
    void configAtTheLimitsIsAccepted();
    void paddingLengthIsCapped();
    void calibrationBatchAndLengthAreCapped();
};

void TestLimits::configSizesAreCapped_data()
{
    QTest::addColumn<QString>("json");
    QTest::addColumn<QString>("message");
    QTest::newRow("layers") << R"({"num_hidden_layers": 1025})"
                            << "must be at most 1024, got 1025 (file 'config.json', field 'num_hidden_layers')";
    QTest::newRow("hidden") << R"({"hidden_size": 131072, "num_attention_heads": 1})"
                            << "must be at most 65536, got 131072 (file 'config.json', field 'hidden_size')";
    QTest::newRow("intermediate") << R"({"intermediate_size": 1000000})"
                                  << "must be at most 262144, got 1000000 (file 'config.json', field "
                                     "'intermediate_size')";
    QTest::newRow("vocab") << R"({"vocab_size": 16777217})"
                           << "must be at most 16777216, got 16777217 (file 'config.json', field 'vocab_size')";
    QTest::newRow("positions") << R"({"max_position_embeddings": 2000000})"
                               << "field 'max_position_embeddings'";
    QTest::newRow("type vocab") << R"({"type_vocab_size": 70000})"
                                << "must be at most 65536, got 70000 (file 'config.json', field 'type_vocab_size')";
    QTest::newRow("labels") << R"({"num_labels": 2000000})"
                            << "must be at most 1048576, got 2000000 (file 'config.json', field 'num_labels')";
    QTest::newRow("heads above hidden") << R"({"hidden_size": 8, "num_attention_heads": 16})"
                                        << "must be at most 8, got 16 (file 'config.json', field "
                                           "'num_attention_heads')";
    QTest::newRow("float beyond int64") << R"({"num_hidden_layers": 1e19})"
                                        << "expected an integer, got 1e+19 (file 'config.json', field "
                                           "'num_hidden_layers')";
    QTest::newRow("uint64") << R"({"vocab_size": 9223372036854775808})"
                            << "expected an integer, got 9223372036854775808";
}

void TestLimits::configSizesAreCapped()
{
    QFETCH(QString, json);
    QFETCH(QString, message);
    const std::string what = errorOf([&] { (void)BertConfig::fromJson(json.toStdString(), "config.json"); });
    QVERIFY2(what.find(message.toStdString()) != std::string::npos, what.c_str());
}

void TestLimits::configAtTheLimitsIsAccepted()
{
    const BertConfig c = BertConfig::fromJson(R"({"num_hidden_layers": 1024, "hidden_size": 65536,
        "num_attention_heads": 65536, "intermediate_size": 262144, "vocab_size": 16777216,
        "max_position_embeddings": 1048576, "type_vocab_size": 65536, "num_labels": 1048576,
        "pad_token_id": 4e3})",
                                              "config.json");
    QCOMPARE(c.numHiddenLayers, limits::kMaxLayers);
    QCOMPARE(c.padTokenId, std::int64_t(4000)); // an integral float is still an integer
}

void TestLimits::paddingLengthIsCapped()
{
    const Tokenizer t = Tokenizer::fromTokens({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a"});
    EncodeOptions o;
    o.padding = PaddingStrategy::MaxLength;
    o.maxLength = limits::kMaxSequenceLength + 1;
    try {
        (void)t.encode("a a", o);
        QFAIL("no error");
    } catch (const ShapeError &e) {
        QCOMPARE(std::string(e.what()),
                 "padding to max_length 1048577 is above the limit of 1048576 tokens per sequence (field "
                 "'max_length')");
    }
    o.maxLength = 8; // below the limit: padded as asked
    QCOMPARE(t.encode("a a", o).size(), std::size_t(8));
    // the tokenizer's own model_max_length counts the same way when no max_length is given
    TokenizerOptions huge;
    huge.modelMaxLength = std::size_t(1) << 40;
    const Tokenizer t2 = Tokenizer::fromTokens({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a"}, huge);
    o.maxLength.reset();
    QVERIFY_THROWS_EXCEPTION(ShapeError, (void)t2.encodeBatch({"a", "a"}, {}, o));
}

void TestLimits::calibrationBatchAndLengthAreCapped()
{
    const Checkpoint ck = loadCheckpoint(kTiny.toStdString());
    CalibrationOptions o;
    o.batchSize = limits::kMaxBatchSize + 1;
    QCOMPARE(errorOf([&] { Calibrator c(ck, o); }),
             std::string("calibration batch size must be at most 65536, got 65537"));
    o.batchSize = 8;
    o.maxLength = static_cast<std::int64_t>(limits::kMaxSequenceLength) + 1;
    QCOMPARE(errorOf([&] { Calibrator c(ck, o); }),
             std::string("calibration max length must be at most 1048576, got 1048577"));
    const auto r = qdq::test::runCli({"calibrate", "--model", kTiny, "--data",
                                      qdq::test::dataPath("calibration/sentences.txt"), "--method", "max", "--batch",
                                      "1000000", "--out", QDir::temp().filePath("qdq-limits-never-written")});
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(r.err.contains("calibration batch size must be at most 65536, got 1000000"), r.err.constData());
    QVERIFY(!QFileInfo::exists(QDir::temp().filePath("qdq-limits-never-written")));
}

QTEST_GUILESS_MAIN(TestLimits)
#include "tst_limits.moc"

// Tokenizer parity with transformers 4.37.2: BertTokenizer (slow) and BertTokenizerFast (fast)
// on the goldens written by tools/reference/gen_tokenizer_goldens.py (reference §6).
#include "support/test_support.h"

#include "qdq/tokenizer.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

#include <map>
#include <memory>
#include <sstream>

using namespace qdq;

namespace {

std::string utf8(const QJsonValue &v)
{
    const QByteArray b = v.toString().toUtf8();
    return {b.constData(), static_cast<std::size_t>(b.size())};
}

std::vector<std::int32_t> ints(const QJsonValue &v)
{
    std::vector<std::int32_t> out;
    for (const QJsonValue &x : v.toArray())
        out.push_back(x.toInt());
    return out;
}

std::vector<TextSpan> spans(const QJsonValue &v)
{
    std::vector<TextSpan> out;
    for (const QJsonValue &x : v.toArray()) {
        const QJsonArray pair = x.toArray();
        out.push_back({static_cast<std::size_t>(pair.at(0).toInt()), static_cast<std::size_t>(pair.at(1).toInt())});
    }
    return out;
}

std::vector<std::string> strings(const QJsonValue &v)
{
    std::vector<std::string> out;
    for (const QJsonValue &x : v.toArray())
        out.push_back(utf8(x));
    return out;
}

template <typename T>
std::string show(const std::vector<T> &values)
{
    std::ostringstream s;
    s << '[';
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i > 0)
            s << ',';
        if constexpr (std::is_same_v<T, TextSpan>)
            s << '(' << values[i].begin << ',' << values[i].end << ')';
        else
            s << values[i];
    }
    s << ']';
    return s.str();
}

} // namespace

class TestTokenizerParity : public QObject {
    Q_OBJECT
private slots:
    void goldens();
};

void TestTokenizerParity::goldens()
{
    const QString path = test::dataPath("tokenizer/goldens.jsonl");
    QFile file(path);
    QVERIFY2(file.open(QIODevice::ReadOnly), qPrintable("golden file missing: " + path));

    std::map<std::string, std::unique_ptr<Tokenizer>> tokenizers;
    auto tokenizerFor = [&](const QJsonObject &c, TokenizerFlavor flavor) -> const Tokenizer & {
        const QJsonObject o = c["options"].toObject();
        const std::string key = c["vocab"].toString().toStdString() +
                                QJsonDocument(o).toJson(QJsonDocument::Compact).toStdString() +
                                (flavor == TokenizerFlavor::Fast ? "fast" : "slow");
        auto it = tokenizers.find(key);
        if (it == tokenizers.end()) {
            TokenizerOptions options;
            options.flavor = flavor;
            options.doLowerCase = o["do_lower_case"].toBool(true);
            if (o.contains("strip_accents") && !o["strip_accents"].isNull())
                options.stripAccents = o["strip_accents"].toBool();
            options.tokenizeChineseChars = o["tokenize_chinese_chars"].toBool(true);
            const QString vocab = test::sharedPath("models/vocab-bert-base-" + c["vocab"].toString() + "/vocab.txt");
            it = tokenizers
                     .emplace(key, std::make_unique<Tokenizer>(
                                       Tokenizer::fromVocabFile(vocab.toStdString(), std::move(options))))
                     .first;
        }
        return *it->second;
    };

    int cases = 0;
    int failures = 0;
    int differ = 0;
    auto fail = [&](int id, const char *flavor, const std::string &what) {
        if (++failures <= 25)
            qWarning("case %d (%s): %s", id, flavor, what.c_str());
    };
    while (!file.atEnd()) {
        const QByteArray line = file.readLine().trimmed();
        if (line.isEmpty())
            continue;
        QJsonParseError error{};
        const QJsonObject c = QJsonDocument::fromJson(line, &error).object();
        QVERIFY2(error.error == QJsonParseError::NoError, qPrintable(error.errorString()));
        ++cases;
        differ += c["differ"].toBool() ? 1 : 0;
        const int id = c["id"].toInt();

        EncodeOptions options;
        options.truncation = *parseTruncationStrategy(c["truncation"].toString().toStdString());
        options.padding = *parsePaddingStrategy(c["padding"].toString().toStdString());
        if (!c["max_length"].isNull())
            options.maxLength = static_cast<std::size_t>(c["max_length"].toInt());
        const std::vector<std::string> texts = strings(c["texts"]);
        const std::vector<std::string> pairs = c.contains("pairs") ? strings(c["pairs"]) : std::vector<std::string>{};

        for (const TokenizerFlavor flavor : {TokenizerFlavor::Slow, TokenizerFlavor::Fast}) {
            const char *name = flavor == TokenizerFlavor::Slow ? "slow" : "fast";
            const QJsonObject expected = c[name].toObject();
            std::vector<Encoding> got;
            std::string thrown;
            try {
                got = tokenizerFor(c, flavor).encodeBatch(texts, pairs, options);
            } catch (const std::exception &e) {
                thrown = e.what();
            }
            if (expected.contains("error")) {
                if (thrown.empty())
                    fail(id, name, "expected an error like '" + utf8(expected["error"]) + "', got none");
                continue;
            }
            if (!thrown.empty()) {
                fail(id, name, "unexpected error: " + thrown);
                continue;
            }
            const QJsonArray ids = expected["ids"].toArray();
            if (static_cast<std::size_t>(ids.size()) != got.size()) {
                fail(id, name, "batch size differs");
                continue;
            }
            for (qsizetype b = 0; b < ids.size(); ++b) {
                const Encoding &e = got[static_cast<std::size_t>(b)];
                const auto wantIds = ints(ids.at(b));
                if (e.ids != wantIds)
                    fail(id, name, "ids " + show(e.ids) + " != " + show(wantIds) + " text " + texts[0]);
                if (e.typeIds != ints(expected["type_ids"].toArray().at(b)))
                    fail(id, name, "type ids differ: " + show(e.typeIds));
                if (e.attentionMask != ints(expected["mask"].toArray().at(b)))
                    fail(id, name, "attention mask differs: " + show(e.attentionMask));
                if (flavor == TokenizerFlavor::Slow) {
                    if (e.tokens != strings(expected["tokens"].toArray().at(b)))
                        fail(id, name, "tokens differ: " + show(e.tokens));
                } else {
                    const auto wantOffsets = spans(expected["offsets"].toArray().at(b));
                    if (e.offsets != wantOffsets)
                        fail(id, name, "offsets " + show(e.offsets) + " != " + show(wantOffsets) + " text " + texts[0]);
                }
            }
        }
    }
    qInfo("%d golden cases, %d where slow and fast differ, %d mismatches", cases, differ, failures);
    QVERIFY2(cases >= 2000, "the golden file has fewer cases than expected");
    QVERIFY(differ > 0);
    QCOMPARE(failures, 0);
}

QTEST_GUILESS_MAIN(TestTokenizerParity)
#include "tst_tokenizer_parity.moc"

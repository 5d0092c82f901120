// Issue #27: a small input cannot make a reader allocate out of proportion to it. Every C++
// allocation of this process is counted (operator new / delete replaced below); each reader runs
// on small valid and hostile inputs, and its peak heap growth must stay within
// kMultiple x (input bytes) + kOverhead. The hostile inputs are the classes that used to cost
// gigabytes: a view whose zero strides stand for 2^32 elements, declared sizes far beyond the
// file, deep JSON nesting, a long word against a vocabulary, many tiny zip entries.
#include "support/test_support.h"

#include "qdq/calibration_data.h"
#include "qdq/checkpoint.h"
#include "qdq/config.h"
#include "qdq/errors.h"
#include "qdq/io/onnx_import.h"
#include "qdq/tokenizer.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QTest>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <new>

#include <malloc.h>

namespace {

std::atomic<std::int64_t> g_current{0};
std::atomic<std::int64_t> g_peak{0};

void *counted(std::size_t n)
{
    void *p = std::malloc(n == 0 ? 1 : n);
    if (!p)
        throw std::bad_alloc();
    const auto now = g_current.fetch_add(static_cast<std::int64_t>(malloc_usable_size(p))) +
                     static_cast<std::int64_t>(malloc_usable_size(p));
    std::int64_t peak = g_peak.load();
    while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
    }
    return p;
}

void uncounted(void *p) noexcept
{
    if (!p)
        return;
    g_current.fetch_sub(static_cast<std::int64_t>(malloc_usable_size(p)));
    std::free(p);
}

} // namespace

void *operator new(std::size_t n)
{
    return counted(n);
}
void *operator new[](std::size_t n)
{
    return counted(n);
}
void operator delete(void *p) noexcept
{
    uncounted(p);
}
void operator delete[](void *p) noexcept
{
    uncounted(p);
}
void operator delete(void *p, std::size_t) noexcept
{
    uncounted(p);
}
void operator delete[](void *p, std::size_t) noexcept
{
    uncounted(p);
}

namespace {

constexpr std::int64_t kMultiple = 16;        // heap per input byte
constexpr std::int64_t kOverhead = 8LL << 20; // fixed: tables, Qt, the error message

// Peak heap growth while `read` runs (an Error is an accepted outcome, as for the fuzz targets).
std::int64_t peakDuring(const std::function<void()> &read)
{
    const std::int64_t base = g_current.load();
    g_peak.store(base);
    try {
        read();
    } catch (const qdq::Error &) {
    }
    return g_peak.load() - base;
}

QByteArray le32(std::uint32_t v)
{
    return QByteArray(reinterpret_cast<const char *>(&v), 4);
}

QByteArray le64(std::uint64_t v)
{
    return QByteArray(reinterpret_cast<const char *>(&v), 8);
}

void write(const QString &path, const QByteArray &bytes)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    QCOMPARE(f.write(bytes), bytes.size());
}

} // namespace

class TestReaderMemory : public QObject {
    Q_OBJECT
private slots:
    void readers_data();
    void readers();

private:
    QTemporaryDir m_dir;
};

void TestReaderMemory::readers_data()
{
    QTest::addColumn<QString>("reader");
    QTest::addColumn<QString>("path");
    const QString d = m_dir.path();
    auto add = [&](const char *name, const char *reader, const QString &path) {
        QTest::newRow(name) << QString::fromLatin1(reader) << path;
    };
    // valid inputs
    add("safetensors folder", "checkpoint", qdq::test::dataPath("checkpoints/hf_safetensors"));
    add("pytorch zip", "checkpoint", qdq::test::dataPath("checkpoints/model.pt"));
    add("pytorch legacy", "checkpoint", qdq::test::dataPath("checkpoints/legacy.bin"));
    add("zipped folder", "checkpoint", qdq::test::dataPath("checkpoints/hf_safetensors_deflated.zip"));
    add("vocabulary", "tokenizer", qdq::test::dataPath("checkpoints/hf_safetensors"));
    // hostile: a safetensors header declaring 2^40 elements in an 8-byte file
    {
        const QByteArray h = R"({"w":{"dtype":"F32","shape":[1048576,1048576],"data_offsets":[0,4]}})";
        write(d + "/st_huge/model.safetensors", le64(static_cast<std::uint64_t>(h.size())) + h + QByteArray(4, '\0'));
    }
    add("safetensors huge shape", "checkpoint", d + "/st_huge/model.safetensors");
    // hostile: JSON nested 200,000 deep in config.json
    write(d + "/deep/config.json", "{\"vocab_size\": " + QByteArray(200000, '[') + QByteArray(200000, ']') + "}");
    write(d + "/deep/vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n");
    add("deep config", "config", d + "/deep/config.json");
    // hostile: a long word (100,000 letters) against a vocabulary whose tokens are prefixes of it
    {
        QByteArray vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n";
        for (int k = 1; k <= 512; k *= 2)
            vocab += QByteArray(k, 'a') + "\n##" + QByteArray(k, 'a') + "\n";
        write(d + "/longword/vocab.txt", vocab);
        // every word is split, however long (the class that grew with the cube of its length)
        write(d + "/longword/tokenizer.json",
              R"({"model": {"type": "WordPiece", "max_input_chars_per_word": 1000000000}})");
        write(d + "/longword/text.txt", QByteArray(100000, 'a') + "b");
    }
    add("long word", "tokenize", d + "/longword");
    // hostile: JSONL calibration data, one line nested 100,000 deep
    write(d + "/data/deep.jsonl", "{\"text\": " + QByteArray(100000, '[') + QByteArray(100000, ']') + "}\n");
    add("deep jsonl", "data", d + "/data/deep.jsonl");
    // hostile: an ONNX file of garbage bytes
    write(d + "/onnx/bad.onnx", QByteArray(4096, '\x0a') + le32(0xffffffffU));
    add("garbage onnx", "onnx", d + "/onnx/bad.onnx");
}

void TestReaderMemory::readers()
{
    QFETCH(QString, reader);
    QFETCH(QString, path);
    QVERIFY(m_dir.isValid());
    // input bytes: the file, or every file of the folder
    std::int64_t input = 0;
    if (QFileInfo(path).isDir()) {
        for (const QFileInfo &f : QDir(path).entryInfoList(QDir::Files))
            input += f.size();
    } else {
        input = QFileInfo(path).size();
    }
    QVERIFY(input > 0);
    const std::string p = path.toStdString();
    std::function<void()> read;
    if (reader == "checkpoint")
        read = [&] { (void)qdq::loadCheckpoint(p); };
    else if (reader == "tokenizer")
        read = [&] { (void)qdq::Tokenizer::fromDirectory(p); };
    else if (reader == "config")
        read = [&] {
            QFile f(path);
            QVERIFY(f.open(QIODevice::ReadOnly));
            const QByteArray bytes = f.readAll();
            (void)qdq::BertConfig::fromJson(std::string_view(bytes.constData(), static_cast<std::size_t>(bytes.size())),
                                            p);
        };
    else if (reader == "tokenize")
        read = [&] {
            const qdq::Tokenizer t = qdq::Tokenizer::fromDirectory(p);
            QFile f(path + "/text.txt");
            QVERIFY(f.open(QIODevice::ReadOnly));
            (void)t.encode(f.readAll().toStdString());
        };
    else if (reader == "data")
        read = [&] { (void)qdq::readCalibrationData(p, {}); };
    else if (reader == "onnx")
        read = [&] { (void)qdq::importOnnxAmax(p); };
    QVERIFY(read);
    const std::int64_t peak = peakDuring(read);
    const std::int64_t bound = kMultiple * input + kOverhead;
    qInfo("%s: input %lld bytes, peak heap growth %lld bytes (bound %lld)", qPrintable(QTest::currentDataTag()),
          static_cast<long long>(input), static_cast<long long>(peak), static_cast<long long>(bound));
    QVERIFY2(peak <= bound, qPrintable(QStringLiteral("peak %1 > %2").arg(peak).arg(bound)));
}

QTEST_GUILESS_MAIN(TestReaderMemory)
#include "tst_reader_memory.moc"

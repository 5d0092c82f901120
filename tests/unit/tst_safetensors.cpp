// safetensors reading and writing: a hand-built file, round trips, and malformed headers
// that must fail with errors naming the file, tensor and field.
#include "qdq/config.h"
#include "qdq/errors.h"
#include "qdq/io/safetensors.h"

#include <QDir>
#include <QTemporaryDir>
#include <QTest>

#include <cstring>
#include <fstream>

using namespace qdq;

namespace {

// Writes an 8-byte length, `header` and `data` as a safetensors file.
std::string writeRaw(const QTemporaryDir &dir, const std::string &header, const std::string &data,
                     const char *name = "t.safetensors")
{
    const std::string path = dir.filePath(name).toStdString();
    std::ofstream out(path, std::ios::binary);
    const std::uint64_t len = header.size();
    out.write(reinterpret_cast<const char *>(&len), 8);
    out << header << data;
    return path;
}

template <class E>
std::string errorOf(const std::function<void()> &fn)
{
    try {
        fn();
    } catch (const E &e) {
        return e.what();
    }
    return "<no error>";
}

} // namespace

class TestSafetensors : public QObject {
    Q_OBJECT
private slots:
    void readsHandBuiltFile();
    void roundTripAllDTypes();
    void writeIsAtomic();
    void malformedHeaders_data();
    void malformedHeaders();
    void configParsing();
};

void TestSafetensors::readsHandBuiltFile()
{
    QTemporaryDir dir;
    // two f32 values then three i64, offsets relative to the data section
    std::string data(8 + 24, '\0');
    const float f[2] = {1.5f, -2.25f};
    const std::int64_t i[3] = {7, -1, std::int64_t(1) << 40};
    std::memcpy(data.data(), f, 8);
    std::memcpy(data.data() + 8, i, 24);
    const std::string header =
        R"({"b":{"dtype":"I64","shape":[3],"data_offsets":[8,32]},)"
        R"("a":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},"__metadata__":{"format":"pt"}})";
    const std::string path = writeRaw(dir, header + std::string(8 - header.size() % 8, ' '), data);
    const SafetensorsFile file = SafetensorsFile::open(path);
    QCOMPARE(file.names(), (std::vector<std::string>{"a", "b"})); // by offset
    QCOMPARE(file.metadata().at("format"), std::string("pt"));
    const Tensor a = file.tensor("a");
    QCOMPARE(a.shape(), (Shape{1, 2}));
    QCOMPARE(a.toFloatVector(), (std::vector<float>{1.5f, -2.25f}));
    QVERIFY(!a.isWritable()); // zero-copy view of the mapping
    QCOMPARE(file.tensor("b").toInt64Vector(), (std::vector<std::int64_t>{7, -1, std::int64_t(1) << 40}));
    QVERIFY(errorOf<FormatError>([&] { (void)file.tensor("c"); }).find("tensor 'c'") != std::string::npos);
}

void TestSafetensors::roundTripAllDTypes()
{
    QTemporaryDir dir;
    const Tensor f = Tensor::fromValues<float>({2, 3}, {0.f, 1.f, -2.f, 3.5f, 1e-8f, 65504.f});
    const Tensor t = f.transpose(0, 1); // non-contiguous: stored contiguous
    const Tensor h = f.to(DType::F16);
    const Tensor b = f.to(DType::BF16);
    const Tensor i8 = f.to(DType::I8);
    const Tensor i64 = Tensor::fromValues<std::int64_t>({2}, {-5, 1LL << 50});
    const Tensor scalar = Tensor::fromValues<float>({}, {3.f});
    const std::string path = dir.filePath("rt.safetensors").toStdString();
    writeSafetensors(path,
                     {{"f", &f}, {"t", &t}, {"h", &h}, {"b", &b}, {"i8", &i8}, {"i64", &i64}, {"scalar", &scalar}},
                     {{"note", "x"}});
    const SafetensorsFile file = SafetensorsFile::open(path);
    QCOMPARE(file.names().size(), std::size_t(7));
    QCOMPARE(file.tensor("f").toFloatVector(), f.toFloatVector());
    QCOMPARE(file.tensor("t").shape(), (Shape{3, 2}));
    QCOMPARE(file.tensor("t").toFloatVector(), t.toFloatVector());
    QCOMPARE(file.dtype("h"), DType::F16);
    QCOMPARE(file.tensor("h").toFloatVector(), h.toFloatVector());
    QCOMPARE(file.tensor("b").toFloatVector(), b.toFloatVector());
    QCOMPARE(file.tensor("i8").toInt64Vector(), (std::vector<std::int64_t>{0, 1, -2, 4, 0, 127}));
    QCOMPARE(file.tensor("i64").toInt64Vector(), i64.toInt64Vector());
    QCOMPARE(file.tensor("scalar").shape(), Shape{});
    QCOMPARE(file.tensor("scalar").at({}), 3.0);
    QCOMPARE(file.metadata().at("note"), std::string("x"));
}

void TestSafetensors::writeIsAtomic()
{
    QTemporaryDir dir;
    const std::string path = dir.filePath("out.safetensors").toStdString();
    const Tensor f = Tensor::fromValues<float>({1}, {1.f});
    writeSafetensors(path, {{"f", &f}});
    const Tensor undefined;
    // a failing write (undefined tensor) leaves the earlier file intact and no temporary files
    QVERIFY_THROWS_EXCEPTION(ShapeError, writeSafetensors(path, {{"g", &f}, {"u", &undefined}}));
    QCOMPARE(SafetensorsFile::open(path).names(), std::vector<std::string>{"f"});
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files), QStringList{"out.safetensors"});
    QVERIFY_THROWS_EXCEPTION(IoError, writeSafetensors("/nonexistent/dir/x.safetensors", {{"f", &f}}));
}

void TestSafetensors::malformedHeaders_data()
{
    QTest::addColumn<QString>("header");
    QTest::addColumn<int>("dataBytes");
    QTest::addColumn<QString>("expected");
    QTest::newRow("not json") << "{oops" << 0 << "field 'header'";
    QTest::newRow("not object") << "[1,2]" << 0 << "header must be a JSON object";
    QTest::newRow("unknown dtype") << R"({"w":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})" << 8
                                   << "unsupported dtype F64 (supported: F32, F16, BF16, I8, U8, I32, I64, BOOL) (file "
                                      "'%1', tensor 'w', field 'dtype')";
    QTest::newRow("offsets past end") << R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})" << 8
                                      << "tensor 'w', field 'data_offsets'";
    QTest::newRow("size mismatch") << R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})" << 8
                                   << "8 bytes do not hold F32[3]";
    QTest::newRow("overflowing shape")
        << R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}})" << 8
        << "field 'shape'";
    QTest::newRow("negative shape") << R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})" << 8
                                    << "shape entries must be non-negative";
    QTest::newRow("overlap") << R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})"
                             << 8 << "tensors overlap";
    QTest::newRow("missing offsets") << R"({"w":{"dtype":"F32","shape":[1]}})" << 4 << "field 'data_offsets'";
}

void TestSafetensors::malformedHeaders()
{
    QFETCH(QString, header);
    QFETCH(int, dataBytes);
    QFETCH(QString, expected);
    QTemporaryDir dir;
    const std::string path =
        writeRaw(dir, header.toStdString(), std::string(static_cast<std::size_t>(dataBytes), '\0'));
    std::string message;
    try {
        (void)SafetensorsFile::open(path);
    } catch (const Error &e) {
        message = e.what();
    }
    const std::string want =
        (expected.contains("%1") ? expected.arg(QString::fromStdString(path)) : expected).toStdString();
    QVERIFY2(message.find(want) != std::string::npos, (message + " / expected: " + want).c_str());
    QVERIFY(message.find(path) != std::string::npos);
}

void TestSafetensors::configParsing()
{
    const BertConfig c = BertConfig::fromJson(
        R"({"hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 2, "intermediate_size": 128,
            "vocab_size": 100, "pad_token_id": 0, "id2label": {"1": "POS", "0": "NEG"}, "hidden_act": "gelu_new",
            "unknown_key": [1, 2]})",
        "config.json");
    QCOMPARE(c.hiddenSize, 64);
    QCOMPARE(c.headSize(), 16);
    QCOMPARE(c.padTokenId, 0);
    QCOMPARE(c.numLabels, 2);
    QCOMPARE(c.id2label, (std::vector<std::string>{"NEG", "POS"}));
    QCOMPARE(c.layerNormEps, 1e-12);
    QCOMPARE(c.maxPositionEmbeddings, 512);
    const BertConfig back = BertConfig::fromJson(c.toJson());
    QCOMPARE(back.toJson(), c.toJson());
    QCOMPARE(errorOf<FormatError>(
                 [] { (void)BertConfig::fromJson(R"({"hidden_size": 100, "num_attention_heads": 12})", "c.json"); }),
             std::string(
                 "hidden_size 100 is not a multiple of num_attention_heads 12 (file 'c.json', field 'hidden_size')"));
    QCOMPARE(errorOf<FormatError>([] { (void)BertConfig::fromJson(R"({"hidden_size": "big"})", "c.json"); }),
             std::string("expected an integer, got \"big\" (file 'c.json', field 'hidden_size')"));
    QVERIFY(errorOf<FormatError>([] { (void)BertConfig::fromJson(R"({"hidden_act": "mish"})"); }).find("hidden_act") !=
            std::string::npos);
    QVERIFY(errorOf<FormatError>([] { (void)BertConfig::fromJson("{"); }).find("not valid JSON") != std::string::npos);
}

QTEST_APPLESS_MAIN(TestSafetensors)
#include "tst_safetensors.moc"

// Hostile files (issue #15, SECURITY.md): crafted checkpoints that try to execute code through a
// pickle, escape a folder through zip entry names, exhaust memory (zip bombs, oversized declared
// shapes, deep nesting, huge configs) or smuggle non-finite weights. Every file is generated here
// (no opaque binaries); each must make loadCheckpoint throw a typed error naming the file and the
// problem, and `qdq info --model FILE` exit with code 2 and one line "qdq: error: ...", with
// nothing written beside it. The sanitizer stage of tools/test.sh runs this suite under
// ASan/UBSan (label unit). tst_checkpoint_bad holds the older loader cases.
#include "qdq/checkpoint.h"
#include "qdq/errors.h"
#include "qdq/tokenizer.h"
#include "support/test_support.h"

#include <QDir>
#include <QDirIterator>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

#include <sys/resource.h>
#include <sys/stat.h>

#include <array>
#include <cstring>
#include <limits>

using namespace qdq;
using qdq::test::ProcessResult;
using qdq::test::runCli;

namespace {

void writeAll(const QString &path, const QByteArray &bytes)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(bytes) != bytes.size())
        qFatal("cannot write %s", qPrintable(path));
}

QStringList listing(const QString &dir)
{
    QStringList out;
    QDirIterator it(dir, QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        it.next();
        out << it.filePath() + " " + QString::number(it.fileInfo().size());
    }
    out.sort();
    return out;
}

QByteArray le16(std::uint16_t v)
{
    return QByteArray(reinterpret_cast<const char *>(&v), 2);
}
QByteArray le32(std::uint32_t v)
{
    return QByteArray(reinterpret_cast<const char *>(&v), 4);
}
QByteArray le64(std::uint64_t v)
{
    return QByteArray(reinterpret_cast<const char *>(&v), 8);
}

std::uint32_t crc32(const QByteArray &data)
{
    static const std::array<std::uint32_t, 256> table = [] {
        std::array<std::uint32_t, 256> t{};
        for (std::uint32_t i = 0; i < 256; ++i) {
            std::uint32_t c = i;
            for (int k = 0; k < 8; ++k)
                c = (c & 1) ? 0xedb88320U ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }();
    std::uint32_t c = 0xffffffffU;
    for (const char ch : data)
        c = table[(c ^ static_cast<unsigned char>(ch)) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffU;
}

// Raw deflate of `data` (qCompress is zlib: a 4-byte size, a 2-byte header, the stream, adler32).
QByteArray deflate(const QByteArray &data)
{
    const QByteArray z = qCompress(data, 9);
    return z.mid(6, z.size() - 10);
}

struct ZipEntry {
    QByteArray name;
    QByteArray data; // as stored (already deflated when method is 8)
    std::uint16_t method = 0;
    std::uint32_t uncompressed = 0; // 0: data.size()
    std::uint32_t crc = 0;          // 0: crc32 of the data (stored entries)
    std::uint16_t flags = 0;
    std::uint32_t compressed = 0; // 0: data.size() (a larger value is a false compressed size)
};

// A minimal zip writer: local headers, central directory, end record; sizes and names as given,
// so that entries can lie about themselves.
QByteArray zip(const QList<ZipEntry> &entries)
{
    QByteArray out;
    QByteArray central;
    for (const ZipEntry &e : entries) {
        const auto offset = static_cast<std::uint32_t>(out.size());
        const std::uint32_t size = e.compressed ? e.compressed : static_cast<std::uint32_t>(e.data.size());
        const std::uint32_t uncompressed = e.uncompressed ? e.uncompressed : size;
        const std::uint32_t crc = e.crc ? e.crc : crc32(e.data);
        const QByteArray common = le16(20) + le16(e.flags) + le16(e.method) + le16(0) + le16(0) + le32(crc) +
                                  le32(size) + le32(uncompressed) + le16(static_cast<std::uint16_t>(e.name.size()));
        out += le32(0x04034b50) + common + le16(0) + e.name + e.data;
        central += le32(0x02014b50) + le16(20) + common + le16(0) + le16(0) + le16(0) + le16(0) + le32(0) +
                   le32(offset) + e.name;
    }
    const auto cdOffset = static_cast<std::uint32_t>(out.size());
    const auto n = static_cast<std::uint16_t>(entries.size());
    out += central + le32(0x06054b50) + le16(0) + le16(0) + le16(n) + le16(n) +
           le32(static_cast<std::uint32_t>(central.size())) + le32(cdOffset) + le16(0);
    return out;
}

QByteArray safetensors(const QByteArray &header, const QByteArray &data)
{
    return le64(static_cast<std::uint64_t>(header.size())) + header + data;
}

// pickle pieces (protocol 2, as torch.save writes them)
QByteArray str(const QByteArray &s)
{
    return "X" + le32(static_cast<std::uint32_t>(s.size())) + s;
}
QByteArray global(const char *module, const char *name)
{
    return QByteArray("c") + module + "\n" + name + "\n";
}
// _rebuild_tensor_v2(('storage', cls, key, 'cpu', numel), offset, size, stride, False, OrderedDict())
QByteArray rebuild(const QByteArray &storageClass, std::int32_t numel, const QByteArray &offset, const QByteArray &size,
                   const QByteArray &stride)
{
    const qsizetype dot = storageClass.indexOf('.');
    return global("torch._utils", "_rebuild_tensor_v2") + "((" + str("storage") +
           global(storageClass.left(dot).constData(), storageClass.mid(dot + 1).constData()) + str("0") + str("cpu") +
           "J" + le32(static_cast<std::uint32_t>(numel)) + "tQ" + offset + size + stride + "\x89" +
           global("collections", "OrderedDict") + ")RtR";
}
QByteArray stateDict(const QByteArray &key, const QByteArray &value)
{
    return "\x80\x02" + global("collections", "OrderedDict") + QByteArray("q\x00)Rq\x01(", 7) + str(key) + value + "u.";
}
const QByteArray kShape22 = QByteArray("K\x02K\x02\x86", 5);
const QByteArray kStride21 = QByteArray("K\x02K\x01\x86", 5);
const QByteArray kZero = QByteArray("K\x00", 2);

// A torch.save zip: archive/data.pkl, archive/byteorder and the storages.
QByteArray torchZip(const QByteArray &pkl, const QByteArray &storage = QByteArray(16, '\0'),
                    const QByteArray &byteorder = "little")
{
    return zip({{"archive/data.pkl", pkl}, {"archive/byteorder", byteorder}, {"archive/data/0", storage}});
}

// issue #27: every rejection takes under 10 s and under 1 GiB peak RSS (the largest resident set
// of any child process so far, which is this test's qdq runs).
void checkBudget(qint64 elapsedMs)
{
    QVERIFY2(elapsedMs < 10000, qPrintable(QStringLiteral("took %1 ms").arg(elapsedMs)));
    struct rusage usage {};
    QCOMPARE(::getrusage(RUSAGE_CHILDREN, &usage), 0);
    QVERIFY2(usage.ru_maxrss < 1024L * 1024L, qPrintable(QStringLiteral("peak RSS %1 KiB").arg(usage.ru_maxrss)));
}

QByteArray floats(std::initializer_list<float> values)
{
    QByteArray out;
    for (float v : values)
        out += QByteArray(reinterpret_cast<const char *>(&v), 4);
    return out;
}

} // namespace

class TestHostileFiles : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void hostile_data();
    void hostile();
    void hostileTokenizer_data();
    void hostileTokenizer();
    void invalidUtf8InJsonError();

private:
    QTemporaryDir m_dir;
};

void TestHostileFiles::initTestCase()
{
    QVERIFY(m_dir.isValid());
}

void TestHostileFiles::hostile_data()
{
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("message"); // a part of the error message
    const QString tmp = m_dir.path();
    auto add = [&](const char *name, const QByteArray &bytes, const char *message) {
        // one folder per case: a sibling config.json of one case must not leak into another
        const QString path = tmp + "/" + name + "/" + name;
        writeAll(path, bytes);
        QTest::newRow(name) << path << message;
    };
    auto addWithConfig = [&](const char *name, const QByteArray &config, const char *message) {
        const QString dir = tmp + "/" + name;
        writeAll(dir + "/config.json", config);
        writeAll(dir + "/model.safetensors",
                 safetensors(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", floats({1})));
        QTest::newRow(name) << dir << message;
    };
    const QByteArray p2("\x80\x02", 2);

    // --- pickles that try to run code: nothing is executed, the global is named -----------------
    add("pk_subprocess", p2 + global("subprocess", "Popen") + "(" + str("sh") + "tR.",
        "global 'subprocess.Popen', which is not allowed");
    add("pk_builtins_exec", p2 + global("builtins", "exec") + "(" + str("print(1)") + "tR.",
        "global 'builtins.exec', which is not allowed");
    add("pk_builtins_getattr", p2 + global("builtins", "getattr") + ".", "global 'builtins.getattr'");
    add("pk_importlib", p2 + global("importlib", "import_module") + ".", "global 'importlib.import_module'");
    add("pk_torch_load", p2 + global("torch", "load") + ".", "global 'torch.load', which is not allowed");
    add("pk_stack_global_eval", p2 + str("builtins") + str("eval") + "\x93.", "global 'builtins.eval'");
    add("pk_proto4_stack_global", QByteArray("\x80\x04", 2) + str("posix") + str("system") + "\x93.",
        "global 'posix.system'");
    add("pk_reduce_non_global", p2 + "N)R.", "REDUCE of a None, not a global");
    add("pk_reduce_storage_class", p2 + global("torch", "FloatStorage") + ")R.",
        "storage class torch.FloatStorage called directly");
    add("pk_build_on_list", p2 + "]}b.", "BUILD on a list");
    add("pk_global_too_long", p2 + "c" + QByteArray(300, 'a') + "\n" + "b\n.",
        "GLOBAL name is unterminated or longer than 256 bytes");
    add("pk_self_append",
        p2 + QByteArray("]q\x00h\x00"
                        "a.",
                        7),
        "a container that contains itself");
    add("pk_protocol_9", p2 + QByteArray("\x80\x09", 2) + "N.", "unsupported protocol 9");
    add("pk_stop_two_values", p2 + "NN.", "STOP with 2 values on the stack");
    add("pk_stack_bomb", p2 + QByteArray((1 << 22) + 1, 'N') + ".", "stack grows beyond 4194304 items");
    add("pk_torch_zip_exec", torchZip(stateDict("w", global("builtins", "exec") + "(" + str("import os") + "tR")),
        "global 'builtins.exec', which is not allowed");
    add("pk_rebuild_with_os_system",
        torchZip(stateDict("w", global("torch._utils", "_rebuild_tensor_v2") + "(" + global("os", "system") + "tR")),
        "global 'os.system'");

    // --- PyTorch zip checkpoints with lying sizes, shapes and types ---------------------------------
    add("pt_storage_bigger_than_entry",
        torchZip(stateDict("w", rebuild("torch.FloatStorage", 1 << 30, kZero, kShape22, kStride21))),
        "declares 1073741824 f32 elements but has only 16 bytes");
    add("pt_view_beyond_storage",
        torchZip(stateDict("w", rebuild("torch.FloatStorage", 4, QByteArray("K\x03", 2), kShape22, kStride21))),
        "needs 7 elements but its storage 0 has 4");
    add("pt_oversized_shape",
        torchZip(stateDict("w", rebuild("torch.FloatStorage", 4, kZero, "J" + le32(65536) + "J" + le32(65536) + "\x86",
                                        "J" + le32(65536) + "K\x01\x86"))),
        "has 4294967296 elements over a storage of 4");
    // issue #27: a view whose zero strides make 4 bytes stand for 2^32 elements (a copy would
    // allocate 16 GiB before any other check)
    add("pt_zero_stride_view",
        torchZip(stateDict("w", rebuild("torch.FloatStorage", 1, kZero, "J" + le32(65536) + "J" + le32(65536) + "\x86",
                                        kZero + kZero + "\x86"))),
        "has 4294967296 elements over a storage of 1 (zero or overlapping strides)");
    add("pt_shape_overflow",
        torchZip(stateDict("w", rebuild("torch.FloatStorage", 4, kZero,
                                        "\x8a\x08" + le64(1ULL << 62) + "\x8a\x08" + le64(1ULL << 62) + "\x86",
                                        "\x8a\x08" + le64(1ULL << 62) + "K\x01\x86"))),
        "overflows");
    add("pt_negative_size",
        torchZip(stateDict(
            "w", rebuild("torch.FloatStorage", 4, kZero, QByteArray("J\xff\xff\xff\xffK\x02\x86", 8), kStride21))),
        "size has a negative entry -1");
    add("pt_wrong_dtype_double",
        torchZip(stateDict("w", rebuild("torch.DoubleStorage", 2, kZero, kShape22, kStride21))),
        "storage type torch.DoubleStorage is not supported");
    add("pt_big_endian",
        torchZip(stateDict("w", rebuild("torch.FloatStorage", 4, kZero, kShape22, kStride21)), QByteArray(16, '\0'),
                 "big"),
        "big-endian PyTorch checkpoints are not supported");
    add("pt_missing_storage",
        zip({{"archive/data.pkl", stateDict("w", rebuild("torch.FloatStorage", 4, kZero, kShape22, kStride21))}}),
        "storage entry is missing");
    add("pt_value_not_tensor", torchZip(stateDict("w", "K\x05")), "is a int, not a tensor");
    add("pt_nan_weight",
        torchZip(stateDict("w", rebuild("torch.FloatStorage", 4, kZero, kShape22, kStride21)),
                 floats({1, 2, std::numeric_limits<float>::quiet_NaN(), 4})),
        "tensor holds NaN at element 2 of 4");

    // --- zip containers: traversal, bombs, lies -------------------------------------------------------
    add("zip_traversal_nested", zip({{"model/../../../etc/passwd", "x"}}), "'..' component (path traversal)");
    add("zip_traversal_backslash", zip({{"..\\..\\evil.dll", "x"}}), "'..' component (path traversal)");
    add("zip_drive_letter", zip({{"C:/Windows/evil.dll", "x"}}), "drive letter");
    add("zip_absolute_backslash", zip({{"\\etc\\passwd", "x"}}), "absolute entry name");
    add("zip_encrypted", zip({{"config.json", "{}", 0, 0, 0, 1}}), "encrypted zip entries are not supported");
    add("zip_method_bzip2", zip({{"model.safetensors", "BZh9", 12}}), "compression method 12 is not supported");
    add("zip_stored_size_lie", zip({{"model.safetensors", "abcd", 0, 4000}}),
        "stored entry declares 4 compressed but 4000 uncompressed bytes");
    {
        // 64 MiB of zeros deflate to ~64 KiB: a 1000:1 bomb
        const QByteArray zeros(64 << 20, '\0');
        add("zip_bomb_1000x",
            zip({{"model.safetensors", deflate(zeros), 8, static_cast<std::uint32_t>(zeros.size()), crc32(zeros)}}),
            "cap (zip bomb?)");
        // the nested variant: a zipped folder whose weights file is itself a bomb
        add("zip_bomb_nested",
            zip({{"m/config.json", "{}"},
                 {"m/model.safetensors",
                  zip({{"inner", deflate(zeros), 8, static_cast<std::uint32_t>(zeros.size()), crc32(zeros)}})}}),
            "cap (zip bomb?)");
    }
    {
        // declares 4 GiB - 1 inflated bytes for a 1-byte stream
        add("zip_declared_4g", zip({{"model.safetensors", deflate("x"), 8, 0xffffffffU, 0x12345678}}),
            "cap (zip bomb?)");
    }
    // issue #27: a deflated entry whose declared compressed size exceeds the archive (the ratio
    // cap trusted it), and a stored entry whose bytes do not match its CRC-32
    add("zip_false_compressed_size",
        zip({{"model.safetensors", deflate(QByteArray(4096, '\0')), 8, 4096, crc32(QByteArray(4096, '\0')), 0,
              100000000}}),
        "false compressed size");
    add("zip_stored_crc_mismatch",
        zip({{"m/config.json", "{}"},
             {"m/model.safetensors",
              safetensors(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", floats({1})), 0, 0,
              0x12345678}}),
        "does not match its CRC-32");
    add("zip_truncated_central_directory", zip({{"a", "b"}}).left(40), "not a readable zip archive");
    add("zip_no_checkpoint", zip({{"readme.txt", "hello"}}), "zip archive holds no checkpoint");

    // --- safetensors: oversized declared shapes, lying headers, deep nesting ---------------------------
    add("st_shape_2e40",
        safetensors(R"({"w":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,4]}})", floats({1})),
        "is too large");
    add("st_shape_exceeds_file",
        safetensors(R"({"w":{"dtype":"F32","shape":[1000000000],"data_offsets":[0,4000000000]}})", floats({1})),
        "lie outside the 4 data bytes");
    add("st_header_length_2e63", le64(1ULL << 63) + "{}", "header length 9223372036854775808 exceeds the file size");
    add("st_negative_shape", safetensors(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", floats({1})),
        "shape entries must be non-negative integers");
    add("st_offsets_reversed", safetensors(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", floats({1})),
        "data_offsets [4, 0] lie outside");
    add("st_wrong_dtype_f64", safetensors(R"({"w":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})", le64(0)),
        "unsupported dtype F64");
    add("st_dtype_not_string", safetensors(R"({"w":{"dtype":7,"shape":[1],"data_offsets":[0,4]}})", floats({1})),
        "missing dtype");
    add("st_metadata_not_strings", safetensors(R"({"__metadata__":{"format":["pt"]}})", ""),
        "__metadata__ values must be strings");
    add("st_deep_nesting", safetensors("{\"w\":" + QByteArray(100000, '[') + QByteArray(100000, ']') + "}", ""),
        "header is not valid JSON: nested deeper than 512 levels");
    add("st_nan_f32",
        safetensors(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}})",
                    floats({0, 1, std::numeric_limits<float>::quiet_NaN()})),
        "tensor holds NaN at element 2 of 3");
    add("st_inf_f32",
        safetensors(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                    floats({-std::numeric_limits<float>::infinity(), 0})),
        "tensor holds an infinity at element 0 of 2");
    add("st_inf_f16", safetensors(R"({"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", le16(0) + le16(0x7c00)),
        "tensor holds an infinity at element 1 of 2 (f16[2])");
    add("st_nan_bf16", safetensors(R"({"w":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}})", le16(0xffc1)),
        "tensor holds NaN at element 0 of 1");
    add("st_layer_index_5000",
        safetensors(R"({"bert.embeddings.word_embeddings.weight":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]},)"
                    R"("bert.encoder.layer.5000.output.dense.bias":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                    floats({1, 1})),
        "layer index 5000 is above the limit of 1024 layers");
    add("st_layer_index_int64_max",
        safetensors(R"({"bert.embeddings.word_embeddings.weight":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]},)"
                    R"("encoder.layer.9223372036854775807.x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                    floats({1, 1})),
        "layer index 9223372036854775807 is above the limit");
    add("text_file_as_weights", "just some text, not weights\n", "not a weights file");
    add("png_as_weights", QByteArray("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16), "not a weights file");

    // --- config.json sizes that would size huge bookkeeping -------------------------------------------
    addWithConfig("cfg_layers_1e6", R"({"num_hidden_layers": 1000000, "hidden_size": 64, "num_attention_heads": 1})",
                  "must be at most 1024, got 1000000");
    addWithConfig("cfg_vocab_2e40", R"({"vocab_size": 1099511627776})", "must be at most 16777216");
    addWithConfig("cfg_hidden_1e300", R"({"hidden_size": 1e300})", "expected an integer, got 1e+300");
    addWithConfig("cfg_uint64_max", R"({"intermediate_size": 18446744073709551615})",
                  "expected an integer, got 18446744073709551615");
    addWithConfig("cfg_heads_above_hidden", R"({"hidden_size": 4, "num_attention_heads": 8})",
                  "must be at most 4, got 8");
    addWithConfig("cfg_not_object", "[1, 2, 3]", "config must be a JSON object");
    // found by fuzz_config: a number beyond double made nlohmann::json throw out_of_range, which
    // no parser caught (exit 4, "internal error"); regression seeds in tests/fuzz/corpus/*/
    addWithConfig("cfg_number_overflow", R"({"vocab_size": 1e400})", "number overflow parsing '1e400'");
    add("st_number_overflow", safetensors(R"({"w":{"dtype":"F32","shape":[1e400],"data_offsets":[0,4]}})", floats({1})),
        "header is not valid JSON: [json.exception.out_of_range.406] number overflow parsing '1e400'");
    {
        const QString dir = tmp + "/index_number_overflow";
        writeAll(dir + "/model.safetensors.index.json", R"({"metadata": {"total_size": 1e999}, "weight_map": {}})");
        writeAll(dir + "/model-1.safetensors", safetensors("{}", ""));
        QTest::newRow("index_number_overflow") << dir << "index is not valid JSON";
    }
    // issue #27: hundreds of thousands of '[' with a wrong-typed field (the error message used to
    // dump() the value recursively and overflow the stack)
    addWithConfig("cfg_deep_nesting_wrong_type",
                  "{\"vocab_size\": " + QByteArray(300000, '[') + QByteArray(300000, ']') + "}",
                  "not valid JSON: nested deeper than 512 levels");
    // invalid UTF-8 in names that reach the error message (JSON files cannot carry it: the
    // parser refuses it; pickles can), shown as \xNN
    add("pt_invalid_utf8_key",
        torchZip(stateDict("w\xff\xfe",
                           rebuild("torch.FloatStorage", 1, kZero, "J" + le32(65536) + "\x85", kZero + "\x85"))),
        "tensor 'w\\xff\\xfe'");
    // a line break in a key: the CLI's error stays one line
    add("pt_newline_key",
        torchZip(
            stateDict("w\nx", rebuild("torch.FloatStorage", 1, kZero, "J" + le32(65536) + "\x85", kZero + "\x85"))),
        "elements over a storage of 1");
    add("pt_invalid_utf8_global", torchZip("\x80\x02" + global("os\xff", "system\xfe") + "."), "os\\xff");
}

// Tokenizer files reached by `qdq tokenize --model DIR` (and every command with --text).
void TestHostileFiles::hostileTokenizer_data()
{
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("message");
    const QString tmp = m_dir.path() + "/tok";
    auto folder = [&](const char *name) {
        const QString dir = tmp + "/" + name;
        QDir().mkpath(dir);
        writeAll(dir + "/config.json", R"({"vocab_size": 8, "hidden_size": 4, "num_hidden_layers": 1,
                                           "num_attention_heads": 1, "intermediate_size": 4})");
        return dir;
    };
    {
        const QString dir = folder("vocab_char_device"); // read until memory ran out (exit 4)
        QVERIFY(QFile::link("/dev/zero", dir + "/vocab.txt"));
        QTest::newRow("vocab_char_device") << dir << "not a regular file";
    }
    {
        const QString dir = folder("vocab_fifo"); // would block the open forever
        QVERIFY(::mkfifo((dir + "/vocab.txt").toLocal8Bit().constData(), 0600) == 0);
        QTest::newRow("vocab_fifo") << dir << "not a regular file";
    }
    {
        const QString dir = folder("tokenizer_json_wrong_type"); // json::type_error escaped (exit 4)
        writeAll(dir + "/tokenizer.json", R"({"model": {"type": 5, "vocab": {"a": 0}}})");
        QTest::newRow("tokenizer_json_wrong_type") << dir << "unexpected JSON value in the tokenizer files";
    }
    {
        const QString dir = folder("tokenizer_json_deep");
        writeAll(dir + "/tokenizer.json", "{\"model\": " + QByteArray(200000, '[') + QByteArray(200000, ']') + "}");
        QTest::newRow("tokenizer_json_deep") << dir << "nested deeper than 512 levels";
    }
    {
        const QString dir = folder("vocab_huge_token"); // WordPiece would try every length up to it
        writeAll(dir + "/vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n" + QByteArray(5000, 'a') + "\n");
        QTest::newRow("vocab_huge_token") << dir << "tokens of at most 1024 bytes";
    }
}

void TestHostileFiles::hostileTokenizer()
{
    QFETCH(QString, path);
    QFETCH(QString, message);
    std::string what = "<no error>";
    try {
        (void)Tokenizer::fromDirectory(path.toStdString());
    } catch (const Error &e) {
        what = e.what();
    }
    QVERIFY2(what.find(message.toStdString()) != std::string::npos, what.c_str());
    QElapsedTimer timer;
    timer.start();
    const ProcessResult r = runCli({"tokenize", "--model", path, "--text", "hello"}, 60000);
    QVERIFY2(!r.crashed && !r.timedOut, r.err.constData());
    QCOMPARE(r.exitCode, 2);
    const QList<QByteArray> lines = r.err.trimmed().split('\n');
    QVERIFY2(lines.size() == 1 && lines.last().startsWith("qdq: error: ") && lines.last().contains(message.toUtf8()),
             r.err.constData());
    checkBudget(timer.elapsed());
}

// --json output stays valid JSON when the message carries bytes that are not UTF-8 (it used to
// throw inside the error handler: std::terminate, exit 134).
void TestHostileFiles::invalidUtf8InJsonError()
{
    const QString path = m_dir.path() + "/utf8/model.pt";
    writeAll(path, torchZip(stateDict("w\xff\xfe", rebuild("torch.FloatStorage", 1, kZero, "J" + le32(65536) + "\x85",
                                                           kZero + "\x85"))));
    const ProcessResult r = runCli({"info", "--model", path, "--json"}, 60000);
    QVERIFY2(!r.crashed, r.err.constData());
    QCOMPARE(r.exitCode, 2);
    QJsonParseError error{};
    const QJsonDocument doc = QJsonDocument::fromJson(r.out, &error);
    QVERIFY2(error.error == QJsonParseError::NoError, r.out.constData());
    const QString message = doc.object()["error"].toObject()["message"].toString() + " " +
                            doc.object()["error"].toObject()["where"].toString();
    QVERIFY2(message.contains("\\xff\\xfe"), qPrintable(message));
}

void TestHostileFiles::hostile()
{
    QFETCH(QString, path);
    QFETCH(QString, message);
    const QString parent = QFileInfo(path).isDir() ? path : QFileInfo(path).absolutePath();
    const QStringList before = listing(parent);

    std::string what = "<no error>";
    std::string file;
    try {
        (void)loadCheckpoint(path.toStdString());
    } catch (const Error &e) {
        what = e.what();
        file = e.where().file;
    }
    QVERIFY2(what.find(message.toStdString()) != std::string::npos, what.c_str());
    QVERIFY2(file.find(QFileInfo(path).fileName().toStdString()) != std::string::npos, what.c_str());

    QElapsedTimer timer;
    timer.start();
    const QString rejected = qdq::test::checkInfoRejects(path, message.toUtf8());
    QVERIFY2(rejected.isEmpty(), qPrintable(rejected));
    checkBudget(timer.elapsed());
    QCOMPARE(listing(parent), before);
}

QTEST_GUILESS_MAIN(TestHostileFiles)
#include "tst_hostile_files.moc"

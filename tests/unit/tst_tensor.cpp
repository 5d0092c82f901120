// Tensor core: construction, views sharing storage, copies, dtype conversion, mmap lifetime.
#include "qdq/errors.h"
#include "qdq/tensor.h"
#include "support/test_support.h"

#include <QTemporaryDir>
#include <QTest>

#include <cstdio>
#include <fstream>
#include <string>
#include <type_traits>
#include <vector>

using namespace qdq;

static_assert(!std::is_copy_constructible_v<Tensor>, "Tensor must be move-only");
static_assert(!std::is_copy_assignable_v<Tensor>, "Tensor must be move-only");
static_assert(std::is_nothrow_move_constructible_v<Tensor>);

class TestTensor : public QObject {
    Q_OBJECT
private slots:
    void constructZeroed();
    void fromValuesChecksCount();
    void moveLeavesUndefined();
    void sliceSelectShareStorage();
    void transposePermuteValues();
    void viewReshapeRules();
    void unsqueezeSqueeze();
    void cloneIsIndependent();
    void conversionsRoundAndSaturate();
    void int64KeepsLargeValues();
    void dtypeChecked();
    void fromStorageBoundsChecked();
    void mmapViewOutlivesHandleAndFile();
    void mmapIsReadOnly();
    void mmapMissingFileNamesPath();
    void releaseMappedPagesKeepsBytes();
};

void TestTensor::constructZeroed()
{
    Tensor t(DType::F32, {2, 3, 4});
    QCOMPARE(t.numel(), 24);
    QCOMPARE(t.nbytes(), std::size_t(96));
    QCOMPARE(t.dim(), 3);
    QCOMPARE(t.size(-1), 4);
    QCOMPARE(t.strides(), (Shape{12, 4, 1}));
    QVERIFY(t.isContiguous());
    QCOMPARE(t.describe(), std::string("f32[2, 3, 4]"));
    for (float v : t.toFloatVector())
        QCOMPARE(v, 0.0f);
    QVERIFY_THROWS_EXCEPTION(ShapeError, (void)t.size(3));
}

void TestTensor::fromValuesChecksCount()
{
    const Tensor t = Tensor::fromValues<float>({2, 2}, {1.f, 2.f, 3.f, 4.f});
    QCOMPARE(t.at({1, 0}), 3.0);
    QVERIFY_THROWS_EXCEPTION(ShapeError, (void)Tensor::fromValues<float>({2, 2}, {1.f, 2.f, 3.f}));
    QVERIFY_THROWS_EXCEPTION(ShapeError, (void)t.at({2, 0}));
    QVERIFY_THROWS_EXCEPTION(ShapeError, (void)t.at({0}));
}

void TestTensor::moveLeavesUndefined()
{
    Tensor a = Tensor::fromValues<std::int64_t>({3}, {7, 8, 9});
    const void *p = a.rawData();
    Tensor b = std::move(a);
    QVERIFY(b.defined());
    QCOMPARE(b.rawData(), p); // moved, not copied
    QVERIFY(!a.defined());    // NOLINT(bugprone-use-after-move): the moved-from state is what is tested
    QVERIFY_THROWS_EXCEPTION(ShapeError, (void)a.rawData());
}

void TestTensor::sliceSelectShareStorage()
{
    // values 0..11 in a [3,4] matrix
    std::vector<float> v(12);
    for (int i = 0; i < 12; ++i)
        v[static_cast<std::size_t>(i)] = static_cast<float>(i);
    Tensor m = Tensor::fromValues<float>({3, 4}, std::span<const float>(v));
    const Tensor cols = m.slice(1, 1, 4, 2); // columns 1 and 3
    QCOMPARE(cols.shape(), (Shape{3, 2}));
    QVERIFY(!cols.isContiguous());
    QCOMPARE(cols.toFloatVector(), (std::vector<float>{1, 3, 5, 7, 9, 11}));
    const Tensor row = m.select(0, -1);
    QCOMPARE(row.toFloatVector(), (std::vector<float>{8, 9, 10, 11}));
    QCOMPARE(cols.storage().get(), m.storage().get());
    // a write through the owner is seen by the view
    m.mutableData<float>()[3] = 42.f;
    QCOMPARE(cols.at({0, 1}), 42.0);
    // negative and clamped bounds, like Python slicing
    QCOMPARE(m.slice(0, -2, 100).shape(), (Shape{2, 4}));
    QCOMPARE(m.slice(0, 2, 1).numel(), 0);
    QVERIFY_THROWS_EXCEPTION(ShapeError, (void)m.slice(0, 0, 2, 0));
    QVERIFY_THROWS_EXCEPTION(ShapeError, (void)m.select(0, 3));
}

void TestTensor::transposePermuteValues()
{
    std::vector<std::int32_t> v(24);
    for (int i = 0; i < 24; ++i)
        v[static_cast<std::size_t>(i)] = i;
    const Tensor t = Tensor::fromValues<std::int32_t>({2, 3, 4}, std::span<const std::int32_t>(v));
    const Tensor p = t.permute({2, 0, 1}); // [4,2,3]; p[k,i,j] = t[i,j,k] = 12i + 4j + k
    QCOMPARE(p.shape(), (Shape{4, 2, 3}));
    for (std::int64_t k = 0; k < 4; ++k)
        for (std::int64_t i = 0; i < 2; ++i)
            for (std::int64_t j = 0; j < 3; ++j)
                QCOMPARE(p.at({k, i, j}), static_cast<double>(12 * i + 4 * j + k));
    const Tensor c = p.contiguous();
    QVERIFY(c.isContiguous());
    QVERIFY(c.storage() != t.storage());
    QCOMPARE(c.toInt64Vector()[5], 12 * 1 + 4 * 2 + 0);
    const Tensor tt = t.transpose(0, 2);
    QCOMPARE(tt.at({3, 2, 1}), t.at({1, 2, 3}));
    QVERIFY_THROWS_EXCEPTION(ShapeError, (void)t.permute({0, 0, 1}));
}

void TestTensor::viewReshapeRules()
{
    const Tensor t = Tensor::fromValues<float>({2, 3}, {0, 1, 2, 3, 4, 5});
    const Tensor v = t.view({3, -1});
    QCOMPARE(v.shape(), (Shape{3, 2}));
    QCOMPARE(v.storage(), t.storage());
    QVERIFY_THROWS_EXCEPTION(ShapeError, (void)t.view({4, -1}));
    QVERIFY_THROWS_EXCEPTION(ShapeError, (void)t.view({-1, -1}));
    const Tensor tr = t.transpose(0, 1); // [3,2], not contiguous
    QVERIFY_THROWS_EXCEPTION(ShapeError, (void)tr.view({6}));
    const Tensor flat = tr.reshape({6}); // copies
    QCOMPARE(flat.toFloatVector(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
    QVERIFY(flat.storage() != t.storage());
}

void TestTensor::unsqueezeSqueeze()
{
    const Tensor t = Tensor::fromValues<float>({2, 3}, {0, 1, 2, 3, 4, 5});
    const Tensor u = t.unsqueeze(1);
    QCOMPARE(u.shape(), (Shape{2, 1, 3}));
    QVERIFY(u.isContiguous());
    QCOMPARE(u.at({1, 0, 2}), 5.0);
    QCOMPARE(t.unsqueeze(-1).shape(), (Shape{2, 3, 1}));
    QCOMPARE(u.squeeze(1).shape(), (Shape{2, 3}));
    QVERIFY_THROWS_EXCEPTION(ShapeError, (void)t.squeeze(0));
}

void TestTensor::cloneIsIndependent()
{
    Tensor a = Tensor::fromValues<float>({2}, {1.f, 2.f});
    Tensor b = a.clone();
    b.mutableData<float>()[0] = 9.f;
    QCOMPARE(a.at({0}), 1.0);
    QCOMPARE(b.at({0}), 9.0);
}

void TestTensor::conversionsRoundAndSaturate()
{
    const Tensor f = Tensor::fromValues<float>({7}, {2.5f, 3.5f, -2.5f, 300.f, -300.f, -0.4f, 127.49f});
    // float -> int: round half to even, saturate
    QCOMPARE(f.to(DType::I8).toInt64Vector(), (std::vector<std::int64_t>{2, 4, -2, 127, -128, 0, 127}));
    QCOMPARE(f.to(DType::U8).toInt64Vector(), (std::vector<std::int64_t>{2, 4, 0, 255, 0, 0, 127}));
    // f32 -> f16 -> f32: 300 and 127.49 are not exact in f16 (spacing 0.25 and 0.0625)
    const std::vector<float> h = f.to(DType::F16).to(DType::F32).toFloatVector();
    QCOMPARE(h[3], 300.f);
    QCOMPARE(h[6], 127.5f);
    // bf16 has 8 significant bits (spacing 0.5 in [64, 128)): 127.49 -> 127.5, 300 -> 300
    QCOMPARE(f.to(DType::BF16).toFloatVector()[6], 127.5f);
    QCOMPARE(Tensor::fromValues<float>({1}, {127.2f}).to(DType::BF16).toFloatVector()[0], 127.f);
    // int -> int saturates
    const Tensor big = Tensor::fromValues<std::int64_t>({2}, {1000, -1000});
    QCOMPARE(big.to(DType::I8).toInt64Vector(), (std::vector<std::int64_t>{127, -128}));
    QCOMPARE(big.to(DType::Bool).toInt64Vector(), (std::vector<std::int64_t>{1, 1}));
}

void TestTensor::int64KeepsLargeValues()
{
    const std::int64_t large = (std::int64_t(1) << 60) + 3; // not representable in double
    const Tensor t = Tensor::fromValues<std::int64_t>({1}, {large});
    QCOMPARE(t.to(DType::I64).toInt64Vector()[0], large);
    QCOMPARE(t.transpose(0, 0).clone().toInt64Vector()[0], large);
}

void TestTensor::dtypeChecked()
{
    const Tensor t(DType::I64, {2});
    QVERIFY_THROWS_EXCEPTION(ShapeError, (void)t.data<float>());
    QCOMPARE(dtypeFromName("bf16"), std::optional<DType>(DType::BF16));
    QCOMPARE(dtypeFromName("float"), std::optional<DType>());
    QCOMPARE(dtypeSize(DType::I64), std::size_t(8));
}

void TestTensor::fromStorageBoundsChecked()
{
    auto storage = std::make_shared<HostStorage>(64);
    const Tensor ok = Tensor::fromStorage(storage, 32, DType::F32, {8});
    QCOMPARE(ok.numel(), 8);
    try {
        (void)Tensor::fromStorage(storage, 36, DType::F32, {8}, {}, "encoder.layer.0.weight");
        QFAIL("expected ShapeError");
    } catch (const ShapeError &e) {
        QVERIFY2(std::string(e.what()).find("encoder.layer.0.weight") != std::string::npos, e.what());
        QCOMPARE(e.where().tensor, std::string("encoder.layer.0.weight"));
    }
    // strided view reaching past the end
    QVERIFY_THROWS_EXCEPTION(ShapeError, (void)Tensor::fromStorage(storage, 0, DType::F32, {2, 9}, {9, 1}));
    QVERIFY_THROWS_EXCEPTION(ShapeError, (void)Tensor::fromStorage(storage, 0, DType::F32, {2}, {1, 1}));
}

void TestTensor::mmapViewOutlivesHandleAndFile()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::string path = dir.filePath("weights.bin").toStdString();
    {
        std::ofstream out(path, std::ios::binary);
        const char header[8] = {'Q', 'D', 'Q', 0, 0, 0, 0, 0};
        out.write(header, sizeof header);
        for (int i = 0; i < 16; ++i) {
            const float v = 0.5f * static_cast<float>(i);
            out.write(reinterpret_cast<const char *>(&v), sizeof v);
        }
    }
    Tensor view;
    {
        std::shared_ptr<MappedFile> file = MappedFile::open(path);
        QCOMPARE(file->size(), std::size_t(8 + 64));
        view = Tensor::fromStorage(file, 8, DType::F32, {4, 4}, {}, "w").transpose(0, 1);
        QCOMPARE(file.use_count(), 2L);
    }
    // the file handle is gone and the file itself is deleted: the mapping stays valid
    QVERIFY(std::remove(path.c_str()) == 0);
    QCOMPARE(view.storage().use_count(), 1L);
    QCOMPARE(view.at({3, 1}), 0.5 * (1 * 4 + 3));
    QCOMPARE(view.contiguous().toFloatVector()[1], 2.0f);
    QCOMPARE(view.storage()->origin(), path);
}

void TestTensor::mmapIsReadOnly()
{
    QTemporaryDir dir;
    const std::string path = dir.filePath("x.bin").toStdString();
    {
        std::ofstream out(path, std::ios::binary);
        const float v = 1.f;
        out.write(reinterpret_cast<const char *>(&v), sizeof v);
    }
    Tensor t = Tensor::fromStorage(MappedFile::open(path), 0, DType::F32, {1});
    QVERIFY(!t.isWritable());
    QVERIFY_THROWS_EXCEPTION(UnsupportedError, (void)t.mutableData<float>());
    Tensor c = t.clone();
    c.mutableData<float>()[0] = 2.f;
    QCOMPARE(t.at({0}), 1.0);
}

void TestTensor::mmapMissingFileNamesPath()
{
    try {
        (void)MappedFile::open("/nonexistent/dir/model.safetensors");
        QFAIL("expected IoError");
    } catch (const IoError &e) {
        QCOMPARE(e.where().file, std::string("/nonexistent/dir/model.safetensors"));
        QVERIFY2(std::string(e.what()).find("No such file") != std::string::npos, e.what());
    }
    QTemporaryDir dir;
    QVERIFY_THROWS_EXCEPTION(IoError, (void)MappedFile::open(dir.path().toStdString()));
}

// releaseMappedPages(): a 32 MiB mapped weight leaves the resident set and reads back the same
// values afterwards; owned memory and non-contiguous views are left alone.
void TestTensor::releaseMappedPagesKeepsBytes()
{
    QTemporaryDir dir;
    const std::string path = dir.filePath("big.bin").toStdString();
    const std::int64_t n = std::int64_t{8} << 20; // 8 Mi floats
    {
        std::ofstream out(path, std::ios::binary);
        std::vector<float> values(static_cast<std::size_t>(n));
        for (std::int64_t i = 0; i < n; ++i)
            values[static_cast<std::size_t>(i)] = static_cast<float>(i % 1000) * 0.25F;
        out.write(reinterpret_cast<const char *>(values.data()), static_cast<std::streamsize>(n * 4));
    }
    const Tensor t = Tensor::fromStorage(MappedFile::open(path), 0, DType::F32, {n});
    double sum = 0.0;
    for (std::int64_t i = 0; i < n; ++i) // touch every page
        sum += t.data<float>()[i];
    const long before = test::procStatusKiB("RssFile");
    QVERIFY(before > 32 * 1024);
    releaseMappedPages(t.slice(0, 0, n, 2)); // a strided view: no effect
    const long strided = test::procStatusKiB("RssFile");
    QVERIFY2(before - strided < 1024, qPrintable(QStringLiteral("RssFile %1 kB -> %2 kB").arg(before).arg(strided)));
    releaseMappedPages(t);
    const long after = test::procStatusKiB("RssFile");
    QVERIFY2(before - after >= 30 * 1024, qPrintable(QStringLiteral("RssFile %1 kB -> %2 kB").arg(before).arg(after)));
    double again = 0.0;
    bool same = true;
    for (std::int64_t i = 0; i < n; ++i) {
        again += t.data<float>()[i];
        same = same && t.data<float>()[i] == static_cast<float>(i % 1000) * 0.25F;
    }
    QVERIFY(same);
    QCOMPARE(again, sum);
    // owned memory keeps its values (MADV_DONTNEED would zero anonymous pages)
    Tensor owned = t.slice(0, 0, 1 << 20).clone();
    releaseMappedPages(owned);
    QCOMPARE(owned.data<float>()[999], 249.75F);
    releaseMappedPages(Tensor());
}

QTEST_APPLESS_MAIN(TestTensor)
#include "tst_tensor.moc"

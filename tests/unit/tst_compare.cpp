// A/B comparison of checkpoints against hand-worked numbers.
#include "qdq/checkpoint.h"
#include "qdq/compare.h"
#include "qdq/io/safetensors.h"

#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <fstream>

using namespace qdq;

namespace {

const char *kConfig = R"({"hidden_size": 2, "num_attention_heads": 1, "num_hidden_layers": 1, "intermediate_size": 4})";

std::string writeCheckpoint(const QString &dir, float inputAmax, std::vector<float> weightAmax,
                            std::vector<float> query, bool withExtra)
{
    const Tensor amax = Tensor::fromValues<float>({}, {inputAmax});
    const Tensor wamax = Tensor::fromValues<float>({2, 1}, std::span<const float>(weightAmax));
    const Tensor q = Tensor::fromValues<float>({2, 2}, std::span<const float>(query));
    const Tensor extra = Tensor::fromValues<float>({1}, {0.f});
    std::vector<std::pair<std::string, const Tensor *>> tensors = {
        {"bert.encoder.layer.0.attention.self.query._input_quantizer._amax", &amax},
        {"bert.encoder.layer.0.attention.self.query._weight_quantizer._amax", &wamax},
        {"bert.encoder.layer.0.attention.self.query.weight", &q}};
    if (withExtra)
        tensors.push_back({"classifier.bias", &extra});
    writeSafetensors((dir + "/model.safetensors").toStdString(), tensors);
    std::ofstream((dir + "/config.json").toStdString()) << kConfig;
    return dir.toStdString();
}

} // namespace

class TestCompare : public QObject {
    Q_OBJECT
private slots:
    void handWorked();
};

void TestCompare::handWorked()
{
    QTemporaryDir da;
    QTemporaryDir db;
    const Checkpoint a = loadCheckpoint(writeCheckpoint(da.path(), 2.f, {1.f, 2.f}, {1, 2, 3, 4}, false));
    const Checkpoint b = loadCheckpoint(writeCheckpoint(db.path(), 3.f, {2.f, 1.f}, {1, 2, 3, 5}, true));
    const CheckpointComparison c = compareCheckpoints(a, b);
    QCOMPARE(c.quantizers.size(), std::size_t(20)); // one layer, 20 sites (reference §1.2)
    const QuantizerComparison &qin = c.quantizers[0];
    QCOMPARE(qin.site.id, SiteId::QueryInput);
    QVERIFY(qin.a->calibrated && qin.b->calibrated);
    QCOMPARE(*qin.ratio(), 1.5);
    QCOMPARE(*qin.maxLog2Ratio, std::log2(1.5));
    const QuantizerComparison &qw = c.quantizers[1];
    QCOMPARE(qw.a->channels, std::int64_t(2));
    QCOMPARE(qw.a->min, 1.f);
    QCOMPARE(qw.b->max, 2.f);
    QCOMPARE(*qw.ratio(), 1.0);                       // the largest channel amax is the same...
    QCOMPARE(*qw.maxLog2Ratio, 1.0);                  // ...but each channel moved by a factor 2
    const QuantizerComparison &dyn = c.quantizers[2]; // key input: dynamic in both
    QVERIFY(dyn.a && !dyn.a->calibrated);
    QVERIFY(!dyn.ratio());

    // weights: only the two stored tensors outside `_amax`, by name
    QCOMPARE(c.tensors.size(), std::size_t(2));
    QCOMPARE(c.tensors[0].name, std::string("bert.encoder.layer.0.attention.self.query.weight"));
    QVERIFY(c.tensors[0].sameShape);
    QCOMPARE(c.tensors[0].maxAbsDiff, 1.0);
    QCOMPARE(c.tensors[0].relativeL2, 1.0 / std::sqrt(30.0));
    QCOMPARE(c.tensors[1].name, std::string("classifier.bias"));
    QVERIFY(!c.tensors[1].inA && c.tensors[1].inB && !c.tensors[1].sameShape);
}

QTEST_APPLESS_MAIN(TestCompare)
#include "tst_compare.moc"

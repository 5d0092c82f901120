// Quantizer site names against the state-dict keys of reference §2.1.
#include "qdq/quantizer_site.h"

#include <QTest>

#include <set>

using namespace qdq;

class TestQuantizerSite : public QObject {
    Q_OBJECT
private slots:
    void keysMatchReference();
    void parseRoundTrip();
    void rejectsNonSites();
};

void TestQuantizerSite::keysMatchReference()
{
    QCOMPARE(QuantizerSite({3, SiteId::QueryWeight}).amaxKey("bert."),
             std::string("bert.encoder.layer.3.attention.self.query._weight_quantizer._amax"));
    QCOMPARE(QuantizerSite({0, SiteId::MatmulA}).modulePath(),
             std::string("encoder.layer.0.attention.self.matmul_a_input_quantizer"));
    QCOMPARE(QuantizerSite({11, SiteId::AttnOutputResidual}).amaxKey("bert."),
             std::string("bert.encoder.layer.11.attention.output.add_residual_input_quantizer._amax"));
    QCOMPARE(QuantizerSite({1, SiteId::OutputInput}).amaxKey(),
             std::string("encoder.layer.1.output.dense._input_quantizer._amax"));
    QCOMPARE(QuantizerSite({2, SiteId::IntermediateWeight}).amaxKey(),
             std::string("encoder.layer.2.intermediate.dense._weight_quantizer._amax"));
    QCOMPARE(QuantizerSite({2, SiteId::KeyInput, true}).modulePath("bert."),
             std::string("bert.encoder.layer.2.crossattention.self.key._input_quantizer"));
    // kinds: 6 weights, 6 linear inputs, 4 matmul, 4 residual (reference §1.2)
    int counts[4] = {};
    for (int i = 0; i < kSitesPerLayer; ++i)
        ++counts[static_cast<int>(siteKind(static_cast<SiteId>(i)))];
    QCOMPARE(counts[static_cast<int>(SiteKind::Weight)], 6);
    QCOMPARE(counts[static_cast<int>(SiteKind::Input)], 6);
    QCOMPARE(counts[static_cast<int>(SiteKind::Matmul)], 4);
    QCOMPARE(counts[static_cast<int>(SiteKind::Residual)], 4);
}

void TestQuantizerSite::parseRoundTrip()
{
    std::set<std::string> seen;
    for (int layer : {0, 7, 23}) {
        for (int i = 0; i < kSitesPerLayer; ++i) {
            for (bool cross : {false, true}) {
                if (cross && i >= kCrossAttentionSites)
                    continue;
                const QuantizerSite site{layer, static_cast<SiteId>(i), cross};
                for (const char *pfx : {"", "bert.", "model.bert."}) {
                    std::string prefix = "unset";
                    const auto parsed = QuantizerSite::fromKey(site.amaxKey(pfx), &prefix);
                    QVERIFY2(parsed.has_value(), site.amaxKey(pfx).c_str());
                    QVERIFY(*parsed == site);
                    QCOMPARE(prefix, std::string(pfx));
                    QVERIFY(QuantizerSite::fromKey(site.modulePath(pfx)).has_value());
                    seen.insert(site.amaxKey(pfx));
                }
            }
        }
    }
    QCOMPARE(seen.size(), std::size_t(3 * 34 * 3)); // every name distinct
}

void TestQuantizerSite::rejectsNonSites()
{
    for (const char *key : {"bert.encoder.layer.0.attention.self.query.weight",
                            "bert.encoder.layer.x.attention.self.query._input_quantizer._amax",
                            "bert.encoder.layer.0.output.LayerNorm.weight", "bert.pooler.dense.weight",
                            "bert.encoder.layer.0.intermediate.dense._input_quantizer.extra",
                            "bert.encoder.layer.0.attention.intermediate.dense._input_quantizer",
                            "bert.encoder.layer.-1.output.dense._input_quantizer", ""})
        QVERIFY2(!QuantizerSite::fromKey(key).has_value(), key);
}

QTEST_APPLESS_MAIN(TestQuantizerSite)
#include "tst_quantizer_site.moc"

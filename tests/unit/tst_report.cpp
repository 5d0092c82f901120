// The report model (qdq/report.h): metrics, --fail-if thresholds, CSV and JSON on hand-built
// analyses whose answers are worked out here, and buildReport() on the tiny demo model.
#include "qdq/checkpoint.h"
#include "qdq/errors.h"
#include "qdq/report.h"
#include "qdq/text_task.h"
#include "support/test_support.h"

#include <nlohmann/json.hpp>

#include <QTest>

#include <cmath>
#include <limits>

using namespace qdq;

namespace {

const QString kDemo = QStringLiteral(QDQ_SOURCE_DIR "/resources/demo/tiny-qdqbert");

Divergence div(std::optional<double> sqnr, double cosine)
{
    Divergence d;
    d.sqnrDb = sqnr;
    d.cosine = cosine;
    return d;
}

SiteAnalysis site(int layer, SiteKind kind, bool weight, bool enabled, double clip, std::optional<double> sqnr,
                  const std::string &name)
{
    SiteAnalysis s;
    s.site.layer = layer;
    s.site.id = kind == SiteKind::Weight ? SiteId::QueryWeight : SiteId::QueryInput;
    s.name = name;
    s.isWeight = weight;
    s.enabled = enabled;
    s.clipFraction = clip;
    s.sqnrDb = sqnr;
    s.amax = 2.5;
    return s;
}

// Three layers, two precisions, four sites: every number below is chosen so the expected
// metric is unambiguous.
AnalysisReport handBuilt()
{
    AnalysisReport a;
    a.task = "sequence-classification";
    a.sites.push_back(site(0, SiteKind::Input, false, true, 0.002, 31.0, "encoder.layer.0.a"));
    a.sites.push_back(site(0, SiteKind::Weight, true, true, 0.5, 40.0, "encoder.layer.0.b")); // weights: no clip metric
    a.sites.push_back(site(1, SiteKind::Input, false, false, 0.9, 1.0, "encoder.layer.1.c")); // disabled: ignored
    a.sites.push_back(site(1, SiteKind::Input, false, true, 0.0125, 18.5, "encoder.layer.1.\"d\",x"));
    for (int i = 0; i < 3; ++i) {
        LayerAnalysis l;
        l.layer = i;
        l.qdqCumulative = div(i == 0 ? std::nullopt : std::optional<double>(30.0 - 10.0 * i), 1.0 - 0.01 * i);
        l.int8Cumulative = div(29.0 - 9.0 * i, 0.999 - 0.02 * i);
        a.layers.push_back(l);
    }
    a.firstDivergence.layer = 2;
    TaskAgreement q;
    q.precision = Precision::Qdq;
    q.top1Agreement = 0.975;
    q.meanKl = 0.0125;
    q.accuracyFp32 = 0.9;
    q.accuracyQuantized = 0.85;
    TaskAgreement i8 = q;
    i8.precision = Precision::Int8;
    i8.top1Agreement = 0.95;
    i8.accuracyQuantized = 0.8;
    a.taskAgreement = {q, i8};
    a.attention.push_back({0, 1, Precision::Qdq, 0.03, 1.0, 1.1});
    a.attention.push_back({1, 0, Precision::Qdq, 0.07, 1.0, 1.2});
    a.attention.push_back({1, 1, Precision::Int8, 0.09, 1.0, 1.2});
    return a;
}

ReportModelSummary summary()
{
    ReportModelSummary m;
    m.name = "hand";
    m.quantizers = 40;
    m.calibrated = 36;
    return m;
}

} // namespace

class TestReport : public QObject {
    Q_OBJECT
private slots:
    void metricsFromHandBuiltAnalysis()
    {
        const auto m = reportMetrics(handBuilt(), summary());
        QCOMPARE(m.at("min_layer_sqnr_db"), 10.0); // layer 0 lossless (inf), then 20, 10
        QCOMPARE(m.at("final_layer_sqnr_db"), 10.0);
        QCOMPARE(m.at("min_layer_cosine"), 0.98);
        QCOMPARE(m.at("min_layer_sqnr_db_int8"), 11.0); // 29, 20, 11
        QCOMPARE(m.at("min_layer_cosine_int8"), 0.959);
        QCOMPARE(m.at("top1_agreement"), 0.975);
        QCOMPARE(m.at("top1_agreement_int8"), 0.95);
        QCOMPARE(m.at("mean_kl"), 0.0125);
        QCOMPARE(m.at("accuracy_fp32"), 0.9);
        QCOMPARE(m.at("accuracy"), 0.85);
        QCOMPARE(m.at("accuracy_int8"), 0.8);
        QVERIFY(std::abs(m.at("accuracy_drop") - 0.05) < 1e-15);
        QVERIFY(std::abs(m.at("accuracy_drop_int8") - 0.1) < 1e-15);
        QCOMPARE(m.at("max_attention_js"), 0.07); // qdq heads only
        QCOMPARE(m.at("max_attention_js_int8"), 0.09);
        QCOMPARE(m.at("max_clip_fraction"), 0.0125); // enabled activation sites only
        QCOMPARE(m.at("min_site_sqnr_db"), 18.5);    // the disabled site (1 dB) does not count
        QCOMPARE(m.at("first_divergence_layer"), 2.0);
        QCOMPARE(m.at("quantizers"), 40.0);
        QCOMPARE(m.at("dynamic_quantizers"), 4.0);
        QVERIFY(!m.count("output_mse"));
        QVERIFY(!m.count("sensitivity_full_impact"));
        // every metric is documented, and nothing undocumented is produced
        for (const auto &[name, value] : m) {
            const auto &d = reportMetricDescriptions();
            QVERIFY2(std::any_of(d.begin(), d.end(), [&](const auto &x) { return x.first == name; }), name.c_str());
        }
    }

    void losslessLayersAreInfinite()
    {
        AnalysisReport a;
        LayerAnalysis l;
        l.qdqCumulative = div(std::nullopt, 1.0);
        a.layers = {l, l};
        const auto m = reportMetrics(a, summary());
        QVERIFY(std::isinf(m.at("min_layer_sqnr_db")) && m.at("min_layer_sqnr_db") > 0);
        QVERIFY(!m.count("min_layer_sqnr_db_int8")); // int8 not run
        // a lossless SQNR passes "< 20" and is null in JSON
        const auto t = evaluateThresholds({parseThreshold("min_layer_sqnr_db<20")}, m);
        QVERIFY(!t[0].crossed);
    }

    void parsesThresholds()
    {
        Threshold t = parseThreshold("min_layer_sqnr_db<20");
        QCOMPARE(t.metric, std::string("min_layer_sqnr_db"));
        QCOMPARE(t.op, CompareOp::Less);
        QCOMPARE(t.value, 20.0);
        t = parseThreshold("  top1_agreement <= 0.99 ");
        QCOMPARE(t.metric, std::string("top1_agreement"));
        QCOMPARE(t.op, CompareOp::LessEqual);
        QCOMPARE(t.value, 0.99);
        QCOMPARE(parseThreshold("max_clip_fraction>1e-2").value, 0.01);
        QCOMPARE(parseThreshold("max_clip_fraction>1e-2").op, CompareOp::Greater);
        QCOMPARE(parseThreshold("first_divergence_layer>=-1").value, -1.0);
        QCOMPARE(parseThreshold("first_divergence_layer>=-1").op, CompareOp::GreaterEqual);
        QCOMPARE(parseThreshold("dynamic_quantizers!=0").op, CompareOp::NotEqual);
        QCOMPARE(parseThreshold("dynamic_quantizers==0").op, CompareOp::Equal);

        const auto fails = [](const char *expr, const char *needle) {
            try {
                (void)parseThreshold(expr);
            } catch (const FormatError &e) {
                return std::string(e.what()).find(needle) != std::string::npos;
            }
            return false;
        };
        QVERIFY(fails("min_layer_sqnr_db", "no comparison"));
        QVERIFY(fails("sqnr<20", "unknown metric 'sqnr'; known: min_layer_sqnr_db"));
        QVERIFY(fails("top1_agreement<abc", "'abc' is not a number"));
        QVERIFY(fails("top1_agreement<", "is not a number"));
        QVERIFY(fails("top1_agreement<0.9x", "is not a number"));
        QVERIFY(fails("top1_agreement=<0.9", "unknown comparison"));
        QVERIFY(fails("top1_agreement<inf", "is not a number"));
    }

    void evaluatesThresholds()
    {
        const auto m = reportMetrics(handBuilt(), summary());
        const auto out =
            evaluateThresholds({parseThreshold("min_layer_sqnr_db<20"), parseThreshold("min_layer_sqnr_db<10"),
                                parseThreshold("min_layer_sqnr_db<=10"), parseThreshold("top1_agreement<0.99"),
                                parseThreshold("max_clip_fraction>0.01"), parseThreshold("output_mse>1")},
                               m);
        QCOMPARE(out.size(), std::size_t(6));
        QVERIFY(out[0].crossed);  // 10 < 20
        QVERIFY(!out[1].crossed); // 10 < 10 is false
        QVERIFY(out[2].crossed);  // 10 <= 10
        QVERIFY(out[3].crossed);  // 0.975 < 0.99
        QVERIFY(out[4].crossed);  // 0.0125 > 0.01
        QCOMPARE(*out[0].actual, 10.0);
        // a metric the report lacks fails the gate instead of passing silently
        QVERIFY(out[5].crossed);
        QVERIFY(!out[5].actual);
    }

    void csvTables()
    {
        const AnalysisReport a = handBuilt();
        const std::string q = quantizersCsv(a);
        const auto lines = QString::fromStdString(q).split("\r\n", Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 5); // header + 4 sites
        QVERIFY(lines[0].startsWith("name,layer,kind,is_weight,enabled,dynamic,amax,"));
        QVERIFY(lines[0].endsWith(",sqnr_db"));
        QVERIFY(lines[1].startsWith("encoder.layer.0.a,0,input,0,1,0,2.5,1,"));
        QVERIFY(lines[1].endsWith(",31"));
        QVERIFY(lines[2].startsWith("encoder.layer.0.b,0,weight,1,1,0,"));
        // RFC 4180: a field with a quote or comma is quoted, quotes doubled
        QVERIFY2(lines[4].startsWith("\"encoder.layer.1.\"\"d\"\",x\",1,input,"), qPrintable(lines[4]));

        const auto layers = QString::fromStdString(layersCsv(a)).split("\r\n", Qt::SkipEmptyParts);
        QCOMPARE(layers.size(), 4);
        const QStringList header = layers[0].split(',');
        QCOMPARE(header.size(), 1 + 16 + 1);
        QCOMPARE(header[1], QString("qdq_cumulative_sqnr_db"));
        QCOMPARE(header[2], QString("qdq_cumulative_cosine"));
        const QStringList l0 = layers[1].split(',');
        QCOMPARE(l0[1], QString("inf")); // lossless
        QCOMPARE(l0[2], QString("1"));
        QCOMPARE(l0[5], QString()); // no local pass: empty cells
        QCOMPARE(l0[9], QString("29"));
        QCOMPARE(l0.last(), QString("0"));
        QCOMPARE(layers[3].split(',')[1], QString("10"));
        QCOMPARE(layers[3].split(',').last(), QString("1")); // the first divergence
    }

    void jsonStructure()
    {
        Report r;
        r.model = summary();
        r.environment.version = "9.9.9";
        r.analysis = handBuilt();
        r.metrics = reportMetrics(r.analysis, r.model);
        r.metrics["final_layer_sqnr_db"] = std::numeric_limits<double>::infinity();
        r.thresholds = evaluateThresholds({parseThreshold("top1_agreement<0.99")}, r.metrics);
        ReportAttentionMap map;
        map.length = 2;
        map.tokens = {"[CLS]", "[SEP]"};
        map.fp32 = {0.5F, 0.5F, 0.25F, 0.75F};
        map.quantized = {0.5F, 0.5F, 0.5F, 0.5F};
        r.attentionMaps.push_back(map);
        const nlohmann::json j = nlohmann::json::parse(reportToJson(r));
        QCOMPARE(j["format"].get<std::string>(), std::string("qdq-report"));
        QCOMPARE(j["schema_version"].get<int>(), kReportSchemaVersion);
        QCOMPARE(j["model"]["quantizers"].get<int>(), 40);
        QCOMPARE(j["environment"]["version"].get<std::string>(), std::string("9.9.9"));
        QCOMPARE(j["metrics"]["min_layer_sqnr_db"].get<double>(), 10.0);
        QVERIFY(j["metrics"]["final_layer_sqnr_db"].is_null()); // +inf has no JSON number
        QCOMPARE(j["thresholds"][0]["crossed"].get<bool>(), true);
        QCOMPARE(j["thresholds"][0]["actual"].get<double>(), 0.975);
        QCOMPARE(j["attention_maps"][0]["max_abs_difference"].get<double>(), 0.25);
        QCOMPARE(j["analysis"]["format"].get<std::string>(), std::string("qdq-analysis"));
        QCOMPARE(j["analysis"]["sites"].size(), std::size_t(4));
    }

    void worstSitesOrder()
    {
        const AnalysisReport a = handBuilt();
        const auto w = worstSites(a, 2);
        QCOMPARE(w.size(), std::size_t(2));
        QCOMPARE(w[0]->sqnrDb.value(), 18.5); // the disabled 1 dB site is not listed
        QCOMPARE(w[1]->sqnrDb.value(), 31.0);
    }

    // buildReport on a real (tiny) model: the summary counts what the checkpoint holds, and the
    // attention maps are rows of probabilities for the worst head.
    void buildsFromTinyModel()
    {
        const Checkpoint ck = loadCheckpoint(kDemo.toStdString());
        const Tokenizer tok = tokenizerForCheckpoint(ck);
        AnalysisReport a;
        a.attention.push_back({1, 0, Precision::Qdq, 0.2, 1.0, 1.0});
        a.attention.push_back({0, 1, Precision::Qdq, 0.5, 1.0, 1.0});
        ReportOptions o;
        o.attentionTexts = {"the cat sat on the mat", "hello world"};
        o.dataFile = "data.txt";
        const QuantConfig config = QuantConfig::fromCheckpoint(ck);
        const Report r = buildReport(ck, tok, a, config, o);
        QCOMPARE(r.model.layers, static_cast<int>(ck.config.numHiddenLayers));
        QCOMPARE(r.model.quantizers, static_cast<int>(ck.quantizers.size()));
        QCOMPARE(r.model.calibrated, ck.calibratedQuantizers());
        QVERIFY(r.model.parameters > 0);
        QCOMPARE(r.environment.dataFile, std::string("data.txt"));
        QCOMPARE(r.attentionMaps.size(), std::size_t(2));
        const ReportAttentionMap &m = r.attentionMaps[0];
        QCOMPARE(m.layer, 0); // the head with the largest JS divergence
        QCOMPARE(m.head, 1);
        QCOMPARE(m.length, static_cast<int>(m.tokens.size()));
        QCOMPARE(m.tokens.front(), std::string("[CLS]"));
        QCOMPARE(m.fp32.size(), static_cast<std::size_t>(m.length * m.length));
        for (int row = 0; row < m.length; ++row) {
            double fp = 0.0, q = 0.0;
            for (int col = 0; col < m.length; ++col) {
                fp += m.fp32[static_cast<std::size_t>(row * m.length + col)];
                q += m.quantized[static_cast<std::size_t>(row * m.length + col)];
            }
            QVERIFY(std::abs(fp - 1.0) < 1e-5); // softmax rows over the real tokens (no padding)
            QVERIFY(std::abs(q - 1.0) < 1e-5);
        }
        QVERIFY(m.maxAbsDifference() > 0.0); // the tiny model's quantizers do change attention
    }
};

QTEST_GUILESS_MAIN(TestReport)
#include "tst_report.moc"

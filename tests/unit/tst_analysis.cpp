// Quantization analysis (issue 10) on cases with known answers: site statistics of synthetic
// signals, a layer with a deliberately tiny amax found by every view, local vs cumulative
// consistency, the JSON schema and the `qdq analyze` command.
#include "qdq/analysis.h"
#include "qdq/checkpoint.h"
#include "qdq/text_task.h"
#include "support/test_support.h"

#include <nlohmann/json.hpp>

#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <fstream>
#include <numbers>
#include <random>

using namespace qdq;
using qdq::test::runCli;

namespace {

const QString kDemo = QStringLiteral(QDQ_SOURCE_DIR "/resources/demo/tiny-qdqbert");

std::vector<CalibrationExample> sentences()
{
    return {{"the quick brown fox jumps over the lazy dog.", {}},
            {"a stitch in time saves nine.", {}},
            {"paris is the capital of [MASK].", {}},
            {"quantization makes models smaller and faster, but not always better.", {}},
            {"the cat sat on the mat.", {}},
            {"she sells sea shells by the sea shore.", {}}};
}

SiteAnalysis statsOf(const std::vector<float> &values, float amax)
{
    TensorQuantizer q; // reference §1.3 defaults: 8 bit signed, per tensor
    q.setAmax(amax);
    SiteStatsAccumulator acc(QuantizerSite{}, q, false);
    acc.add(Tensor::fromValues<float>({static_cast<std::int64_t>(values.size())}, std::span<const float>(values)));
    return acc.finish();
}

AnalysisReport analyzeDemo(const Checkpoint &ck, AnalysisOptions options)
{
    options.task = Task::MaskedLm;
    options.batchSize = 3;
    options.maxLength = 32;
    return analyzeQuantization(ck, sentences(), tokenizerForCheckpoint(ck), options);
}

} // namespace

class TestAnalysis : public QObject {
    Q_OBJECT
private slots:
    void uniformSqnr();
    void sineSqnr();
    void gaussianClipFraction();
    void tinyAmaxLayerIsFoundEverywhere_data();
    void tinyAmaxLayerIsFoundEverywhere();
    void syntheticFourLayers();
    void localEqualsCumulativeWhenOnlyThatLayerIsQuantized();
    void healthyModel();
    void firstDivergenceRule();
    void cancellation();
    void jsonSchema();
    void cliAnalyze();
};

void TestAnalysis::uniformSqnr()
{
    // A uniform signal on [-a, a] with amax = a: step a/127, noise step^2/12, power a^2/3, so
    // SQNR = 10 log10(4 * 127^2) = 48.10 dB (= 6.02 * 8 dB less the 127-vs-128 levels).
    const int n = 1000000;
    std::vector<float> x(n);
    for (int i = 0; i < n; ++i)
        x[static_cast<std::size_t>(i)] = -1.0F + 2.0F * (static_cast<float>(i) + 0.5F) / static_cast<float>(n);
    const SiteAnalysis s = statsOf(x, 1.0F);
    QVERIFY(s.sqnrDb.has_value());
    QVERIFY2(std::abs(*s.sqnrDb - 10.0 * std::log10(4.0 * 127.0 * 127.0)) < 0.1,
             qPrintable(QString::number(*s.sqnrDb)));
    QVERIFY(std::abs(*s.sqnrDb - 6.02 * 8) < 0.5);
    QCOMPARE(s.clipFraction, 0.0);
    QCOMPARE(s.elements, std::int64_t(n));
    QVERIFY(std::abs(s.mean) < 1e-6);
    QVERIFY(std::abs(s.stddev - 1.0 / std::sqrt(3.0)) < 1e-4);
    // mse = step^2 / 12
    const double step = 1.0 / 127.0;
    QVERIFY(std::abs(s.mse / (step * step / 12.0) - 1.0) < 0.01);
    // the histogram's max method sees max|x|
    QVERIFY(s.histogram.has_value());
    QVERIFY(std::abs(*s.candidateAmax[static_cast<std::size_t>(CalibMethod::Max)] - 1.0) < 1e-6);
}

void TestAnalysis::sineSqnr()
{
    // The textbook 6.02 N + 1.76 dB is the SQNR of a FULL-SCALE SINE (power a^2/2) quantized to
    // N bits: 49.92 dB for 8 bits (49.87 with 127 positive levels).
    const int n = 1000000;
    std::vector<float> x(n);
    for (int i = 0; i < n; ++i)
        x[static_cast<std::size_t>(i)] = static_cast<float>(std::sin(2.0 * std::numbers::pi * 997.0 * i / n + 0.3));
    const SiteAnalysis s = statsOf(x, 1.0F);
    QVERIFY2(std::abs(*s.sqnrDb - (6.02 * 8 + 1.76)) < 0.5, qPrintable(QString::number(*s.sqnrDb)));
}

void TestAnalysis::gaussianClipFraction()
{
    // P(|x| > 2 sigma) = erfc(2 / sqrt 2) = 4.550 %; zero after quantization when
    // |x| < step / 2 = 1 / 127: P = erf(1 / (127 sqrt 2)) = 0.628 %.
    std::mt19937_64 rng(12345);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    const int n = 2000000;
    std::vector<float> x(n);
    for (int i = 0; i < n; i += 2) { // Box-Muller: deterministic for a given engine
        const double r = std::sqrt(-2.0 * std::log(1.0 - u(rng)));
        const double t = 2.0 * std::numbers::pi * u(rng);
        x[static_cast<std::size_t>(i)] = static_cast<float>(r * std::cos(t));
        x[static_cast<std::size_t>(i) + 1] = static_cast<float>(r * std::sin(t));
    }
    const SiteAnalysis s = statsOf(x, 2.0F);
    const double expectedClip = std::erfc(2.0 / std::sqrt(2.0));
    QVERIFY2(std::abs(s.clipFraction - expectedClip) < 0.0006, qPrintable(QString::number(s.clipFraction)));
    QVERIFY(std::abs(expectedClip - 0.0455) < 0.0001);
    const double expectedZero = std::erf(1.0 / (127.0 * std::sqrt(2.0)));
    QVERIFY2(std::abs(s.zeroFraction - expectedZero) < 0.0005, qPrintable(QString::number(s.zeroFraction)));
    // every clipped element is saturated (code at -128 or 127), plus those rounding onto the ends
    QVERIFY(s.saturated >= static_cast<std::int64_t>(s.clipFraction * n * 0.97));
    QVERIFY(s.saturated <= static_cast<std::int64_t>((s.clipFraction + 0.002) * n));
    QVERIFY(std::abs(s.stddev - 1.0) < 0.003);
}

void TestAnalysis::tinyAmaxLayerIsFoundEverywhere_data()
{
    QTest::addColumn<int>("bad");
    QTest::newRow("layer 0") << 0;
    QTest::newRow("layer 1") << 1;
}

void TestAnalysis::tinyAmaxLayerIsFoundEverywhere()
{
    QFETCH(int, bad);
    const Checkpoint ck = loadCheckpoint(kDemo.toStdString());
    AnalysisOptions options;
    options.quant = QuantConfig::fromCheckpoint(ck);
    SiteSelector sel;
    sel.layer = bad;
    QCOMPARE(options.quant->setAmax(sel, 1e-3F), 20); // far too small for every site of the layer
    options.sensitivity = true;
    options.keepFp32Budget = 1;
    const AnalysisReport r = analyzeDemo(ck, options);

    QCOMPARE(r.layers.size(), std::size_t(2));
    QCOMPARE(r.firstDivergence.layer, bad);
    QCOMPARE(r.firstDivergence.rule, std::string("local"));
    const int good = 1 - bad;
    QVERIFY(*r.layers[static_cast<std::size_t>(bad)].qdqLocal->sqnrDb <
            *r.layers[static_cast<std::size_t>(good)].qdqLocal->sqnrDb - 20.0);

    QVERIFY(r.sensitivity.has_value());
    const SensitivityReport &s = *r.sensitivity;
    QCOMPARE(s.entries.size(), std::size_t(2 + 2 + 4 + 4));
    QCOMPARE(s.entries[4].kind, SweepKind::OnlyKind);
    QCOMPARE(s.entries[8].kind, SweepKind::DisableKind);
    // only-layer sweep ranked by harm: the bad layer first
    QCOMPARE(s.entries[0].kind, SweepKind::OnlyLayer);
    QCOMPARE(s.entries[0].selector, "layer:" + std::to_string(bad));
    QVERIFY(s.entries[0].impact > 10.0 * s.entries[1].impact);
    // disable-layer sweep ranked by relief: disabling the bad layer helps most
    QCOMPARE(s.entries[2].kind, SweepKind::DisableLayer);
    QCOMPARE(s.entries[2].selector, "layer:" + std::to_string(bad));
    QVERIFY(s.entries[2].impact < s.fullImpact);
    QCOMPARE(s.keepFp32.size(), std::size_t(1));
    QCOMPARE(s.keepFp32[0], "layer:" + std::to_string(bad));

    // the site statistics show the cause: most of the layer's inputs clip
    for (const SiteAnalysis &site : r.sites)
        if (site.site.layer == bad && site.site.id == SiteId::QueryInput) {
            QCOMPARE(site.amax, double(1e-3F));
            QVERIFY(site.clipFraction > 0.9);
            QVERIFY(site.sqnrDb && *site.sqnrDb < 1.0);
        }
    // passes: 2 batches x (fp32, qdq, int8, local, full + 2 only + 2 disable + 4 only-kind + 4 disable-kind)
    QCOMPARE(r.forwardPasses, std::int64_t(2 * (4 + 1 + 12)));
}

void TestAnalysis::syntheticFourLayers()
{
    // Random weights, dynamic amax everywhere except layer 2, whose amax is far too small; a
    // sequence-classification head with labels = the FP32 predictions (accuracy 1 by construction).
    BertConfig config;
    config.vocabSize = 100;
    config.hiddenSize = 32;
    config.numHiddenLayers = 4;
    config.numAttentionHeads = 4;
    config.intermediateSize = 64;
    config.maxPositionEmbeddings = 64;
    config.numLabels = 3;
    const Checkpoint ck = randomCheckpoint(config, Task::SequenceClassification, 7);
    std::vector<ForwardInputs> batches;
    for (int b = 0; b < 3; ++b) {
        std::vector<std::int64_t> ids(4 * 16);
        for (std::size_t i = 0; i < ids.size(); ++i)
            ids[i] = static_cast<std::int64_t>((i * 37 + static_cast<std::size_t>(b) * 11 + 5) % 100);
        ForwardInputs in;
        in.inputIds = Tensor::fromValues<std::int64_t>({4, 16}, ids);
        batches.push_back(std::move(in));
    }
    ModelOptions fp32Options;
    fp32Options.task = Task::SequenceClassification;
    QDQBertModel fp32(ck, fp32Options);
    AnalysisOptions options;
    options.task = Task::SequenceClassification;
    for (const ForwardInputs &in : batches) {
        const ForwardOutputs out = fp32.forward(in);
        for (std::int64_t r = 0; r < 4; ++r) {
            const std::vector<float> row = out.logits.select(0, r).toFloatVector();
            options.labels.push_back(std::max_element(row.begin(), row.end()) - row.begin());
        }
    }
    options.quant = QuantConfig::fromCheckpoint(ck);
    SiteSelector sel;
    sel.layer = 2;
    QCOMPARE(options.quant->setAmax(sel, 1e-3F), 20);
    options.sensitivity = true;
    options.keepFp32Budget = 1;
    const AnalysisReport r = analyzeQuantization(ck, batches, options);

    QCOMPARE(r.samples, std::int64_t(12));
    QCOMPARE(r.tokens, std::int64_t(12 * 16));
    QCOMPARE(r.firstDivergence.layer, 2);
    QCOMPARE(r.firstDivergence.rule, std::string("local"));
    for (int l : {0, 1, 3})
        QVERIFY(*r.layers[static_cast<std::size_t>(l)].qdqLocal->sqnrDb > *r.layers[2].qdqLocal->sqnrDb + 20.0);
    // errors propagate: every layer after the bad one is bad cumulatively
    QVERIFY(*r.layers[3].qdqCumulative->sqnrDb < *r.layers[1].qdqCumulative->sqnrDb - 20.0);
    const SensitivityReport &s = *r.sensitivity;
    QCOMPARE(s.entries[0].selector, std::string("layer:2")); // only-layer: most harmful
    QCOMPARE(s.entries[4].kind, SweepKind::DisableLayer);    // disable-layer: most relief
    QCOMPARE(s.entries[4].selector, std::string("layer:2"));
    QCOMPARE(s.keepFp32.size(), std::size_t(1));
    QCOMPARE(s.keepFp32[0], std::string("layer:2"));
    for (const TaskAgreement &t : r.taskAgreement) {
        QCOMPARE(t.predictions, std::int64_t(12));
        QCOMPARE(*t.accuracyFp32, 1.0);
        QCOMPARE(*t.accuracyQuantized, *t.top1Agreement);
        QVERIFY(*t.meanKl > 0.0);
    }
    // every site without a stored amax is dynamic and never clips
    for (const SiteAnalysis &site : r.sites)
        if (site.site.layer != 2) {
            QVERIFY(site.dynamic);
            QCOMPARE(site.clipFraction, 0.0);
        }
}

void TestAnalysis::localEqualsCumulativeWhenOnlyThatLayerIsQuantized()
{
    // With layer 0 unquantized, layer 1's cumulative input is the FP32 one: local == cumulative.
    // This checks that the local pass feeds the FP32 hidden state into all four sites of X.
    const Checkpoint ck = loadCheckpoint(kDemo.toStdString());
    AnalysisOptions options;
    options.quant = QuantConfig::fromCheckpoint(ck);
    SiteSelector sel;
    sel.layer = 0;
    options.quant->setEnabled(sel, false);
    options.runInt8 = false;
    options.attention = false;
    const AnalysisReport r = analyzeDemo(ck, options);
    QVERIFY(!r.layers[0].qdqCumulative->sqnrDb.has_value()); // lossless: nothing quantized there
    QVERIFY(!r.layers[0].qdqLocal->sqnrDb.has_value());
    const double cum = *r.layers[1].qdqCumulative->sqnrDb;
    const double local = *r.layers[1].qdqLocal->sqnrDb;
    QVERIFY2(std::abs(cum - local) < 1e-9, qPrintable(QString("%1 vs %2").arg(cum).arg(local)));
    QVERIFY(std::abs(r.layers[1].qdqLocal->maxAbsError - r.layers[1].qdqCumulative->maxAbsError) < 1e-9);
    QVERIFY(!r.layers[1].int8Cumulative.has_value());
    QVERIFY(r.attention.empty());
}

void TestAnalysis::healthyModel()
{
    const Checkpoint ck = loadCheckpoint(kDemo.toStdString());
    const AnalysisReport r = analyzeDemo(ck, {});
    QCOMPARE(r.samples, std::int64_t(6));
    QCOMPARE(r.batches, std::int64_t(2));
    QCOMPARE(r.forwardPasses, std::int64_t(2 * 4));
    QCOMPARE(r.sites.size(), std::size_t(40));
    // layer 0 sees the FP32 embeddings in both runs: local == cumulative
    QVERIFY(std::abs(*r.layers[0].qdqLocal->sqnrDb - *r.layers[0].qdqCumulative->sqnrDb) < 1e-9);
    for (const LayerAnalysis &l : r.layers) {
        QVERIFY(*l.qdqCumulative->sqnrDb > 10.0);
        QVERIFY(l.qdqCumulative->cosine > 0.9 && l.qdqCumulative->cosine <= 1.0 + 1e-12);
        // int8 runs the same integer codes as qdq (reference §3.3): the simulated-vs-real gap is
        // far smaller than the quantization error itself
        QVERIFY(!l.qdqVsInt8->sqnrDb || *l.qdqVsInt8->sqnrDb > *l.int8Cumulative->sqnrDb + 20.0);
    }
    QCOMPARE(r.taskAgreement.size(), std::size_t(2));
    for (const TaskAgreement &t : r.taskAgreement) {
        QCOMPARE(t.output, std::string("logits"));
        QCOMPARE(t.predictions, r.tokens); // one prediction per non-padded token
        QVERIFY(*t.top1Agreement > 0.5 && *t.top1Agreement <= 1.0);
        QVERIFY(*t.meanKl >= 0.0 && *t.meanKl < 1.0);
    }
    // attention: 2 precisions x 2 layers x heads
    const auto heads = static_cast<std::size_t>(ck.config.numAttentionHeads);
    QCOMPARE(r.attention.size(), 2 * 2 * heads);
    for (const HeadAttention &h : r.attention) {
        QVERIFY(h.jsDivergence >= 0.0 && h.jsDivergence < std::log(2.0));
        QVERIFY(h.entropyFp32 > 0.0);
    }
    // activation sites carry histograms and candidates; weights their per-row max
    for (const SiteAnalysis &s : r.sites) {
        QVERIFY(s.elements > 0);
        QVERIFY(s.min <= s.mean && s.mean <= s.max);
        if (!s.isWeight) {
            QVERIFY(s.histogram && !s.histogram->counts.empty());
            QVERIFY(s.candidateAmax[static_cast<std::size_t>(CalibMethod::Percentile)].has_value());
        }
        // clipping happens exactly when the static amax is below the largest |x| seen
        const double maxAbs = std::max(std::abs(s.min), std::abs(s.max));
        if (!s.dynamic)
            QCOMPARE(s.clipFraction > 0.0, s.amax < maxAbs);
        else
            QCOMPARE(s.clipFraction, 0.0);
        QVERIFY(s.saturated >= static_cast<std::int64_t>(s.clipFraction * static_cast<double>(s.elements) * 0.5));
    }
}

void TestAnalysis::firstDivergenceRule()
{
    const auto layer = [](int i, double cum, std::optional<double> local) {
        LayerAnalysis l;
        l.layer = i;
        l.qdqCumulative = Divergence{cum, 1.0, 0.0, 0.0};
        if (local)
            l.qdqLocal = Divergence{*local, 1.0, 0.0, 0.0};
        return l;
    };
    // local rule: layer 2 is 15 dB below the median local SQNR (40)
    FirstDivergence f =
        findFirstDivergence({layer(0, 40, 40), layer(1, 38, 41), layer(2, 24, 25), layer(3, 23, 39)}, 6.0);
    QCOMPARE(f.layer, 2);
    QCOMPARE(f.rule, std::string("local"));
    // no local results: cumulative drop of 10 dB at layer 2
    f = findFirstDivergence({layer(0, 40, {}), layer(1, 38, {}), layer(2, 28, {}), layer(3, 27, {})}, 6.0);
    QCOMPARE(f.layer, 2);
    QCOMPARE(f.rule, std::string("cumulative"));
    // gradual decay: no jump
    f = findFirstDivergence({layer(0, 40, 40), layer(1, 37, 40), layer(2, 34, 40), layer(3, 31, 40)}, 6.0);
    QCOMPARE(f.layer, -1);
}

void TestAnalysis::cancellation()
{
    const Checkpoint ck = loadCheckpoint(kDemo.toStdString());
    Progress progress;
    int events = 0;
    progress.setCallback([&](const ProgressEvent &e) {
        QCOMPARE(e.stage, std::string("analyzing"));
        if (++events == 3)
            progress.cancel();
    });
    AnalysisOptions options;
    options.task = Task::MaskedLm;
    QVERIFY_THROWS_EXCEPTION(CancelledError,
                             analyzeQuantization(ck, sentences(), tokenizerForCheckpoint(ck), options, &progress));
    QCOMPARE(events, 3);
}

void TestAnalysis::jsonSchema()
{
    const Checkpoint ck = loadCheckpoint(kDemo.toStdString());
    AnalysisOptions options;
    options.sensitivity = true;
    const AnalysisReport r = analyzeDemo(ck, options);
    const nlohmann::json j = nlohmann::json::parse(analysisToJson(r));
    QCOMPARE(j["format"].get<std::string>(), std::string("qdq-analysis"));
    QCOMPARE(j["schema_version"].get<int>(), 1);
    QCOMPARE(j["task"].get<std::string>(), std::string("masked-lm"));
    for (const char *k : {"samples", "tokens", "batches", "forward_passes"})
        QVERIFY2(j[k].is_number_integer(), k);
    QVERIFY(j["seconds"].is_number());
    for (const char *k : {"fp32_forward", "site_statistics", "qdq_forward", "int8_forward", "local_forward",
                          "sensitivity_forwards", "summaries"})
        QVERIFY2(j["timings"][k].is_number() && j["timings"][k].get<double>() >= 0.0, k);
    QVERIFY(j["timings"]["site_statistics"].get<double>() <= j["timings"]["fp32_forward"].get<double>());

    QCOMPARE(j["sites"].size(), std::size_t(40));
    for (const nlohmann::json &s : j["sites"]) {
        for (const char *k : {"name", "kind"})
            QVERIFY2(s[k].is_string(), k);
        for (const char *k : {"layer", "elements", "amax_channels", "saturated"})
            QVERIFY2(s[k].is_number_integer(), k);
        for (const char *k : {"cross_attention", "is_weight", "enabled", "dynamic"})
            QVERIFY2(s[k].is_boolean(), k);
        for (const char *k : {"min", "max", "mean", "std", "amax", "clip_fraction", "zero_fraction", "mse"})
            QVERIFY2(s[k].is_number(), k);
        QVERIFY(s["sqnr_db"].is_number() || s["sqnr_db"].is_null());
        for (const char *m : {"max", "percentile", "mse", "entropy"})
            QVERIFY2(s["candidate_amax"][m].is_number() || s["candidate_amax"][m].is_null(), m);
        if (!s["is_weight"].get<bool>()) {
            QVERIFY(s["histogram"]["counts"].is_array());
            QCOMPARE(s["histogram"]["edges"].size(), s["histogram"]["counts"].size() + 1);
        } else {
            QVERIFY(!s.contains("histogram"));
        }
    }
    QCOMPARE(j["layers"].size(), std::size_t(2));
    for (const nlohmann::json &l : j["layers"]) {
        QVERIFY(l["layer"].is_number_integer());
        for (const char *k : {"qdq_cumulative", "qdq_local", "int8_cumulative", "qdq_vs_int8"}) {
            QVERIFY2(l[k].is_object(), k);
            QVERIFY(l[k]["sqnr_db"].is_number() || l[k]["sqnr_db"].is_null());
            for (const char *f : {"cosine", "relative_l2", "max_abs_error"})
                QVERIFY2(l[k][f].is_number(), f);
        }
    }
    QVERIFY(j["first_divergence"]["layer"].is_number_integer());
    QVERIFY(j["first_divergence"]["rule"].is_string());
    QVERIFY(j["first_divergence"]["reason"].is_string());
    QCOMPARE(j["task_agreement"].size(), std::size_t(2));
    QCOMPARE(j["task_agreement"][0]["precision"].get<std::string>(), std::string("qdq"));
    QCOMPARE(j["task_agreement"][1]["precision"].get<std::string>(), std::string("int8"));
    QVERIFY(j["task_agreement"][0]["top1_agreement"].is_number());
    QVERIFY(j["task_agreement"][0]["mean_kl"].is_number());
    QVERIFY(j["task_agreement"][0]["accuracy_fp32"].is_null());
    QVERIFY(!j["attention"].empty());
    for (const char *k : {"layer", "head"})
        QVERIFY(j["attention"][0][k].is_number_integer());
    for (const char *k : {"js_divergence", "entropy_fp32", "entropy_quantized", "entropy_change"})
        QVERIFY2(j["attention"][0][k].is_number(), k);
    const nlohmann::json &s = j["sensitivity"];
    QCOMPARE(s["precision"].get<std::string>(), std::string("qdq"));
    QVERIFY(s["full_impact"].is_number());
    QCOMPARE(s["entries"].size(), std::size_t(12));
    QCOMPARE(s["entries"][4]["kind"].get<std::string>(), std::string("only-kind"));
    QCOMPARE(s["entries"][0]["kind"].get<std::string>(), std::string("only-layer"));
    QVERIFY(s["entries"][0]["selector"].is_string());
    QVERIFY(s["keep_fp32"].is_array());
    // without histograms and without sensitivity
    const nlohmann::json small = nlohmann::json::parse(analysisToJson(analyzeDemo(ck, {}), false));
    QVERIFY(!small["sites"][0].contains("histogram"));
    QVERIFY(small["sensitivity"].is_null());
}

void TestAnalysis::cliAnalyze()
{
    QTemporaryDir dir;
    const QString data = dir.filePath("data.jsonl");
    {
        std::ofstream out(data.toStdString());
        int i = 0;
        for (const CalibrationExample &e : sentences())
            out << nlohmann::json{{"text", e.text}, {"label", i++ % 2}}.dump() << "\n";
    }
    auto r = runCli({"analyze", "--model", kDemo, "--data", data, "--samples", "4", "--batch", "2", "--max-length",
                     "32", "--json", "--no-histograms", "--threads", "1"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const nlohmann::json j = nlohmann::json::parse(r.out.toStdString());
    QCOMPARE(j["schema_version"].get<int>(), 1);
    QCOMPARE(j["samples"].get<int>(), 4);
    QCOMPARE(j["task"].get<std::string>(), std::string("masked-lm")); // the demo's head
    QCOMPARE(j["layers"].size(), std::size_t(2));
    QVERIFY(!j["sites"][0].contains("histogram"));

    // a deliberately broken layer: the table marks it, the sweep suggests keeping it in FP32
    r = runCli({"analyze",
                "--model",
                kDemo,
                "--data",
                data,
                "--samples",
                "4",
                "--batch",
                "2",
                "--max-length",
                "32",
                "--precision",
                "qdq",
                "--amax",
                "layer:1=0.001",
                "--sensitivity",
                "--keep-fp32",
                "1",
                "--threads",
                "1",
                "--quiet"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QVERIFY2(r.out.contains("first divergence: layer 1"), r.out.constData());
    QVERIFY2(r.out.contains("<- first divergence"), r.out.constData());
    QVERIFY2(r.out.contains("suggested to keep in FP32: layer:1"), r.out.constData());
    QVERIFY2(r.out.contains("worst quantizers by site SQNR"), r.out.constData());

    // A/B against itself: every amax ratio 1, no weight differs, the same per-layer divergence
    r = runCli({"analyze", "--model", kDemo, "--data", data, "--samples", "3", "--batch", "3", "--max-length", "32",
                "--compare", kDemo, "--json", "--no-histograms", "--threads", "1"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const nlohmann::json ab = nlohmann::json::parse(r.out.toStdString());
    const nlohmann::json &cmp = ab["compare"];
    QCOMPARE(cmp["report"]["schema_version"].get<int>(), 1);
    QCOMPARE(cmp["quantizers"].size(), std::size_t(40));
    for (const nlohmann::json &q : cmp["quantizers"])
        QCOMPARE(q["ratio"].get<double>(), 1.0);
    QVERIFY(cmp["weights"].empty());
    for (std::size_t l = 0; l < 2; ++l)
        QCOMPARE(cmp["report"]["layers"][l]["qdq_cumulative"]["sqnr_db"].get<double>(),
                 ab["layers"][l]["qdq_cumulative"]["sqnr_db"].get<double>());

    // labels from the JSONL; fp32 is no analysis precision
    r = runCli({"analyze", "--model", kDemo, "--data", data, "--precision", "fp32"});
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains("qdq or int8"), r.err.constData());
}

QTEST_GUILESS_MAIN(TestAnalysis)
#include "tst_analysis.moc"

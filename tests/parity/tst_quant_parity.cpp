// Quantization math against goldens from tools/reference/gen_quant_goldens.py (an independent
// PyTorch/NumPy implementation of reference §3 and §4): fake quant bit for bit in every
// version profile and both export forms, `max` amax exactly, histogram collection exactly
// (counts and edges), percentile/mse/entropy amax and the mse curve exactly, and the edge
// paths of issue #30 (tests/data/quant/edges.*).
#include "qdq/io/safetensors.h"
#include "qdq/quant/calibrator.h"
#include "qdq/quant/fake_quant.h"
#include "qdq/quant/tensor_quantizer.h"
#include "support/test_support.h"

#include <QFile>
#include <QTest>

#include <nlohmann/json.hpp>

#include <bit>
#include <cmath>
#include <cstring>

using namespace qdq;
using nlohmann::json;

namespace {

json loadJson(const QString &relative)
{
    QFile f(test::dataPath(relative));
    if (!f.open(QIODevice::ReadOnly))
        throw std::runtime_error("missing golden file " + test::dataPath(relative).toStdString());
    return json::parse(f.readAll().toStdString());
}

// Same bits, or both NaN.
std::int64_t countBitMismatches(const std::vector<float> &a, const std::vector<float> &b)
{
    if (a.size() != b.size())
        return -1;
    std::int64_t bad = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::isnan(a[i]) && std::isnan(b[i]))
            continue;
        if (std::bit_cast<std::uint32_t>(a[i]) != std::bit_cast<std::uint32_t>(b[i]))
            ++bad;
    }
    return bad;
}

} // namespace

class TestQuantParity : public QObject {
    Q_OBJECT
private slots:
    void fakeQuantAllProfiles();
    void histogramCollectionAndAmax();
    void perChannelMax();
    // issue #30: the edge paths (tests/data/quant/edges.*)
    void preQuantScaleByProfile();
    void perChannelAmaxAxisByPath();
    void entropyRewritesNumPyBinZero();
    void weightHistogramRangeByVersion();
    void mseIsTorchsFloatMean();
};

void TestQuantParity::fakeQuantAllProfiles()
{
    const json meta = loadJson("quant/fake_quant.json");
    const SafetensorsFile file = SafetensorsFile::open(test::dataPath("quant/fake_quant.safetensors").toStdString());
    int compared = 0;
    int errors = 0;
    int exportForms = 0;
    QVERIFY(meta.at("cases").size() >= 30);
    for (const json &c : meta.at("cases")) {
        const std::string key = c.at("key");
        const std::string name = c.at("name");
        const Tensor x = file.tensor(key + ".x");
        QuantDescriptor desc;
        desc.numBits = c.at("num_bits");
        desc.isUnsigned = c.at("unsigned");
        if (!c.at("narrow").is_null())
            desc.narrowRange = c.at("narrow").get<bool>();
        if (!c.at("axis").is_null())
            desc.axis = c.at("axis").get<int>();
        if (!c.at("scale_amax").is_null())
            desc.scaleAmax = c.at("scale_amax").get<float>();
        for (const auto &[profileName, expected] : c.at("outputs").items()) {
            const auto profile = parseVersionProfile(profileName);
            QVERIFY(profile.has_value());
            TensorQuantizer q(desc, *profile);
            if (!c.at("dynamic").get<bool>())
                q.setAmax(file.tensor(key + ".amax"));
            if (expected.is_object()) {
                bool threw = false;
                try {
                    (void)q.apply(x);
                } catch (const FormatError &) {
                    threw = true;
                }
                QVERIFY2(threw, (name + " " + profileName + ": expected an error").c_str());
                ++errors;
                continue;
            }
            const std::vector<float> got = q.apply(x).toFloatVector();
            const std::vector<float> want = file.tensor(expected.get<std::string>()).toFloatVector();
            QVERIFY2(
                countBitMismatches(got, want) == 0,
                (name + " " + profileName + ": " + std::to_string(countBitMismatches(got, want)) + " elements differ")
                    .c_str());
            // applyInPlace gives the same bits
            Tensor inPlace = x.clone();
            q.applyInPlace(inPlace);
            QCOMPARE(countBitMismatches(inPlace.toFloatVector(), want), std::int64_t{0});
            ++compared;
        }
        if (c.contains("native")) {
            const Tensor amaxT = file.tensor(key + ".amax");
            const std::vector<float> amax = amaxT.toFloatVector();
            const AmaxView view{amax, 0};
            const auto n = static_cast<std::size_t>(x.numel());
            const std::vector<float> in = x.toFloatVector();
            std::vector<float> out(n);
            nativeFakeQuant(in, out, x.shape(), view, desc.numBits, desc.isUnsigned);
            QVERIFY2(countBitMismatches(out, file.tensor(c.at("native").get<std::string>()).toFloatVector()) == 0,
                     (name + ": native form").c_str());
            onnxFakeQuant(in, out, x.shape(), view, desc.numBits, desc.isUnsigned);
            QVERIFY2(countBitMismatches(out, file.tensor(c.at("onnx").get<std::string>()).toFloatVector()) == 0,
                     (name + ": onnx form").c_str());
            ++exportForms;
        }
    }
    qInfo("fake quant: %d case x profile outputs bit-exact, %d expected errors, %d native+onnx pairs bit-exact",
          compared, errors, exportForms);
    QVERIFY(compared >= 140);
    QVERIFY(errors >= 8);
    QVERIFY(exportForms >= 10);
}

void TestQuantParity::histogramCollectionAndAmax()
{
    const json meta = loadJson("quant/calib.json");
    const SafetensorsFile file = SafetensorsFile::open(test::dataPath("quant/calib.safetensors").toStdString());
    int exact = 0;
    int withinBin = 0;
    int expectedErrors = 0;
    int collectionsExact = 0;
    std::vector<std::string> inexact;
    for (const json &s : meta.at("streams")) {
        const std::string key = s.at("key");
        const std::string name = s.at("name");
        const int batches = s.at("batches");
        const int numBits = s.at("num_bits");
        const bool isUnsigned = s.at("unsigned");
        MaxCalibrator maxCal;
        for (int b = 0; b < batches; ++b)
            maxCal.collect(file.tensor(key + ".b" + std::to_string(b)));
        QCOMPARE(maxCal.amax().at(0), s.at("max").get<float>());
        for (const std::string collection : {"numpy", "torch"}) {
            const std::string label = name + "/" + collection;
            HistogramOptions opts;
            opts.numBins = s.at("num_bins");
            opts.skipZeros = s.at("skip_zeros");
            opts.collection = collection == "torch" ? HistogramCollection::Torch : HistogramCollection::NumPy;
            HistogramCalibrator h(numBits, isUnsigned, opts);
            for (int b = 0; b < batches; ++b)
                h.collect(file.tensor(key + ".b" + std::to_string(b)));
            // the collected state equals numpy.histogram / torch.histc exactly
            const std::vector<std::int64_t> wantCounts =
                file.tensor(key + "." + collection + ".counts").toInt64Vector();
            const std::vector<std::int64_t> wantEdgeBits =
                file.tensor(key + "." + collection + ".edge_bits").toInt64Vector();
            QVERIFY2(h.counts() == wantCounts, (label + ": counts differ").c_str());
            QCOMPARE(h.edges().size(), wantEdgeBits.size());
            std::size_t edgeMismatch = 0;
            for (std::size_t k = 0; k < wantEdgeBits.size(); ++k)
                edgeMismatch += std::bit_cast<std::int64_t>(h.edges()[k]) != wantEdgeBits[k] ? 1 : 0;
            QVERIFY2(edgeMismatch == 0, (label + ": " + std::to_string(edgeMismatch) + " edges differ").c_str());
            ++collectionsExact;
            QCOMPARE(*h.computeAmax(CalibMethod::Max), s.at("max").get<float>());

            const json &res = s.at("results").at(collection);
            const double width = res.at("bin_width");
            auto check = [&](const std::string &what, float got, float want) {
                if (got == want) {
                    ++exact;
                    return;
                }
                inexact.push_back(label + " " + what + ": " + std::to_string(got) + " vs " + std::to_string(want));
                QVERIFY2(std::fabs(static_cast<double>(got) - static_cast<double>(want)) <= width * 1.000001,
                         (label + " " + what + " differs by more than one bin").c_str());
                ++withinBin;
            };
            for (const auto &[p, value] : res.at("percentile").items()) {
                AmaxOptions o;
                o.percentile = std::stod(p);
                check("percentile " + p, *h.computeAmax(CalibMethod::Percentile, o), value.get<float>());
            }
            if (res.at("mse").is_object()) {
                bool threw = false;
                try {
                    (void)h.computeAmax(CalibMethod::Mse);
                } catch (const Error &) {
                    threw = true;
                }
                QVERIFY2(threw, (label + ": mse should fail like the reference").c_str());
                ++expectedErrors;
            } else {
                check("mse", *h.computeAmax(CalibMethod::Mse), res.at("mse").get<float>());
            }
            if (res.contains("mse_curve_key")) { // torch's f32 mean, bit for bit (issue #30 item 6)
                const std::vector<float> want = file.tensor(res.at("mse_curve_key").get<std::string>()).toFloatVector();
                QVERIFY2(countBitMismatches(h.mseCurve(), want) == 0,
                         (label + ": mse curve differs from torch's f32 mean").c_str());
            }
            check("entropy", *h.computeAmax(CalibMethod::Entropy), res.at("entropy").get<float>());
            // entropy again gives the same value; on the NumPy path it rewrote bin 0 (= bin 1,
            // reference §4.6), the torch path's histogram is unchanged
            QCOMPARE(*h.computeAmax(CalibMethod::Entropy), res.at("entropy").get<float>());
            std::vector<std::int64_t> afterEntropy = wantCounts;
            if (collection == "numpy")
                afterEntropy[0] = afterEntropy[1];
            QVERIFY(h.counts() == afterEntropy);

            // state round trip
            const HistogramCalibrator::State st = h.state();
            const HistogramCalibrator back = HistogramCalibrator::restore(st, opts);
            QVERIFY(back.counts() == h.counts());
            QVERIFY(back.edges() == h.edges());
        }
    }
    for (const std::string &line : inexact)
        qInfo("within one bin, not exact: %s", line.c_str());
    qInfo("histogram collections bit-exact: %d; percentile/mse/entropy amax: %d exact, %d within one bin, %d "
          "expected errors",
          collectionsExact, exact, withinBin, expectedErrors);
    QVERIFY(collectionsExact >= 32);
    QVERIFY(exact >= 250);
    QCOMPARE(withinBin, 0); // since issue #30 (mse as torch's f32 mean) every amax is exact
}

void TestQuantParity::perChannelMax()
{
    const json meta = loadJson("quant/calib.json");
    const SafetensorsFile file = SafetensorsFile::open(test::dataPath("quant/calib.safetensors").toStdString());
    MaxCalibrator cal(0);
    const int batches = meta.at("perchannel_batches");
    for (int b = 0; b < batches; ++b)
        cal.collect(file.tensor("perchannel.b" + std::to_string(b)));
    const Tensor want = file.tensor("perchannel.amax");
    const Tensor got = cal.amaxTensor();
    QCOMPARE(got.shape(), want.shape());
    QVERIFY(got.toFloatVector() == want.toFloatVector());
}

namespace {

struct EdgeGoldens {
    json meta;
    SafetensorsFile file;
};

EdgeGoldens edgeGoldens()
{
    return {loadJson("quant/edges.json"),
            SafetensorsFile::open(test::dataPath("quant/edges.safetensors").toStdString())};
}

} // namespace

// Item 1: 2.2.x multiplies `_pre_quant_scale` in before the disabled check; 2.1.x ignores it.
void TestQuantParity::preQuantScaleByProfile()
{
    const EdgeGoldens g = edgeGoldens();
    int compared = 0;
    int errors = 0;
    for (const json &c : g.meta.at("pre_quant_scale")) {
        const std::string key = c.at("key");
        const std::string name = c.at("name");
        const Tensor x = g.file.tensor(key + ".x");
        for (const auto &[profileName, expected] : c.at("outputs").items()) {
            TensorQuantizer q(QuantDescriptor{}, *parseVersionProfile(profileName));
            if (!c.at("dynamic").get<bool>())
                q.setAmax(g.file.tensor(key + ".amax"));
            q.setPreQuantScale(g.file.tensor(key + ".scale"));
            q.setEnabled(c.at("enabled").get<bool>());
            const std::string label = name + " " + profileName;
            if (expected.is_object()) { // the reference's broadcast fails
                QVERIFY_THROWS_EXCEPTION(ShapeError, (void)q.apply(x));
                ++errors;
                continue;
            }
            const std::vector<float> want = g.file.tensor(expected.get<std::string>()).toFloatVector();
            QVERIFY2(countBitMismatches(q.apply(x).toFloatVector(), want) == 0, label.c_str());
            Tensor inPlace = x.clone();
            q.applyInPlace(inPlace);
            QVERIFY2(countBitMismatches(inPlace.toFloatVector(), want) == 0, (label + " in place").c_str());
            ++compared;
        }
    }
    QCOMPARE(compared, 26);
    QCOMPARE(errors, 2);
}

// Item 4: a 1-D [n] amax broadcasts along the last dimension on the Python path (per column,
// an error unless it fits), along its own axis (rows) in the 2.2.x CUDA kernel.
void TestQuantParity::perChannelAmaxAxisByPath()
{
    const EdgeGoldens g = edgeGoldens();
    int compared = 0;
    int errors = 0;
    for (const json &c : g.meta.at("amax_axis")) {
        const std::string key = c.at("key");
        const Tensor x = g.file.tensor(key + ".x");
        for (const auto &[profileName, expected] : c.at("outputs").items()) {
            QuantDescriptor desc;
            desc.axis = 0; // a weight quantizer
            TensorQuantizer q(desc, *parseVersionProfile(profileName));
            q.setAmax(g.file.tensor(key + ".amax"));
            const std::string label = c.at("name").get<std::string>() + " " + profileName;
            if (expected.is_object()) {
                QVERIFY_THROWS_EXCEPTION(ShapeError, (void)q.apply(x));
                ++errors;
                continue;
            }
            const std::vector<float> want = g.file.tensor(expected.get<std::string>()).toFloatVector();
            QVERIFY2(countBitMismatches(q.apply(x).toFloatVector(), want) == 0, label.c_str());
            ++compared;
        }
    }
    QCOMPARE(compared, 13);
    QCOMPARE(errors, 3);
}

// Item 2: entropy on the NumPy path writes bins[0] = bins[1] into the calibrator's histogram,
// so percentile and mse computed afterwards see it; the torch path works on a copy.
void TestQuantParity::entropyRewritesNumPyBinZero()
{
    const EdgeGoldens g = edgeGoldens();
    for (const json &s : g.meta.at("entropy_mutation")) {
        const std::string key = s.at("key");
        for (const std::string collection : {"numpy", "torch"}) {
            const json &r = s.at("results").at(collection);
            HistogramOptions opts;
            opts.collection = collection == "torch" ? HistogramCollection::Torch : HistogramCollection::NumPy;
            HistogramCalibrator h(8, false, opts);
            for (int b = 0; b < s.at("batches").get<int>(); ++b)
                h.collect(g.file.tensor(key + ".b" + std::to_string(b)));
            const std::string label = s.at("name").get<std::string>() + "/" + collection;
            AmaxOptions median;
            median.percentile = 50.0;
            QCOMPARE(*h.computeAmax(CalibMethod::Percentile, median), r.at("percentile_before").get<float>());
            QCOMPARE(*h.computeAmax(CalibMethod::Entropy), r.at("entropy").get<float>());
            QCOMPARE(h.counts().at(0), r.at("bin0_after").get<std::int64_t>());
            QCOMPARE(h.counts().at(1), r.at("bin1_after").get<std::int64_t>());
            QVERIFY2(*h.computeAmax(CalibMethod::Percentile, median) == r.at("percentile_after").get<float>(),
                     label.c_str());
            QVERIFY2(*h.computeAmax(CalibMethod::Mse) == r.at("mse_after").get<float>(), label.c_str());
        }
    }
    // the stream is chosen so that the rewrite matters: the median moves by orders of magnitude
    const json &relu = g.meta.at("entropy_mutation").at(0).at("results").at("numpy");
    QVERIFY(relu.at("percentile_after").get<float>() > 10.0F * relu.at("percentile_before").get<float>());
}

// Item 3: calibrate_weights' per-row histograms: numpy.histogram over [min, max] in 2.1.x,
// range=(0, max) in 2.2.x (not the torch.histc path 2.2.x uses for activations).
void TestQuantParity::weightHistogramRangeByVersion()
{
    const EdgeGoldens g = edgeGoldens();
    const Tensor w = g.file.tensor("weight.w");
    for (const json &v : g.meta.at("weight_hist")) {
        const std::string variant = v.at("variant");
        HistogramOptions opts;
        opts.collection = variant == "pq-2.2" ? HistogramCollection::NumPyFromZero : HistogramCollection::NumPy;
        for (std::size_t r = 0; r < v.at("rows").size(); ++r) {
            const json &row = v.at("rows").at(r);
            const std::string prefix = "weight." + variant + ".r" + std::to_string(r);
            HistogramCalibrator h(8, false, opts);
            h.collect(w.select(0, static_cast<std::int64_t>(r)));
            QVERIFY2(h.counts() == g.file.tensor(prefix + ".counts").toInt64Vector(), (prefix + " counts").c_str());
            const std::vector<std::int64_t> edgeBits = g.file.tensor(prefix + ".edge_bits").toInt64Vector();
            QCOMPARE(h.edges().size(), edgeBits.size());
            for (std::size_t k = 0; k < edgeBits.size(); ++k)
                QCOMPARE(std::bit_cast<std::int64_t>(h.edges()[k]), edgeBits[k]);
            AmaxOptions p;
            p.percentile = 99.99;
            QCOMPARE(*h.computeAmax(CalibMethod::Percentile, p), row.at("percentile_99.99").get<float>());
            p.percentile = 99.0;
            QCOMPARE(*h.computeAmax(CalibMethod::Percentile, p), row.at("percentile_99").get<float>());
            QCOMPARE(*h.computeAmax(CalibMethod::Mse), row.at("mse").get<float>());
        }
    }
    // the two ranges give different amax for the same row (the test would not notice otherwise)
    const json &rows21 = g.meta.at("weight_hist").at(0).at("rows");
    const json &rows22 = g.meta.at("weight_hist").at(1).at("rows");
    int differ = 0;
    for (std::size_t r = 0; r < rows21.size(); ++r)
        differ += rows21.at(r).at("percentile_99") != rows22.at(r).at("percentile_99") ? 1 : 0;
    QVERIFY(differ >= 3);
}

// Item 6: the mse of each candidate is torch's f32 .mean() (cascade sum), so near-ties break
// as in the reference; this histogram's argmin differs from the one of an f64 sum.
void TestQuantParity::mseIsTorchsFloatMean()
{
    const EdgeGoldens g = edgeGoldens();
    const json &t = g.meta.at("mse_tie");
    QVERIFY(t.at("argmin_torch") != t.at("argmin_f64"));
    const std::vector<std::int64_t> counts = g.file.tensor("msetie.counts").toInt64Vector();
    const std::vector<float> edges = g.file.tensor("msetie.edges").toFloatVector();
    // a histogram state as the torch path would store it: f32 edges, integral counts
    HistogramCalibrator::State st;
    st.counts = Tensor::fromValues<std::int64_t>({static_cast<std::int64_t>(counts.size())}, counts);
    std::vector<std::int64_t> bits;
    for (const float e : edges)
        bits.push_back(std::bit_cast<std::int64_t>(static_cast<double>(e)));
    st.edgeBits = Tensor::fromValues<std::int64_t>({static_cast<std::int64_t>(bits.size())}, bits);
    st.edges = Tensor::fromValues<float>({static_cast<std::int64_t>(edges.size())}, edges);
    st.info = Tensor::fromValues<float>({4}, {edges.back(), 1.0F, 8.0F, 0.0F});
    HistogramOptions opts;
    opts.collection = HistogramCollection::Torch;
    const HistogramCalibrator h = HistogramCalibrator::restore(st, opts);
    QCOMPARE(countBitMismatches(h.mseCurve(), g.file.tensor("msetie.curve").toFloatVector()), std::int64_t{0});
    QCOMPARE(*h.computeAmax(CalibMethod::Mse), t.at("amax_torch").get<float>());
}

QTEST_GUILESS_MAIN(TestQuantParity)
#include "tst_quant_parity.moc"

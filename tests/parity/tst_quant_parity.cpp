// Quantization math against goldens from tools/reference/gen_quant_goldens.py (an independent
// PyTorch/NumPy implementation of reference §3 and §4): fake quant bit for bit in every
// version profile and both export forms, `max` amax exactly, histogram collection exactly
// (counts and edges), percentile/mse/entropy amax within one bin width (exact counted).
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
            check("entropy", *h.computeAmax(CalibMethod::Entropy), res.at("entropy").get<float>());
            // computeAmax does not change the state: entropy twice, percentile again
            QCOMPARE(*h.computeAmax(CalibMethod::Entropy), res.at("entropy").get<float>());
            QVERIFY(h.counts() == wantCounts);

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
    QVERIFY(exact + withinBin >= 200);
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

QTEST_GUILESS_MAIN(TestQuantParity)
#include "tst_quant_parity.moc"

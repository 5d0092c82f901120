// End-to-end calibration against an independent reference (issue 8): transformers 4.37.2
// BertModel on the tiny demo checkpoint with hooks at the 20 quantizer sites per layer
// (reference §1.2), the reference's MaxCalibrator / HistogramCalibrator (NumPy path) and the
// four amax methods (§4.2-§4.6) - tools/reference/gen_calibration_goldens.py ->
// tests/data/calibration/tiny_goldens.safetensors. `qdq calibrate` on the same sentences, batches
// and truncation must give the same max amax (<= 1e-5 relative: the FP32 activations of two
// implementations differ by rounding) and percentile / mse / entropy within one bin width.
#include "support/test_support.h"

#include "qdq/calibration.h"
#include "qdq/io/safetensors.h"

#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <cmath>

using namespace qdq;
using namespace qdq::test;

class TestCalibrationParity : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void maxMatchesReference();
    void histogramMethodsWithinOneBin_data();
    void histogramMethodsWithinOneBin();

private:
    QTemporaryDir m_dir;
    QString m_out;
    std::optional<SafetensorsFile> m_gold;
    std::optional<SafetensorsFile> m_model;
    std::optional<SafetensorsFile> m_stats;
};

void TestCalibrationParity::initTestCase()
{
    m_gold = SafetensorsFile::open(dataPath("calibration/tiny_goldens.safetensors").toStdString());
    const auto &meta = m_gold->metadata();
    m_out = m_dir.filePath("calibrated");
    const ProcessResult r = runCli({"calibrate",
                                    "--model",
                                    QStringLiteral(QDQ_SOURCE_DIR "/resources/demo/tiny-qdqbert"),
                                    "--data",
                                    dataPath("calibration/sentences.txt"),
                                    "--method",
                                    "max",
                                    "--samples",
                                    "0",
                                    "--batch",
                                    QString::fromStdString(meta.at("batch")),
                                    "--max-length",
                                    QString::fromStdString(meta.at("max_length")),
                                    "--percentile",
                                    QString::fromStdString(meta.at("percentile")),
                                    "--num-bins",
                                    QString::fromStdString(meta.at("num_bins")),
                                    "--profile",
                                    "pq-2.1.x",
                                    "--out",
                                    m_out,
                                    "--quiet"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    m_model = SafetensorsFile::open((m_out + "/model.safetensors").toStdString());
    m_stats = SafetensorsFile::open((m_out + "/calibration.safetensors").toStdString());
}

void TestCalibrationParity::maxMatchesReference()
{
    int sites = 0;
    double worst = 0;
    for (const std::string &key : m_gold->names()) {
        if (key.size() < 4 || key.compare(key.size() - 4, 4, ".max") != 0)
            continue;
        const std::string site = key.substr(0, key.size() - 4);
        const Tensor gold = m_gold->tensor(key);
        const Tensor ours = m_model->tensor(site + "._amax");
        QCOMPARE(ours.shape(), gold.shape()); // §2.1: [] per tensor, [out, 1] per row
        const std::vector<float> g = gold.toFloatVector();
        const std::vector<float> o = ours.toFloatVector();
        for (std::size_t i = 0; i < g.size(); ++i) {
            const double rel = std::fabs(static_cast<double>(o[i]) - g[i]) / std::max(1e-30, std::fabs(double(g[i])));
            worst = std::max(worst, rel);
            QVERIFY2(rel <= 1e-5, (site + ": " + std::to_string(o[i]) + " vs " + std::to_string(g[i])).c_str());
        }
        ++sites;
    }
    QCOMPARE(sites, 40); // 20 sites x 2 layers
    qInfo("max: 40 sites, worst relative difference %.3g", worst);
}

void TestCalibrationParity::histogramMethodsWithinOneBin_data()
{
    QTest::addColumn<QString>("method");
    for (const char *m : {"percentile", "mse", "entropy"})
        QTest::newRow(m) << QString(m);
}

void TestCalibrationParity::histogramMethodsWithinOneBin()
{
    QFETCH(QString, method);
    const std::string m = method.toStdString();
    int sites = 0;
    int exact = 0;
    int flat = 0;
    double worst = 0;
    for (const std::string &key : m_gold->names()) {
        const std::string suffix = "." + m;
        if (key.size() < suffix.size() || key.compare(key.size() - suffix.size(), suffix.size(), suffix) != 0)
            continue;
        const std::string site = key.substr(0, key.size() - suffix.size());
        const double gold = m_gold->tensor(key).toFloatVector().at(0);
        const double width = m_gold->tensor(site + ".bin_width").toFloatVector().at(0);
        const double ours = m_stats->tensor(site + ".amax." + m).toFloatVector().at(0);
        const double bins = std::fabs(ours - gold) / width;
        if (bins <= 1.0)
            worst = std::max(worst, bins);
        exact += ours == gold ? 1 : 0;
        if (m == "mse" && bins > 1.0) {
            // The mse minimum is often flat: activations that differ from PyTorch's by float
            // rounding can move the argmin by several bins to an equally good candidate. Then
            // the reference's own mse curve at our choice (a bin centre of our histogram, whose
            // edges agree with the reference's) must be within 0.1% of the reference's minimum.
            const std::vector<float> curve = m_gold->tensor(site + ".mse_curve").toFloatVector();
            const std::vector<float> edges = m_stats->tensor(site + ".edges").toFloatVector();
            std::size_t k = 0;
            for (std::size_t i = 1; i + 1 < edges.size(); ++i)
                if (std::fabs((edges[i] + edges[i + 1]) / 2 - ours) < std::fabs((edges[k] + edges[k + 1]) / 2 - ours))
                    k = i;
            QVERIFY(k >= 128 && k - 128 < curve.size());
            const double best = *std::min_element(curve.begin(), curve.end());
            const double at = curve[k - 128];
            qInfo("%s: mse argmin %.3f bins away; the reference's mse there is %.2e relative above its minimum",
                  site.c_str(), bins, at / best - 1);
            QVERIFY2(at <= best * (1 + 1e-3), site.c_str());
            ++flat;
            ++sites;
            continue;
        }
        QVERIFY2(bins <= 1.0 + 1e-6, (site + ": " + std::to_string(ours) + " vs " + std::to_string(gold) + " (" +
                                      std::to_string(bins) + " bins)")
                                         .c_str());
        ++sites;
    }
    QCOMPARE(sites, 28); // 14 activation sites x 2 layers
    qInfo("%s: 28 sites, %d identical, %d more than one bin away on a flat minimum, worst within one bin: %.3f bin "
          "widths",
          m.c_str(), exact, flat, worst);
}

QTEST_GUILESS_MAIN(TestCalibrationParity)
#include "tst_calibration_parity.moc"

// FP32 parity of QDQBertModel against transformers 4.37.2 BERT (tools/reference/gen_model_goldens.py;
// QDQBERT with every quantizer disabled is exactly BERT, reference §2.4). Every output of every
// case is compared: max abs error <= 1e-4 * max(1, max|reference|); losses <= 1e-5 relative.
#include "support/test_support.h"

#include "qdq/checkpoint.h"
#include "qdq/io/safetensors.h"
#include "qdq/model.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

using namespace qdq;
using namespace qdq::test;

class TestModelParity : public QObject {
    Q_OBJECT
private slots:
    void goldens_data();
    void goldens();
    void manifestCoversEveryTask();
};

namespace {

QJsonArray manifestCases()
{
    QFile f(dataPath("model/manifest.json"));
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QJsonDocument::fromJson(f.readAll()).object()["cases"].toArray();
}

} // namespace

void TestModelParity::goldens_data()
{
    QTest::addColumn<QJsonObject>("entry");
    const QJsonArray cases = manifestCases();
    QVERIFY2(cases.size() >= 40, "tests/data/model/manifest.json is missing or has too few cases");
    for (const auto &c : cases)
        QTest::newRow(c.toObject()["case"].toString().toUtf8().constData()) << c.toObject();
}

void TestModelParity::goldens()
{
    QFETCH(QJsonObject, entry);
    const QString name = entry["case"].toString();
    const Checkpoint ck = loadCheckpoint(dataPath("model/" + entry["model"].toString()).toStdString());
    ModelOptions options;
    const auto task = taskFromName(entry["task"].toString().toStdString());
    QVERIFY(task.has_value());
    options.task = *task;
    options.maskConstant =
        entry["mask_constant"].toString() == "legacy" ? MaskConstant::Legacy : MaskConstant::FinfoMin;
    QDQBertModel model(ck, options);

    ForwardInputs in = ForwardInputs::fromNamed(
        SafetensorsFile::open(dataPath("model/cases/" + name + ".inputs.safetensors").toStdString()).tensors());
    in.outputAttentions = entry["output_attentions"].toBool();
    in.outputHiddenStates = entry["output_hidden_states"].toBool();
    const ForwardOutputs out = model.forward(in);
    const std::map<std::string, Tensor> ref =
        SafetensorsFile::open(dataPath("model/cases/" + name + ".outputs.safetensors").toStdString()).tensors();

    std::set<std::string> got;
    for (const auto &[key, t] : out.named())
        got.insert(key);
    std::set<std::string> want;
    for (const auto &[key, t] : ref)
        want.insert(key);
    if (got != want) {
        std::string msg = "output names differ; engine:";
        for (const auto &k : got)
            msg += " " + k;
        msg += "; reference:";
        for (const auto &k : want)
            msg += " " + k;
        QFAIL(msg.c_str());
    }
    double worst = 0.0;
    std::string worstKey;
    for (const auto &[key, tensor] : out.named()) {
        const Tensor &r = ref.at(key);
        QVERIFY2(tensor->shape() == r.shape(),
                 (key + ": shape " + shapeString(tensor->shape()) + " vs " + shapeString(r.shape())).c_str());
        const auto a = tensor->toFloatVector();
        const auto b = r.toFloatVector();
        double maxRef = 0.0;
        double maxErr = 0.0;
        for (std::size_t i = 0; i < a.size(); ++i) {
            maxRef = std::max(maxRef, std::abs(static_cast<double>(b[i])));
            const double e = std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i]));
            maxErr = std::isnan(e) ? (std::isnan(a[i]) && std::isnan(b[i]) ? maxErr : 1e30) : std::max(maxErr, e);
        }
        const double tol = key == "loss" ? 1e-5 * std::abs(static_cast<double>(b[0])) : 1e-4 * std::max(1.0, maxRef);
        if (maxErr / std::max(tol, 1e-30) >= worst) {
            worst = maxErr / std::max(tol, 1e-30);
            worstKey = key + " err " + QString::number(maxErr, 'g', 3).toStdString();
        }
        QVERIFY2(maxErr <= tol, (name.toStdString() + " " + key + ": max abs error " + std::to_string(maxErr) +
                                 " > tolerance " + std::to_string(tol))
                                    .c_str());
    }
    qInfo("%s: %zu outputs, worst %s (%.3f of tolerance)", qPrintable(name), want.size(), worstKey.c_str(), worst);
}

void TestModelParity::manifestCoversEveryTask()
{
    std::set<std::string> tasks;
    bool legacy = false;
    for (const auto &c : manifestCases()) {
        tasks.insert(c.toObject()["task"].toString().toStdString());
        legacy = legacy || c.toObject()["mask_constant"].toString() == "legacy";
    }
    QCOMPARE(tasks.size(), allTasks().size());
    QVERIFY(legacy);
}

QTEST_GUILESS_MAIN(TestModelParity)
#include "tst_model_parity.moc"

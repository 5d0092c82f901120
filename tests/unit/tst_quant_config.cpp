// QuantConfig and the precisions: overrides never touch the checkpoint, copies are independent,
// disabling every quantizer gives exactly the fp32 numbers, the int8 execution inventory
// (which sites feed s8 GEMMs, which fall back and why), and the CLI around them.
#include "support/test_support.h"

#include "qdq/calibration.h"
#include "qdq/checkpoint.h"
#include "qdq/io/safetensors.h"
#include "qdq/model.h"
#include "qdq/quant/quant_config.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

#include <algorithm>
#include <cmath>
#include <map>

using namespace qdq;
using namespace qdq::test;

namespace {

ForwardInputs inputs(const QString &name)
{
    const SafetensorsFile file =
        SafetensorsFile::open(dataPath("quantexec/cases/" + name + ".inputs.safetensors").toStdString());
    std::map<std::string, Tensor> named;
    for (const std::string &n : file.names())
        named.emplace(n, file.tensor(n));
    return ForwardInputs::fromNamed(std::move(named));
}

std::map<std::string, std::vector<float>> amaxBuffers(const Checkpoint &ck)
{
    std::map<std::string, std::vector<float>> out;
    for (const auto &[name, t] : ck.tensors)
        if (name.size() > 6 && name.substr(name.size() - 6) == "._amax")
            out[name] = t.toFloatVector();
    return out;
}

} // namespace

class TestQuantConfig : public QObject {
    Q_OBJECT
private slots:
    void overridesNeverMutateCheckpoint();
    void selectors();
    void allDisabledIsExactlyFp32();
    void int8ExecutionInventory();
    void cliPrecisionAndAmax();
    void preQuantScaleInTheModel();
};

void TestQuantConfig::overridesNeverMutateCheckpoint()
{
    const Checkpoint ck = loadCheckpoint(dataPath("quantexec/seqcls").toStdString());
    const auto before = amaxBuffers(ck);
    QCOMPARE(before.size(), std::size_t{40});
    const QuantConfig original = QuantConfig::fromCheckpoint(ck);
    QuantConfig edited = original; // a plain value
    QCOMPARE(edited.setAmax(SiteSelector::parse("all"), 1.5F), 40);
    QCOMPARE(edited.setNumBits(SiteSelector::parse("kind:weight"), 4), 12);
    QCOMPARE(edited.setEnabled(SiteSelector::parse("layer:1"), false), 20);
    QCOMPARE(edited.setDynamicAmax(SiteSelector::parse("*.matmul_a_input_quantizer")), 2);
    QCOMPARE(amaxBuffers(ck), before);
    for (const SiteQuantConfig &s : original.sites()) {
        QVERIFY(s.enabled && s.calibrated && !s.amaxOverridden && s.desc.numBits == 8);
        const auto key = s.site.amaxKey("bert.");
        QCOMPARE(*s.amax, before.at(key));
    }
    // a model built from the edited copy runs, and still leaves the checkpoint as it was
    ModelOptions options;
    options.task = Task::SequenceClassification;
    options.precision = Precision::Qdq;
    options.quant = edited;
    QDQBertModel model(ck, options);
    (void)model.forward(inputs("seqcls"));
    QCOMPARE(amaxBuffers(ck), before);
    QCOMPARE(model.quantConfig().find(QuantizerSite{0, SiteId::QueryWeight, false})->desc.numBits, 4);
}

void TestQuantConfig::selectors()
{
    const QuantizerSite q{3, SiteId::MatmulA, false};
    QVERIFY(SiteSelector::parse("layer:3").matches(q));
    QVERIFY(!SiteSelector::parse("layer:2").matches(q));
    QVERIFY(SiteSelector::parse("kind:matmul").matches(q));
    QVERIFY(SiteSelector::parse("layer:3,kind:matmul").matches(q));
    QVERIFY(!SiteSelector::parse("layer:3,kind:input").matches(q));
    QVERIFY(SiteSelector::parse("bert.encoder.layer.3.attention.self.matmul_a_input_quantizer._amax").matches(q));
    QVERIFY(SiteSelector::parse("encoder.layer.*.attention.self.matmul_?_input_quantizer").matches(q));
    QVERIFY(!SiteSelector::parse("encoder.layer.3.output.*").matches(q));
    QVERIFY_THROWS_EXCEPTION(FormatError, SiteSelector::parse("kind:bias"));
    QVERIFY_THROWS_EXCEPTION(FormatError, SiteSelector::parse("layer:x"));
}

void TestQuantConfig::allDisabledIsExactlyFp32()
{
    const Checkpoint ck = loadCheckpoint(dataPath("quantexec/qa").toStdString());
    ModelOptions options;
    options.task = Task::QuestionAnswering;
    QDQBertModel fp32(ck, options);
    const ForwardOutputs ref = fp32.forward(inputs("qa"));
    QuantConfig off = QuantConfig::fromCheckpoint(ck);
    off.disableAll();
    for (Precision p : {Precision::Qdq, Precision::Int8}) {
        ModelOptions quantized;
        quantized.task = Task::QuestionAnswering;
        quantized.precision = p;
        quantized.quant.emplace(off);
        QDQBertModel model(ck, quantized);
        for (const SiteExecution &e : model.executionPlan())
            QCOMPARE(e.form, ExecutionForm::Disabled);
        const ForwardOutputs out = model.forward(inputs("qa"));
        QCOMPARE(out.startLogits.toFloatVector(), ref.startLogits.toFloatVector()); // bit for bit
        QCOMPARE(out.endLogits.toFloatVector(), ref.endLogits.toFloatVector());
    }
    // and quantized really differs
    ModelOptions qdqOptions;
    qdqOptions.task = Task::QuestionAnswering;
    qdqOptions.precision = Precision::Qdq;
    QDQBertModel qdq(ck, qdqOptions);
    QVERIFY(qdq.forward(inputs("qa")).startLogits.toFloatVector() != ref.startLogits.toFloatVector());
}

void TestQuantConfig::int8ExecutionInventory()
{
    const Checkpoint ck = loadCheckpoint(dataPath("quantexec/seqcls").toStdString());
    QuantConfig q = QuantConfig::fromCheckpoint(ck);
    std::map<ExecutionForm, int> count;
    for (const SiteExecution &e : q.executionPlan(Precision::Int8)) {
        ++count[e.form];
        if (e.site.kind() == SiteKind::Residual) {
            QCOMPARE(e.form, ExecutionForm::FakeQuant);
            QVERIFY(e.reason.find("no integer op") != std::string::npos);
        } else {
            QCOMPARE(e.form, ExecutionForm::Int8Gemm);
        }
    }
    QCOMPARE(count[ExecutionForm::Int8Gemm], 32); // per layer: 6 linears x 2 + 2 matmuls x 2
    QCOMPARE(count[ExecutionForm::FakeQuant], 8);
    for (const SiteExecution &e : q.executionPlan(Precision::Qdq))
        QCOMPARE(e.form, ExecutionForm::FakeQuant);
    for (const SiteExecution &e : q.executionPlan(Precision::Fp32))
        QCOMPARE(e.form, ExecutionForm::Disabled);

    // a 12-bit weight takes its linear's input with it to fake quant, with the reason
    q.setNumBits(SiteSelector::parse("encoder.layer.0.intermediate.dense._weight_quantizer"), 12);
    const SiteExecution in = q.execution(QuantizerSite{0, SiteId::IntermediateInput, false}, Precision::Int8);
    QCOMPARE(in.form, ExecutionForm::FakeQuant);
    QVERIFY(in.reason.find("num_bits 12") != std::string::npos);
    // a disabled K operand sends Q·Kᵀ to fake quant for Q (K itself is then disabled)
    q.setEnabled(SiteSelector::parse("encoder.layer.1.attention.self.matmul_k_input_quantizer"), false);
    QCOMPARE(q.execution(QuantizerSite{1, SiteId::MatmulQ, false}, Precision::Int8).form, ExecutionForm::FakeQuant);
    QCOMPARE(q.execution(QuantizerSite{1, SiteId::MatmulK, false}, Precision::Int8).form, ExecutionForm::Disabled);
    // the probabilities (all >= 0, signed descriptor: codes 0..127) are an s8 operand too
    QuantConfig u = QuantConfig::fromCheckpoint(ck);
    QVERIFY(u.execution(QuantizerSite{0, SiteId::MatmulA, false}, Precision::Int8).form == ExecutionForm::Int8Gemm);

    // the mixed model still runs and agrees with qdq at the fallback sites' precision
    ModelOptions options;
    options.task = Task::SequenceClassification;
    options.precision = Precision::Int8;
    options.quant = q;
    QDQBertModel mixed(ck, options);
    options.precision = Precision::Qdq;
    QDQBertModel ref(ck, options);
    const auto a = mixed.forward(inputs("seqcls")).logits.toFloatVector();
    const auto b = ref.forward(inputs("seqcls")).logits.toFloatVector();
    for (std::size_t i = 0; i < a.size(); ++i)
        QVERIFY(std::fabs(a[i] - b[i]) <= 1e-4F * std::max(1.0F, std::fabs(b[i])));
}

void TestQuantConfig::cliPrecisionAndAmax()
{
    const QString model = dataPath("quantexec/seqcls");
    const ProcessResult amax = runCli({"amax", "--model", model, "--json"});
    QCOMPARE(amax.exitCode, 0);
    const QJsonArray list = QJsonDocument::fromJson(amax.out).object()["quantizers"].toArray();
    QCOMPARE(list.size(), 40);
    int gemm = 0;
    for (const auto &v : list)
        gemm += v.toObject()["int8_execution"].toString() == "int8-gemm" ? 1 : 0;
    QCOMPARE(gemm, 32);
    QCOMPARE(list[1].toObject()["amax"].toObject()["count"].toInt(), 32); // per-row weight summary
    const ProcessResult csv = runCli({"amax", "--model", model, "--csv"});
    QCOMPARE(csv.exitCode, 0);
    QCOMPARE(csv.out.count('\n'), 41);

    const QString in = dataPath("quantexec/cases/seqcls.inputs.safetensors");
    for (const char *p : {"fp32", "qdq", "int8"}) {
        const ProcessResult r =
            runCli({"run", "--model", model, "--task", "sequence-classification", "--inputs", in, "--precision", p,
                    "--disable-quantizer", "kind:residual", "--amax", "layer:0,kind:input=4.0", "--json"});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(QJsonDocument::fromJson(r.out).object()["precision"].toString(), QString(p));
    }
    QCOMPARE(
        runCli({"run", "--model", model, "--task", "sequence-classification", "--inputs", in, "--precision", "int4"})
            .exitCode,
        1);
    QCOMPARE(runCli({"run", "--model", model, "--task", "sequence-classification", "--inputs", in,
                     "--disable-quantizer", "encoder.layer.9.*"})
                 .exitCode,
             1);
}

namespace {

// Captures what one quantizer site receives.
class SiteTap final : public TensorObserver {
public:
    explicit SiteTap(std::string name) : m_name(std::move(name)) {}
    void observe(std::string_view name, const Tensor &tensor) override
    {
        if (name == m_name && !seen.defined())
            seen = tensor.clone();
    }
    Tensor seen;

private:
    std::string m_name;
};

} // namespace

// issue #30 item 1 in the model: under the pq-2.2 profiles a `_pre_quant_scale` multiplies the
// site's input (before the disabled check, so also under fp32), the calibrator sees the product,
// int8 falls back to fake quant at that linear; pq-2.1.x ignores the buffer as 2.1.x does.
void TestQuantConfig::preQuantScaleInTheModel()
{
    Checkpoint ck = loadCheckpoint(dataPath("quantexec/qa").toStdString());
    const std::string site = "encoder.layer.0.attention.self.query._input_quantizer";
    const std::int64_t hidden = ck.config.hiddenSize;
    std::vector<float> scale(static_cast<std::size_t>(hidden));
    for (std::size_t i = 0; i < scale.size(); ++i)
        scale[i] = 0.5F + 0.25F * static_cast<float>(i % 7);
    ck.tensors["bert." + site + "._pre_quant_scale"] = Tensor::fromValues<float>({hidden}, scale);
    const ForwardInputs in = inputs("qa");

    auto run = [&](VersionProfile profile, Precision precision, SiteTap *tap) {
        ModelOptions o;
        o.task = Task::QuestionAnswering;
        o.precision = precision;
        o.quant = QuantConfig::fromCheckpoint(ck, profile);
        QDQBertModel model(ck, o);
        model.setObserver(tap);
        return model.forward(in).startLogits.toFloatVector();
    };
    // the quantizer's input is x * scale exactly under 2.2 (x: the same embeddings output)
    SiteTap tap21(site);
    SiteTap tap22(site);
    const std::vector<float> qdq21 = run(VersionProfile::Pq21x, Precision::Qdq, &tap21);
    const std::vector<float> qdq22 = run(VersionProfile::Pq22Cpu, Precision::Qdq, &tap22);
    QVERIFY(tap21.seen.defined() && tap22.seen.defined());
    const std::vector<float> x = tap21.seen.toFloatVector();
    const std::vector<float> xs = tap22.seen.toFloatVector();
    QCOMPARE(xs.size(), x.size());
    for (std::size_t i = 0; i < x.size(); ++i)
        QCOMPARE(xs[i], x[i] * scale[i % scale.size()]);
    QVERIFY(qdq21 != qdq22);
    // pq-2.1.x: exactly the model without the buffer
    Checkpoint plain = loadCheckpoint(dataPath("quantexec/qa").toStdString());
    {
        ModelOptions o;
        o.task = Task::QuestionAnswering;
        o.precision = Precision::Qdq;
        QDQBertModel model(plain, o);
        QCOMPARE(model.forward(in).startLogits.toFloatVector(), qdq21);
    }
    // fp32 under 2.2 still scales: the same as folding the scale into the query weight's columns
    const std::vector<float> fp32With = run(VersionProfile::Pq22Cpu, Precision::Fp32, nullptr);
    const std::string wKey = "bert.encoder.layer.0.attention.self.query.weight";
    std::vector<float> w = plain.get(wKey).toFloatVector();
    for (std::size_t i = 0; i < w.size(); ++i)
        w[i] *= scale[i % scale.size()];
    plain.tensors[wKey] = Tensor::fromValues<float>(plain.get(wKey).shape(), w);
    ModelOptions fo;
    fo.task = Task::QuestionAnswering;
    QDQBertModel folded(plain, fo);
    const std::vector<float> fp32Folded = folded.forward(in).startLogits.toFloatVector();
    const std::vector<float> fp32Without = run(VersionProfile::Pq21x, Precision::Fp32, nullptr);
    double worst = 0.0;
    double moved = 0.0;
    for (std::size_t i = 0; i < fp32With.size(); ++i) {
        worst = std::max(worst, static_cast<double>(std::fabs(fp32With[i] - fp32Folded[i])));
        moved = std::max(moved, static_cast<double>(std::fabs(fp32With[i] - fp32Without[i])));
    }
    QVERIFY2(worst < 1e-4, std::to_string(worst).c_str());
    QVERIFY(moved > 1e-3);
    // int8: the query linear runs as fake quant, with the reason
    const QuantConfig q22 = QuantConfig::fromCheckpoint(ck, VersionProfile::Pq22Cpu);
    const QuantizerSite querySite{0, SiteId::QueryInput, false};
    const SiteExecution e = q22.execution(querySite, Precision::Int8);
    QCOMPARE(e.form, ExecutionForm::FakeQuant);
    QVERIFY(e.reason.find("_pre_quant_scale") != std::string::npos);
    QCOMPARE(QuantConfig::fromCheckpoint(ck, VersionProfile::Pq21x).execution(querySite, Precision::Int8).form,
             ExecutionForm::Int8Gemm);
    // calibration under 2.2 collects max|x * scale|
    CalibrationOptions co;
    co.profile = VersionProfile::Pq22Cpu;
    co.histograms = false;
    Calibrator cal(ck, co);
    ModelOptions bo;
    bo.task = Task::QuestionAnswering;
    QDQBertModel base(ck, bo);
    base.setSiteHooks(cal.hooks());
    (void)base.forward(in);
    float want = 0.0F;
    for (const float v : xs)
        want = std::max(want, std::fabs(v));
    QCOMPARE(cal.find(querySite)->max.amax().front(), want);
}

QTEST_GUILESS_MAIN(TestQuantConfig)
#include "tst_quant_config.moc"

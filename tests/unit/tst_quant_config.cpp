// QuantConfig and the precisions: overrides never touch the checkpoint, copies are independent,
// disabling every quantizer gives exactly the fp32 numbers, the int8 execution inventory
// (which sites feed s8 GEMMs, which fall back and why), and the CLI around them.
#include "support/test_support.h"

#include "qdq/checkpoint.h"
#include "qdq/io/safetensors.h"
#include "qdq/model.h"
#include "qdq/quant/quant_config.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

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

QTEST_GUILESS_MAIN(TestQuantConfig)
#include "tst_quant_config.moc"

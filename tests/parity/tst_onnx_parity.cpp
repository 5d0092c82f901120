// Q/DQ ONNX export against an independent runtime (issue 9; reference §3.7). The goldens come
// from tools/reference/gen_onnx_goldens.py: the tiny calibrated models of tests/data/quantexec,
// exported by this tool, checked by the `onnx` package's checker and run in ONNX Runtime 1.17
// (graph optimizations off, so every Q/DQ has its ONNX semantics) on fixed inputs; the integer
// codes of every QuantizeLinear were taken from ORT as extra outputs. `numerics` runs ONNX
// Runtime itself (tools/reference/ort_run.py in tools/reference/.venv-ort) on the export made
// in this run, literally and as ORT optimises it.
//
//  - structure: re-exporting gives the same graph (node, initializer, QuantizeLinear and
//    DequantizeLinear counts, the Q/DQ sites in order) and the same bytes twice in a row;
//  - numerics: this engine with the ONNX Q/DQ arithmetic at every enabled site
//    (makeOnnxQdqSiteHooks: rne(x / fl(a/127)) * fl(a/127), floor -128, the form ORT and
//    TensorRT compute, not pytorch-quantization's rne(x * fl(127/a)) / fl(127/a)) agrees with
//    ORT's outputs within 1e-3 relative (max |diff| / max |ORT|) with optimisations off and
//    to cosine >= 0.99 with ORT's fused integer kernels, and the codes it would give at each
//    QuantizeLinear agree with ORT's on >= 99.9 % of the elements over all sites;
//  - round trip: export -> import yields every enabled site with amax within 1 ulp (f32);
//  - bad input: no Q/DQ nodes, Q/DQ at unmapped places, truncated protobuf: FormatError naming
//    the file, and exit code 2 from the CLI.
#include "support/test_support.h"

#include "qdq/checkpoint.h"
#include "qdq/compare.h"
#include "qdq/errors.h"
#include "qdq/io/onnx_export.h"
#include "qdq/io/onnx_import.h"
#include "qdq/io/safetensors.h"
#include "qdq/model.h"

#include <QCryptographicHash>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>

using namespace qdq;
using namespace qdq::test;

namespace {

QJsonArray manifestCases()
{
    QFile f(dataPath("onnx/manifest.json"));
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QJsonDocument::fromJson(f.readAll()).object()["cases"].toArray();
}

QJsonObject manifestCase(const QString &name)
{
    for (const QJsonValue &v : manifestCases())
        if (v.toObject()["case"].toString() == name)
            return v.toObject();
    return {};
}

std::string modelPath(const QJsonObject &c)
{
    return std::string(QDQ_SOURCE_DIR) + "/" + c["model"].toString().toStdString();
}

OnnxExportOptions exportOptions(const QJsonObject &c)
{
    OnnxExportOptions o;
    o.task = *taskFromName(c["task"].toString().toStdString());
    o.weights = c["weights"].toString() == "int8" ? OnnxWeightForm::Int8 : OnnxWeightForm::Fp32QDQ;
    return o;
}

// Keeps a contiguous copy of every tensor a quantizer site sees.
class SiteRecorder final : public TensorObserver {
public:
    void observe(std::string_view name, const Tensor &tensor) override
    {
        if (QuantizerSite::fromKey(name))
            seen["bert." + std::string(name)] = tensor.contiguous().clone();
    }
    std::map<std::string, Tensor> seen;
};

// ULP distance of two finite floats of the same sign.
std::int64_t ulpDistance(float a, float b)
{
    std::int32_t ia = 0;
    std::int32_t ib = 0;
    std::memcpy(&ia, &a, sizeof a);
    std::memcpy(&ib, &b, sizeof b);
    return std::abs(static_cast<std::int64_t>(ia) - static_cast<std::int64_t>(ib));
}

// ONNX Runtime (tools/reference/.venv-ort, made by tools/reference/setup-ort-venv.sh, which
// tools/test.sh runs) on `model`: tools/reference/ort_run.py writes PREFIX.literal.safetensors
// (optimisations off, codes of every QuantizeLinear) and PREFIX.optimized.safetensors.
bool ortRun(const std::string &model, const std::string &inputs, const std::string &prefix, QString *error)
{
    const QString python = qEnvironmentVariableIsSet("QDQ_ORT_PYTHON") ? qEnvironmentVariable("QDQ_ORT_PYTHON")
                                                                       : QStringLiteral(QDQ_ORT_PYTHON);
    if (!QFile::exists(python)) {
        *error = python + " is missing: run tools/reference/setup-ort-venv.sh (tools/test.sh does)";
        return false;
    }
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(python, {QStringLiteral(QDQ_SOURCE_DIR "/tools/reference/ort_run.py"), QString::fromStdString(model),
                     QString::fromStdString(inputs), QString::fromStdString(prefix)});
    if (!p.waitForFinished(120000) || p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0) {
        *error = "ort_run.py failed: " + QString::fromUtf8(p.readAll());
        return false;
    }
    return true;
}

// Writes `onnxBytes` and the three inputs into `dir`, runs ortRun on them and returns the
// prefix of its two output files ("" when ORT could not run; `error` says why).
std::string exportAndRunOrt(const QTemporaryDir &dir, const std::string &onnxBytes, const Tensor &ids,
                            const Tensor &mask, const Tensor &types, QString *error)
{
    const std::string onnxPath = dir.filePath("model.onnx").toStdString();
    {
        std::ofstream f(onnxPath, std::ios::binary);
        f << onnxBytes;
    }
    const std::string inputsPath = dir.filePath("inputs.safetensors").toStdString();
    writeSafetensors(inputsPath, {{"input_ids", &ids}, {"attention_mask", &mask}, {"token_type_ids", &types}});
    const std::string prefix = dir.filePath("ort").toStdString();
    return ortRun(onnxPath, inputsPath, prefix, error) ? prefix : std::string();
}

} // namespace

class TestOnnxParity : public QObject {
    Q_OBJECT

private:
    static void addCases()
    {
        QTest::addColumn<QString>("name");
        const QJsonArray cases = manifestCases();
        QVERIFY2(cases.size() >= 8, "tests/data/onnx/manifest.json lists the cases");
        for (const QJsonValue &v : cases) {
            const QString name = v.toObject()["case"].toString();
            QTest::newRow(name.toUtf8().constData()) << name;
        }
    }

private slots:
    void structure_data() { addCases(); }
    void structure()
    {
        QFETCH(QString, name);
        const QJsonObject c = manifestCase(name);
        const Checkpoint ck = loadCheckpoint(modelPath(c));
        const QuantConfig quant = QuantConfig::fromCheckpoint(ck);
        OnnxExportSummary s;
        const std::string bytes = exportOnnxBytes(ck, quant, exportOptions(c), &s);
        QCOMPARE(exportOnnxBytes(ck, quant, exportOptions(c)), bytes); // deterministic
        QCOMPARE(s.opset, std::int64_t{13});
        QCOMPARE(s.nodes, static_cast<std::int64_t>(c["nodes"].toInteger()));
        QCOMPARE(s.initializers, static_cast<std::int64_t>(c["initializers"].toInteger()));
        QCOMPARE(s.quantizeNodes, static_cast<std::int64_t>(c["quantize_nodes"].toInteger()));
        QCOMPARE(s.dequantizeNodes, static_cast<std::int64_t>(c["dequantize_nodes"].toInteger()));
        // a Q/DQ pair exactly at every enabled site: all 20 per layer in these calibrated models
        QCOMPARE(s.dequantizeNodes, static_cast<std::int64_t>(quant.sites().size()));
        const QJsonArray sites = c["sites"].toArray();
        QCOMPARE(static_cast<qsizetype>(s.sites.size()), sites.size());
        for (qsizetype i = 0; i < sites.size(); ++i)
            QCOMPARE(QString::fromStdString(s.sites[static_cast<std::size_t>(i)].modulePath("bert.")),
                     sites[i].toString());
        std::vector<std::string> outputs;
        for (const QJsonValue &o : c["outputs"].toArray())
            outputs.push_back(o.toString().toStdString());
        QCOMPARE(s.outputs, outputs);
        QCOMPARE(s.inputs, (std::vector<std::string>{"input_ids", "attention_mask", "token_type_ids"}));
        QCOMPARE(s.bytes, static_cast<std::uint64_t>(bytes.size()));
        QByteArray names;
        for (const std::string &n : s.initializerNames)
            names += QByteArray::fromStdString(n) + (&n == &s.initializerNames.back() ? "" : "\n");
        QCOMPARE(QString::fromLatin1(QCryptographicHash::hash(names, QCryptographicHash::Sha256).toHex()),
                 c["initializer_names_sha256"].toString());
    }

    void numerics_data() { addCases(); }
    void numerics()
    {
        QFETCH(QString, name);
        const QJsonObject c = manifestCase(name);
        const Checkpoint ck = loadCheckpoint(modelPath(c));
        const QuantConfig quant = QuantConfig::fromCheckpoint(ck);
        // the fixed inputs of the case (tests/data/onnx/<case>.safetensors)
        const SafetensorsFile golden = SafetensorsFile::open(dataPath("onnx/" + name + ".safetensors").toStdString());

        // this run's export, run by ONNX Runtime literally and optimised (ortRun, above)
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const Tensor ids = golden.tensor("input_ids").clone();
        const Tensor mask = golden.tensor("attention_mask").clone();
        const Tensor types = golden.tensor("token_type_ids").clone();
        QString ortError;
        const std::string prefix =
            exportAndRunOrt(tmp, exportOnnxBytes(ck, quant, exportOptions(c)), ids, mask, types, &ortError);
        QVERIFY2(!prefix.empty(), qPrintable(ortError));
        const SafetensorsFile literal = SafetensorsFile::open(prefix + ".literal.safetensors");
        const SafetensorsFile optimized = SafetensorsFile::open(prefix + ".optimized.safetensors");

        ModelOptions mo;
        mo.task = *taskFromName(c["task"].toString().toStdString());
        mo.precision = Precision::Qdq;
        mo.quant = quant;
        QDQBertModel model(ck, mo);
        model.setSiteHooks(makeOnnxQdqSiteHooks(quant));
        SiteRecorder recorder;
        model.setObserver(&recorder);
        ForwardInputs in;
        in.inputIds = ids.clone();
        in.attentionMask = mask.clone();
        in.tokenTypeIds = types.clone();
        const ForwardOutputs out = model.forward(in);

        // max |C++ - ORT| / max |ORT| and the cosine of the two, per output
        struct Agreement {
            double relative = std::numeric_limits<double>::infinity();
            double cosine = 0.0;
        };
        auto compare = [&](const SafetensorsFile &ort, const std::string &oname) {
            Agreement r;
            const Tensor *mine = nullptr;
            for (const auto &[n, t] : out.named())
                if (n == oname)
                    mine = t;
            if (!mine)
                return r;
            const std::vector<float> a = mine->toFloatVector();
            const std::vector<float> b = ort.tensor(oname).toFloatVector();
            if (a.size() != b.size())
                return r;
            double maxDiff = 0;
            double maxRef = 0;
            double ab = 0;
            double aa = 0;
            double bb = 0;
            for (std::size_t i = 0; i < a.size(); ++i) {
                maxDiff = std::max(maxDiff, std::abs(static_cast<double>(a[i]) - b[i]));
                maxRef = std::max(maxRef, std::abs(static_cast<double>(b[i])));
                ab += static_cast<double>(a[i]) * b[i];
                aa += static_cast<double>(a[i]) * a[i];
                bb += static_cast<double>(b[i]) * b[i];
            }
            r.relative = maxDiff / maxRef;
            r.cosine = ab / std::sqrt(aa * bb);
            return r;
        };
        for (const QJsonValue &o : c["outputs"].toArray()) {
            const std::string oname = o.toString().toStdString();
            const Agreement lit = compare(literal, oname);
            const Agreement opt = compare(optimized, oname);
            qInfo("%s %s: max |C++ - ORT| / max |ORT| = %.3g literal, %.3g optimised (cosine %.6f)", qPrintable(name),
                  oname.c_str(), lit.relative, opt.relative, opt.cosine);
            QVERIFY2(lit.relative <= 1e-3, oname.c_str());
            // ORT's fused integer kernels (QLinearMatMul, MatMulIntegerToFloat, u8 activations)
            // requantize between ops and, on CPUs without VNNI, sum u8 x s8 pairs in 16 bits:
            // the same graph, but not the same arithmetic
            QVERIFY2(opt.cosine >= 0.99, oname.c_str());
        }

        // codes at every QuantizeLinear: ONNX QuantizeLinear of the tensor the site sees in C++
        std::int64_t elements = 0;
        std::int64_t agree = 0;
        int sitesCompared = 0;
        for (const std::string &key : literal.names()) {
            if (key.rfind("codes/", 0) != 0)
                continue;
            const std::string path = key.substr(6);
            const std::optional<QuantizerSite> site = QuantizerSite::fromKey(path);
            QVERIFY2(site, path.c_str());
            const SiteQuantConfig *sc = quant.find(*site);
            QVERIFY2(sc && sc->amax, path.c_str());
            QVERIFY2(recorder.seen.count(path), path.c_str());
            const Tensor &x = recorder.seen.at(path);
            const Tensor ref = literal.tensor(key);
            QCOMPARE(ref.shape(), x.shape());
            const std::vector<float> xv = x.toFloatVector();
            const std::vector<float> rv = ref.toFloatVector();
            const std::vector<float> &amax = *sc->amax;
            const std::size_t inner = amax.size() == 1 ? xv.size() : xv.size() / amax.size();
            for (std::size_t i = 0; i < xv.size(); ++i) {
                const float scale = amax[amax.size() == 1 ? 0 : i / inner] / 127.0F;
                const float q = std::fmin(std::fmax(std::nearbyint(xv[i] / scale), -128.0F), 127.0F);
                agree += q == rv[i] ? 1 : 0;
            }
            elements += static_cast<std::int64_t>(xv.size());
            ++sitesCompared;
        }
        QCOMPARE(sitesCompared, static_cast<int>(c["quantize_nodes"].toInteger()));
        const double share = static_cast<double>(agree) / static_cast<double>(elements);
        qInfo("%s: integer codes agree on %lld of %lld elements (%.4f %%) at %d QuantizeLinear nodes", qPrintable(name),
              static_cast<long long>(agree), static_cast<long long>(elements), 100.0 * share, sitesCompared);
        QVERIFY(share >= 0.999);
        // and the committed ORT outputs of the generator agree with this run's (same runtime, same graph)
        for (const QJsonValue &o : c["outputs"].toArray()) {
            const std::string oname = o.toString().toStdString();
            QCOMPARE(literal.tensor(oname).toFloatVector(), golden.tensor(oname).toFloatVector());
        }
    }

    // 2.2.x `_pre_quant_scale` (issue #30 item 1): exported as a Mul before the site's Q/DQ pair
    // (also where the site is disabled); ORT on that graph equals the engine's ONNX arithmetic.
    void preQuantScaleMul()
    {
        const QJsonObject c = manifestCase("qa");
        Checkpoint ck = loadCheckpoint(modelPath(c));
        const std::int64_t hidden = ck.config.hiddenSize;
        std::vector<float> scale(static_cast<std::size_t>(hidden));
        for (std::size_t i = 0; i < scale.size(); ++i)
            scale[i] = 0.6F + 0.2F * static_cast<float>(i % 5);
        for (const char *site : {"encoder.layer.0.intermediate.dense._input_quantizer",
                                 "encoder.layer.1.attention.self.value._input_quantizer"})
            ck.tensors[std::string("bert.") + site + "._pre_quant_scale"] = Tensor::fromValues<float>({hidden}, scale);
        QuantConfig quant = QuantConfig::fromCheckpoint(ck, VersionProfile::Pq22Cpu);
        QCOMPARE(quant.setEnabled(SiteSelector::parse("encoder.layer.1.attention.self.value._input_quantizer"), false),
                 1);
        OnnxExportSummary summary;
        const std::string bytes = exportOnnxBytes(ck, quant, exportOptions(c), &summary);
        // two Mul nodes more, and the disabled site's QuantizeLinear and DequantizeLinear fewer
        QCOMPARE(summary.nodes, static_cast<std::int64_t>(c["nodes"].toInteger()) + 2 - 2);
        QCOMPARE(summary.quantizeNodes, static_cast<std::int64_t>(c["quantize_nodes"].toInteger()) - 1);
        // under pq-2.1.x the buffer is ignored: the graph of the plain checkpoint
        QVERIFY(exportOnnxBytes(ck, QuantConfig::fromCheckpoint(ck, VersionProfile::Pq21x), exportOptions(c)) ==
                exportOnnxBytes(loadCheckpoint(modelPath(c)), QuantConfig::fromCheckpoint(ck), exportOptions(c)));

        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const SafetensorsFile golden = SafetensorsFile::open(dataPath("onnx/qa.safetensors").toStdString());
        const Tensor ids = golden.tensor("input_ids").clone();
        const Tensor mask = golden.tensor("attention_mask").clone();
        const Tensor types = golden.tensor("token_type_ids").clone();
        QString ortError;
        const std::string prefix = exportAndRunOrt(tmp, bytes, ids, mask, types, &ortError);
        QVERIFY2(!prefix.empty(), qPrintable(ortError));
        const SafetensorsFile literal = SafetensorsFile::open(prefix + ".literal.safetensors");

        ModelOptions mo;
        mo.task = Task::QuestionAnswering;
        mo.precision = Precision::Qdq;
        mo.quant = quant;
        QDQBertModel model(ck, mo);
        model.setSiteHooks(makeOnnxQdqSiteHooks(quant));
        ForwardInputs in;
        in.inputIds = ids.clone();
        in.attentionMask = mask.clone();
        in.tokenTypeIds = types.clone();
        const std::vector<float> mine = model.forward(in).startLogits.toFloatVector();
        const std::vector<float> ort = literal.tensor("start_logits").toFloatVector();
        const std::vector<float> before = golden.tensor("start_logits").toFloatVector();
        QCOMPARE(mine.size(), ort.size());
        double maxDiff = 0;
        double maxRef = 0;
        double moved = 0;
        for (std::size_t i = 0; i < ort.size(); ++i) {
            maxDiff = std::max(maxDiff, std::abs(static_cast<double>(mine[i]) - ort[i]));
            maxRef = std::max(maxRef, std::abs(static_cast<double>(ort[i])));
            moved = std::max(moved, std::abs(static_cast<double>(ort[i]) - before[i]));
        }
        QVERIFY2(maxDiff <= 1e-3 * maxRef, std::to_string(maxDiff).c_str());
        QVERIFY(moved > 1e-2 * maxRef); // the scale really changed the graph's result
    }

    void roundTrip_data() { addCases(); }
    void roundTrip()
    {
        QFETCH(QString, name);
        const QJsonObject c = manifestCase(name);
        const Checkpoint ck = loadCheckpoint(modelPath(c));
        QuantConfig quant = QuantConfig::fromCheckpoint(ck);
        // overrides travel too: one site off, one amax set by hand
        QCOMPARE(
            quant.setEnabled(SiteSelector::parse("encoder.layer.1.attention.self.matmul_a_input_quantizer"), false), 1);
        QCOMPARE(quant.setAmax(SiteSelector::parse("encoder.layer.0.output.add_local_input_quantizer"), 3.25F), 1);
        for (OnnxWeightForm form : {OnnxWeightForm::Int8, OnnxWeightForm::Fp32QDQ}) {
            OnnxExportOptions o = exportOptions(c);
            o.weights = form;
            const OnnxAmaxImport r = importOnnxAmaxFromBytes(exportOnnxBytes(ck, quant, o), name.toStdString());
            QVERIFY(r.unmapped.empty());
            QCOMPARE(r.opset, std::int64_t{13});
            std::size_t enabled = 0;
            std::int64_t worst = 0;
            for (const SiteQuantConfig &s : quant.sites()) {
                const OnnxSiteAmax *got = r.find(s.site);
                if (!s.enabled) {
                    QVERIFY2(!got, s.site.modulePath().c_str());
                    continue;
                }
                ++enabled;
                QVERIFY2(got, s.site.modulePath().c_str());
                QCOMPARE(got->mappedBy, std::string("name"));
                QCOMPARE(got->amax.size(), s.amax->size());
                QCOMPARE(got->int8Weights, form == OnnxWeightForm::Int8 && siteIsWeight(s.site.id));
                if (s.amax->size() > 1) {
                    QCOMPARE(got->axis, 0);
                    QCOMPARE(got->amaxShape, s.amaxShape);
                }
                for (std::size_t i = 0; i < s.amax->size(); ++i)
                    worst = std::max(worst, ulpDistance(got->amax[i], (*s.amax)[i]));
            }
            QCOMPARE(r.sites.size(), enabled);
            qInfo("%s (%s weights): largest |imported - exported amax| = %lld ulp", qPrintable(name),
                  std::string(onnxWeightFormName(form)).c_str(), static_cast<long long>(worst));
            QVERIFY2(worst <= 1, "amax = scale x 127 within 1 ulp of f32");
            QCOMPARE(r.find(QuantizerSite{0, SiteId::OutputLocal, false})->amax.front(), 3.25F);
            // the disabled site has no amax on the ONNX side of an A/B
            const Checkpoint b = checkpointWithOnnxAmax(ck, r);
            QVERIFY(!b.quantizer(QuantizerSite{1, SiteId::MatmulA, false})->calibrated);
            QVERIFY(!b.has("bert.encoder.layer.1.attention.self.matmul_a_input_quantizer._amax"));
            QVERIFY(b.quantizer(QuantizerSite{0, SiteId::OutputLocal, false})->calibrated);
        }
    }

    // A torch.onnx export in pytorch-quantization 2.1.x's export mode (gen_onnx_goldens.py
    // foreign_export()): scoped node names map by name; the Q/DQ pairs torch merged (key / value
    // inputs share the query input's pair, residuals the next linear's) map through their
    // MatMul / residual Add consumers. Every site's amax within 1 ulp of the checkpoint's.
    void importForeign()
    {
        const OnnxAmaxImport r = importOnnxAmax(dataPath("onnx/foreign/torch_qa.onnx").toStdString());
        QVERIFY(r.unmapped.empty());
        QVERIFY2(r.producer.rfind("pytorch", 0) == 0, r.producer.c_str());
        const Checkpoint ck = loadCheckpoint(std::string(QDQ_TEST_DATA_DIR) + "/quantexec/qa");
        const QuantConfig quant = QuantConfig::fromCheckpoint(ck);
        QCOMPARE(r.sites.size(), quant.sites().size());
        std::map<std::string, int> by;
        for (const SiteQuantConfig &s : quant.sites()) {
            const OnnxSiteAmax *got = r.find(s.site);
            QVERIFY2(got, s.site.modulePath().c_str());
            ++by[got->mappedBy];
            QCOMPARE(got->amax.size(), s.amax->size());
            for (std::size_t i = 0; i < got->amax.size(); ++i)
                QVERIFY2(ulpDistance(got->amax[i], (*s.amax)[i]) <= 1, s.site.modulePath().c_str());
        }
        QCOMPARE(by["name"], 32);
        QCOMPARE(by["shared-matmul-operand"], 4);   // key and value inputs, 2 layers
        QCOMPARE(by["shared-residual-operand"], 4); // both residual quantizers, 2 layers

        // the Compare view's A/B: checkpoint against the ONNX file's amax
        const CheckpointComparison cmp = compareCheckpoints(ck, checkpointWithOnnxAmax(ck, r));
        QCOMPARE(cmp.quantizers.size(), quant.sites().size());
        for (const QuantizerComparison &q : cmp.quantizers) {
            QVERIFY(q.a && q.b && q.b->calibrated);
            QVERIFY2(q.ratio() && std::abs(*q.ratio() - 1.0) < 1e-6, q.site.modulePath().c_str());
            QCOMPARE(q.b->channels, q.a->channels);
        }
        for (const TensorComparison &t : cmp.tensors)
            QCOMPARE(t.maxAbsDiff, 0.0);
    }

    void dynamicAmaxIsRejected()
    {
        const Checkpoint ck = loadCheckpoint(std::string(QDQ_TEST_DATA_DIR) + "/quantexec/base_dynamic");
        QuantConfig quant = QuantConfig::fromCheckpoint(ck);
        try {
            (void)exportOnnxBytes(ck, quant, {});
            QFAIL("a dynamic-amax site was exported");
        } catch (const UnsupportedError &e) {
            QVERIFY2(std::string(e.what()).find("encoder.layer.0.attention.self.query._input_quantizer") !=
                         std::string::npos,
                     e.what());
            QVERIFY2(std::string(e.what()).find("calibrate first") != std::string::npos, e.what());
        }
        // disabling every quantizer gives a plain FP32 graph without Q/DQ
        quant.disableAll();
        OnnxExportSummary s;
        (void)exportOnnxBytes(ck, quant, {}, &s);
        QCOMPARE(s.dequantizeNodes, std::int64_t{0});
        QVERIFY(s.sites.empty());
    }

    void unsupportedModels()
    {
        for (const char *folder : {"model/decoder_cross", "model/base_rel_key"}) {
            const Checkpoint ck = loadCheckpoint(std::string(QDQ_TEST_DATA_DIR) + "/" + folder);
            QuantConfig quant = QuantConfig::fromCheckpoint(ck);
            quant.disableAll();
            QVERIFY_THROWS_EXCEPTION(UnsupportedError, (void)exportOnnxBytes(ck, quant, {}));
        }
    }

    void badInputs()
    {
        const QString noQdq = dataPath("onnx/bad/no_qdq.onnx");
        const QString unmapped = dataPath("onnx/bad/unmapped.onnx");
        auto expectFormatError = [](const std::string &path, const std::string &needle) {
            try {
                (void)importOnnxAmax(path);
                QFAIL("no error");
            } catch (const FormatError &e) {
                QVERIFY2(std::string(e.what()).find(needle) != std::string::npos, e.what());
                QVERIFY2(std::string(e.what()).find(path) != std::string::npos, e.what());
            }
        };
        expectFormatError(noQdq.toStdString(), "no QuantizeLinear / DequantizeLinear nodes");
        expectFormatError(unmapped.toStdString(), "map to no QDQBERT quantizer site");
        OnnxImportOptions allow;
        allow.allowUnmapped = true;
        const OnnxAmaxImport r = importOnnxAmax(unmapped.toStdString(), allow);
        QVERIFY(r.sites.empty());
        QCOMPARE(r.unmapped.size(), std::size_t{1});
        QCOMPARE(r.unmapped.front().node, std::string("embeddings/DequantizeLinear"));

        // a truncated export
        QTemporaryDir dir;
        const Checkpoint ck = loadCheckpoint(std::string(QDQ_TEST_DATA_DIR) + "/quantexec/base");
        const std::string bytes = exportOnnxBytes(ck, QuantConfig::fromCheckpoint(ck), {});
        const QString truncated = dir.filePath("truncated.onnx");
        {
            std::ofstream f(truncated.toStdString(), std::ios::binary);
            f.write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
        }
        expectFormatError(truncated.toStdString(), "invalid or truncated");

        for (const QString &path : {noQdq, unmapped, truncated}) {
            const ProcessResult p = runCli({"onnx-amax", "--onnx", path});
            QCOMPARE(p.exitCode, 2);
            QVERIFY2(p.err.contains("qdq: error:") && p.err.contains(path.toUtf8()), p.err.constData());
        }
    }

    void cli()
    {
        QTemporaryDir dir;
        const QString out = dir.filePath("qa.onnx");
        ProcessResult p = runCli({"export-onnx", "--model", dataPath("quantexec/qa"), "--task", "question-answering",
                                  "--out", out, "--json", "--quiet"});
        QVERIFY2(p.exitCode == 0, p.err.constData());
        const QJsonObject j = QJsonDocument::fromJson(p.out).object();
        QCOMPARE(j["dequantize_nodes"].toInt(), 40);
        QCOMPARE(j["outputs"].toArray().size(), 2);
        QCOMPARE(j["outputs"].toArray()[0].toString(), QString("start_logits"));
        QVERIFY(QFile::exists(out));
        QVERIFY(!QFile::exists(out + ".tmp"));

        p = runCli({"onnx-amax", "--onnx", out, "--json"});
        QVERIFY2(p.exitCode == 0, p.err.constData());
        const QJsonArray sites = QJsonDocument::fromJson(p.out).object()["sites"].toArray();
        QCOMPARE(sites.size(), 40);
        QCOMPARE(sites[0].toObject()["site"].toString(),
                 QString("bert.encoder.layer.0.attention.self.query._input_quantizer"));

        // the quant options: a disabled site has no Q/DQ; a dynamic site is a clear error (exit 2)
        p = runCli({"export-onnx", "--model", dataPath("quantexec/qa"), "--task", "question-answering", "--out", out,
                    "--json", "--quiet", "--disable-quantizer", "kind:residual", "--weights", "fp32"});
        QVERIFY2(p.exitCode == 0, p.err.constData());
        QCOMPARE(QJsonDocument::fromJson(p.out).object()["dequantize_nodes"].toInt(), 32);
        QCOMPARE(QJsonDocument::fromJson(p.out).object()["quantize_nodes"].toInt(), 32);
        p = runCli({"export-onnx", "--model", dataPath("quantexec/qa"), "--out", out, "--json", "--quiet",
                    "--precision", "fp32"});
        QVERIFY2(p.exitCode == 0, p.err.constData());
        QCOMPARE(QJsonDocument::fromJson(p.out).object()["dequantize_nodes"].toInt(), 0);
        p = runCli({"export-onnx", "--model", dataPath("quantexec/base_dynamic"), "--out", dir.filePath("d.onnx")});
        QCOMPARE(p.exitCode, 2);
        QVERIFY2(p.err.contains("calibrate first"), p.err.constData());
        QVERIFY(!QFile::exists(dir.filePath("d.onnx")));
        p = runCli({"export-onnx", "--model", dataPath("quantexec/qa"), "--weights", "int4", "--out", out});
        QCOMPARE(p.exitCode, 1);
    }
};

QTEST_GUILESS_MAIN(TestOnnxParity)
#include "tst_onnx_parity.moc"

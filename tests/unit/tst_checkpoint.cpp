// Checkpoint loading: every format the fixture generator writes (tools/fixtures/
// gen_checkpoint_fixtures.py: torch.save zip/legacy/fp16/bf16/sharded, the safetensors package,
// zipped folders) loads to tensors bit-identical to the SHA-256 digests the generator recorded
// from the PyTorch tensors; plus key normalisation, heads, quantizer inventory (reference §2.1,
// §2.2), inferred config, zero-copy views and `qdq info`.
#include "qdq/checkpoint.h"
#include "qdq/errors.h"
#include "qdq/io/safetensors.h"
#include "support/test_support.h"

#include <QCryptographicHash>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

#include <fstream>

using namespace qdq;
using qdq::test::dataPath;

namespace {

QJsonObject expected()
{
    QFile f(dataPath("checkpoints/expected.json"));
    if (!f.open(QIODevice::ReadOnly))
        qFatal("missing tests/data/checkpoints/expected.json (run tools/fixtures/gen_checkpoint_fixtures.py)");
    return QJsonDocument::fromJson(f.readAll()).object();
}

QByteArray sha256(const Tensor &t)
{
    const Tensor c = t.contiguous();
    return QCryptographicHash::hash(
               QByteArrayView(static_cast<const char *>(c.rawData()), static_cast<qsizetype>(c.nbytes())),
               QCryptographicHash::Sha256)
        .toHex();
}

std::string ckptPath(const char *relative)
{
    return dataPath(QString("checkpoints/") + relative).toStdString();
}

bool ownsNoCopy(const Tensor &t)
{
    return !t.isWritable(); // a view of a mapping (owned copies are writable)
}

} // namespace

class TestCheckpoint : public QObject {
    Q_OBJECT
private slots:
    void everyFormatIsBitIdentical_data();
    void everyFormatIsBitIdentical();
    void bareModelKeysGetThePrefix();
    void normaliseKeyRules();
    void quantizerInventory();
    void headsAndTiedWeights();
    void inferredConfig();
    void folderConfigAndTokenizerFiles();
    void zeroCopyViews();
    void progressAndCancel();
    void crossAttentionInventory();
    void infoCommand();
};

void TestCheckpoint::everyFormatIsBitIdentical_data()
{
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("dtype");
    QTest::addColumn<QString>("format");
    QTest::addColumn<QString>("container");
    QTest::newRow("hf folder, pytorch_model.bin") << "hf_pytorch"
                                                  << "f32"
                                                  << "pytorch-zip"
                                                  << "folder";
    QTest::newRow("hf folder, model.safetensors") << "hf_safetensors"
                                                  << "f32"
                                                  << "safetensors"
                                                  << "folder";
    QTest::newRow("single .pt (zip format)") << "model.pt"
                                             << "f32"
                                             << "pytorch-zip"
                                             << "file";
    QTest::newRow("fp16 .pth") << "model_fp16.pth"
                               << "f16"
                               << "pytorch-zip"
                               << "file";
    QTest::newRow("bf16 .pt") << "model_bf16.pt"
                              << "bf16"
                              << "pytorch-zip"
                              << "file";
    QTest::newRow("legacy pre-1.6 .bin") << "legacy.bin"
                                         << "f32"
                                         << "pytorch-legacy"
                                         << "file";
    QTest::newRow("sharded pytorch") << "sharded_pytorch"
                                     << "f32"
                                     << "pytorch-zip (sharded)"
                                     << "folder";
    QTest::newRow("sharded safetensors") << "sharded_safetensors"
                                         << "f32"
                                         << "safetensors (sharded)"
                                         << "folder";
    QTest::newRow("zip, nested folder, stored .bin") << "hf_pytorch_nested.zip"
                                                     << "f32"
                                                     << "pytorch-zip"
                                                     << "zip";
    QTest::newRow("zip, flat, stored safetensors") << "hf_safetensors_flat.zip"
                                                   << "f32"
                                                   << "safetensors"
                                                   << "zip";
    QTest::newRow("zip, deflated safetensors") << "hf_safetensors_deflated.zip"
                                               << "f32"
                                               << "safetensors"
                                               << "zip";
    QTest::newRow("fp16 safetensors") << "model_fp16.safetensors"
                                      << "f16"
                                      << "safetensors"
                                      << "file";
    QTest::newRow("sharded index opened directly") << "sharded_safetensors/model.safetensors.index.json"
                                                   << "f32"
                                                   << "safetensors (sharded)"
                                                   << "folder";
}

void TestCheckpoint::everyFormatIsBitIdentical()
{
    QFETCH(QString, path);
    QFETCH(QString, dtype);
    QFETCH(QString, format);
    QFETCH(QString, container);
    const Checkpoint ckpt = loadCheckpoint(ckptPath(path.toUtf8().constData()));
    QCOMPARE(QString::fromStdString(ckpt.format), format);
    QCOMPARE(QString::fromStdString(ckpt.container), container);
    const QJsonObject want = expected().value(dtype).toObject();
    QCOMPARE(want.size(), 79); // the generator's state dict, tied keys included
    QCOMPARE(static_cast<qsizetype>(ckpt.tensors.size()), want.size());
    for (auto it = want.begin(); it != want.end(); ++it) {
        const std::string name = it.key().toStdString();
        QVERIFY2(ckpt.has(name), name.c_str());
        const Tensor &t = ckpt.get(name);
        const QJsonObject e = it.value().toObject();
        QCOMPARE(QString::fromLatin1(dtypeName(t.dtype())), e.value("dtype").toString());
        Shape shape;
        for (const auto &d : e.value("shape").toArray())
            shape.push_back(d.toInteger());
        QCOMPARE(t.shape(), shape);
        QVERIFY2(sha256(t) == e.value("sha256").toString().toLatin1(), name.c_str());
    }
    // one value checked by hand against the generator's record, through the float conversion
    const double first = expected()
                             .value(dtype)
                             .toObject()
                             .value("bert.embeddings.word_embeddings.weight")
                             .toObject()
                             .value("first")
                             .toDouble();
    QCOMPARE(ckpt.get("bert.embeddings.word_embeddings.weight").at({0, 0}), first);
}

void TestCheckpoint::bareModelKeysGetThePrefix()
{
    // bare QDQBertModel keys ("embeddings.*", "encoder.*") in a file with a made-up extension
    const Checkpoint ckpt = loadCheckpoint(ckptPath("bare_model.weights"));
    QCOMPARE(ckpt.format, std::string("safetensors"));
    QVERIFY(ckpt.heads.empty());
    const QJsonObject want = expected().value("f32").toObject();
    int bertKeys = 0;
    for (auto it = want.begin(); it != want.end(); ++it) {
        if (!it.key().startsWith("bert."))
            continue;
        ++bertKeys;
        QVERIFY2(sha256(ckpt.get(it.key().toStdString())) ==
                     it.value().toObject().value("sha256").toString().toLatin1(),
                 qPrintable(it.key()));
    }
    QCOMPARE(static_cast<int>(ckpt.tensors.size()), bertKeys);
    QVERIFY(ckpt.unexpectedKeys.empty());
    QVERIFY(ckpt.missingKeys.empty());
}

void TestCheckpoint::normaliseKeyRules()
{
    QCOMPARE(normaliseKey("embeddings.word_embeddings.weight"), std::string("bert.embeddings.word_embeddings.weight"));
    QCOMPARE(normaliseKey("encoder.layer.3.output.LayerNorm.gamma"),
             std::string("bert.encoder.layer.3.output.LayerNorm.weight"));
    QCOMPARE(normaliseKey("bert.embeddings.LayerNorm.beta"), std::string("bert.embeddings.LayerNorm.bias"));
    QCOMPARE(normaliseKey("pooler.dense.bias"), std::string("bert.pooler.dense.bias"));
    QCOMPARE(normaliseKey("module.bert.pooler.dense.bias"), std::string("bert.pooler.dense.bias"));
    QCOMPARE(normaliseKey("cls.predictions.transform.LayerNorm.gamma"),
             std::string("cls.predictions.transform.LayerNorm.weight"));
    QCOMPARE(normaliseKey("qa_outputs.weight"), std::string("qa_outputs.weight"));
    QCOMPARE(normaliseKey("classifier.bias"), std::string("classifier.bias"));
    // only LayerNorm parameters are renamed
    QCOMPARE(normaliseKey("bert.encoder.layer.0.attention.self.query.gamma"),
             std::string("bert.encoder.layer.0.attention.self.query.gamma"));
}

void TestCheckpoint::quantizerInventory()
{
    const Checkpoint ckpt = loadCheckpoint(ckptPath("hf_safetensors"));
    // 2 layers x 20 sites (reference §1.2); layer 0 fully calibrated, layer 1 only the 14
    // activation quantizers (the HF-docs flow of §2.2), weights of layer 1 dynamic.
    QCOMPARE(static_cast<int>(ckpt.quantizers.size()), 40);
    QCOMPARE(ckpt.calibratedQuantizers(), 34);
    const QuantizerInfo *q0w = ckpt.quantizer({0, SiteId::IntermediateWeight, false});
    QVERIFY(q0w);
    QVERIFY(q0w->calibrated);
    QVERIFY(q0w->perChannel);
    QCOMPARE(q0w->amaxShape, (Shape{32, 1})); // [out, 1], reference §2.1
    QCOMPARE(q0w->amaxKey, std::string("bert.encoder.layer.0.intermediate.dense._weight_quantizer._amax"));
    const QuantizerInfo *q0a = ckpt.quantizer({0, SiteId::MatmulA, false});
    QVERIFY(q0a && q0a->calibrated && !q0a->perChannel);
    QCOMPARE(q0a->amaxShape, Shape{}); // 0-dim scalar
    const QuantizerInfo *q1w = ckpt.quantizer({1, SiteId::QueryWeight, false});
    QVERIFY(q1w && !q1w->calibrated);
    QVERIFY(ckpt.quantizer({1, SiteId::OutputResidual, false})->calibrated);
    QVERIFY(!ckpt.quantizer({0, SiteId::QueryInput, true})); // no cross-attention in this config
    // the amax of a per-row weight equals max |w| per row (how the generator computed it)
    const Tensor &w = ckpt.get("bert.encoder.layer.0.intermediate.dense.weight");
    const Tensor &amax = ckpt.get(q0w->amaxKey);
    for (std::int64_t r = 0; r < 32; r += 7) {
        double m = 0;
        for (std::int64_t c = 0; c < 16; ++c)
            m = std::max(m, std::abs(w.at({r, c})));
        QCOMPARE(amax.at({r, 0}), m);
    }
    QVERIFY(ckpt.unexpectedKeys.empty());
    QVERIFY(ckpt.missingKeys.empty());
}

void TestCheckpoint::headsAndTiedWeights()
{
    const Checkpoint st = loadCheckpoint(ckptPath("hf_safetensors"));
    QCOMPARE(st.heads, std::vector<std::string>{"masked-lm"});
    // safetensors drops tied tensors; the loader aliases them (reference §2.1)
    QCOMPARE(st.tiedKeys, (std::vector<std::string>{"cls.predictions.decoder.weight", "cls.predictions.decoder.bias"}));
    QCOMPARE(st.get("cls.predictions.decoder.weight").rawData(),
             st.get("bert.embeddings.word_embeddings.weight").rawData());
    QCOMPARE(st.get("cls.predictions.decoder.bias").rawData(), st.get("cls.predictions.bias").rawData());
    // torch.save keeps the tie as one shared storage: same bytes, nothing aliased by the loader
    const Checkpoint pt = loadCheckpoint(ckptPath("model.pt"));
    QVERIFY(pt.tiedKeys.empty());
    QCOMPARE(pt.get("cls.predictions.decoder.weight").rawData(),
             pt.get("bert.embeddings.word_embeddings.weight").rawData());
    QVERIFY(pt.hasHead("masked-lm"));
    QVERIFY(!pt.hasHead("pooler"));
}

void TestCheckpoint::inferredConfig()
{
    const Checkpoint ckpt = loadCheckpoint(ckptPath("legacy.bin"));
    QVERIFY(!ckpt.configFromFile);
    QCOMPARE(ckpt.config.numHiddenLayers, 2);
    QCOMPARE(ckpt.config.hiddenSize, 16);
    QCOMPARE(ckpt.config.intermediateSize, 32);
    QCOMPARE(ckpt.config.vocabSize, 64);
    QCOMPARE(ckpt.config.maxPositionEmbeddings, 32);
    QCOMPARE(ckpt.config.typeVocabSize, 2);
    QCOMPARE(ckpt.config.numAttentionHeads, 1); // hidden 16 < 64: one head unless told
    bool said = false;
    for (const std::string &w : ckpt.warnings)
        said = said || w.find("inferred from tensor shapes") != std::string::npos;
    QVERIFY(said);
    LoadOptions options;
    options.numAttentionHeads = 4;
    QCOMPARE(loadCheckpoint(ckptPath("legacy.bin"), nullptr, options).config.numAttentionHeads, 4);
}

void TestCheckpoint::folderConfigAndTokenizerFiles()
{
    const Checkpoint ckpt = loadCheckpoint(ckptPath("hf_pytorch_nested.zip"));
    QVERIFY(ckpt.configFromFile);
    QCOMPARE(ckpt.config.numAttentionHeads, 4);
    QCOMPARE(ckpt.config.padTokenId, 0);
    QCOMPARE(ckpt.config.architectures, std::vector<std::string>{"QDQBertForMaskedLM"});
    QCOMPARE(ckpt.weightFiles.size(), std::size_t(1));
    QVERIFY(ckpt.weightFiles[0].ends_with("hf_pytorch_nested.zip:hf_pytorch/pytorch_model.bin"));
    QCOMPARE(ckpt.tokenizerFiles.size(), std::size_t(3));
    QVERIFY(ckpt.tokenizerFiles.at("vocab.txt").starts_with("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nw0\n"));
    QVERIFY(ckpt.tokenizerFiles.at("special_tokens_map.json").find("\"mask_token\": \"[MASK]\"") != std::string::npos);
}

void TestCheckpoint::zeroCopyViews()
{
    // torch.save stores entries uncompressed and 64-byte aligned: views into the mapped zip.
    // (Legacy files pack storages unaligned after 8-byte sizes, and a .bin stored inside another
    // zip lands wherever that zip put it: tensors misaligned for their dtype are copied there.)
    for (const char *p : {"model.pt", "hf_safetensors", "sharded_pytorch", "model_bf16.pt"}) {
        const Checkpoint ckpt = loadCheckpoint(ckptPath(p));
        for (const auto &[name, t] : ckpt.tensors)
            QVERIFY2(ownsNoCopy(t), (std::string(p) + ": " + name).c_str());
    }
    // deflated entries are inflated into memory: owned
    const Checkpoint inflated = loadCheckpoint(ckptPath("hf_safetensors_deflated.zip"));
    QVERIFY(inflated.get("bert.embeddings.word_embeddings.weight")
                .storage()
                ->origin()
                .ends_with("hf_safetensors_deflated.zip:model.safetensors"));
}

void TestCheckpoint::progressAndCancel()
{
    std::vector<std::string> stages;
    Progress progress([&](const ProgressEvent &e) { stages.push_back(e.stage); });
    (void)loadCheckpoint(ckptPath("sharded_pytorch"), &progress);
    QVERIFY(std::find(stages.begin(), stages.end(), "reading shards") != stages.end());
    Progress cancelled;
    cancelled.cancel();
    QVERIFY_THROWS_EXCEPTION(CancelledError, (void)loadCheckpoint(ckptPath("sharded_pytorch"), &cancelled));
}

// A hand-built one-layer decoder with cross-attention (reference §1.1: crossattention.* only with
// add_cross_attention), written by the engine's own safetensors writer beside a config.json.
void TestCheckpoint::crossAttentionInventory()
{
    QTemporaryDir dir;
    const std::int64_t h = 8;
    const std::int64_t inter = 16;
    std::vector<std::pair<std::string, Tensor>> owned;
    auto add = [&](const std::string &name, Shape shape) { owned.emplace_back(name, Tensor(DType::F32, shape)); };
    add("embeddings.word_embeddings.weight", {10, h});
    add("embeddings.position_embeddings.weight", {16, h});
    add("embeddings.token_type_embeddings.weight", {2, h});
    add("embeddings.LayerNorm.weight", {h});
    add("embeddings.LayerNorm.bias", {h});
    for (const char *block : {"attention", "crossattention"}) {
        const std::string p = std::string("encoder.layer.0.") + block + ".";
        for (const char *lin : {"self.query", "self.key", "self.value", "output.dense"}) {
            add(p + lin + ".weight", {h, h});
            add(p + lin + ".bias", {h});
        }
        add(p + "output.LayerNorm.weight", {h});
        add(p + "output.LayerNorm.bias", {h});
    }
    add("encoder.layer.0.intermediate.dense.weight", {inter, h});
    add("encoder.layer.0.intermediate.dense.bias", {inter});
    add("encoder.layer.0.output.dense.weight", {h, inter});
    add("encoder.layer.0.output.dense.bias", {h});
    add("encoder.layer.0.output.LayerNorm.weight", {h});
    add("encoder.layer.0.output.LayerNorm.bias", {h});
    add("encoder.layer.0.crossattention.self.matmul_k_input_quantizer._amax", {});
    add("encoder.layer.0.crossattention.self.key._weight_quantizer._amax", {h, 1});
    add("encoder.layer.0.output.add_residual_input_quantizer._amax", {});
    add("encoder.layer.0.attention.self.query._input_quantizer.clip.clip_value_max", {});
    add("encoder.layer.3.output.dense._input_quantizer._amax", {}); // no layer 3 in the config
    add("some.other.tensor", {1});
    std::vector<std::pair<std::string, const Tensor *>> refs;
    for (const auto &[name, t] : owned)
        refs.emplace_back(name, &t);
    writeSafetensors(dir.filePath("model.safetensors").toStdString(), refs);
    std::ofstream(dir.filePath("config.json").toStdString())
        << R"({"vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
               "intermediate_size": 16, "max_position_embeddings": 16, "is_decoder": true,
               "add_cross_attention": true})";

    const Checkpoint ckpt = loadCheckpoint(dir.path().toStdString());
    QVERIFY(ckpt.heads.empty());
    QCOMPARE(static_cast<int>(ckpt.quantizers.size()), 34); // 20 + 14 cross-attention (reference §1.2)
    QCOMPARE(ckpt.calibratedQuantizers(), 3);
    const QuantizerInfo *k = ckpt.quantizer({0, SiteId::MatmulK, true});
    QVERIFY(k && k->calibrated);
    QCOMPARE(k->amaxKey, std::string("bert.encoder.layer.0.crossattention.self.matmul_k_input_quantizer._amax"));
    QVERIFY(!ckpt.quantizer({0, SiteId::MatmulK, false})->calibrated);
    QVERIFY(ckpt.quantizer({0, SiteId::KeyWeight, true})->perChannel);
    QCOMPARE(ckpt.unexpectedKeys, (std::vector<std::string>{"bert.encoder.layer.3.output.dense._input_quantizer._amax",
                                                            "some.other.tensor"}));
    QVERIFY(ckpt.missingKeys.empty());
    QVERIFY(ckpt.has("bert.encoder.layer.0.attention.self.query._input_quantizer.clip.clip_value_max"));

    // a per-row amax whose rows disagree with its weight is a ShapeError naming the key
    owned.emplace_back("encoder.layer.0.attention.self.value._weight_quantizer._amax", Tensor(DType::F32, {h + 1, 1}));
    refs.emplace_back(owned.back().first, &owned.back().second);
    writeSafetensors(dir.filePath("model.safetensors").toStdString(), refs);
    try {
        (void)loadCheckpoint(dir.path().toStdString());
        QFAIL("no error");
    } catch (const ShapeError &e) {
        QVERIFY2(std::string(e.what()).find("per-channel amax [9, 1] does not match the 8 output rows") !=
                     std::string::npos,
                 e.what());
        QCOMPARE(e.where().tensor, std::string("bert.encoder.layer.0.attention.self.value._weight_quantizer._amax"));
    }
}

void TestCheckpoint::infoCommand()
{
    const auto r = qdq::test::runCli({"info", "--model", dataPath("checkpoints/hf_pytorch"), "--json", "--quiet"});
    QCOMPARE(r.exitCode, 0);
    const QJsonObject info = QJsonDocument::fromJson(r.out).object();
    QCOMPARE(info.value("format").toString(), QString("pytorch-zip"));
    QCOMPARE(info.value("config_source").toString(), QString("file"));
    QCOMPARE(info.value("config").toObject().value("hidden_size").toInt(), 16);
    const QJsonObject tensors = info.value("tensors").toObject();
    QCOMPARE(tensors.value("count").toInt(), 79);
    QCOMPARE(tensors.value("by_dtype").toObject().value("i64").toObject().value("count").toInt(), 1);
    // 78 f32 tensors: every element of the generator's state dict except position_ids
    const QJsonObject want = expected().value("f32").toObject();
    qint64 f32Bytes = 0;
    for (auto it = want.begin(); it != want.end(); ++it) {
        const QJsonObject e = it.value().toObject();
        if (e.value("dtype").toString() != "f32")
            continue;
        qint64 n = 4;
        for (const auto &d : e.value("shape").toArray())
            n *= d.toInteger();
        f32Bytes += n;
    }
    QCOMPARE(tensors.value("by_dtype").toObject().value("f32").toObject().value("bytes").toInteger(), f32Bytes);
    QCOMPARE(info.value("heads").toArray().size(), 1);
    const QJsonObject q = info.value("quantizers").toObject();
    QCOMPARE(q.value("total").toInt(), 40);
    QCOMPARE(q.value("calibrated").toInt(), 34);
    QCOMPARE(q.value("per_channel").toInt(), 6);
    QCOMPARE(q.value("sites").toArray().at(1).toObject().value("name").toString(),
             QString("bert.encoder.layer.0.attention.self.query._weight_quantizer"));
    QCOMPARE(info.value("tokenizer_files").toArray().size(), 3);

    const auto text = qdq::test::runCli({"info", "--model", dataPath("checkpoints/legacy.bin"), "--quiet"});
    QCOMPARE(text.exitCode, 0);
    QVERIFY(text.out.contains("format      pytorch-legacy (file)"));
    QVERIFY(text.out.contains("quantizers  34 of 40 calibrated (6 per-channel), 6 dynamic"));
    QVERIFY(text.out.contains("inferred from tensor shapes"));
}

QTEST_GUILESS_MAIN(TestCheckpoint)
#include "tst_checkpoint.moc"

// QDQBertModel behaviour beyond the parity goldens: bad input is a clear ShapeError /
// FormatError, the KV cache gives the same logits as a full re-run, every quantizer site passes
// through SiteHooks (weight sites once), the observer sees every named intermediate, f16/bf16
// weights load.
#include "support/test_support.h"

#include "qdq/checkpoint.h"
#include "qdq/errors.h"
#include "qdq/model.h"

#include <QTest>

#include <cmath>
#include <functional>
#include <map>
#include <set>

using namespace qdq;
using namespace qdq::test;

class TestModel : public QObject {
    Q_OBJECT
private slots:
    void idsOutsideVocabulary();
    void sequenceLongerThanPositions();
    void shapesThatDisagree();
    void labelsOfWrongDtypeOrShape();
    void pastKeyValuesOfWrongLength();
    void missingHeadNamesTheTask();
    void cacheGivesSameLogitsAsFullRun();
    void generateWithAndWithoutCache();
    void everySitePassesThroughHooks();
    void crossAttentionHas34Sites();
    void hooksChangeTheResult();
    void observerSeesNamedIntermediates();
    void halfPrecisionWeights();
    void taskNamesRoundTrip();
};

namespace {

Checkpoint load(const char *model)
{
    return loadCheckpoint(dataPath(QString("model/") + model).toStdString());
}

Tensor ids(std::initializer_list<std::int64_t> values, std::int64_t batch = 1)
{
    return Tensor::fromValues<std::int64_t>({batch, static_cast<std::int64_t>(values.size()) / batch}, values);
}

template <class E>
void expectError(const std::function<void()> &f, const std::string &fragment)
{
    try {
        f();
    } catch (const E &e) {
        const std::string msg = e.what();
        QVERIFY2(msg.find(fragment) != std::string::npos, ("message was: " + msg).c_str());
        return;
    } catch (const std::exception &e) {
        QFAIL((std::string("wrong exception type: ") + e.what()).c_str());
    }
    QFAIL(("no error; expected one mentioning " + fragment).c_str());
}

double maxAbsDiff(const Tensor &a, const Tensor &b)
{
    const auto x = a.toFloatVector();
    const auto y = b.toFloatVector();
    if (x.size() != y.size())
        return 1e30;
    double m = 0.0;
    for (std::size_t i = 0; i < x.size(); ++i)
        m = std::max(m, std::abs(static_cast<double>(x[i]) - static_cast<double>(y[i])));
    return m;
}

class RecordingHooks : public SiteHooks {
public:
    std::map<std::string, int> calls;
    std::function<Tensor(const QuantizerSite &, Tensor)> transform;
    Tensor apply(const QuantizerSite &site, Tensor x, TensorObserver *observer) override
    {
        ++calls[site.modulePath()];
        if (transform)
            x = transform(site, std::move(x));
        return SiteHooks::apply(site, std::move(x), observer);
    }
};

class RecordingObserver : public TensorObserver {
public:
    std::map<std::string, Shape> seen;
    void observe(std::string_view name, const Tensor &t) override { seen[std::string(name)] = t.shape(); }
};

} // namespace

void TestModel::idsOutsideVocabulary()
{
    QDQBertModel model(load("base"));
    ForwardInputs in;
    in.inputIds = ids({1, 2, 99});
    expectError<ShapeError>([&] { (void)model.forward(in); }, "token id 99 outside the vocabulary [0, 99)");
    in.inputIds = ids({1, -1});
    expectError<ShapeError>([&] { (void)model.forward(in); }, "token id -1");
}

void TestModel::sequenceLongerThanPositions()
{
    QDQBertModel model(load("base"));
    ForwardInputs in;
    std::vector<std::int64_t> v(41, 5);
    in.inputIds = Tensor::fromValues<std::int64_t>({1, 41}, v);
    expectError<ShapeError>([&] { (void)model.forward(in); },
                            "sequence of 41 positions is longer than max_position_embeddings 40");
}

void TestModel::shapesThatDisagree()
{
    QDQBertModel model(load("base"));
    ForwardInputs in;
    in.inputIds = ids({1, 2, 3, 4}, 2);
    in.attentionMask = Tensor::fromValues<std::int64_t>({2, 3}, {1, 1, 1, 1, 1, 0});
    expectError<ShapeError>([&] { (void)model.forward(in); }, "attention_mask has shape [2, 3], expected [2, 2]");
    in.attentionMask = Tensor();
    in.tokenTypeIds = Tensor::fromValues<std::int64_t>({1, 2}, {0, 1});
    expectError<ShapeError>([&] { (void)model.forward(in); }, "token_type_ids has shape [1, 2]");
    in.tokenTypeIds = Tensor();
    in.headMask = Tensor::fromValues<float>({3}, {1, 1, 1});
    expectError<ShapeError>([&] { (void)model.forward(in); }, "head_mask has shape [3]");
    ForwardInputs both;
    both.inputIds = ids({1, 2});
    both.inputsEmbeds = Tensor(DType::F32, {1, 2, 32});
    expectError<ShapeError>([&] { (void)model.forward(both); }, "not both");
}

void TestModel::labelsOfWrongDtypeOrShape()
{
    QDQBertModel tok(load("tokcls"), {Task::TokenClassification});
    ForwardInputs in;
    in.inputIds = ids({1, 2, 3});
    in.labels = Tensor::fromValues<float>({1, 3}, {0, 1, 2});
    expectError<ShapeError>([&] { (void)tok.forward(in); }, "labels must be an integer");
    in.labels = Tensor::fromValues<std::int64_t>({1, 2}, {0, 1});
    expectError<ShapeError>([&] { (void)tok.forward(in); }, "labels has shape [1, 2]; expected 3 values");
    in.labels = Tensor::fromValues<std::int64_t>({1, 3}, {0, 1, 7});
    expectError<ShapeError>([&] { (void)tok.forward(in); }, "label 7 is outside [0, 5)");
    QDQBertModel reg(load("seqcls_regression"), {Task::SequenceClassification});
    in.labels = Tensor::fromValues<float>({2}, {0.5f, 1.0f});
    expectError<ShapeError>([&] { (void)reg.forward(in); }, "labels has shape [2]; expected 1 values");
}

void TestModel::pastKeyValuesOfWrongLength()
{
    QDQBertModel model(load("causal_lm"), {Task::CausalLm});
    ForwardInputs first;
    first.inputIds = ids({5, 6, 7});
    ForwardOutputs out = model.forward(first);
    QCOMPARE(out.pastKeyValues.size(), std::size_t(2));
    ForwardInputs next;
    next.inputIds = ids({8});
    next.pastKeyValues.push_back(std::move(out.pastKeyValues[0]));
    expectError<ShapeError>([&] { (void)model.forward(next); }, "past_key_values has 1 layers; the model has 2");
    next.pastKeyValues.push_back(std::move(out.pastKeyValues[1]));
    next.attentionMask = Tensor::fromValues<std::int64_t>({1, 2}, {1, 1});
    expectError<ShapeError>([&] { (void)model.forward(next); }, "expected [1, 4] (batch, past + length)");
}

void TestModel::missingHeadNamesTheTask()
{
    const Checkpoint ck = load("base");
    expectError<FormatError>([&] { QDQBertModel m(ck, {Task::QuestionAnswering}); },
                             "checkpoint has no question-answering head; use --task base");
    expectError<FormatError>([&] { QDQBertModel m(ck, {Task::MaskedLm}); }, "checkpoint has no masked-lm head");
    QCOMPARE(QDQBertModel::missingHeadWeights(ck, Task::NextSentence).front(),
             std::string("cls.seq_relationship.weight"));
}

void TestModel::cacheGivesSameLogitsAsFullRun()
{
    QDQBertModel model(load("causal_lm"), {Task::CausalLm});
    const std::vector<std::int64_t> tokens{3, 17, 42, 8, 91, 5, 60, 33};
    ForwardInputs full;
    full.inputIds = Tensor::fromValues<std::int64_t>({1, 8}, tokens);
    full.useCache = false;
    const ForwardOutputs ref = model.forward(full);
    QVERIFY(ref.pastKeyValues.empty());

    ForwardInputs prefix;
    prefix.inputIds = Tensor::fromValues<std::int64_t>({1, 3}, std::span(tokens.data(), 3));
    ForwardOutputs step = model.forward(prefix);
    QVERIFY(maxAbsDiff(step.logits, ref.logits.slice(1, 0, 3)) <= 1e-5);
    for (std::int64_t t = 3; t < 8; ++t) {
        ForwardInputs next;
        next.inputIds = Tensor::fromValues<std::int64_t>({1, 1}, std::span(tokens.data() + t, 1));
        next.pastKeyValues = std::move(step.pastKeyValues);
        step = model.forward(next);
        QCOMPARE(step.pastKeyValues[0][0].size(2), t + 1);
        const double d = maxAbsDiff(step.logits, ref.logits.slice(1, t, t + 1));
        QVERIFY2(d <= 1e-5, ("position " + std::to_string(t) + ": " + std::to_string(d)).c_str());
    }
}

void TestModel::generateWithAndWithoutCache()
{
    QDQBertModel model(load("causal_lm"), {Task::CausalLm});
    GenerateOptions opt;
    opt.maxNewTokens = 10;
    const Tensor prompt = ids({3, 17, 42});
    const auto cached = model.generate(prompt, opt);
    opt.useCache = false;
    const auto full = model.generate(prompt, opt);
    QCOMPARE(cached.size(), std::size_t(13));
    QVERIFY(cached == full);
    QVERIFY(std::vector<std::int64_t>(cached.begin(), cached.begin() + 3) == (std::vector<std::int64_t>{3, 17, 42}));
}

void TestModel::everySitePassesThroughHooks()
{
    QDQBertModel model(load("base"));
    auto hooks = std::make_shared<RecordingHooks>();
    model.setSiteHooks(hooks);
    ForwardInputs in;
    in.inputIds = ids({1, 2, 3, 4});
    (void)model.forward(in);
    (void)model.forward(in);
    QCOMPARE(hooks->calls.size(), std::size_t(2 * kSitesPerLayer));
    for (int layer = 0; layer < 2; ++layer)
        for (int s = 0; s < kSitesPerLayer; ++s) {
            const QuantizerSite site{layer, static_cast<SiteId>(s), false};
            const int n = hooks->calls[site.modulePath()];
            // weight sites once per weight (cached), input sites once per forward
            QCOMPARE(n, siteIsWeight(site.id) ? 1 : 2);
        }
}

void TestModel::crossAttentionHas34Sites()
{
    QDQBertModel model(load("decoder_cross"), {Task::CausalLm});
    auto hooks = std::make_shared<RecordingHooks>();
    model.setSiteHooks(hooks);
    ForwardInputs in;
    in.inputIds = ids({1, 2, 3});
    in.encoderHiddenStates = Tensor(DType::F32, {1, 4, 32});
    (void)model.forward(in);
    QCOMPARE(hooks->calls.size(), std::size_t(2 * (kSitesPerLayer + kCrossAttentionSites)));
}

void TestModel::hooksChangeTheResult()
{
    QDQBertModel model(load("base"));
    ForwardInputs in;
    in.inputIds = ids({1, 2, 3, 4});
    const ForwardOutputs plain = model.forward(in);
    auto hooks = std::make_shared<RecordingHooks>();
    hooks->transform = [](const QuantizerSite &site, Tensor x) {
        if (site.layer != 1 || site.id != SiteId::OutputWeight)
            return x;
        Tensor y = x.clone();
        float *p = y.mutableData<float>();
        for (std::int64_t i = 0; i < y.numel(); ++i)
            p[i] *= 0.5f;
        return y;
    };
    model.setSiteHooks(hooks);
    const ForwardOutputs changed = model.forward(in);
    QVERIFY(maxAbsDiff(plain.lastHiddenState, changed.lastHiddenState) > 1e-3);
    model.setSiteHooks(nullptr);
    QVERIFY(maxAbsDiff(plain.lastHiddenState, model.forward(in).lastHiddenState) <= 1e-6);
}

void TestModel::observerSeesNamedIntermediates()
{
    QDQBertModel model(load("base"));
    RecordingObserver observer;
    model.setObserver(&observer);
    ForwardInputs in;
    in.inputIds = ids({1, 2, 3, 4, 5, 6}, 2);
    (void)model.forward(in);
    for (const char *name : {"hidden_states.0", "hidden_states.1", "hidden_states.2", "attentions.0", "attentions.1",
                             "last_hidden_state", "pooler_output"})
        QVERIFY2(observer.seen.count(name), name);
    QCOMPARE(observer.seen["attentions.1"], (Shape{2, 4, 3, 3}));
    for (int layer = 0; layer < 2; ++layer)
        for (int s = 0; s < kSitesPerLayer; ++s)
            QVERIFY(observer.seen.count(QuantizerSite{layer, static_cast<SiteId>(s), false}.modulePath()));
    QCOMPARE(observer.seen["encoder.layer.0.attention.self.matmul_k_input_quantizer"], (Shape{2, 4, 8, 3}));
    QCOMPARE(observer.seen["encoder.layer.1.intermediate.dense._weight_quantizer"], (Shape{37, 32}));
    model.setObserver(nullptr);
    observer.seen.clear();
    (void)model.forward(in);
    QVERIFY(observer.seen.empty());
}

void TestModel::halfPrecisionWeights()
{
    for (DType dt : {DType::F16, DType::BF16}) {
        Checkpoint low = load("base");
        for (auto &[name, t] : low.tensors)
            t = t.to(dt);
        Checkpoint rounded = load("base");
        for (auto &[name, t] : rounded.tensors)
            t = t.to(dt).to(DType::F32);
        QDQBertModel a(low);
        QDQBertModel b(rounded);
        ForwardInputs in;
        in.inputIds = ids({1, 2, 3, 4});
        QVERIFY(maxAbsDiff(a.forward(in).lastHiddenState, b.forward(in).lastHiddenState) <= 1e-6);
    }
}

void TestModel::taskNamesRoundTrip()
{
    QCOMPARE(allTasks().size(), std::size_t(8));
    for (Task t : allTasks())
        QCOMPARE(taskFromName(taskName(t)), std::optional<Task>(t));
    QVERIFY(!taskFromName("fill-mask").has_value());
}

QTEST_GUILESS_MAIN(TestModel)
#include "tst_model.moc"

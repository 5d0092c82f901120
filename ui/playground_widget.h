#pragma once
// The task playground: the user's own text, tokenized live with the checkpoint's vocabulary.
// Task heads run here as the inference engine lands.

#include "inference_worker.h"

#include "qdq/model.h"
#include "qdq/tokenizer.h"

#include <QWidget>

#include <memory>
#include <vector>

class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QSpinBox;
class QTextBrowser;
class QTimer;

namespace qdq::ui {

class TokenStrip;

class PlaygroundWidget : public QWidget {
    Q_OBJECT
public:
    explicit PlaygroundWidget(QWidget *parent = nullptr);

    // nullptr: no vocabulary (the reason is shown instead of tokens).
    void setTokenizer(std::shared_ptr<const qdq::Tokenizer> tokenizer, const QString &unavailableReason = {});
    // Runs heads on `worker` (not owned) as the text changes, debounced.
    void setWorker(InferenceWorker *worker);
    // The heads the checkpoint has (`base` first); the selector offers only these.
    void setTasks(const std::vector<qdq::Task> &tasks);
    bool selectTask(qdq::Task task);
    // The precision shown beside FP32: "int8" (default), "qdq" or "fp32" (FP32 only). The
    // Settings' default precision selects it; the Compare box changes it for this session.
    bool selectComparison(const QString &precision);
    [[nodiscard]] qdq::Precision comparison() const;
    [[nodiscard]] qdq::Task task() const;
    // Runs now, without waiting for the debounce.
    void runNow();
    void setText(const QString &text, const QString &pair = {});
    void setMaxLength(int maxLength);

    [[nodiscard]] TokenStrip *tokenStrip() const { return m_strip; }
    [[nodiscard]] QString summary() const;
    [[nodiscard]] QString resultsHtml() const;
    [[nodiscard]] std::shared_ptr<const InferenceResult> lastResult() const { return m_last; }

signals:
    // A run for the current text finished (also delivered to the attention view).
    void resultReady(std::shared_ptr<const qdq::ui::InferenceResult> result);
    void comparisonChanged(qdq::Precision precision);

private:
    void retokenize();
    void onFinished(std::shared_ptr<const InferenceResult> result);
    void render();
    [[nodiscard]] QString runHtml(const InferenceResult &result, const PrecisionRun &run) const;

    std::shared_ptr<const qdq::Tokenizer> m_tokenizer;
    QPlainTextEdit *m_text = nullptr;
    QLineEdit *m_pair = nullptr;
    QSpinBox *m_maxLength = nullptr;
    QLabel *m_summary = nullptr;
    TokenStrip *m_strip = nullptr;
    QComboBox *m_task = nullptr;
    QComboBox *m_precision = nullptr;
    QTextBrowser *m_results = nullptr;
    QTimer *m_debounce = nullptr;
    InferenceWorker *m_worker = nullptr;
    quint64 m_requestId = 0;
    std::shared_ptr<const InferenceResult> m_last;
};

} // namespace qdq::ui

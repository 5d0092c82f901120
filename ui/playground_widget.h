#pragma once
// The task playground: the user's own text, tokenized live with the checkpoint's vocabulary.
// Task heads run here as the inference engine lands.

#include "qdq/tokenizer.h"

#include <QWidget>

#include <memory>

class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QSpinBox;

namespace qdq::ui {

class TokenStrip;

class PlaygroundWidget : public QWidget {
    Q_OBJECT
public:
    explicit PlaygroundWidget(QWidget *parent = nullptr);

    // nullptr: no vocabulary (the reason is shown instead of tokens).
    void setTokenizer(std::shared_ptr<const qdq::Tokenizer> tokenizer, const QString &unavailableReason = {});
    void setText(const QString &text, const QString &pair = {});
    void setMaxLength(int maxLength);

    [[nodiscard]] TokenStrip *tokenStrip() const { return m_strip; }
    [[nodiscard]] QString summary() const;

private:
    void retokenize();

    std::shared_ptr<const qdq::Tokenizer> m_tokenizer;
    QPlainTextEdit *m_text = nullptr;
    QLineEdit *m_pair = nullptr;
    QSpinBox *m_maxLength = nullptr;
    QLabel *m_summary = nullptr;
    TokenStrip *m_strip = nullptr;
};

} // namespace qdq::ui

#include "playground_widget.h"

#include "token_strip.h"

#include "qdq/errors.h"

#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QScrollArea>
#include <QSpinBox>
#include <QVBoxLayout>

namespace qdq::ui {

PlaygroundWidget::PlaygroundWidget(QWidget *parent) : QWidget(parent)
{
    setObjectName("playground");
    auto *layout = new QVBoxLayout(this);
    auto *form = new QFormLayout;
    m_text = new QPlainTextEdit;
    m_text->setObjectName("playgroundText");
    m_text->setPlaceholderText(tr("Type a sentence; use [MASK] for masked-LM"));
    m_text->setMaximumHeight(90);
    m_pair = new QLineEdit;
    m_pair->setObjectName("playgroundPair");
    m_pair->setPlaceholderText(tr("Optional second text (question answering, next sentence)"));
    m_maxLength = new QSpinBox;
    m_maxLength->setObjectName("playgroundMaxLength");
    m_maxLength->setRange(2, 512);
    m_maxLength->setValue(128);
    form->addRow(tr("Text"), m_text);
    form->addRow(tr("Text pair"), m_pair);
    form->addRow(tr("Max length"), m_maxLength);
    layout->addLayout(form);

    m_summary = new QLabel;
    m_summary->setObjectName("playgroundSummary");
    m_summary->setWordWrap(true);
    layout->addWidget(m_summary);
    m_strip = new TokenStrip;
    auto *scroll = new QScrollArea;
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setWidget(m_strip);
    layout->addWidget(scroll, 1);

    connect(m_text, &QPlainTextEdit::textChanged, this, &PlaygroundWidget::retokenize);
    connect(m_pair, &QLineEdit::textChanged, this, &PlaygroundWidget::retokenize);
    connect(m_maxLength, &QSpinBox::valueChanged, this, &PlaygroundWidget::retokenize);
    setTokenizer(nullptr, tr("Open a checkpoint to tokenize text with its vocabulary."));
}

void PlaygroundWidget::setTokenizer(std::shared_ptr<const qdq::Tokenizer> tokenizer, const QString &unavailableReason)
{
    m_tokenizer = std::move(tokenizer);
    if (m_tokenizer)
        m_maxLength->setValue(static_cast<int>(std::min<std::size_t>(m_tokenizer->options().modelMaxLength, 512)));
    else
        m_summary->setText(unavailableReason);
    retokenize();
}

void PlaygroundWidget::setText(const QString &text, const QString &pair)
{
    m_pair->setText(pair);
    m_text->setPlainText(text);
}

void PlaygroundWidget::setMaxLength(int maxLength)
{
    m_maxLength->setValue(maxLength);
}

QString PlaygroundWidget::summary() const
{
    return m_summary->text();
}

void PlaygroundWidget::retokenize()
{
    if (!m_tokenizer) {
        m_strip->setChips({});
        return;
    }
    const std::string text = m_text->toPlainText().toStdString();
    const std::string pair = m_pair->text().toStdString();
    const bool hasPair = !m_pair->text().isEmpty();
    EncodeOptions all;
    EncodeOptions cut;
    cut.truncation = TruncationStrategy::LongestFirst;
    cut.maxLength = static_cast<std::size_t>(m_maxLength->value());
    Encoding full;
    Encoding kept;
    try {
        full = hasPair ? m_tokenizer->encodePair(text, pair, all) : m_tokenizer->encode(text, all);
        kept = hasPair ? m_tokenizer->encodePair(text, pair, cut) : m_tokenizer->encode(text, cut);
    } catch (const qdq::Error &e) {
        m_summary->setText(QString::fromStdString(e.what()));
        m_strip->setChips({});
        return;
    }
    const std::int32_t unk = m_tokenizer->tokenId(m_tokenizer->options().unkToken);
    QVector<TokenStrip::Chip> chips;
    int unknown = 0;
    std::size_t keptPerSeq[2] = {0, 0};
    for (std::size_t i = 0; i < kept.size(); ++i) {
        TokenStrip::Chip chip{QString::fromStdString(kept.tokens[i]), kept.ids[i], TokenStrip::Chip::Normal};
        if (kept.specialTokensMask[i])
            chip.kind = TokenStrip::Chip::Special;
        else if (kept.ids[i] == unk) {
            chip.kind = TokenStrip::Chip::Unknown;
            ++unknown;
        }
        if (kept.sequenceIds[i] >= 0)
            ++keptPerSeq[kept.sequenceIds[i]];
        chips.push_back(chip);
    }
    // tokens removed by truncation: those of each sequence beyond what was kept (right side)
    int truncated = 0;
    std::size_t seenPerSeq[2] = {0, 0};
    for (std::size_t i = 0; i < full.size(); ++i) {
        const int seq = full.sequenceIds[i];
        if (seq < 0)
            continue;
        if (seenPerSeq[seq]++ >= keptPerSeq[seq]) {
            chips.push_back({QString::fromStdString(full.tokens[i]), full.ids[i], TokenStrip::Chip::Truncated});
            ++truncated;
        }
    }
    m_strip->setChips(chips);
    QString summary = kept.size() == 1 ? tr("1 token") : tr("%1 tokens").arg(kept.size());
    if (unknown > 0)
        summary += tr(" · %1 unknown ([UNK])").arg(unknown);
    if (truncated > 0)
        summary += tr(" · %1 cut by max length %2 (struck through)").arg(truncated).arg(m_maxLength->value());
    m_summary->setText(summary);
}

} // namespace qdq::ui

#include "playground_widget.h"

#include "token_strip.h"

#include "qdq/errors.h"

#include <QSignalBlocker>

#include <algorithm>
#include <cmath>

#include <QComboBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QScrollArea>
#include <QSpinBox>
#include <QTextBrowser>
#include <QTimer>
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
    m_pair->setPlaceholderText(tr("Optional second text: the context (question answering), the next sentence, "
                                  "or choices separated by | (multiple choice)"));
    m_maxLength = new QSpinBox;
    m_maxLength->setObjectName("playgroundMaxLength");
    m_maxLength->setRange(2, 512);
    m_maxLength->setValue(128);
    m_task = new QComboBox;
    m_task->setObjectName("playgroundTask");
    m_task->setToolTip(tr("Task heads this checkpoint has weights for"));
    form->addRow(tr("Head"), m_task);
    m_precision = new QComboBox;
    m_precision->setObjectName("playgroundPrecision");
    m_precision->setToolTip(tr("Shown beside FP32: fake quant (matches pytorch-quantization 2.1.x / 2.2.x, see "
                               "docs/numerics.md) or real INT8"));
    m_precision->addItem(tr("FP32 vs INT8"), QStringLiteral("int8"));
    m_precision->addItem(tr("FP32 vs fake quant (qdq)"), QStringLiteral("qdq"));
    m_precision->addItem(tr("FP32 only"), QStringLiteral("fp32"));
    form->addRow(tr("Compare"), m_precision);
    connect(m_precision, &QComboBox::currentIndexChanged, this, [this] {
        m_debounce->start();
        emit comparisonChanged(comparison());
    });
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
    scroll->setMaximumHeight(120);
    layout->addWidget(scroll);
    m_results = new QTextBrowser;
    m_results->setObjectName("playgroundResults");
    m_results->setOpenLinks(false);
    layout->addWidget(m_results, 1);

    m_debounce = new QTimer(this);
    m_debounce->setSingleShot(true);
    m_debounce->setInterval(300);
    connect(m_debounce, &QTimer::timeout, this, &PlaygroundWidget::runNow);
    connect(m_task, &QComboBox::currentIndexChanged, this, [this] {
        m_debounce->start();
        if (!m_last)
            render(); // the placeholder names the head
    });

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
    render();
}

void PlaygroundWidget::setWorker(InferenceWorker *worker)
{
    m_worker = worker;
    connect(worker, &InferenceWorker::finished, this, &PlaygroundWidget::onFinished);
}

void PlaygroundWidget::setTasks(const std::vector<qdq::Task> &tasks)
{
    const QSignalBlocker block(m_task);
    m_task->clear();
    for (qdq::Task t : tasks)
        m_task->addItem(QString::fromLatin1(qdq::taskName(t)), static_cast<int>(t));
    // a head model opens on its head, not on the bare encoder
    m_task->setCurrentIndex(tasks.size() > 1 ? 1 : 0);
    m_last.reset();
    render();
}

bool PlaygroundWidget::selectTask(qdq::Task task)
{
    const int index = m_task->findData(static_cast<int>(task));
    if (index < 0)
        return false;
    m_task->setCurrentIndex(index);
    return true;
}

bool PlaygroundWidget::selectComparison(const QString &precision)
{
    const int index = m_precision->findData(precision);
    if (index < 0)
        return false;
    m_precision->setCurrentIndex(index);
    return true;
}

qdq::Precision PlaygroundWidget::comparison() const
{
    return qdq::parsePrecision(m_precision->currentData().toString().toStdString()).value_or(qdq::Precision::Fp32);
}

qdq::Task PlaygroundWidget::task() const
{
    return m_task->count() ? static_cast<qdq::Task>(m_task->currentData().toInt()) : qdq::Task::Base;
}

void PlaygroundWidget::runNow()
{
    m_debounce->stop();
    if (!m_worker || !m_tokenizer || m_text->toPlainText().trimmed().isEmpty())
        return;
    InferenceRequest request;
    request.id = ++m_requestId;
    request.task = task();
    request.maxLength = m_maxLength->value();
    request.precisions = {qdq::Precision::Fp32};
    if (comparison() != qdq::Precision::Fp32)
        request.precisions.push_back(comparison());
    const std::string text = m_text->toPlainText().toStdString();
    const std::string pair = m_pair->text().toStdString();
    if (request.task == qdq::Task::MultipleChoice) {
        // the pair field lists the choices, separated by '|'
        for (const QString &choice : m_pair->text().split('|', Qt::SkipEmptyParts))
            request.examples.push_back({text, choice.trimmed().toStdString()});
    } else {
        request.examples.push_back({text, pair.empty() ? std::nullopt : std::optional<std::string>(pair)});
    }
    m_worker->submit(std::move(request));
}

void PlaygroundWidget::onFinished(std::shared_ptr<const InferenceResult> result)
{
    if (!result || result->id != m_requestId)
        return; // superseded by newer text
    m_last = std::move(result);
    render();
    emit resultReady(m_last);
}

QString PlaygroundWidget::resultsHtml() const
{
    return m_results->toHtml();
}

namespace {

QString bar(float p)
{
    constexpr int kBarWidth = 44; // two result columns side by side fit a narrow dock
    const int width = static_cast<int>(std::lround(kBarWidth * static_cast<double>(std::clamp(p, 0.f, 1.f))));
    return QStringLiteral("<table cellspacing=0 cellpadding=0><tr><td bgcolor='#4a7fc1' width=%1 "
                          "height=10></td><td width=%2></td></tr></table>")
        .arg(std::max(width, 1))
        .arg(kBarWidth - width);
}

QString probabilityRows(const std::vector<qdq::LabelScore> &scores, std::int64_t prediction)
{
    QString html = "<table cellpadding=2>";
    for (std::size_t i = 0; i < scores.size(); ++i) {
        const bool best = static_cast<std::int64_t>(i) == prediction;
        html += QStringLiteral("<tr><td nowrap>%1%2%3</td><td nowrap align=right>%4</td><td>%5</td></tr>")
                    .arg(best ? "<b>" : "", QString::fromStdString(scores[i].label).toHtmlEscaped(), best ? "</b>" : "")
                    .arg(static_cast<double>(scores[i].probability), 0, 'f', 4)
                    .arg(bar(scores[i].probability));
    }
    return html + "</table>";
}

} // namespace

// One precision's results as HTML (a column of the side-by-side view).
QString PlaygroundWidget::runHtml(const InferenceResult &r, const PrecisionRun &run) const
{
    QString html = QStringLiteral("<h4>%1 · %2 ms</h4>")
                       .arg(QString::fromLatin1(qdq::precisionName(run.precision)).toUpper())
                       .arg(run.milliseconds, 0, 'f', 1);
    if (!run.error.empty())
        return html +
               QStringLiteral("<p style='color:#a00000'>%1</p>").arg(QString::fromStdString(run.error).toHtmlEscaped());
    for (std::size_t i = 0; i < run.results.size(); ++i) {
        const qdq::TaskResult &t = run.results[i];
        const qdq::Encoding *enc = i < r.encodings.size() ? &r.encodings[i] : nullptr;
        if (!t.probabilities.empty())
            html += probabilityRows(t.probabilities, t.prediction);
        if (t.score)
            html += tr("<p>score (regression): <b>%1</b></p>").arg(static_cast<double>(*t.score), 0, 'g', 6);
        if (t.answer) {
            const qdq::TextExample &ex = r.examples[i];
            if (ex.pair && !t.answer->text.empty()) {
                const QString context = QString::fromStdString(*ex.pair).toHtmlEscaped();
                const QString answer = QString::fromStdString(t.answer->text).toHtmlEscaped();
                QString marked = context;
                marked.replace(marked.indexOf(answer), answer.size(),
                               QStringLiteral("<span style='background:#ffe08a'><b>%1</b></span>").arg(answer));
                html += tr("<p>Answer: <b>%1</b> (score %2)</p><p>%3</p>")
                            .arg(answer)
                            .arg(static_cast<double>(t.answer->score), 0, 'f', 3)
                            .arg(marked);
            } else {
                html += tr("<p>Answer: tokens %1–%2 (give a context in the pair field)</p>")
                            .arg(t.answer->start)
                            .arg(t.answer->end);
            }
        }
        if (!t.tokenLabels.empty() && enc) {
            html += "<p>";
            for (std::size_t k = 0; k < t.tokenLabels.size() && k < enc->tokens.size(); ++k) {
                const QString label = QString::fromStdString(t.tokenLabels[k]);
                const QColor c = QColor::fromHsv(static_cast<int>(qHash(label) % 360), 60, 250);
                html +=
                    QStringLiteral("<span style='background:%1'>&nbsp;%2<sub>%3</sub>&nbsp;</span> ")
                        .arg(c.name(), QString::fromStdString(enc->tokens[k]).toHtmlEscaped(), label.toHtmlEscaped());
            }
            html += "</p>";
        }
        for (const qdq::PositionTopK &p : t.topK) {
            const QString at = enc && static_cast<std::size_t>(p.position) < enc->tokens.size()
                                   ? QString::fromStdString(enc->tokens[static_cast<std::size_t>(p.position)])
                                   : QString::number(p.position);
            html += tr("<p><b>%1</b> at position %2:</p><table cellpadding=2>")
                        .arg(r.task == qdq::Task::CausalLm ? tr("Next token after") : at.toHtmlEscaped())
                        .arg(p.position);
            for (const qdq::TokenScore &s : p.top)
                html += QStringLiteral("<tr><td nowrap>%1</td><td nowrap align=right>%2</td><td>%3</td></tr>")
                            .arg(QString::fromStdString(s.token).toHtmlEscaped())
                            .arg(static_cast<double>(s.probability), 0, 'f', 4)
                            .arg(bar(s.probability));
            html += "</table>";
        }
    }
    if (r.task == qdq::Task::Base && !r.encodings.empty())
        html += tr("<p>%1 tokens encoded (last hidden state and pooled output computed); the Attention view shows "
                   "the attention maps.</p>")
                    .arg(r.encodings.front().size());
    return html;
}

void PlaygroundWidget::render()
{
    if (!m_last) {
        // empty: the placeholder says what to do
        m_results->clear();
        m_results->setPlaceholderText(
            m_tokenizer
                ? tr("Type a sentence above (with [MASK] for masked-LM): the results of the %1 head appear here as "
                     "you type, FP32 beside the quantized precision chosen under Compare.")
                      .arg(QString::fromLatin1(qdq::taskName(task())))
                : tr("Open a checkpoint, then type a sentence above: the results of the selected head appear here, "
                     "FP32 beside the quantized precision."));
        return;
    }
    const InferenceResult &r = *m_last;
    QString html = QStringLiteral("<h3>%1</h3>").arg(QString::fromLatin1(qdq::taskName(r.task)));
    if (!r.error.isEmpty()) {
        m_results->setHtml(html + QStringLiteral("<p style='color:#a00000'>%1</p>").arg(r.error.toHtmlEscaped()));
        return;
    }
    // precisions side by side
    html += QStringLiteral("<table width='100%' cellspacing=6><tr>");
    for (const PrecisionRun &run : r.runs)
        html += QStringLiteral("<td valign=top width='%1%'>%2</td>")
                    .arg(100 / std::max<std::size_t>(r.runs.size(), 1))
                    .arg(runHtml(r, run));
    html += QStringLiteral("</tr></table>");
    m_results->setHtml(html);
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
    if (m_debounce)
        m_debounce->start();
    QString summary = kept.size() == 1 ? tr("1 token") : tr("%1 tokens").arg(kept.size());
    if (unknown > 0)
        summary += tr(" · %1 unknown ([UNK])").arg(unknown);
    if (truncated > 0)
        summary += tr(" · %1 cut by max length %2 (struck through)").arg(truncated).arg(m_maxLength->value());
    m_summary->setText(summary);
}

} // namespace qdq::ui

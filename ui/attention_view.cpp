#include "attention_view.h"

#include "heatmap_widget.h"

#include <QComboBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QSpinBox>
#include <QStandardItemModel>
#include <QVBoxLayout>

#include <cmath>

namespace qdq::ui {

AttentionView::AttentionView(QWidget *parent) : QWidget(parent)
{
    setObjectName("attentionView");
    auto *layout = new QVBoxLayout(this);
    auto *bar = new QHBoxLayout;
    m_layer = new QSpinBox;
    m_layer->setObjectName("attentionLayer");
    m_head = new QSpinBox;
    m_head->setObjectName("attentionHead");
    m_info = new QLabel;
    m_info->setWordWrap(true);
    bar->addWidget(new QLabel(tr("Layer")));
    bar->addWidget(m_layer);
    bar->addWidget(new QLabel(tr("Head")));
    bar->addWidget(m_head);
    m_mode = new QComboBox;
    m_mode->setObjectName("attentionMode");
    m_mode->addItem(tr("FP32"));
    m_mode->addItem(tr("Quantized"));
    m_mode->addItem(tr("Difference (quantized − FP32)"));
    bar->addWidget(m_mode);
    bar->addWidget(m_info, 1);
    layout->addLayout(bar);
    auto *body = new QHBoxLayout;
    m_heatmap = new HeatmapWidget;
    m_heatmap->setObjectName("attentionHeatmap");
    body->addWidget(m_heatmap, 3);
    auto *gridHost = new QWidget;
    m_grid = new QGridLayout(gridHost);
    m_grid->setSpacing(3);
    body->addWidget(gridHost, 1);
    layout->addLayout(body, 1);
    connect(m_layer, &QSpinBox::valueChanged, this, &AttentionView::refresh);
    connect(m_head, &QSpinBox::valueChanged, this, &AttentionView::refresh);
    connect(m_mode, &QComboBox::currentIndexChanged, this, &AttentionView::refresh);
    m_info->setText(tr("Type text in the playground: its attention maps appear here."));
}

int AttentionView::layer() const
{
    return m_layer->value();
}
int AttentionView::head() const
{
    return m_head->value();
}

bool AttentionView::setMode(Mode mode)
{
    const int index = static_cast<int>(mode);
    auto *model = qobject_cast<QStandardItemModel *>(m_mode->model());
    if (!model->item(index)->isEnabled())
        return false;
    m_mode->setCurrentIndex(index);
    refresh();
    return true;
}

void AttentionView::setResult(std::shared_ptr<const InferenceResult> result)
{
    if (!result || !result->error.isEmpty() || result->runs.empty() || result->runs.front().attention.layers.empty())
        return;
    m_result = std::move(result);
    const bool quantized = m_result->runs.size() > 1 && !m_result->runs[1].attention.layers.empty();
    auto *model = qobject_cast<QStandardItemModel *>(m_mode->model());
    model->item(1)->setEnabled(quantized);
    model->item(2)->setEnabled(quantized);
    if (!quantized)
        m_mode->setCurrentIndex(0);
    const AttentionMaps &a = m_result->runs.front().attention;
    m_layer->setRange(0, static_cast<int>(a.layers.size()) - 1);
    m_head->setRange(0, a.heads - 1);
    // one thumbnail per head of the layer
    while (static_cast<int>(m_thumbs.size()) < a.heads) {
        auto *thumb = new HeatmapWidget;
        thumb->setCompact(true);
        thumb->setMinimumSize(48, 48);
        const int h = static_cast<int>(m_thumbs.size());
        thumb->setToolTip(tr("head %1").arg(h));
        connect(thumb, &HeatmapWidget::clicked, this, [this, h] { m_head->setValue(h); });
        const int columns = std::max(1, static_cast<int>(std::ceil(std::sqrt(static_cast<double>(a.heads)))));
        m_grid->addWidget(thumb, h / columns, h % columns);
        m_thumbs.push_back(thumb);
    }
    for (std::size_t i = 0; i < m_thumbs.size(); ++i)
        m_thumbs[i]->setVisible(static_cast<int>(i) < a.heads);
    refresh();
}

void AttentionView::showHead(int layer, int head)
{
    m_layer->setValue(layer);
    m_head->setValue(head);
    refresh();
}

void AttentionView::refresh()
{
    if (!m_result)
        return;
    const Mode mode = static_cast<Mode>(m_mode->currentIndex());
    const PrecisionRun &fp32 = m_result->runs.front();
    const PrecisionRun *quant = m_result->runs.size() > 1 ? &m_result->runs[1] : nullptr;
    const AttentionMaps &a = fp32.attention;
    const int l = a.length;
    const int layerIndex = std::clamp(m_layer->value(), 0, static_cast<int>(a.layers.size()) - 1);
    std::vector<float> maps =
        (mode == Mode::Fp32 || !quant ? fp32 : *quant).attention.layers[static_cast<std::size_t>(layerIndex)];
    if (mode == Mode::Difference && quant) {
        const std::vector<float> &base = a.layers[static_cast<std::size_t>(layerIndex)];
        for (std::size_t i = 0; i < maps.size(); ++i)
            maps[i] -= base[i];
    }
    float lo = 0.f;
    float hi = 1.f;
    if (mode == Mode::Difference) {
        float m = 1e-6f;
        for (float v : maps)
            m = std::max(m, std::fabs(v));
        lo = -m;
        hi = m;
    }
    QStringList labels;
    const qdq::Encoding &e = m_result->encodings.front();
    for (int i = 0; i < l; ++i)
        labels << QString::fromStdString(e.tokens[static_cast<std::size_t>(i)]);
    auto headMatrix = [&](int h) {
        const auto begin = maps.begin() + static_cast<std::ptrdiff_t>(h) * l * l;
        return std::vector<float>(begin, begin + static_cast<std::ptrdiff_t>(l) * l);
    };
    const int h = std::clamp(m_head->value(), 0, a.heads - 1);
    m_heatmap->setMatrix(headMatrix(h), l, l, labels, labels, lo, hi);
    for (int t = 0; t < a.heads && t < static_cast<int>(m_thumbs.size()); ++t)
        m_thumbs[static_cast<std::size_t>(t)]->setMatrix(headMatrix(t), l, l, {}, {}, lo, hi);
    const QString what = mode == Mode::Fp32 ? tr("FP32")
                         : mode == Mode::Quantized
                             ? QString::fromLatin1(qdq::precisionName(quant->precision)).toUpper()
                             : tr("%1 − FP32").arg(QString::fromLatin1(qdq::precisionName(quant->precision)).toUpper());
    m_info->setText(tr("%1 · layer %2 of %3 · head %4 of %5 · rows attend to columns")
                        .arg(what)
                        .arg(layerIndex)
                        .arg(a.layers.size())
                        .arg(h)
                        .arg(a.heads));
}

} // namespace qdq::ui

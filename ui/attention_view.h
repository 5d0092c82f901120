#pragma once
// Attention view: one head's attention probabilities as a heatmap with token labels, and a
// thumbnail grid of every head of the layer (click a thumbnail to enlarge it).

#include "inference_worker.h"

#include <QWidget>

#include <memory>

class QComboBox;
class QGridLayout;
class QLabel;
class QSpinBox;

namespace qdq::ui {

class HeatmapWidget;

class AttentionView : public QWidget {
    Q_OBJECT
public:
    explicit AttentionView(QWidget *parent = nullptr);

    void setResult(std::shared_ptr<const InferenceResult> result);
    void showHead(int layer, int head);
    enum class Mode { Fp32, Quantized, Difference };
    // false when the result has no quantized run for Quantized / Difference
    bool setMode(Mode mode);
    [[nodiscard]] HeatmapWidget *heatmap() const { return m_heatmap; }
    [[nodiscard]] int layer() const;
    [[nodiscard]] int head() const;

private:
    void refresh();

    std::shared_ptr<const InferenceResult> m_result;
    QSpinBox *m_layer = nullptr;
    QSpinBox *m_head = nullptr;
    QComboBox *m_mode = nullptr;
    QLabel *m_info = nullptr;
    HeatmapWidget *m_heatmap = nullptr;
    QGridLayout *m_grid = nullptr;
    std::vector<HeatmapWidget *> m_thumbs;
};

} // namespace qdq::ui

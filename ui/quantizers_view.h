#pragma once
// Quantizers view: every quantizer of the loaded model (QuantizerTableModel) in a sortable table
// with a filter field. The current row is the quantizer the Histogram view shows; the State check
// boxes and the Amax cells are the what-if configuration the playground, analyses and exports use.

#include "qdq/quantizer_site.h"

#include <QWidget>

#include <optional>

class QSortFilterProxyModel;
class QTableView;

namespace qdq::ui {

class QuantizerTableModel;

class QuantizersView : public QWidget {
    Q_OBJECT
public:
    explicit QuantizersView(QWidget *parent = nullptr);

    [[nodiscard]] QuantizerTableModel *model() const { return m_model; }
    [[nodiscard]] QTableView *table() const { return m_table; }
    // Makes source row `row` current; siteSelected follows unless the filter hides the row.
    void selectRow(int row);
    // Makes `site`'s row current; false (and nothing selected) when the model has no such quantizer.
    bool selectSite(const qdq::QuantizerSite &site);
    // Shows only the quantizers of `layer` (a click in the Layers view).
    void setLayerFilter(int layer);
    // Edits from other views, made as in the table: `site`'s amax overridden (the Histogram view's
    // drag), or its quantizer disabled / enabled again (the Sensitivity view's Keep FP32).
    void overrideAmax(const qdq::QuantizerSite &site, double amax);
    void keepFp32(const qdq::QuantizerSite &site, bool keep);
    // The per-tensor amax in use at `site` (QuantizerTableModel::amaxInUse); nullopt also when
    // the model has no such quantizer.
    [[nodiscard]] std::optional<double> amaxInUse(const qdq::QuantizerSite &site) const;

signals:
    // The current row is now `site`'s, with the per-tensor amax in use there.
    void siteSelected(const qdq::QuantizerSite &site, std::optional<double> amaxInUse);

private:
    QuantizerTableModel *m_model = nullptr;
    QSortFilterProxyModel *m_proxy = nullptr;
    QTableView *m_table = nullptr;
};

} // namespace qdq::ui

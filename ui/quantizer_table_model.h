#pragma once
// Every quantizer of the loaded model (reference §1.2): layer, site, kind, amax (scalar, or
// min … max of a per-channel amax, with the median and channel count in its tooltip), whether it is calibrated or
// dynamic, and - after an analysis (Tools ▸ Analyze…) - its clip % and SQNR, the worst SQNR cells tinted red.

#include "qdq/analysis.h"
#include "qdq/checkpoint.h"
#include "qdq/quant/quant_config.h"

#include <QAbstractTableModel>

#include <memory>
#include <optional>
#include <vector>

namespace qdq::ui {

class QuantizerTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Layer, Block, Site, Kind, Amax, State, ClipPercent, Sqnr, ShapeColumn, ColumnCount };
    enum Roles { SortRole = Qt::UserRole + 1, AmaxKeyRole };

    explicit QuantizerTableModel(QObject *parent = nullptr);

    void setCheckpoint(std::shared_ptr<const qdq::Checkpoint> checkpoint);
    // The pytorch-quantization version profile of the configuration (the Settings' profile):
    // kept across checkpoints and overrides; a change emits quantConfigChanged.
    void setProfile(qdq::VersionProfile profile);
    [[nodiscard]] qdq::VersionProfile profile() const { return m_profile; }
    // Fills the Clip % and SQNR columns from an analysis of this checkpoint (nullptr clears them).
    // The kWorstHighlighted enabled quantizers with the lowest SQNR are tinted.
    void setAnalysis(std::shared_ptr<const qdq::AnalysisReport> analysis);
    static constexpr int kWorstHighlighted = 5;
    [[nodiscard]] bool isWorst(int row) const { return m_rows[static_cast<std::size_t>(row)].worst; }

    // What-if (design.md, Quantizers view): the State column's check box enables or disables a
    // quantizer, and the Amax column of a per-tensor quantizer is editable (a number overrides
    // the amax; "dynamic" forgets it). Edits change this configuration, never the checkpoint.
    [[nodiscard]] const qdq::QuantConfig &quantConfig() const { return m_config; }
    [[nodiscard]] qdq::QuantizerSite siteAt(int row) const { return m_sites[static_cast<std::size_t>(row)]; }
    [[nodiscard]] int rowOf(const qdq::QuantizerSite &site) const;
    // The per-tensor amax in use at `row` (override or calibrated); nullopt when dynamic,
    // disabled or per-channel.
    [[nodiscard]] std::optional<double> amaxInUse(int row) const;
    // Restores the checkpoint's own settings.
    void resetOverrides();
    [[nodiscard]] Qt::ItemFlags flags(const QModelIndex &index) const override;
    bool setData(const QModelIndex &index, const QVariant &value, int role = Qt::EditRole) override;

signals:
    void quantConfigChanged(const qdq::QuantConfig &config);

public:
    [[nodiscard]] int rowCount(const QModelIndex &parent = {}) const override;
    [[nodiscard]] int columnCount(const QModelIndex &parent = {}) const override;
    [[nodiscard]] QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    [[nodiscard]] QVariant headerData(int section, Qt::Orientation orientation,
                                      int role = Qt::DisplayRole) const override;

private:
    struct Row {
        int layer = 0;
        QString block;
        QString site;
        QString kind;
        QString amaxText;
        QString amaxTip;        // per-channel: count, min, median, max
        double amaxSort = -1.0; // max amax; -1 when dynamic
        bool calibrated = false;
        bool enabled = true;
        bool overridden = false;
        bool perTensor = true;
        QString shape;
        QString amaxKey;
        std::optional<double> clipFraction; // from the analysis
        std::optional<double> sqnrDb;       // from the analysis; +inf when lossless
        bool worst = false;
    };
    void refreshRow(int row);

    std::vector<Row> m_rows;
    std::vector<qdq::QuantizerSite> m_sites;
    std::shared_ptr<const qdq::Checkpoint> m_checkpoint;
    qdq::QuantConfig m_config;
    qdq::VersionProfile m_profile = qdq::kDefaultVersionProfile;
};

} // namespace qdq::ui

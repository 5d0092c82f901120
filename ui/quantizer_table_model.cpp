#include "quantizer_table_model.h"

#include <QBrush>
#include <QPalette>

#include <QColor>

#include <algorithm>
#include <cmath>
#include <limits>

namespace qdq::ui {

namespace {

QString formatAmax(double v)
{
    return QString::number(v, 'g', 5);
}

} // namespace

QuantizerTableModel::QuantizerTableModel(QObject *parent) : QAbstractTableModel(parent) {}

void QuantizerTableModel::setAnalysis(std::shared_ptr<const qdq::AnalysisReport> analysis)
{
    for (Row &row : m_rows) {
        row.clipFraction.reset();
        row.sqnrDb.reset();
        row.worst = false;
    }
    if (analysis) {
        std::vector<std::pair<double, int>> enabled;
        for (const qdq::SiteAnalysis &s : analysis->sites) {
            const int r = rowOf(s.site);
            if (r < 0)
                continue;
            Row &row = m_rows[static_cast<std::size_t>(r)];
            row.clipFraction = s.clipFraction;
            row.sqnrDb = s.sqnrDb.value_or(std::numeric_limits<double>::infinity());
            if (s.enabled)
                enabled.emplace_back(*row.sqnrDb, r);
        }
        std::sort(enabled.begin(), enabled.end());
        for (std::size_t i = 0; i < enabled.size() && i < static_cast<std::size_t>(kWorstHighlighted); ++i)
            if (std::isfinite(enabled[i].first))
                m_rows[static_cast<std::size_t>(enabled[i].second)].worst = true;
    }
    if (!m_rows.empty())
        emit dataChanged(index(0, ClipPercent), index(rowCount() - 1, Sqnr));
}

void QuantizerTableModel::setCheckpoint(std::shared_ptr<const qdq::Checkpoint> checkpoint)
{
    beginResetModel();
    m_rows.clear();
    m_sites.clear();
    m_checkpoint = checkpoint;
    m_config = checkpoint ? qdq::QuantConfig::fromCheckpoint(*checkpoint, m_profile) : qdq::QuantConfig();
    m_config.setProfile(m_profile);
    if (checkpoint) {
        m_rows.reserve(checkpoint->quantizers.size());
        for (const QuantizerInfo &q : checkpoint->quantizers) {
            Row row;
            row.layer = q.site.layer;
            const bool ffn = static_cast<int>(q.site.id) >= kCrossAttentionSites;
            row.block = ffn ? tr("ffn") : (q.site.crossAttention ? tr("cross-attention") : tr("attention"));
            row.site = QString::fromLatin1(siteRelativeName(q.site.id));
            row.kind = QString::fromLatin1(siteKindName(q.site.kind()));
            row.calibrated = q.calibrated;
            row.amaxKey = QString::fromStdString(q.amaxKey);
            row.perTensor = !q.perChannel;
            m_sites.push_back(q.site);
            if (q.calibrated && checkpoint->has(q.amaxKey)) {
                std::vector<float> v = checkpoint->get(q.amaxKey).toFloatVector();
                row.shape = QString::fromStdString(shapeString(q.amaxShape));
                if (v.size() == 1) {
                    row.amaxText = formatAmax(v[0]);
                    row.amaxSort = v[0];
                } else if (!v.empty()) {
                    std::sort(v.begin(), v.end());
                    // min … max keeps the column narrow; the tooltip has the median and the count
                    row.amaxText = tr("%1 … %2").arg(formatAmax(v.front()), formatAmax(v.back()));
                    row.amaxTip = tr("%1 channels: min %2, median %3, max %4")
                                      .arg(v.size())
                                      .arg(formatAmax(v.front()), formatAmax(v[v.size() / 2]), formatAmax(v.back()));
                    row.amaxSort = v.back();
                }
            } else {
                row.amaxText = tr("per call");
                row.shape = q.site.kind() == SiteKind::Weight ? tr("[out, 1]") : tr("[]");
            }
            m_rows.push_back(std::move(row));
        }
    }
    endResetModel();
}

void QuantizerTableModel::setProfile(qdq::VersionProfile profile)
{
    if (profile == m_profile)
        return;
    m_profile = profile;
    m_config.setProfile(profile);
    emit quantConfigChanged(m_config);
}

int QuantizerTableModel::rowOf(const qdq::QuantizerSite &site) const
{
    for (std::size_t i = 0; i < m_sites.size(); ++i)
        if (m_sites[i] == site)
            return static_cast<int>(i);
    return -1;
}

std::optional<double> QuantizerTableModel::amaxInUse(int row) const
{
    const qdq::SiteQuantConfig *s = m_config.find(m_sites[static_cast<std::size_t>(row)]);
    if (!s || !s->enabled || s->dynamic() || s->amax->size() != 1)
        return std::nullopt;
    return static_cast<double>(s->amax->front());
}

void QuantizerTableModel::resetOverrides()
{
    setCheckpoint(m_checkpoint);
    emit quantConfigChanged(m_config);
}

void QuantizerTableModel::refreshRow(int row)
{
    Row &r = m_rows[static_cast<std::size_t>(row)];
    const qdq::SiteQuantConfig *site = m_config.find(m_sites[static_cast<std::size_t>(row)]);
    if (!site)
        return;
    r.enabled = site->enabled;
    r.overridden = site->amaxOverridden;
    if (site->amaxOverridden) {
        if (site->dynamic()) {
            r.amaxText = tr("per call (override)");
            r.amaxSort = -1.0;
        } else {
            r.amaxText = tr("%1 (override)").arg(formatAmax(static_cast<double>(site->amax->front())));
            r.amaxSort = site->amax->front();
        }
    }
    emit dataChanged(index(row, 0), index(row, ColumnCount - 1));
}

Qt::ItemFlags QuantizerTableModel::flags(const QModelIndex &index) const
{
    Qt::ItemFlags f = QAbstractTableModel::flags(index);
    if (!index.isValid())
        return f;
    if (index.column() == State)
        f |= Qt::ItemIsUserCheckable;
    if (index.column() == Amax && m_rows[static_cast<std::size_t>(index.row())].perTensor)
        f |= Qt::ItemIsEditable;
    return f;
}

bool QuantizerTableModel::setData(const QModelIndex &index, const QVariant &value, int role)
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return false;
    const QuantizerSite &site = m_sites[static_cast<std::size_t>(index.row())];
    const SiteSelector selector = SiteSelector::parse(site.modulePath());
    if (index.column() == State && role == Qt::CheckStateRole) {
        if (m_config.setEnabled(selector, value.toInt() == Qt::Checked) != 1)
            return false;
    } else if (index.column() == Amax && role == Qt::EditRole &&
               m_rows[static_cast<std::size_t>(index.row())].perTensor) {
        const QString text = value.toString().trimmed();
        if (text.compare(QLatin1String("dynamic"), Qt::CaseInsensitive) == 0) {
            if (m_config.setDynamicAmax(selector) != 1)
                return false;
        } else {
            bool ok = false;
            const double v = text.toDouble(&ok);
            if (!ok || !(v > 0.0) || !std::isfinite(v))
                return false; // reference §3.3: amax must be positive
            if (m_config.setAmax(selector, static_cast<float>(v)) != 1)
                return false;
        }
    } else {
        return false;
    }
    refreshRow(index.row());
    emit quantConfigChanged(m_config);
    return true;
}

int QuantizerTableModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_rows.size());
}

int QuantizerTableModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant QuantizerTableModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Row &row = m_rows[static_cast<std::size_t>(index.row())];
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case Layer:
            return row.layer;
        case Block:
            return row.block;
        case Site:
            return row.site;
        case Kind:
            return row.kind;
        case Amax:
            return row.amaxText;
        case State:
            return !row.enabled ? tr("disabled") : row.calibrated ? tr("calibrated") : tr("dynamic");
        case ClipPercent:
            return row.clipFraction ? QString::number(100.0 * *row.clipFraction, 'f', 3) : QStringLiteral("-");
        case Sqnr:
            if (!row.sqnrDb)
                return QStringLiteral("-");
            return std::isfinite(*row.sqnrDb) ? QString::number(*row.sqnrDb, 'f', 1) : tr("lossless");
        case ShapeColumn:
            return row.shape;
        default:
            return {};
        }
    case SortRole:
        // numbers sort as numbers; quantizers without analysis results go last
        if (index.column() == ClipPercent)
            return row.clipFraction.value_or(-1.0);
        if (index.column() == Sqnr)
            return row.sqnrDb.value_or(std::numeric_limits<double>::max());
        if (index.column() == Layer)
            return index.row(); // rows are in layer and dataflow order
        if (index.column() == Amax)
            return row.amaxSort;
        return data(index, Qt::DisplayRole);
    case AmaxKeyRole:
        return row.amaxKey;
    case Qt::CheckStateRole:
        if (index.column() == State)
            return row.enabled ? Qt::Checked : Qt::Unchecked;
        return {};
    case Qt::EditRole:
        if (index.column() == Amax)
            return row.amaxSort > 0 ? QString::number(row.amaxSort, 'g', 8) : QStringLiteral("dynamic");
        return data(index, Qt::DisplayRole);
    case Qt::BackgroundRole:
        if (row.worst && (index.column() == Sqnr || index.column() == ClipPercent))
            return QBrush(QColor(240, 160, 160));
        return {};
    case Qt::ToolTipRole:
        if (index.column() == Sqnr || index.column() == ClipPercent)
            return tr("From the last analysis (Tools ▸ Analyze…): share of |x| above amax, and SQNR of x vs "
                      "fake_quant(x) in dB on the FP32 inputs%1")
                .arg(row.worst ? tr("; one of the %1 worst quantizers").arg(kWorstHighlighted) : QString());
        if (index.column() == Amax && !row.amaxTip.isEmpty())
            return QStringLiteral("%1 (%2)").arg(row.amaxTip, row.amaxKey);
        return row.calibrated ? row.amaxKey
                              : tr("No stored amax: computed from each input as max |x| (reference §2.4)");
    case Qt::ForegroundRole:
        if (row.worst && (index.column() == Sqnr || index.column() == ClipPercent))
            return QBrush(Qt::black); // on the light red tint, in the dark theme too
        if ((!row.calibrated && !row.overridden && index.column() == Amax) || !row.enabled)
            return QBrush(QPalette().color(QPalette::PlaceholderText));
        if (row.overridden && index.column() == Amax)
            return QBrush(QColor(180, 80, 0));
        return {};
    case Qt::TextAlignmentRole:
        if (index.column() == Layer || index.column() == ClipPercent || index.column() == Sqnr)
            return QVariant(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    default:
        return {};
    }
}

QVariant QuantizerTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case Layer:
        return tr("Layer");
    case Block:
        return tr("Block");
    case Site:
        return tr("Quantizer");
    case Kind:
        return tr("Kind");
    case Amax:
        return tr("Amax");
    case State:
        return tr("State");
    case ClipPercent:
        return tr("Clip %");
    case Sqnr:
        return tr("SQNR dB");
    case ShapeColumn:
        return tr("Shape");
    default:
        return {};
    }
}

} // namespace qdq::ui

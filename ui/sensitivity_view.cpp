#include "sensitivity_view.h"

#include "table_columns.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

namespace qdq::ui {
namespace {

QString percent(const std::optional<double> &v)
{
    return v ? QString::number(100.0 * *v, 'f', 2) + QStringLiteral(" %") : QStringLiteral("–");
}

QTableWidgetItem *item(const QString &text, const QVariant &sort = {})
{
    auto *it = new QTableWidgetItem(text);
    it->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
    if (sort.isValid())
        it->setData(Qt::UserRole, sort);
    return it;
}

QTableWidgetItem *number(double v)
{
    return item(QString::number(v, 'g', 4), v);
}

// A compact read-only table whose columns fit their contents; `stretch` takes the room left.
QTableWidget *makeTable(const QStringList &headers, const QString &name, int stretch)
{
    auto *t = new QTableWidget(0, static_cast<int>(headers.size()));
    t->setObjectName(name);
    t->setHorizontalHeaderLabels(headers);
    t->verticalHeader()->hide();
    t->verticalHeader()->setDefaultSectionSize(t->fontMetrics().height() + 6);
    t->setSelectionBehavior(QAbstractItemView::SelectRows);
    t->setEditTriggers(QAbstractItemView::NoEditTriggers);
    t->setAlternatingRowColors(true);
    t->setWordWrap(false);
    fitColumnsToContents(t, stretch);
    return t;
}

} // namespace

SensitivityView::SensitivityView(QWidget *parent) : QWidget(parent)
{
    setObjectName("sensitivityView");
    auto *layout = new QVBoxLayout(this);
    m_summary = new QLabel;
    m_summary->setObjectName("sensitivitySummary");
    m_summary->setWordWrap(true);
    layout->addWidget(m_summary);
    auto *suggestionRow = new QHBoxLayout;
    m_suggestion = new QLabel;
    m_suggestion->setWordWrap(true);
    m_apply = new QPushButton(tr("Keep Suggested in FP32"));
    m_apply->setObjectName("applySuggestion");
    m_apply->setToolTip(tr("Check Keep FP32 for the quantizers the greedy suggestion names (the playground re-runs)"));
    connect(m_apply, &QPushButton::clicked, this, &SensitivityView::applySuggestion);
    suggestionRow->addWidget(m_suggestion, 1);
    suggestionRow->addWidget(m_apply);
    layout->addLayout(suggestionRow);

    auto *split = new QSplitter(Qt::Vertical);
    m_table = makeTable({tr("Rank"), tr("Keep FP32"), tr("Quantizer"), tr("Layer"), tr("Kind"), tr("Relief"),
                         tr("Without it"), tr("It alone"), tr("Top-1 w/o")},
                        QStringLiteral("sensitivityTable"), Quantizer);
    m_table->horizontalHeaderItem(Relief)->setToolTip(
        tr("What disabling only this quantizer gives back: the full model's impact minus the impact without it"));
    m_table->horizontalHeaderItem(Without)->setToolTip(
        tr("Output KL (MSE for regression and base models) against FP32 with every other quantizer on"));
    m_table->horizontalHeaderItem(Only)->setToolTip(tr("The same with only this quantizer on"));
    connect(m_table, &QTableWidget::itemChanged, this, [this](QTableWidgetItem *it) {
        if (m_filling || it->column() != KeepFp32)
            return;
        const auto site = QuantizerSite::fromKey(it->data(Qt::UserRole).toString().toStdString());
        if (site)
            emit keepFp32Toggled(*site, it->checkState() == Qt::Checked);
    });
    split->addWidget(m_table);
    m_sweeps = makeTable({tr("Sweep"), tr("Group"), tr("Impact"), tr("Top-1")}, QStringLiteral("sweepTable"), 1);
    split->addWidget(m_sweeps);
    auto *repairBox = new QWidget;
    auto *repairLayout = new QVBoxLayout(repairBox);
    repairLayout->setContentsMargins(0, 0, 0, 0);
    m_repairSummary = new QLabel;
    m_repairSummary->setObjectName("repairSummary");
    m_repairSummary->setWordWrap(true);
    m_repairSummary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_repair = makeTable(
        {tr("Quantizer"), tr("Change"), tr("Amax before"), tr("Amax after"), tr("Impact after"), tr("Top-1 after")},
        QStringLiteral("repairTable"), 0);
    auto *repairRow = new QHBoxLayout;
    m_openRepaired = new QPushButton(tr("Open Repaired Checkpoint"));
    m_openRepaired->setObjectName("openRepaired");
    connect(m_openRepaired, &QPushButton::clicked, this, [this] { emit openRequested(m_repairFolder); });
    repairRow->addWidget(m_repairSummary, 1);
    repairRow->addWidget(m_openRepaired);
    repairLayout->addLayout(repairRow);
    repairLayout->addWidget(m_repair);
    split->addWidget(repairBox);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 1);
    split->setStretchFactor(2, 1);
    layout->addWidget(split, 1);
    fill();
}

void SensitivityView::setAnalysis(std::shared_ptr<const qdq::AnalysisReport> report)
{
    m_report = std::move(report);
    fill();
}

void SensitivityView::setRepair(std::shared_ptr<const qdq::RepairResult> result, const QString &folder)
{
    m_repairResult = std::move(result);
    m_repairFolder = folder;
    m_repair->setRowCount(0);
    m_openRepaired->setVisible(m_repairResult != nullptr);
    if (!m_repairResult) {
        m_repairSummary->setText(tr("Tools ▸ Repair… chooses, per quantizer, the calibration method's amax (or FP32 "
                                    "for a few) that best recovers the task output, and writes a repaired "
                                    "checkpoint."));
        return;
    }
    const qdq::RepairResult &r = *m_repairResult;
    m_repairSummary->setText(tr("Repair: impact %1 → %2, top-1 agreement %3 → %4, %5 quantizer(s) in FP32. "
                                "Written to %6")
                                 .arg(r.before.impact, 0, 'g', 4)
                                 .arg(r.after.impact, 0, 'g', 4)
                                 .arg(percent(r.before.top1Agreement), percent(r.after.top1Agreement))
                                 .arg(r.disabled)
                                 .arg(folder));
    m_repair->setRowCount(static_cast<int>(r.changes.size()));
    for (int i = 0; i < static_cast<int>(r.changes.size()); ++i) {
        const qdq::RepairChange &c = r.changes[static_cast<std::size_t>(i)];
        m_repair->setItem(i, 0, item(QString::fromStdString(c.name)));
        m_repair->setItem(i, 1, item(QString::fromStdString(c.action)));
        m_repair->setItem(i, 2, item(c.amaxBefore ? QString::number(*c.amaxBefore, 'g', 5) : QStringLiteral("–")));
        m_repair->setItem(i, 3, item(c.amaxAfter ? QString::number(*c.amaxAfter, 'g', 5) : QStringLiteral("–")));
        m_repair->setItem(i, 4, number(c.after.impact));
        m_repair->setItem(i, 5, item(percent(c.after.top1Agreement)));
    }
}

void SensitivityView::setQuantConfig(const qdq::QuantConfig &config)
{
    m_config = config;
    m_filling = true;
    for (int row = 0; row < m_table->rowCount(); ++row) {
        QTableWidgetItem *box = m_table->item(row, KeepFp32);
        const auto site = QuantizerSite::fromKey(box->data(Qt::UserRole).toString().toStdString());
        const qdq::SiteQuantConfig *s = site ? m_config.find(*site) : nullptr;
        box->setCheckState(s && !s->enabled ? Qt::Checked : Qt::Unchecked);
    }
    m_filling = false;
}

void SensitivityView::showLayer(int layer)
{
    m_layer = layer;
    for (int row = 0; row < m_table->rowCount(); ++row)
        m_table->setRowHidden(row, layer >= 0 && m_table->item(row, Layer)->data(Qt::UserRole).toInt() != layer);
}

void SensitivityView::applySuggestion()
{
    if (!m_report || !m_report->sensitivity || !m_report->sensitivity->quantizers)
        return;
    for (const qdq::KeepFp32Step &step : m_report->sensitivity->quantizers->keepFp32)
        for (const std::string &name : step.quantizers)
            if (const auto site = QuantizerSite::fromKey(name))
                emit keepFp32Toggled(*site, true);
}

void SensitivityView::fill()
{
    m_filling = true;
    m_table->setRowCount(0);
    m_sweeps->setRowCount(0);
    const qdq::SensitivityReport *s = m_report && m_report->sensitivity ? &*m_report->sensitivity : nullptr;
    const qdq::QuantizerSensitivity *q = s && s->quantizers ? &*s->quantizers : nullptr;
    m_apply->setEnabled(q && !q->keepFp32.empty());
    if (!s) {
        m_summary->setText(tr("Run Tools ▸ Analyze… with “Per-quantizer sensitivity” to rank every quantizer by "
                              "what it does to the task output."));
        m_suggestion->clear();
    } else if (!q) {
        m_summary->setText(tr("Layer and kind sweeps below (impact %1 with every quantizer). Analyze with "
                              "“Per-quantizer sensitivity” to rank single quantizers.")
                               .arg(s->fullImpact, 0, 'g', 4));
        m_suggestion->clear();
    } else {
        m_summary->setText(tr("%1 quantizers ranked on the task output (%2): impact %3, top-1 agreement %4 with every "
                              "quantizer on.")
                               .arg(q->quantizers.size())
                               .arg(QString::fromStdString(m_report->task))
                               .arg(q->full.impact, 0, 'g', 4)
                               .arg(percent(q->full.top1Agreement)));
        QStringList names;
        for (const qdq::KeepFp32Step &step : q->keepFp32)
            names << QString::fromStdString(step.quantizers.front());
        const QString after = q->keepFp32.empty() ? QString() : percent(q->keepFp32.back().after.top1Agreement);
        m_suggestion->setText(
            names.isEmpty()
                ? (q->targetReached ? tr("The target agreement is met: nothing needs to stay in FP32.")
                                    : tr("No single quantizer in FP32 lowers the impact."))
                : tr("Suggested to keep in FP32 (greedy, re-measured): %1 → top-1 %2%3")
                      .arg(names.join(QStringLiteral(", ")), after,
                           q->targetReached ? QString()
                                            : tr(" (target %1 not reached)").arg(percent(q->targetAgreement))));
        m_table->setRowCount(static_cast<int>(q->quantizers.size()));
        for (int i = 0; i < static_cast<int>(q->quantizers.size()); ++i) {
            const qdq::QuantizerImpact &e = q->quantizers[static_cast<std::size_t>(i)];
            m_table->setItem(i, Rank, item(QString::number(i + 1), i + 1));
            auto *box = new QTableWidgetItem;
            box->setFlags(Qt::ItemIsEnabled | Qt::ItemIsUserCheckable | Qt::ItemIsSelectable);
            box->setData(Qt::UserRole, QString::fromStdString(e.name));
            const qdq::SiteQuantConfig *sc = m_config.find(e.site);
            box->setCheckState(sc && !sc->enabled ? Qt::Checked : Qt::Unchecked);
            box->setToolTip(tr("Disable this quantizer (FP32) in the Quantizers view's configuration"));
            m_table->setItem(i, KeepFp32, box);
            m_table->setItem(i, Quantizer, item(QString::fromStdString(e.name)));
            m_table->setItem(i, Layer, item(QString::number(e.site.layer), e.site.layer));
            m_table->setItem(i, Kind, item(QString::fromLatin1(siteKindName(e.site.kind()))));
            m_table->setItem(i, Relief, number(e.relief));
            m_table->setItem(i, Without, number(e.without.impact));
            m_table->setItem(i, Only, e.only ? number(e.only->impact) : item(QStringLiteral("–")));
            m_table->setItem(i, Top1Without, item(percent(e.without.top1Agreement)));
        }
    }
    if (s) {
        m_sweeps->setRowCount(static_cast<int>(s->entries.size()));
        for (int i = 0; i < static_cast<int>(s->entries.size()); ++i) {
            const qdq::SensitivityEntry &e = s->entries[static_cast<std::size_t>(i)];
            m_sweeps->setItem(i, 0, item(QString::fromLatin1(sweepKindName(e.kind))));
            m_sweeps->setItem(i, 1, item(QString::fromStdString(e.selector)));
            m_sweeps->setItem(i, 2, number(e.impact));
            m_sweeps->setItem(i, 3, item(percent(e.top1Agreement)));
        }
    }
    m_filling = false;
    showLayer(m_layer);
    if (!m_repairResult)
        setRepair(nullptr, {});
}

} // namespace qdq::ui

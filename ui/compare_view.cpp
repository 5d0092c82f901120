#include "compare_view.h"

#include "app_settings.h"
#include "charts/divergence_chart.h"
#include "load_job.h"
#include "table_columns.h"

#include "qdq/calibration_data.h"
#include "qdq/io/onnx_import.h"
#include "qdq/text_task.h"
#include "qdq/threading.h"

#include <QBrush>
#include <QColor>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>
#include <QtConcurrent>

#include <cmath>

namespace qdq::ui {

namespace {

QString amaxText(const std::optional<qdq::AmaxSummary> &s)
{
    if (!s)
        return QObject::tr("—");
    if (!s->calibrated)
        return QObject::tr("dynamic");
    if (s->channels == 1)
        return QString::number(static_cast<double>(s->max), 'g', 5);
    return QObject::tr("%1 … %2") // the channel count is in the tooltip
        .arg(static_cast<double>(s->min), 0, 'g', 4)
        .arg(static_cast<double>(s->max), 0, 'g', 4);
}

QTableView *makeTable(QAbstractItemModel *model, int stretchColumn, QWidget *parent)
{
    auto *proxy = new QSortFilterProxyModel(parent);
    proxy->setSourceModel(model);
    proxy->setSortRole(Qt::UserRole);
    auto *view = new QTableView(parent);
    view->setModel(proxy);
    view->setSortingEnabled(true);
    view->sortByColumn(-1, Qt::AscendingOrder);
    view->setAlternatingRowColors(true);
    view->setWordWrap(false);
    view->verticalHeader()->hide();
    view->verticalHeader()->setDefaultSectionSize(view->fontMetrics().height() + 6);
    fitColumnsToContents(view, stretchColumn);
    return view;
}

} // namespace

QuantizerCompareModel::QuantizerCompareModel(QObject *parent) : QAbstractTableModel(parent) {}

void QuantizerCompareModel::setComparison(std::shared_ptr<const qdq::CheckpointComparison> comparison)
{
    beginResetModel();
    m_comparison = std::move(comparison);
    endResetModel();
}

int QuantizerCompareModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() || !m_comparison ? 0 : static_cast<int>(m_comparison->quantizers.size());
}

int QuantizerCompareModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant QuantizerCompareModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const qdq::QuantizerComparison &q = m_comparison->quantizers[static_cast<std::size_t>(index.row())];
    const std::optional<double> ratio = q.ratio();
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
        case Layer:
            return q.site.layer;
        case Site:
            return QString::fromStdString(q.site.modulePath().substr(q.site.modulePath().find('.', 14) + 1));
        case AmaxA:
            return amaxText(q.a);
        case AmaxB:
            return amaxText(q.b);
        case Ratio:
            return ratio ? QString::number(*ratio, 'f', 3) : QStringLiteral("—");
        case ChannelShift:
            return q.maxLog2Ratio ? QString::number(std::exp2(*q.maxLog2Ratio), 'f', 3) + QStringLiteral("×")
                                  : QStringLiteral("—");
        default:
            return {};
        }
    }
    if (role == Qt::UserRole) { // sort keys
        switch (index.column()) {
        case Layer:
            return index.row();
        case Ratio:
            return ratio ? std::fabs(std::log2(*ratio)) : -1.0;
        case ChannelShift:
            return q.maxLog2Ratio.value_or(-1.0);
        default:
            return data(index, Qt::DisplayRole);
        }
    }
    if (role == Qt::BackgroundRole && index.column() == Ratio && ratio && std::fabs(std::log2(*ratio)) > 0.5)
        return QBrush(QColor(255, 220, 200)); // amax moved by more than ~1.4x
    if (role == Qt::ForegroundRole && index.column() == Ratio && ratio && std::fabs(std::log2(*ratio)) > 0.5)
        return QBrush(Qt::black); // on that tint, in the dark theme too
    if (role == Qt::ToolTipRole) {
        const std::optional<qdq::AmaxSummary> &amax = index.column() == AmaxB ? q.b : q.a;
        const bool perChannel = (index.column() == AmaxA || index.column() == AmaxB) && amax && amax->channels > 1;
        return perChannel ? QObject::tr("%1 (%2 channels)")
                                .arg(QString::fromStdString(q.site.modulePath("bert.")))
                                .arg(amax->channels)
                          : QString::fromStdString(q.site.modulePath("bert."));
    }
    return {};
}

QVariant QuantizerCompareModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation == Qt::Horizontal && role == Qt::ToolTipRole && section == ChannelShift)
        return tr("The largest change of one channel's amax between A and B, as a factor");
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    static const char *names[] = {"Layer", "Quantizer", "Amax A", "Amax B", "B / A", "Max shift"};
    return section >= 0 && section < ColumnCount ? tr(names[section]) : QVariant();
}

TensorCompareModel::TensorCompareModel(QObject *parent) : QAbstractTableModel(parent) {}

void TensorCompareModel::setComparison(std::shared_ptr<const qdq::CheckpointComparison> comparison)
{
    beginResetModel();
    m_comparison = std::move(comparison);
    endResetModel();
}

int TensorCompareModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() || !m_comparison ? 0 : static_cast<int>(m_comparison->tensors.size());
}

int TensorCompareModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant TensorCompareModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const qdq::TensorComparison &t = m_comparison->tensors[static_cast<std::size_t>(index.row())];
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
        case Name:
            return QString::fromStdString(t.name);
        case MaxAbs:
            if (!t.inA || !t.inB)
                return t.inA ? tr("only in A") : tr("only in B");
            return t.sameShape ? QString::number(t.maxAbsDiff, 'g', 4) : tr("shapes differ");
        case RelativeL2:
            return t.sameShape ? QString::number(t.relativeL2, 'g', 4) : QString();
        default:
            return {};
        }
    }
    if (role == Qt::UserRole) {
        if (index.column() == MaxAbs)
            return t.sameShape ? t.maxAbsDiff : -1.0;
        if (index.column() == RelativeL2)
            return t.sameShape ? t.relativeL2 : -1.0;
        return data(index, Qt::DisplayRole);
    }
    return {};
}

QVariant TensorCompareModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    static const char *names[] = {"Tensor", "Max |B − A|", "‖B − A‖ / ‖A‖"};
    return section >= 0 && section < ColumnCount ? tr(names[section]) : QVariant();
}

CompareView::CompareView(QWidget *parent) : QWidget(parent)
{
    setObjectName("compareView");
    m_quantizers = new QuantizerCompareModel(this);
    m_tensors = new TensorCompareModel(this);
    m_load = new LoadJob(this);
    auto *layout = new QVBoxLayout(this);
    auto *bar = new QHBoxLayout;
    m_open = new QPushButton(tr("Open checkpoint B…"));
    m_open->setObjectName("compareOpenB");
    m_status = new QLabel(tr("Open a second checkpoint to compare its amax values and weights with this one."));
    m_status->setWordWrap(true);
    m_analyze = new QPushButton(tr("Per-layer divergence…"));
    m_analyze->setObjectName("compareDivergence");
    m_analyze->setToolTip(tr("Run A and B over a data file and chart each one's per-layer SQNR against its own FP32"));
    m_analyze->setEnabled(false);
    bar->addWidget(m_open);
    bar->addWidget(m_analyze);
    bar->addWidget(m_status, 1);
    layout->addLayout(bar);
    auto *split = new QSplitter(Qt::Vertical);
    split->addWidget(makeTable(m_quantizers, QuantizerCompareModel::Site, this));
    split->addWidget(makeTable(m_tensors, TensorCompareModel::Name, this));
    m_divergence = new DivergenceChart;
    m_divergence->setVisible(false);
    split->addWidget(m_divergence);
    layout->addWidget(split, 1);
    connect(m_analyze, &QPushButton::clicked, this, [this] {
        const QString file = QFileDialog::getOpenFileName(
            this, tr("Data for A and B"), QString(), tr("Text, JSONL, CSV (*.txt *.jsonl *.csv *.tsv);;All files (*)"));
        if (!file.isEmpty())
            analyzeBoth(file);
    });
    connect(&m_analysis, &QFutureWatcher<Divergences>::finished, this, [this] {
        const Divergences d = m_analysis.result();
        m_analyze->setEnabled(m_a && m_b);
        if (!d.error.isEmpty()) {
            m_status->setText(d.error);
            emit errorOccurred(d.error);
            return;
        }
        using Series = DivergenceChart::Series;
        Series aQdq{tr("A: qdq"), {}}, bQdq{tr("B: qdq"), {}};
        Series aInt8{tr("A: int8"), {}}, bInt8{tr("B: int8"), {}};
        const auto fill = [](const qdq::AnalysisReport &r, Series &qdqSeries, Series &int8Series) {
            for (const qdq::LayerAnalysis &l : r.layers) {
                qdqSeries.values.push_back(l.qdqCumulative ? l.qdqCumulative->sqnrDb : std::nullopt);
                int8Series.values.push_back(l.int8Cumulative ? l.int8Cumulative->sqnrDb : std::nullopt);
            }
        };
        m_divA = d.a;
        m_divB = d.b;
        fill(*d.a, aQdq, aInt8);
        fill(*d.b, bQdq, bInt8);
        m_divergence->setSeries(tr("Layer output SQNR against FP32, A and B (higher is better)"), tr("SQNR (dB)"),
                                {aQdq, bQdq, aInt8, bInt8}, std::nullopt);
        m_divergence->setVisible(true);
        m_status->setText(tr("Per-layer divergence of A and B on %1 samples each.").arg(d.a->samples));
        emit divergenceReady();
    });

    connect(m_open, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getOpenFileName(
            this, tr("Open Checkpoint or Q/DQ ONNX B"), QString(),
            tr("Checkpoints and ONNX (*.safetensors *.bin *.pt *.pth *.zip *.json *.onnx);;All files (*)"));
        if (!path.isEmpty())
            openB(path);
    });
    connect(m_load, &LoadJob::loaded, this, [this](const LoadedModel &model) {
        m_b = model.checkpoint;
        compare();
    });
    connect(m_load, &LoadJob::failed, this, [this](const QString &message) {
        m_status->setText(message);
        emit errorOccurred(message);
    });
    connect(&m_watcher, &QFutureWatcher<std::shared_ptr<const qdq::CheckpointComparison>>::finished, this, [this] {
        const auto result = m_watcher.result();
        m_quantizers->setComparison(result);
        m_tensors->setComparison(result);
        int moved = 0;
        for (const auto &q : result->quantizers)
            if (const auto r = q.ratio(); r && std::fabs(std::log2(*r)) > 0.5)
                ++moved;
        m_status->setText(tr("A: %1 · B: %2 · %3 quantizers whose amax moved by more than 1.4×")
                              .arg(QFileInfo(QString::fromStdString(m_a->source.string())).fileName(),
                                   QFileInfo(QString::fromStdString(m_b->source.string())).fileName())
                              .arg(moved));
        emit compared();
    });
}

void CompareView::setCheckpointA(std::shared_ptr<const qdq::Checkpoint> a)
{
    m_a = std::move(a);
    if (m_b)
        compare();
}

void CompareView::openB(const QString &path)
{
    m_status->setText(tr("Loading %1…").arg(path));
    if (!path.endsWith(QLatin1String(".onnx"), Qt::CaseInsensitive)) {
        m_load->start(path);
        return;
    }
    // a Q/DQ ONNX file: its scales become B's amax over A's weights (design.md, Compare view)
    if (!m_a) {
        m_status->setText(tr("Open a checkpoint before comparing it with an ONNX file."));
        return;
    }
    auto *watcher = new QFutureWatcher<std::shared_ptr<const qdq::Checkpoint>>(this);
    auto error = std::make_shared<QString>();
    connect(watcher, &QFutureWatcher<std::shared_ptr<const qdq::Checkpoint>>::finished, this, [this, watcher, error] {
        const auto b = watcher->result();
        watcher->deleteLater();
        if (!b) {
            m_status->setText(*error);
            emit errorOccurred(*error);
            return;
        }
        m_b = b;
        compare();
    });
    watcher->setFuture(QtConcurrent::run([a = m_a, file = path.toStdString(),
                                          error]() -> std::shared_ptr<const qdq::Checkpoint> {
        try {
            return std::make_shared<const qdq::Checkpoint>(qdq::checkpointWithOnnxAmax(*a, qdq::importOnnxAmax(file)));
        } catch (const std::exception &e) {
            *error = QString::fromStdString(e.what());
            return nullptr;
        }
    }));
}

void CompareView::analyzeBoth(const QString &dataFile, int samples)
{
    if (!m_a || !m_b || m_analysis.isRunning())
        return;
    m_analyze->setEnabled(false);
    m_status->setText(tr("Analysing A and B…"));
    const AppSettings settings;
    m_analysis.setFuture(QtConcurrent::run([a = m_a, b = m_b, file = dataFile.toStdString(), samples,
                                            profile = settings.profile(), bins = settings.histogramBins()] {
        Divergences d;
        try {
            qdq::applyNumThreads();
            const auto examples = qdq::selectExamples(qdq::readCalibrationData(file), samples);
            qdq::AnalysisOptions options; // both precisions, cumulative errors only
            options.local = false;
            options.attention = false;
            options.numBins = bins;
            options.quant = qdq::QuantConfig::fromCheckpoint(*a, profile);
            const qdq::Tokenizer tokenizerA = qdq::tokenizerForCheckpoint(*a);
            d.a = std::make_shared<const qdq::AnalysisReport>(
                qdq::analyzeQuantization(*a, examples, tokenizerA, options));
            options.quant = qdq::QuantConfig::fromCheckpoint(*b, profile);
            // B without tokenizer files (a bare weights file, an ONNX's amax over A) reads A's
            if (b->tokenizerFiles.empty()) {
                d.b = std::make_shared<const qdq::AnalysisReport>(
                    qdq::analyzeQuantization(*b, examples, tokenizerA, options));
            } else {
                d.b = std::make_shared<const qdq::AnalysisReport>(
                    qdq::analyzeQuantization(*b, examples, qdq::tokenizerForCheckpoint(*b), options));
            }
        } catch (const std::exception &e) {
            d.error = QString::fromStdString(e.what());
        }
        return d;
    }));
}

void CompareView::compare()
{
    if (!m_a || !m_b)
        return;
    m_analyze->setEnabled(true);
    m_status->setText(tr("Comparing…"));
    m_watcher.setFuture(QtConcurrent::run([a = m_a, b = m_b] {
        return std::make_shared<const qdq::CheckpointComparison>(qdq::compareCheckpoints(*a, *b));
    }));
}

} // namespace qdq::ui

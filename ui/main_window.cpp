#include "main_window.h"

#include "analyze_dialog.h"
#include "app_settings.h"
#include "attention_view.h"
#include "calibrate_dialog.h"
#include "compare_view.h"
#include "compute_devices.h"
#include "drop_overlay.h"
#include "filtered_table.h"
#include "guarded_job.h"
#include "histogram_view.h"
#include "inference_worker.h"
#include "layers_view.h"
#include "load_job.h"
#include "playground_widget.h"
#include "quantizer_table_model.h"
#include "quantizers_view.h"
#include "recent_files_model.h"
#include "repair_dialog.h"
#include "sensitivity_view.h"
#include "settings_dialog.h"
#include "tensor_table_model.h"

#include "qdq/io/onnx_export.h"
#include "qdq/text_task.h"

#include "qdq/device.h"
#include "qdq/threading.h"
#include "qdq/version.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QKeySequence>
#include <QLabel>
#include <QListView>
#include <QLocale>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QStatusBar>
#include <QTabWidget>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>
#include <QtConcurrent>

#include <algorithm>

#include <unistd.h>

namespace qdq::ui {

namespace {

// The first local file or folder among the dragged URLs, or an empty string.
QStringList localPathsFromMime(const QMimeData *mime)
{
    QStringList out;
    if (!mime || !mime->hasUrls())
        return out;
    for (const QUrl &url : mime->urls())
        if (url.isLocalFile())
            out << url.toLocalFile();
    return out;
}

} // namespace

MainWindow::MainWindow(QWidget *parent) : QMainWindow(parent)
{
    setObjectName("mainWindow");
    setWindowTitle(tr("QDQ Inspector"));
    setWindowIcon(QIcon(":/qdq/icons/qdq-inspector.svg"));
    setAcceptDrops(true);

    m_recent = new RecentFilesModel(this);
    m_tensorModel = new TensorTableModel(this);
    m_quantizers = new QuantizersView(this);
    m_quantizers->hide(); // until it is a tab (the first model loaded): no stray filter field to tab into
    m_loadJob = new LoadJob(this);
    connect(m_loadJob, &LoadJob::loaded, this, &MainWindow::onLoaded);
    connect(m_loadJob, &LoadJob::failed, this, &MainWindow::onLoadFailed);
    connect(m_loadJob, &LoadJob::cancelled, this,
            [this] { onLoadFailed(tr("Loading “%1” was cancelled.").arg(m_loadJob->path())); });
    m_tabs = new QTabWidget(this);
    m_tabs->setObjectName("centralTabs");
    m_tabs->setDocumentMode(true);
    m_tabs->addTab(createStartPage(), tr("Start"));
    setCentralWidget(m_tabs);

    m_worker = new InferenceWorker(this);
    m_playground = new PlaygroundWidget(this);
    m_playground->setWorker(m_worker);
    m_playgroundDock = new QDockWidget(tr("Playground"), this);
    m_playgroundDock->setObjectName("playgroundDock");
    m_playgroundDock->setWidget(m_playground);
    addDockWidget(Qt::RightDockWidgetArea, m_playgroundDock);
    m_attention = new AttentionView(this);
    connect(m_playground, &PlaygroundWidget::resultReady, m_attention, &AttentionView::setResult);
    m_compare = new CompareView(this);
    m_histogram = new HistogramView(this);
    m_layers = new LayersView(this);
    connect(m_layers, &LayersView::layerClicked, this, [this](int layer) {
        // a click on a layer shows that layer's quantizers
        m_quantizers->setLayerFilter(layer);
        showView(QStringLiteral("quantizers"));
    });
    connect(m_quantizers, &QuantizersView::siteSelected, m_histogram, &HistogramView::showSite);
    connect(m_histogram, &HistogramView::amaxDragged, m_quantizers, &QuantizersView::overrideAmax);
    connect(m_histogram, &HistogramView::siteChosen, this, [this](const qdq::QuantizerSite &site) {
        if (!m_quantizers->selectSite(site)) // the Quantizers view follows (and shows the histogram) ...
            return;
        if (m_histogram->site() != site) // ... unless its filter hides the row
            m_histogram->showSite(site, m_quantizers->amaxInUse(site));
    });
    // what-if: quantizer edits re-run the playground's current input with the new settings
    connect(quantizerModel(), &QuantizerTableModel::quantConfigChanged, this, [this](const qdq::QuantConfig &config) {
        m_worker->setQuantConfig(config);
        m_sensitivity->setQuantConfig(config);
        m_playground->runNow();
    });
    // Sensitivity view: Keep FP32 is the Quantizers view's enabled box, cleared
    m_sensitivity = new SensitivityView(this);
    // the views become tabs with the first model; until then no stray child at the window's corner
    for (QWidget *view : std::initializer_list<QWidget *>{m_attention, m_compare, m_histogram, m_layers, m_sensitivity})
        view->hide();
    connect(m_sensitivity, &SensitivityView::keepFp32Toggled, m_quantizers, &QuantizersView::keepFp32);
    connect(m_sensitivity, &SensitivityView::openRequested, this, [this](const QString &folder) { openPath(folder); });
    connect(m_layers, &LayersView::firstDivergenceActivated, this, [this](int layer) {
        m_sensitivity->showLayer(layer);
        showView(QStringLiteral("sensitivity"));
    });

    createActions();
    createStatusBar();
    m_dropOverlay = new DropOverlay(this);

    AppSettings settings;
    if (!restoreGeometry(settings.windowGeometry()))
        resize(1200, 780);
    if (!restoreState(settings.windowState()))
        resizeDocks({m_playgroundDock}, {385}, Qt::Horizontal); // room for the tables' columns
    setNumThreads(settings.threads());
    connect(m_playground, &PlaygroundWidget::comparisonChanged, this, &MainWindow::updateStatus);
    applySettings();
}

MainWindow::~MainWindow() = default;

QWidget *MainWindow::createStartPage()
{
    auto *page = new QWidget;
    page->setObjectName("startPage");
    auto *layout = new QVBoxLayout(page);
    layout->setContentsMargins(48, 40, 48, 40);
    layout->setSpacing(14);

    auto *title = new QLabel(tr("<h1>QDQ Inspector</h1>"));
    auto *intro =
        new QLabel(tr("Open a BERT or QDQBERT checkpoint — a Hugging Face folder, a <tt>.safetensors</tt> or "
                      "<tt>.bin</tt> file, or a <tt>.zip</tt> of them — to compare FP32, fake-quant and INT8 "
                      "numerics quantizer by quantizer.<br><br>Use <b>File ▸ Open</b> (%1) or drop a file or folder "
                      "anywhere on this window.")
                       .arg(QKeySequence(QKeySequence::Open).toString(QKeySequence::NativeText)));
    intro->setWordWrap(true);
    intro->setTextFormat(Qt::RichText);

    auto *recentTitle = new QLabel(tr("<b>Recent checkpoints</b>"));
    auto *recentList = new QListView;
    recentList->setObjectName("recentList");
    recentList->setModel(m_recent);
    recentList->setEditTriggers(QAbstractItemView::NoEditTriggers);
    recentList->setMaximumHeight(220);
    recentList->setTextElideMode(Qt::ElideMiddle); // the name and the end of its folder stay readable
    connect(recentList, &QListView::activated, this,
            [this](const QModelIndex &index) { openPath(m_recent->pathAt(index.row())); });

    layout->addWidget(title);
    layout->addWidget(intro);
    layout->addSpacing(12);
    layout->addWidget(recentTitle);
    layout->addWidget(recentList);
    layout->addStretch(1);
    return page;
}

void MainWindow::createActions()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    QAction *open = file->addAction(tr("&Open Checkpoint…"), this, &MainWindow::showOpenFileDialog);
    open->setShortcut(QKeySequence::Open);
    open->setObjectName("actionOpen");
    QAction *openFolder = file->addAction(tr("Open &Folder…"), this, &MainWindow::showOpenFolderDialog);
    openFolder->setShortcut(QKeySequence(tr("Ctrl+Shift+O")));
    m_recentMenu = file->addMenu(tr("Open &Recent"));
    QMenu *exportMenu = file->addMenu(tr("&Export"));
    QAction *exportOnnxAction =
        exportMenu->addAction(tr("Q/DQ &ONNX for TensorRT…"), this, &MainWindow::showExportOnnx);
    exportOnnxAction->setObjectName("actionExportOnnx");
    exportMenu->addAction(tr("&Calibrated Checkpoint…"), this, &MainWindow::showCalibrate);
    QAction *exportReportAction =
        exportMenu->addAction(tr("&Report (HTML, PDF, JSON, CSV, zip)…"), this, &MainWindow::showExportReport);
    exportReportAction->setObjectName("actionExportReport");
    exportReportAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    QAction *importScales = file->addAction(tr("&Import Scales from ONNX…"), this, &MainWindow::showImportScales);
    importScales->setObjectName("actionImportScales");
    m_recentMenu->setObjectName("menuRecent");
    connect(m_recent, &QAbstractItemModel::modelReset, this, &MainWindow::rebuildRecentMenu);
    rebuildRecentMenu();
    file->addSeparator();
    QAction *quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    QMenu *tools = menuBar()->addMenu(tr("&Tools"));
    QAction *calibrate = tools->addAction(tr("&Calibrate…"), this, &MainWindow::showCalibrate);
    calibrate->setObjectName("actionCalibrate");
    calibrate->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_K));
    QAction *analyze = tools->addAction(tr("&Analyze…"), this, &MainWindow::showAnalyze);
    analyze->setObjectName("actionAnalyze");
    analyze->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_L));
    QAction *repair = tools->addAction(tr("&Repair…"), this, &MainWindow::showRepair);
    repair->setObjectName("actionRepair");
    QAction *settingsAction = tools->addAction(tr("&Settings…"), this, &MainWindow::showSettings);
    settingsAction->setShortcut(QKeySequence::Preferences);
    settingsAction->setObjectName("actionSettings");

    QMenu *view = menuBar()->addMenu(tr("&View"));
    for (QDockWidget *dock : findChildren<QDockWidget *>())
        view->addAction(dock->toggleViewAction());

    QMenu *help = menuBar()->addMenu(tr("&Help"));
    QAction *keys = help->addAction(tr("&Keyboard Shortcuts"), this, &MainWindow::showShortcuts);
    keys->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Slash));
    QAction *about = help->addAction(tr("&About QDQ Inspector"), this, &MainWindow::showAbout);
    about->setObjectName("actionAbout");
    help->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt);
}

void MainWindow::rebuildRecentMenu()
{
    m_recentMenu->clear();
    for (int row = 0; row < m_recent->rowCount(); ++row) {
        const QString path = m_recent->pathAt(row);
        QAction *a = m_recentMenu->addAction(
            QStringLiteral("&%1 %2").arg(row + 1).arg(m_recent->index(row).data().toString().replace('&', "&&")));
        a->setToolTip(path);
        a->setStatusTip(path);
        connect(a, &QAction::triggered, this, [this, path] { openPath(path); });
    }
    if (m_recent->rowCount() > 0) {
        m_recentMenu->addSeparator();
        m_recentMenu->addAction(tr("Clear Recent"), m_recent, &RecentFilesModel::clear);
    }
    m_recentMenu->setEnabled(m_recent->rowCount() > 0);
}

void MainWindow::createStatusBar()
{
    m_statusModel = new QLabel(this);
    m_statusDevice = new QLabel(this);
    m_statusDevice->setObjectName("statusDevice");
    m_statusPrecision = new QLabel(this);
    m_statusPrecision->setObjectName("statusPrecision");
    m_statusPrecision->setToolTip(tr("What the playground runs beside FP32 (Settings: default precision)"));
    m_statusProfile = new QLabel(this);
    m_statusProfile->setObjectName("statusProfile");
    m_statusProfile->setToolTip(
        tr("pytorch-quantization version profile of every run, analysis, calibration and export (Settings)"));
    m_statusThreads = new QLabel(this);
    m_statusMemory = new QLabel(this);
    m_statusMemory->setObjectName("statusMemory");
    auto *memoryTimer = new QTimer(this);
    connect(memoryTimer, &QTimer::timeout, this, &MainWindow::updateMemory);
    memoryTimer->start(2000);
    m_progress = new QProgressBar(this);
    m_progress->setObjectName("loadProgress");
    m_progress->setMaximumWidth(220);
    m_progress->setTextVisible(true);
    m_progress->hide();
    m_cancel = new QToolButton(this);
    m_cancel->setObjectName("cancelJob");
    m_cancel->setText(tr("Cancel"));
    m_cancel->setToolTip(tr("Cancel loading"));
    m_cancel->hide();
    connect(m_cancel, &QToolButton::clicked, this, [this] {
        if (m_exportProgress)
            cancelExport();
        else
            cancelLoading();
    });
    connect(m_loadJob, &LoadJob::progressChanged, this, [this](const QString &stage, int percent) {
        m_progress->setRange(0, percent < 0 ? 0 : 100);
        m_progress->setValue(std::max(percent, 0));
        m_progress->setFormat(stage + QStringLiteral(" %p%"));
    });
    statusBar()->addPermanentWidget(m_statusModel);
    statusBar()->addPermanentWidget(m_progress);
    statusBar()->addPermanentWidget(m_cancel);
    statusBar()->addPermanentWidget(m_statusDevice);
    statusBar()->addPermanentWidget(m_statusPrecision);
    statusBar()->addPermanentWidget(m_statusProfile);
    statusBar()->addPermanentWidget(m_statusThreads);
    statusBar()->addPermanentWidget(m_statusMemory);
}

void MainWindow::updateStatus()
{
    m_statusModel->setText(m_currentPath.isEmpty() ? tr("No model") : QFileInfo(m_currentPath).fileName());
    m_statusModel->setToolTip(m_currentPath);
    const AppSettings settings;
    const ComputeDevice device = computeDevice(settings.device());
    m_statusDevice->setText(device.memory.isEmpty() ? tr("Device: %1").arg(device.label)
                                                    : tr("Device: %1 (%2)").arg(device.label, device.memory));
    m_statusPrecision->setText(
        tr("Precision: %1").arg(QString::fromLatin1(qdq::precisionName(m_playground->comparison())).toUpper()));
    m_statusProfile->setText(tr("Profile: %1").arg(QString::fromLatin1(qdq::versionProfileName(settings.profile()))));
    m_statusThreads->setText(tr("Threads: %1").arg(numThreads()));
    updateMemory();
}

void MainWindow::updateMemory()
{
    // resident set size from /proc/self/statm (pages)
    QFile statm(QStringLiteral("/proc/self/statm"));
    if (!statm.open(QIODevice::ReadOnly))
        return;
    const QList<QByteArray> fields = statm.readAll().split(' ');
    if (fields.size() < 2)
        return;
    const qint64 bytes = fields[1].toLongLong() * static_cast<qint64>(sysconf(_SC_PAGESIZE));
    m_statusMemory->setText(tr("Memory: %1").arg(QLocale().formattedDataSize(bytes)));
}

void MainWindow::showCalibrate()
{
    if (!m_checkpoint) {
        reportError(tr("Open a checkpoint first: calibration runs its model over your data."));
        return;
    }
    auto *dialog = new CalibrateDialog(m_checkpoint, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &CalibrateDialog::calibrated, this, [this](const QString &folder) { openPath(folder); });
    dialog->open();
}

void MainWindow::showExportOnnx()
{
    if (!m_checkpoint) {
        reportError(tr("Open a checkpoint first."));
        return;
    }
    const QFileInfo source(QString::fromStdString(m_checkpoint->source.string()));
    const QString path = QFileDialog::getSaveFileName(this, tr("Export Q/DQ ONNX"),
                                                      source.absolutePath() + "/" + source.completeBaseName() + ".onnx",
                                                      tr("ONNX models (*.onnx)"));
    if (!path.isEmpty())
        exportOnnx(path);
}

void MainWindow::exportOnnx(const QString &path)
{
    if (!m_checkpoint)
        return;
    if (m_exportProgress) {
        statusBar()->showMessage(tr("An ONNX export is already running; wait for it or cancel it first."), 8000);
        return;
    }
    qdq::OnnxExportOptions options;
    options.task = m_playground->task();
    setBusy(true);
    m_progress->setFormat(tr("exporting ONNX"));
    m_cancel->setToolTip(tr("Cancel the export"));
    m_exportProgress = std::make_shared<qdq::Progress>();
    auto *watcher = new QFutureWatcher<JobEnd>(this);
    connect(watcher, &QFutureWatcher<JobEnd>::finished, this, [this, watcher, path] {
        setBusy(false);
        m_exportProgress.reset();
        m_cancel->setToolTip(tr("Cancel loading"));
        const JobEnd outcome = watcher->result();
        watcher->deleteLater();
        if (outcome.cancelled) {
            statusBar()->showMessage(tr("Export cancelled; “%1” was not written").arg(path), 8000);
            emit exportCancelled(path);
            return;
        }
        if (!outcome.error.isEmpty()) {
            reportError(tr("Export to “%1” failed: %2").arg(path, outcome.error));
            return;
        }
        statusBar()->showMessage(tr("Exported %1").arg(path), 8000);
        emit exported(path);
    });
    watcher->setFuture(QtConcurrent::run([ck = m_checkpoint, config = quantizerModel()->quantConfig(), options,
                                          file = path.toStdString(), progress = m_exportProgress] {
        return runGuarded([&] { (void)qdq::exportOnnx(*ck, config, options, file, progress.get()); });
    }));
}

void MainWindow::cancelExport()
{
    if (m_exportProgress)
        m_exportProgress->cancel();
}

AnalyzeDialog *MainWindow::showAnalyze()
{
    if (!m_checkpoint) {
        reportError(tr("Open a checkpoint first: the analysis runs its model over your data."));
        return nullptr;
    }
    auto *dialog = new AnalyzeDialog(m_checkpoint, quantizerModel()->quantConfig(), m_playground->task(), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &AnalyzeDialog::analyzed, this, [this](std::shared_ptr<const qdq::AnalysisReport> report) {
        applyAnalysis(std::move(report));
        showView(QStringLiteral("layers"));
    });
    dialog->open();
    return dialog;
}

RepairDialog *MainWindow::showRepair()
{
    if (!m_checkpoint) {
        reportError(tr("Open a checkpoint first: the repair runs its model over your data."));
        return nullptr;
    }
    auto *dialog = new RepairDialog(m_checkpoint, quantizerModel()->quantConfig(), m_playground->task(), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &RepairDialog::repaired, this,
            [this](std::shared_ptr<const qdq::RepairResult> result, const QString &folder) {
                m_sensitivity->setRepair(std::move(result), folder);
                showView(QStringLiteral("sensitivity"));
                statusBar()->showMessage(tr("Repaired checkpoint written to %1").arg(folder), 8000);
                emit exported(folder);
            });
    dialog->open();
    return dialog;
}

ImportScalesDialog *MainWindow::showImportScales()
{
    if (!m_checkpoint) {
        reportError(tr("Open a checkpoint first: the scales are written into a copy of it."));
        return nullptr;
    }
    auto *dialog = new ImportScalesDialog(m_checkpoint, quantizerModel()->quantConfig().profile(), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &ImportScalesDialog::imported, this, [this](const QString &folder, const QString &summary) {
        statusBar()->showMessage(tr("%1; written to %2").arg(summary, folder), 8000);
        emit exported(folder);
    });
    dialog->open();
    return dialog;
}

void MainWindow::applyAnalysis(std::shared_ptr<const qdq::AnalysisReport> report)
{
    m_sensitivity->setAnalysis(report);
    quantizerModel()->setAnalysis(report);
    m_histogram->setAnalysis(report);
    m_layers->setReport(std::move(report));
}

AnalyzeDialog *MainWindow::showExportReport()
{
    if (!m_checkpoint) {
        reportError(tr("Open a checkpoint first: the report analyses its model over your data."));
        return nullptr;
    }
    auto *dialog = new AnalyzeDialog(m_checkpoint, quantizerModel()->quantConfig(), m_playground->task(), this,
                                     AnalyzeDialog::Mode::Report);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &AnalyzeDialog::analyzed, this,
            [this](std::shared_ptr<const qdq::AnalysisReport> report) { applyAnalysis(std::move(report)); });
    connect(dialog, &AnalyzeDialog::reportWritten, this, [this](const QStringList &files) {
        if (files.isEmpty())
            return;
        const QString folder = QFileInfo(files.front()).absolutePath();
        statusBar()->showMessage(tr("Report written to %1 (%2 files)").arg(folder).arg(files.size()), 8000);
        emit exported(folder);
    });
    dialog->open();
    return dialog;
}

SettingsDialog *MainWindow::showSettings()
{
    auto *dialog = new SettingsDialog(this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &SettingsDialog::saved, this, &MainWindow::applySettings);
    dialog->open();
    return dialog;
}

void MainWindow::applySettings()
{
    const AppSettings settings;
    // the default precision selects the playground's comparison when it changes; a choice made
    // in the playground's Compare box stands until then
    if (settings.defaultPrecision() != m_appliedPrecision) {
        m_appliedPrecision = settings.defaultPrecision();
        m_playground->selectComparison(QString::fromLatin1(qdq::precisionName(settings.precision())));
    }
    m_worker->setDevice(computeDevice(settings.device()).device);
    // the quantizer configuration carries the profile to the playground (quantConfigChanged),
    // Analyze, reports and the ONNX export
    quantizerModel()->setProfile(settings.profile());
    updateStatus();
}

void MainWindow::showShortcuts()
{
    QString html = tr("<table cellpadding=3><tr><th align=left>Action</th><th align=left>Shortcut</th></tr>");
    for (const QAction *a : findChildren<QAction *>()) {
        if (a->shortcut().isEmpty() || a->text().isEmpty())
            continue;
        html += QStringLiteral("<tr><td>%1</td><td>%2</td></tr>")
                    .arg(QString(a->text()).remove('&').toHtmlEscaped(),
                         a->shortcut().toString(QKeySequence::NativeText).toHtmlEscaped());
    }
    html += tr("</table><p>Drop a checkpoint file, folder or zip anywhere on the window to open it.</p>");
    QMessageBox box(this);
    box.setObjectName("shortcutsBox");
    box.setWindowTitle(tr("Keyboard Shortcuts"));
    box.setTextFormat(Qt::RichText);
    box.setText(html);
    if (m_interactive)
        box.exec();
}

bool MainWindow::openPath(const QString &path)
{
    const QFileInfo info(path);
    if (path.isEmpty() || !info.exists()) {
        reportError(tr("Cannot open “%1”: no such file or folder.").arg(path));
        m_recent->remove(path);
        return false;
    }
    if (!info.isReadable()) {
        reportError(tr("Cannot open “%1”: permission denied.").arg(path));
        return false;
    }
    const QString absolute = info.absoluteFilePath();
    setBusy(true);
    statusBar()->showMessage(tr("Loading %1…").arg(info.fileName()));
    m_loadJob->start(absolute);
    emit pathOpened(absolute);
    return true;
}

void MainWindow::cancelLoading()
{
    m_loadJob->cancel();
}

QuantizerTableModel *MainWindow::quantizerModel() const
{
    return m_quantizers->model();
}

void MainWindow::selectQuantizer(int row)
{
    m_quantizers->selectRow(row);
}

bool MainWindow::isLoading() const
{
    return m_loadJob->isRunning();
}

void MainWindow::setBusy(bool busy)
{
    m_progress->setVisible(busy);
    m_cancel->setVisible(busy);
    if (busy) {
        m_progress->setRange(0, 0);
        m_progress->setFormat(tr("loading"));
    }
}

void MainWindow::onLoaded(const LoadedModel &model)
{
    setBusy(false);
    m_checkpoint = model.checkpoint;
    m_worker->setModel(model.checkpoint, model.tokenizer);
    m_playground->setTasks(qdq::availableTasks(*model.checkpoint));
    m_playground->selectTask(qdq::defaultTask(*model.checkpoint)); // config.json's architectures first
    m_playground->setTokenizer(model.tokenizer, model.tokenizerProblem);
    m_currentPath = m_loadJob->path();
    m_recent->add(m_currentPath);
    m_tensorModel->setCheckpoint(m_checkpoint);
    quantizerModel()->setCheckpoint(m_checkpoint);
    m_worker->setQuantConfig(quantizerModel()->quantConfig()); // with the Settings' profile
    applyAnalysis(nullptr); // an analysis of the previous model does not describe this one
    m_histogram->setCalibration(model.calibration, model.calibrationProblem);
    const QFileInfo info(m_currentPath);
    setWindowFilePath(m_currentPath);
    setWindowTitle(tr("%1 — QDQ Inspector").arg(info.fileName()));
    statusBar()->showMessage(tr("Loaded %1: %2 tensors, %3 of %4 quantizers calibrated")
                                 .arg(info.fileName())
                                 .arg(m_checkpoint->tensors.size())
                                 .arg(m_checkpoint->calibratedQuantizers())
                                 .arg(m_checkpoint->quantizers.size()),
                             8000);
    if (m_tabs->count() == 1) {
        m_tabs->addTab(m_quantizers, tr("Quantizers"));
        auto *tensors = new QWidget;
        addFilteredTable(tensors, m_tensorModel, TensorTableModel::SortRole, TensorTableModel::Name,
                         TensorTableModel::Name, tr("Filter tensors (e.g. layer.3 or _amax)"),
                         QStringLiteral("tensorTable"));
        m_tabs->addTab(tensors, tr("Tensors"));
        m_tabs->addTab(m_histogram, tr("Histogram"));
        m_tabs->addTab(m_layers, tr("Layers"));
        m_tabs->addTab(m_attention, tr("Attention"));
        m_tabs->addTab(m_sensitivity, tr("Sensitivity"));
        m_tabs->addTab(m_compare, tr("Compare"));
    }
    m_compare->setCheckpointA(m_checkpoint);
    if (quantizerModel()->rowCount() > 0)
        selectQuantizer(0); // the histogram view opens on the first quantizer
    showView(QStringLiteral("quantizers"));
    updateStatus();
    emit checkpointLoaded(m_currentPath);
}

void MainWindow::onLoadFailed(const QString &message)
{
    setBusy(false);
    statusBar()->clearMessage();
    reportError(message);
}

QStringList MainWindow::viewNames() const
{
    QStringList names;
    for (int i = 0; i < m_tabs->count(); ++i)
        names << m_tabs->tabText(i).remove('&').toLower();
    names << QStringLiteral("playground");
    return names;
}

bool MainWindow::showView(const QString &name)
{
    if (name.compare(QLatin1String("playground"), Qt::CaseInsensitive) == 0) {
        m_playgroundDock->show();
        m_playgroundDock->raise();
        return true;
    }
    const int index = static_cast<int>(viewNames().indexOf(name.toLower()));
    if (index < 0 || index >= m_tabs->count())
        return false;
    m_tabs->setCurrentIndex(index);
    return true;
}

void MainWindow::showOpenFileDialog()
{
    const QString path =
        QFileDialog::getOpenFileName(this, tr("Open Checkpoint"), QString(),
                                     tr("Checkpoints (*.safetensors *.bin *.pt *.pth *.zip *.json);;All files (*)"));
    if (!path.isEmpty())
        openPath(path);
}

void MainWindow::showOpenFolderDialog()
{
    const QString path = QFileDialog::getExistingDirectory(this, tr("Open Hugging Face Folder"));
    if (!path.isEmpty())
        openPath(path);
}

void MainWindow::showAbout()
{
    const CudaStatus cuda = cudaStatus();
    QMessageBox box(this);
    box.setObjectName("aboutBox");
    box.setWindowTitle(tr("About QDQ Inspector"));
    box.setIconPixmap(QIcon(":/qdq/icons/qdq-inspector.svg").pixmap(64, 64));
    box.setText(tr("<h3>QDQ Inspector %1</h3>"
                   "<p>Find where INT8 quantization of BERT loses accuracy: FP32, fake-quant (matches "
                   "pytorch-quantization 2.1.x / 2.2.x, see docs/numerics.md) and real INT8, quantizer by "
                   "quantizer.</p>")
                    .arg(QString::fromLatin1(versionString())));
    box.setInformativeText(tr("Qt %1 · %2 · %3 CPU threads<br>CUDA: %4")
                               .arg(QString::fromLatin1(qVersion()))
                               .arg(QString::fromStdString(buildSummary()).section('\n', 1, 1))
                               .arg(numThreads())
                               .arg(QString::fromStdString(cuda.message)));
    box.exec();
}

void MainWindow::reportError(const QString &message)
{
    statusBar()->showMessage(message, 8000);
    emit errorOccurred(message);
    if (m_interactive)
        QMessageBox::warning(this, tr("QDQ Inspector"), message);
}

bool MainWindow::isDropHighlighted() const
{
    return m_dropOverlay->isVisible();
}

void MainWindow::dragEnterEvent(QDragEnterEvent *event)
{
    if (!localPathsFromMime(event->mimeData()).isEmpty()) {
        event->acceptProposedAction();
        m_dropOverlay->setGeometry(rect());
        m_dropOverlay->raise();
        m_dropOverlay->show();
    } else {
        event->ignore();
    }
}

void MainWindow::dragMoveEvent(QDragMoveEvent *event)
{
    if (!localPathsFromMime(event->mimeData()).isEmpty())
        event->acceptProposedAction();
}

void MainWindow::dragLeaveEvent(QDragLeaveEvent *event)
{
    m_dropOverlay->hide();
    QMainWindow::dragLeaveEvent(event);
}

void MainWindow::dropEvent(QDropEvent *event)
{
    m_dropOverlay->hide();
    const QStringList paths = localPathsFromMime(event->mimeData());
    if (paths.isEmpty()) {
        event->ignore();
        return;
    }
    event->acceptProposedAction();
    openPath(paths.first());
    if (paths.size() > 1) {
        // one model at a time: the first item opens, the others are named, none is opened
        QStringList names;
        for (qsizetype i = 1; i < std::min<qsizetype>(paths.size(), 4); ++i)
            names << QFileInfo(paths[i]).fileName();
        if (paths.size() > 4)
            names << QStringLiteral("…");
        const auto others = static_cast<int>(paths.size() - 1);
        const QString first = QFileInfo(paths.first()).fileName();
        const QString list = names.join(QStringLiteral(", "));
        statusBar()->showMessage(
            others == 1 ? tr("Opening %1; 1 other dropped item not opened (one model at a time): %2").arg(first, list)
                        : tr("Opening %1; %2 other dropped items not opened (one model at a time): %3")
                              .arg(first, QString::number(others), list));
    }
}

void MainWindow::resizeEvent(QResizeEvent *event)
{
    QMainWindow::resizeEvent(event);
    if (m_dropOverlay)
        m_dropOverlay->setGeometry(rect());
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    AppSettings settings;
    settings.setWindowGeometry(saveGeometry());
    settings.setWindowState(saveState());
    event->accept();
}

} // namespace qdq::ui

#pragma once
// The main window: menus, the central tab area, the status bar, and the one entry point
// for opening checkpoints, openPath(), used by File ▸ Open, Open Recent, the command line and
// drag-and-drop alike (style.md: "one way to open a file").

#include "qdq/analysis.h"
#include "qdq/checkpoint.h"
#include "qdq/progress.h"

#include <QMainWindow>

#include <memory>

class QLabel;
class QDockWidget;
class QMenu;
class QProgressBar;
class QTabWidget;
class QToolButton;

namespace qdq::ui {

class AnalyzeDialog;
class SettingsDialog;

class AttentionView;
class CompareView;
class HistogramView;
class LayersView;
class ImportScalesDialog;
class RepairDialog;
class SensitivityView;
class DropOverlay;
class InferenceWorker;
class LoadJob;
class PlaygroundWidget;
struct LoadedModel;
class RecentFilesModel;
class QuantizerTableModel;
class QuantizersView;
class TensorTableModel;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget *parent = nullptr);
    ~MainWindow() override;

    // When false, errors are reported through errorOccurred() only, without a modal
    // dialog (for tests and --screenshot runs).
    void setInteractive(bool interactive) { m_interactive = interactive; }
    [[nodiscard]] RecentFilesModel *recentFiles() const { return m_recent; }
    [[nodiscard]] QTabWidget *tabs() const { return m_tabs; }
    [[nodiscard]] bool isDropHighlighted() const;
    [[nodiscard]] bool isLoading() const;
    [[nodiscard]] std::shared_ptr<const qdq::Checkpoint> checkpoint() const { return m_checkpoint; }
    [[nodiscard]] TensorTableModel *tensorModel() const { return m_tensorModel; }
    [[nodiscard]] QuantizerTableModel *quantizerModel() const;
    [[nodiscard]] QuantizersView *quantizersView() const { return m_quantizers; }
    [[nodiscard]] PlaygroundWidget *playground() const { return m_playground; }
    [[nodiscard]] AttentionView *attentionView() const { return m_attention; }
    [[nodiscard]] CompareView *compareView() const { return m_compare; }
    [[nodiscard]] HistogramView *histogramView() const { return m_histogram; }
    [[nodiscard]] LayersView *layersView() const { return m_layers; }
    [[nodiscard]] SensitivityView *sensitivityView() const { return m_sensitivity; }
    // Shows an analysis of the open model: the Layers view and the Quantizers view's clip % / SQNR.
    void applyAnalysis(std::shared_ptr<const qdq::AnalysisReport> report);
    // Selects a row of the Quantizers view (source model row), which drives the histogram.
    void selectQuantizer(int row);
    // Selects the tab whose title (without '&', case-insensitive) is `name`; false if none.
    bool showView(const QString &name);
    [[nodiscard]] QStringList viewNames() const;

public slots:
    // Opens a checkpoint file, folder or zip: checks the path, then loads it on a worker
    // thread (checkpointLoaded or errorOccurred follow). Returns false (and reports why) when
    // the path cannot be opened at all.
    bool openPath(const QString &path);
    void cancelLoading();
    // Cancels a running ONNX export (the status bar's Cancel during an export): the file keeps
    // what it held before, and no temporary file is left.
    void cancelExport();
    void showOpenFileDialog();
    void showOpenFolderDialog();
    void showAbout();
    // Tools ▸ Settings…: the dialog (returned for tests); what it saves applies at once.
    SettingsDialog *showSettings();
    // Applies the saved settings: the playground's quantized precision (when the default changed),
    // the profile of every run, analysis and export, the device, and the status bar.
    void applySettings();
    void showCalibrate();
    // Tools ▸ Analyze… (returned for tests; nullptr without a model).
    AnalyzeDialog *showAnalyze();
    // File ▸ Export ▸ ONNX…: the open model with the playground's head and the Quantizers view's
    // settings (calibration and overrides) as a Q/DQ ONNX file, on a worker thread; the status
    // bar's Cancel stops it (exportCancelled follows).
    void exportOnnx(const QString &path);
    void showExportOnnx();
    // File ▸ Export ▸ Report…: the analysis dialog in report mode (returned for tests; nullptr
    // without a model).
    AnalyzeDialog *showExportReport();
    // Tools ▸ Repair… and File ▸ Import Scales… (returned for tests; nullptr without a model).
    RepairDialog *showRepair();
    ImportScalesDialog *showImportScales();
    void showShortcuts();

signals:
    // A path was accepted by openPath() and is being loaded.
    void pathOpened(const QString &path);
    // The checkpoint at `path` finished loading and is shown.
    void checkpointLoaded(const QString &path);
    // Loading failed or was cancelled (the message says which).
    void errorOccurred(const QString &message);
    // An export finished writing `path`.
    void exported(const QString &path);
    // An ONNX export to `path` was cancelled; nothing was written.
    void exportCancelled(const QString &path);

protected:
    void dragEnterEvent(QDragEnterEvent *event) override;
    void dragMoveEvent(QDragMoveEvent *event) override;
    void dragLeaveEvent(QDragLeaveEvent *event) override;
    void dropEvent(QDropEvent *event) override;
    void closeEvent(QCloseEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;

private:
    void createActions();
    void createStatusBar();
    QWidget *createStartPage();
    void rebuildRecentMenu();
    void reportError(const QString &message);
    void updateStatus();
    void updateMemory();
    void onLoaded(const LoadedModel &model);
    void onLoadFailed(const QString &message);
    void setBusy(bool busy);

    QTabWidget *m_tabs = nullptr;
    RecentFilesModel *m_recent = nullptr;
    QMenu *m_recentMenu = nullptr;
    DropOverlay *m_dropOverlay = nullptr;
    QLabel *m_statusModel = nullptr;
    QLabel *m_statusDevice = nullptr;
    QLabel *m_statusPrecision = nullptr;
    QLabel *m_statusProfile = nullptr;
    QLabel *m_statusThreads = nullptr;
    QLabel *m_statusMemory = nullptr;
    QProgressBar *m_progress = nullptr;
    QToolButton *m_cancel = nullptr;
    std::shared_ptr<qdq::Progress> m_exportProgress; // set while an ONNX export runs
    LoadJob *m_loadJob = nullptr;
    TensorTableModel *m_tensorModel = nullptr;
    QuantizersView *m_quantizers = nullptr;
    PlaygroundWidget *m_playground = nullptr;
    QDockWidget *m_playgroundDock = nullptr;
    InferenceWorker *m_worker = nullptr;
    AttentionView *m_attention = nullptr;
    CompareView *m_compare = nullptr;
    HistogramView *m_histogram = nullptr;
    LayersView *m_layers = nullptr;
    SensitivityView *m_sensitivity = nullptr;
    std::shared_ptr<const qdq::Checkpoint> m_checkpoint;
    QString m_currentPath;
    QString m_appliedPrecision; // the default precision last given to the playground
    bool m_interactive = true;
};

} // namespace qdq::ui

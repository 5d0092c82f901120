#pragma once
// The main window: menus, the central tab area, the status bar, and the one entry point
// for opening checkpoints, openPath(), used by File ▸ Open, Open Recent, the command line and
// drag-and-drop alike (style.md: "one way to open a file").

#include <QMainWindow>
#include <QPointer>

class QLabel;
class QListView;
class QMenu;
class QTabWidget;

namespace qdq::ui {

class DropOverlay;
class RecentFilesModel;

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

public slots:
    // Opens a checkpoint file, folder or zip. Returns false (and reports why) when the path
    // cannot be opened.
    bool openPath(const QString &path);
    void showOpenFileDialog();
    void showOpenFolderDialog();
    void showAbout();

signals:
    // A path was accepted by openPath().
    void pathOpened(const QString &path);
    void errorOccurred(const QString &message);

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

    QTabWidget *m_tabs = nullptr;
    RecentFilesModel *m_recent = nullptr;
    QMenu *m_recentMenu = nullptr;
    DropOverlay *m_dropOverlay = nullptr;
    QLabel *m_statusModel = nullptr;
    QLabel *m_statusDevice = nullptr;
    QLabel *m_statusPrecision = nullptr;
    QLabel *m_statusThreads = nullptr;
    QString m_currentPath;
    bool m_interactive = true;
};

} // namespace qdq::ui

#pragma once
// Rows the job dialogs share (Analyze / Export Report, Calibrate, Repair, Import Scales): a line
// edit with a "Browse…" button, the data-file and output-folder rows, and the Cancel / run
// buttons whose Cancel stops a running job before it closes the dialog.

#include <QString>
#include <QWidget>

#include <functional>

class QDialog;
class QFormLayout;
class QLineEdit;
class QPushButton;

namespace qdq {
struct Checkpoint;
}

namespace qdq::ui {

// `edit` in a row with a Browse… button that calls `browse`; the row owns both.
QWidget *withBrowseButton(QLineEdit *edit, const std::function<void()> &browse);

// A "Data file" row (text, JSONL, CSV/TSV) whose Browse… opens a file dialog titled `title`.
QLineEdit *addDataFileRow(QFormLayout *form, QWidget *dialog, const QString &title);
// An "Output folder" row whose Browse… picks a folder, starting from the field's text.
QLineEdit *addOutputFolderRow(QFormLayout *form, QWidget *dialog, const QString &title,
                              const QString &placeholder = {});
// "<folder of the checkpoint>/<its name>-<suffix>", or empty without a checkpoint.
QString besideCheckpoint(const qdq::Checkpoint *checkpoint, const QString &suffix);
// Cancel and `runText` buttons in the last row. Cancel calls `cancel` while `running()` says a
// job runs, and closes the dialog otherwise. Returns the run button (connect it to the start).
QPushButton *addJobButtons(QFormLayout *form, QDialog *dialog, const QString &runText,
                           const std::function<bool()> &running, const std::function<void()> &cancel);

} // namespace qdq::ui

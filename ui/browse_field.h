#pragma once
// A line edit with a "Browse…" button beside it (dialogs' file and folder fields).

#include <QWidget>

#include <functional>

class QLineEdit;

namespace qdq::ui {

// `edit` in a row with a Browse… button that calls `browse`; the row owns both.
QWidget *withBrowseButton(QLineEdit *edit, const std::function<void()> &browse);

} // namespace qdq::ui

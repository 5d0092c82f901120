#pragma once
// The highlight shown over the window while a file is dragged over it.

#include <QWidget>

namespace qdq::ui {

class DropOverlay : public QWidget {
    Q_OBJECT
public:
    explicit DropOverlay(QWidget *parent);

protected:
    void paintEvent(QPaintEvent *event) override;
};

} // namespace qdq::ui

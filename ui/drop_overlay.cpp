#include "drop_overlay.h"

#include <QPainter>

namespace qdq::ui {

DropOverlay::DropOverlay(QWidget *parent) : QWidget(parent)
{
    setAttribute(Qt::WA_TransparentForMouseEvents);
    setObjectName("dropOverlay");
    hide();
}

void DropOverlay::paintEvent(QPaintEvent *)
{
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    QColor fill = palette().color(QPalette::Highlight);
    fill.setAlpha(48);
    p.fillRect(rect(), fill);
    QPen pen(palette().color(QPalette::Highlight), 3, Qt::DashLine);
    p.setPen(pen);
    p.drawRoundedRect(rect().adjusted(6, 6, -6, -6), 12, 12);
    QFont f = font();
    f.setPointSizeF(f.pointSizeF() * 1.6);
    f.setBold(true);
    p.setFont(f);
    p.setPen(palette().color(QPalette::WindowText));
    p.drawText(rect(), Qt::AlignCenter, tr("Drop to open the checkpoint"));
}

} // namespace qdq::ui

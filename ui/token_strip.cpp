#include "token_strip.h"

#include <QPainter>
#include <QPainterPath>

namespace qdq::ui {

namespace {
constexpr int kPadX = 6;
constexpr int kPadY = 3;
constexpr int kGap = 4;
} // namespace

TokenStrip::TokenStrip(QWidget *parent) : QWidget(parent)
{
    setObjectName("tokenStrip");
    setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Preferred);
}

void TokenStrip::setChips(QVector<Chip> chips)
{
    m_chips = std::move(chips);
    QStringList tips;
    for (const Chip &c : m_chips)
        tips << QStringLiteral("%1=%2").arg(c.text).arg(c.id);
    setToolTip(tips.join(QLatin1Char(' ')));
    updateGeometry();
    update();
}

QVector<QRect> TokenStrip::layoutChips(int width) const
{
    QVector<QRect> rects;
    rects.reserve(m_chips.size());
    const QFontMetrics fm(font());
    const int h = fm.height() + 2 * kPadY;
    int x = 0;
    int y = 0;
    for (const Chip &c : m_chips) {
        const int w = fm.horizontalAdvance(c.text) + 2 * kPadX;
        if (x > 0 && x + w > width) {
            x = 0;
            y += h + kGap;
        }
        rects.push_back(QRect(x, y, w, h));
        x += w + kGap;
    }
    return rects;
}

int TokenStrip::heightForWidth(int width) const
{
    const QVector<QRect> rects = layoutChips(width);
    return rects.isEmpty() ? fontMetrics().height() + 2 * kPadY : rects.back().bottom() + 1;
}

QSize TokenStrip::sizeHint() const
{
    return {400, heightForWidth(400)};
}

void TokenStrip::paintEvent(QPaintEvent *)
{
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const QVector<QRect> rects = layoutChips(width());
    const QPalette pal = palette();
    for (qsizetype i = 0; i < m_chips.size(); ++i) {
        const Chip &c = m_chips[i];
        QColor fill = pal.color(QPalette::AlternateBase);
        QColor text = pal.color(QPalette::Text);
        switch (c.kind) {
        case Chip::Special:
            fill = pal.color(QPalette::Midlight);
            text = pal.color(QPalette::PlaceholderText);
            break;
        case Chip::Unknown:
            fill = QColor(255, 214, 214);
            text = QColor(160, 0, 0);
            break;
        case Chip::Truncated:
            fill = pal.color(QPalette::Window);
            text = pal.color(QPalette::PlaceholderText);
            break;
        case Chip::Normal:
            break;
        }
        QPainterPath path;
        path.addRoundedRect(rects[i], 5, 5);
        p.fillPath(path, fill);
        p.setPen(QPen(pal.color(QPalette::Mid), 1));
        p.drawPath(path);
        QFont f = font();
        f.setStrikeOut(c.kind == Chip::Truncated);
        p.setFont(f);
        p.setPen(text);
        p.drawText(rects[i], Qt::AlignCenter, c.text);
    }
}

} // namespace qdq::ui

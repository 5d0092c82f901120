#pragma once
// The tokens of an encoding as a wrapped row of chips: special tokens muted, [UNK] in the
// error colour, tokens cut by truncation shown after a marker, struck through.

#include <QString>
#include <QVector>
#include <QWidget>

namespace qdq::ui {

class TokenStrip : public QWidget {
    Q_OBJECT
public:
    struct Chip {
        QString text;
        int id = 0;
        enum Kind { Normal, Special, Unknown, Truncated } kind = Normal;
    };

    explicit TokenStrip(QWidget *parent = nullptr);

    void setChips(QVector<Chip> chips);
    [[nodiscard]] const QVector<Chip> &chips() const { return m_chips; }

    [[nodiscard]] QSize sizeHint() const override;
    [[nodiscard]] bool hasHeightForWidth() const override { return true; }
    [[nodiscard]] int heightForWidth(int width) const override;

protected:
    void paintEvent(QPaintEvent *event) override;

private:
    // Lays chips out in rows for `width`; returns the chip rectangles.
    [[nodiscard]] QVector<QRect> layoutChips(int width) const;

    QVector<Chip> m_chips;
};

} // namespace qdq::ui

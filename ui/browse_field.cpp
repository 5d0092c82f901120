#include "browse_field.h"

#include <QHBoxLayout>
#include <QLineEdit>
#include <QPushButton>

namespace qdq::ui {

QWidget *withBrowseButton(QLineEdit *edit, const std::function<void()> &browse)
{
    auto *row = new QWidget;
    auto *layout = new QHBoxLayout(row);
    layout->setContentsMargins(0, 0, 0, 0);
    auto *button = new QPushButton(QObject::tr("Browse…"));
    QObject::connect(button, &QPushButton::clicked, browse);
    layout->addWidget(edit, 1);
    layout->addWidget(button);
    return row;
}

} // namespace qdq::ui

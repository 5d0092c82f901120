#include "browse_field.h"

#include "qdq/checkpoint.h"

#include <QDialog>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
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

QLineEdit *addDataFileRow(QFormLayout *form, QWidget *dialog, const QString &title)
{
    auto *edit = new QLineEdit;
    edit->setPlaceholderText(QObject::tr("text (one example per line), JSONL or CSV/TSV with a \"text\" column"));
    form->addRow(QObject::tr("Data file"), withBrowseButton(edit, [dialog, edit, title] {
                     const QString f = QFileDialog::getOpenFileName(dialog, title);
                     if (!f.isEmpty())
                         edit->setText(f);
                 }));
    return edit;
}

QLineEdit *addOutputFolderRow(QFormLayout *form, QWidget *dialog, const QString &title, const QString &placeholder)
{
    auto *edit = new QLineEdit;
    edit->setPlaceholderText(placeholder);
    form->addRow(QObject::tr("Output folder"), withBrowseButton(edit, [dialog, edit, title] {
                     const QString d = QFileDialog::getExistingDirectory(dialog, title, edit->text());
                     if (!d.isEmpty())
                         edit->setText(d);
                 }));
    return edit;
}

QString besideCheckpoint(const qdq::Checkpoint *checkpoint, const QString &suffix)
{
    if (!checkpoint)
        return {};
    const QFileInfo source(QString::fromStdString(checkpoint->source.string()));
    return source.absolutePath() + "/" + source.completeBaseName() + "-" + suffix;
}

QPushButton *addJobButtons(QFormLayout *form, QDialog *dialog, const QString &runText,
                           const std::function<bool()> &running, const std::function<void()> &cancel)
{
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Cancel);
    QPushButton *run = buttons->addButton(runText, QDialogButtonBox::AcceptRole);
    QObject::connect(buttons, &QDialogButtonBox::rejected, dialog, [dialog, running, cancel] {
        if (running())
            cancel();
        else
            dialog->reject();
    });
    form->addRow(buttons);
    return run;
}

} // namespace qdq::ui

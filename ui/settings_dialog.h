#pragma once
// Settings…: device (shown only when there is more than one), threads, default precision, pytorch-quantization version
// profile and histogram bins, persisted through AppSettings.

#include <QDialog>

class QComboBox;
class QSpinBox;

namespace qdq::ui {

class SettingsDialog : public QDialog {
    Q_OBJECT
public:
    explicit SettingsDialog(QWidget *parent = nullptr);

    // Writes the dialog's values to AppSettings, applies the thread count and the colours, and
    // emits saved() (the main window applies the rest: precision, profile, device).
    void save();

    [[nodiscard]] QComboBox *deviceBox() const { return m_device; }
    [[nodiscard]] QSpinBox *threadsBox() const { return m_threads; }
    [[nodiscard]] QComboBox *precisionBox() const { return m_precision; }
    [[nodiscard]] QComboBox *profileBox() const { return m_profile; }
    [[nodiscard]] QSpinBox *binsBox() const { return m_bins; }
    [[nodiscard]] QComboBox *themeBox() const { return m_theme; }

signals:
    void saved();

private:
    QComboBox *m_device = nullptr;
    QSpinBox *m_threads = nullptr;
    QComboBox *m_precision = nullptr;
    QComboBox *m_profile = nullptr;
    QSpinBox *m_bins = nullptr;
    QComboBox *m_theme = nullptr;
};

} // namespace qdq::ui

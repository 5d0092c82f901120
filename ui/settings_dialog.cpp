#include "settings_dialog.h"

#include "app_settings.h"
#include "compute_devices.h"
#include "theme.h"

#include "qdq/quant/quant_descriptor.h"
#include "qdq/threading.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QSpinBox>

namespace qdq::ui {

SettingsDialog::SettingsDialog(QWidget *parent) : QDialog(parent)
{
    setObjectName("settingsDialog");
    setWindowTitle(tr("Settings"));
    const AppSettings settings;
    auto *form = new QFormLayout(this);

    m_device = new QComboBox;
    m_device->setObjectName("settingsDevice");
    for (const ComputeDevice &d : computeDevices())
        m_device->addItem(d.label, d.id);
    m_device->setCurrentIndex(std::max(0, m_device->findData(computeDevice(settings.device()).id)));

    m_threads = new QSpinBox;
    m_threads->setRange(0, 256);
    m_threads->setSpecialValueText(tr("all (%1)").arg(hardwareThreads()));
    m_threads->setValue(settings.threads());

    m_precision = new QComboBox;
    m_precision->setToolTip(tr("What the playground runs beside FP32, and what the status bar shows"));
    m_precision->addItem(tr("INT8"), QStringLiteral("int8"));
    m_precision->addItem(tr("Fake quant (qdq)"), QStringLiteral("qdq"));
    m_precision->addItem(tr("FP32 only"), QStringLiteral("fp32"));
    m_precision->setCurrentIndex(std::max(0, m_precision->findData(settings.defaultPrecision())));

    m_profile = new QComboBox;
    m_profile->setToolTip(tr("Which pytorch-quantization version's integer range to reproduce (reference §3.5), in "
                             "every run, analysis, calibration and export"));
    for (VersionProfile p :
         {VersionProfile::Pq210, VersionProfile::Pq21x, VersionProfile::Pq22Cpu, VersionProfile::Pq22Cuda}) {
        const QString name = QString::fromLatin1(versionProfileName(p));
        m_profile->addItem(p == kDefaultVersionProfile ? tr("%1 (default)").arg(name) : name, name);
    }
    m_profile->setCurrentIndex(std::max(0, m_profile->findData(settings.versionProfile())));

    m_bins = new QSpinBox;
    m_bins->setRange(128, 65536);
    m_bins->setValue(settings.histogramBins());

    m_theme = new QComboBox;
    m_theme->addItem(tr("System"), QStringLiteral("system"));
    m_theme->addItem(tr("Light"), QStringLiteral("light"));
    m_theme->addItem(tr("Dark"), QStringLiteral("dark"));
    m_theme->setCurrentIndex(std::max(0, m_theme->findData(settings.theme())));

    form->addRow(tr("Device"), m_device);
    // a choice only where there is one (the CPU alone until the engine has a second backend)
    form->setRowVisible(m_device, m_device->count() > 1);
    form->addRow(tr("CPU threads"), m_threads);
    form->addRow(tr("Default precision"), m_precision);
    form->addRow(tr("Quantization profile"), m_profile);
    form->addRow(tr("Histogram bins"), m_bins);
    form->addRow(tr("Colours"), m_theme);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    connect(buttons, &QDialogButtonBox::accepted, this, [this] {
        save();
        accept();
    });
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    form->addRow(buttons);
}

void SettingsDialog::save()
{
    AppSettings settings;
    settings.setDevice(m_device->currentData().toString());
    settings.setThreads(m_threads->value());
    settings.setDefaultPrecision(m_precision->currentData().toString());
    settings.setVersionProfile(m_profile->currentData().toString());
    settings.setHistogramBins(m_bins->value());
    settings.setTheme(m_theme->currentData().toString());
    setNumThreads(m_threads->value());
    applyTheme(settings.theme());
    emit saved();
}

} // namespace qdq::ui

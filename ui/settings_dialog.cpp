#include "settings_dialog.h"

#include "app_settings.h"
#include "theme.h"

#include "qdq/device.h"
#include "qdq/quant/quant_descriptor.h"
#include "qdq/threading.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QSpinBox>
#include <QStandardItemModel>

namespace qdq::ui {

SettingsDialog::SettingsDialog(QWidget *parent) : QDialog(parent)
{
    setObjectName("settingsDialog");
    setWindowTitle(tr("Settings"));
    const AppSettings settings;
    auto *form = new QFormLayout(this);

    m_device = new QComboBox;
    m_device->addItem(tr("CPU (oneDNN)"), QStringLiteral("cpu"));
    const CudaStatus cuda = cudaStatus();
    for (const CudaDeviceInfo &d : cuda.devices)
        m_device->addItem(QStringLiteral("cuda:%1 — %2").arg(d.index).arg(QString::fromStdString(d.name)),
                          QStringLiteral("cuda:%1").arg(d.index));
    if (!cuda.available) {
        m_device->addItem(tr("CUDA (unavailable)"), QStringLiteral("cuda:0"));
        auto *model = qobject_cast<QStandardItemModel *>(m_device->model());
        model->item(m_device->count() - 1)->setEnabled(false);
        m_device->setItemData(m_device->count() - 1, QString::fromStdString(cuda.message), Qt::ToolTipRole);
    }
    m_device->setCurrentIndex(std::max(0, m_device->findData(settings.device())));

    m_threads = new QSpinBox;
    m_threads->setRange(0, 256);
    m_threads->setSpecialValueText(tr("all (%1)").arg(hardwareThreads()));
    m_threads->setValue(settings.threads());

    m_precision = new QComboBox;
    m_precision->addItem(tr("FP32"), QStringLiteral("fp32"));
    m_precision->addItem(tr("Fake quant (qdq)"), QStringLiteral("qdq"));
    m_precision->addItem(tr("INT8"), QStringLiteral("int8"));
    m_precision->setCurrentIndex(std::max(0, m_precision->findData(settings.defaultPrecision())));

    m_profile = new QComboBox;
    m_profile->setToolTip(tr("Which pytorch-quantization version's integer range to reproduce (reference §3.5)"));
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
}

} // namespace qdq::ui

#include "load_job.h"

#include "guarded_job.h"

#include "qdq/errors.h"
#include "qdq/text_task.h"

#include <QtConcurrent>

namespace qdq::ui {

namespace {

// The checkpoint's own tokenizer (its files come with the checkpoint, zips included).
LoadedModel withTokenizer(LoadedModel model)
{
    try {
        model.tokenizer = std::make_shared<const qdq::Tokenizer>(qdq::tokenizerForCheckpoint(*model.checkpoint));
    } catch (const std::exception &e) {
        model.tokenizerProblem = QString::fromStdString(e.what());
    }
    return model;
}

// calibration.safetensors of a calibrated folder (qdq calibrate writes it beside the weights)
LoadedModel withCalibration(LoadedModel model)
{
    std::error_code ec;
    const std::filesystem::path source = model.checkpoint->source;
    const std::filesystem::path folder = std::filesystem::is_directory(source, ec) ? source : source.parent_path();
    const std::filesystem::path file = folder / "calibration.safetensors";
    if (!std::filesystem::exists(file, ec)) {
        model.calibrationProblem =
            QObject::tr("This checkpoint has no calibration statistics (calibration.safetensors).");
        return model;
    }
    try {
        model.calibration = std::make_shared<const qdq::CalibrationFile>(qdq::loadCalibrationFile(file));
    } catch (const std::exception &e) {
        model.calibrationProblem = QString::fromStdString(e.what());
    }
    return model;
}

} // namespace

LoadJob::LoadJob(QObject *parent) : QObject(parent)
{
    connect(&m_watcher, &QFutureWatcher<Result>::finished, this, &LoadJob::onFinished);
}

LoadJob::~LoadJob()
{
    cancel();
    m_watcher.waitForFinished();
}

bool LoadJob::isRunning() const
{
    return m_watcher.isRunning();
}

void LoadJob::start(const QString &path)
{
    cancel();
    m_watcher.waitForFinished();
    m_path = path;
    m_progress = std::make_shared<qdq::Progress>();
    // the callback runs on the worker thread; a queued invocation brings it to the GUI thread
    m_progress->setCallback([this](const qdq::ProgressEvent &e) {
        const int percent = e.total > 0 ? static_cast<int>(100 * e.done / e.total) : -1;
        QMetaObject::invokeMethod(
            this, [this, stage = QString::fromStdString(e.stage), percent] { emit progressChanged(stage, percent); },
            Qt::QueuedConnection);
    });
    const std::shared_ptr<qdq::Progress> progress = m_progress;
    const std::string file = path.toStdString();
    m_watcher.setFuture(QtConcurrent::run([progress, file]() -> Result {
        Result r;
        const JobEnd end = runGuarded([&] {
            r.model.checkpoint = std::make_shared<const qdq::Checkpoint>(qdq::loadCheckpoint(file, progress.get()));
            r.model = withTokenizer(std::move(r.model));
            r.model = withCalibration(std::move(r.model));
        });
        r.cancelled = end.cancelled;
        r.error = end.error;
        return r;
    }));
}

void LoadJob::cancel()
{
    if (m_progress)
        m_progress->cancel();
}

void LoadJob::onFinished()
{
    const Result r = m_watcher.result();
    if (r.cancelled)
        emit cancelled();
    else if (r.model.checkpoint)
        emit loaded(r.model);
    else
        emit failed(r.error);
}

} // namespace qdq::ui

#include "qdq/progress.h"

#include "qdq/errors.h"

namespace qdq {

void Progress::setCallback(Callback callback)
{
    std::lock_guard lock(m_mutex);
    m_callback = std::move(callback);
}

void Progress::report(std::string_view stage, std::int64_t done, std::int64_t total)
{
    {
        std::lock_guard lock(m_mutex);
        if (m_callback)
            m_callback(ProgressEvent{std::string(stage), done, total});
    }
    checkCancelled();
}

void Progress::checkCancelled() const
{
    if (isCancelled())
        throw CancelledError();
}

} // namespace qdq

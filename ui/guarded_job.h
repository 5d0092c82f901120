#pragma once
// How a worker-thread job ended, for the GUI: done, cancelled through its qdq::Progress, or failed
// with an error message. One place for the try/catch that every background job (loading, export,
// calibration, analysis, report writing) wraps around its work.
#include "qdq/errors.h"

#include <QString>

#include <exception>
#include <utility>

namespace qdq::ui {

struct JobEnd {
    bool cancelled = false; // the work threw qdq::CancelledError
    QString error;          // what() of any other std::exception; empty when it ran to the end
};

// Runs work() and reports how it ended: a std::exception it throws is caught and described.
template <class Work>
JobEnd runGuarded(Work &&work)
{
    try {
        std::forward<Work>(work)();
    } catch (const qdq::CancelledError &) {
        return {true, {}};
    } catch (const std::exception &e) {
        return {false, QString::fromStdString(e.what())};
    }
    return {};
}

} // namespace qdq::ui

#pragma once
// Light and dark palettes (Fusion style), or the platform's own.

#include <QString>

namespace qdq::ui {

// "system", "light" or "dark"; unknown names fall back to "system".
void applyTheme(const QString &theme);

} // namespace qdq::ui

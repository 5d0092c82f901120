#pragma once
// Table columns as wide as their contents and headers, never clipped: the stretch column also
// takes the room left over; when the columns need more than the view has, it scrolls sideways.
// (QHeaderView's Stretch mode alone squeezes that column below its contents.)

class QTableView;

namespace qdq::ui {

// Keeps `view`'s columns fitted as its model and size change.
void fitColumnsToContents(QTableView *view, int stretchColumn);

} // namespace qdq::ui

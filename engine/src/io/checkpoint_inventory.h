#pragma once
// The format-independent half of loading: key normalisation, tied weights, heads, config
// inference, shape checks against the config and the quantizer inventory (reference §1-2).

#include "io/torch_format.h"
#include "qdq/checkpoint.h"

namespace qdq::io {

// Fills ckpt.tensors from `raw` (stored names) and everything derived from them. ckpt.config /
// configFromFile / source must already be set. Throws FormatError on names that collide after
// normalisation, ShapeError on tensors that disagree with the config.
void finishCheckpoint(Checkpoint &ckpt, NamedTensors raw, const LoadOptions &options);

} // namespace qdq::io

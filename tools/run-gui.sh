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

# the bundled demo model; until the real pretrained demo lands, the small generated one
model=()
for candidate in resources/demo/model resources/demo/tiny-qdqbert; do
  if [ -f "$candidate/config.json" ]; then model=(--model "$candidate"); break; fi
done
exec "$build/app/qdq-inspector" "${model[@]}" "$@"

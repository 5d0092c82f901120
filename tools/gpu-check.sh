#!/usr/bin/env bash
# The CUDA backend's checks on a machine with an NVIDIA GPU (issue 26), in one go and under five
# minutes on 16 cores: configures and builds with CUDA (Release, GUI off, bench on; only the targets
# the checks need), runs `ctest -L cuda`, runs the BERT-base GEMM benchmark (--quick) and whole
# BERT-base forwards (qdq bench --device cuda, seq 128/384, batch 1/8/32, fp32/int8), and prints
# one summary: GPU, driver, test counts, bench numbers. Exit status: non-zero when a test failed
# or the build did not finish.
#   tools/gpu-check.sh                 build folder build-gpu (QDQ_BUILD_DIR overrides)
#   QDQ_CUDA_ARCH=90 tools/gpu-check.sh   compile for one architecture (default: native, faster
#                                         than the release build's 80;90)
# Needs the build dependencies (tools/install-deps.sh) and the CUDA toolkit at /usr/local/cuda.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
build="${QDQ_BUILD_DIR:-build-gpu}"
arch="${QDQ_CUDA_ARCH:-native}"
jobs="$(nproc)"
log="$build/gpu-check.log"
mkdir -p "$build"
: > "$log"
start=$(date +%s)

gpu="$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)"
driver="$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1)"

status=0
step() { echo "== $*" | tee -a "$log"; }

step "configure ($build, CUDA architectures $arch)"
if ! cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DQDQ_WARNINGS_AS_ERRORS=ON -DQDQ_BUILD_GUI=OFF \
  -DQDQ_BUILD_BENCH=ON -DQDQ_WITH_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$arch" >> "$log" 2>&1; then
  echo "configure failed (see $log)"; tail -20 "$log"; exit 2
fi
step "build"
if ! cmake --build "$build" --parallel "$jobs" --target tst_cuda_backend tst_cuda_model tst_cuda_plan qdq_bench_cuda_gemm qdq \
  >> "$log" 2>&1; then
  echo "build failed (see $log)"; grep -E "error|Error" "$log" | head -20; exit 2
fi
built=$(date +%s)

step "ctest -L cuda"
ctest --test-dir "$build" -L cuda --output-on-failure -V > "$build/ctest-cuda.log" 2>&1 || status=1
cat "$build/ctest-cuda.log" >> "$log"
# the plan's unit test as well (cheap, and the CUDA code depends on it)
ctest --test-dir "$build" -R '^tst_cuda_plan$' --output-on-failure > "$build/ctest-plan.log" 2>&1 || status=1
tested=$(date +%s)

step "benchmark"
"$build/bench/qdq_bench_cuda_gemm" --quick > "$build/bench-cuda.log" 2>&1 || status=1
cat "$build/bench-cuda.log" >> "$log"
# whole BERT-base forwards through the engine on the GPU: ms per forward and the ratio to the
# same model's GEMM-only time on that device (qdq bench --roofline's measure), per shape
: > "$build/bench-model.log"
for seq in 128 384; do
  for batch in 1 8 32; do
    for precision in fp32 int8; do
      out="$("$build/app/qdq" bench --synthetic bert-base --device cuda --precision "$precision" \
        --batch "$batch" --seq "$seq" --runs 5 --warmup 2 --json 2>>"$log")" || { status=1; continue; }
      echo "$out" >> "$log"
      python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print("MODEL seq %4d batch %2d %-4s %-12s forward %8.2f ms  gemm-only %8.2f ms  ratio %.2f" % (j["seq"], j["batch"], j["precision"], j["backend"], j["forward_ms"]["median"], j["gemm_only_ms"]["median"], j["ratio_to_gemm"]))' "$out" \
        >> "$build/bench-model.log" 2>>"$log" || status=1
    done
  done
done
done_at=$(date +%s)

totals="$(grep -h '^Totals:' "$build/ctest-cuda.log" | tail -1)"
skipped="$(grep -h 'SKIP' "$build/ctest-cuda.log" | head -1)"
echo
echo "================ GPU check summary ================"
echo "GPU:     ${gpu:-none found by nvidia-smi}"
echo "driver:  ${driver:-unknown}"
echo "tests:   ${totals:-no QtTest totals (see $build/ctest-cuda.log)}"
[ -n "$skipped" ] && echo "skipped: $skipped"
echo "ctest:   $(grep -h 'tests passed' "$build/ctest-cuda.log" | tail -1)"
echo "plan:    $(grep -h 'tests passed' "$build/ctest-plan.log" | tail -1)"
grep -E '^(failed|FAIL!)' "$build/ctest-cuda.log" | head -20
echo "bench (ms per BERT-base layer GEMM set; ratio = backend incl. transfers / raw cuBLASLt):"
grep -E '^(device|BENCH|error|no CUDA)' "$build/bench-cuda.log" | sed 's/^/  /'
echo "model forwards (qdq bench --device cuda, synthetic BERT-base; ratio = forward / GEMM-only):"
sed 's/^/  /' "$build/bench-model.log"
echo "time:    build $((built - start)) s, tests $((tested - built)) s, bench $((done_at - tested)) s"
echo "log:     $log"
exit $status

#!/usr/bin/env bash
# Runs train_mlm_gpu.py for several --unfreeze settings side by side on one lent GPU (the device
# tool; see tools/demo/README.md). Expects the training pack at .gpu/pack.pt.xz (written by
#   tools/reference/.venv/bin/python tools/demo/train_demo.py --export-pack .gpu/pack.pt
#   xz -T2 -6 .gpu/pack.pt
# ) and writes mlm-u<N>.{safetensors,json}, train.log and gpu.txt into $OUT.
# Usage: OUT=dir tools/demo/gpu_train.sh SECONDS "UNFREEZE..." [extra train_mlm_gpu.py options]
set -u
seconds=${1:?seconds}; configs=${2:?unfreeze settings}; shift 2
out=${OUT:?set OUT}
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv >"$out/gpu.txt" 2>&1
python3 -c "import lzma, shutil; shutil.copyfileobj(lzma.open('.gpu/pack.pt.xz'), open('/tmp/pack.pt', 'wb'))" || exit 2
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" >>"$out/gpu.txt" 2>&1
# a setting is N (--unfreeze N) or N:TAG:EXTRA-OPTIONS (commas for spaces), e.g. 4:lr1:--lr-encoder,1e-4
for c in $configs; do
  u=${c%%:*}; rest=${c#*:}; tag=u$u; opts=()
  if [ "$rest" != "$c" ]; then tag=${rest%%:*}; extra=${rest#*:}; [ "$extra" != "$rest" ] && IFS=, read -r -a opts <<<"$extra"; fi
  PYTHONUNBUFFERED=1 python3 tools/demo/train_mlm_gpu.py --pack /tmp/pack.pt --unfreeze "$u" --tag "$tag" \
    --seconds "$seconds" --out "$out" "$@" "${opts[@]}" 2>&1 | sed -u "s/^/[$tag] /" >>"$out/train.log" &
done
wait
tail -n 60 "$out/train.log"

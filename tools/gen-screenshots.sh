#!/usr/bin/env bash
# Regenerates the documentation screenshots (docs/images/*.png) from the built qdq-inspector,
# offscreen, on the bundled demo model: one image per view. Run after a build:
#   tools/gen-screenshots.sh [BUILD_DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
app="$build/app/qdq-inspector"
out="$root/docs/images"
mkdir -p "$out"
model="$root/resources/demo/model"
[ -f "$model/config.json" ] || { python3 "$root/tools/fetch-models.py" --quiet && python3 "$root/tools/demo/assemble_demo.py" --quiet; }
[ -f "$model/config.json" ] || model="$root/resources/demo/tiny-qdqbert"
text="The cat sat on the [MASK]."
export QT_QPA_PLATFORM=offscreen
# clean settings: the screenshots must not show this machine's recent checkpoints or options
settings_home="$(mktemp -d)"
export XDG_CONFIG_HOME="$settings_home/config" XDG_DATA_HOME="$settings_home/data" XDG_CACHE_HOME="$settings_home/cache"
shot() { # name, extra args...
  local name="$1"; shift
  "$app" --screenshot "$out/$name.png" --size 1280x800 "$@" 2>/dev/null
  echo "wrote docs/images/$name.png"
}
# the start page with a few recent checkpoints (made-up paths under a made-up home), some of the
# same name, to show how the list tells them apart
conf="$XDG_CONFIG_HOME/qdq-inspector"
mkdir -p "$conf"
cat > "$conf/QDQ Inspector.conf" <<'CONF'
[General]
recentFiles=/home/alice/models/minilm-squad/model, /home/alice/work/quant/run-03/tiny-qdqbert, /home/alice/work/quant/run-04/tiny-qdqbert, /srv/shared/checkpoints/bert-base-2024/calibration/percentile-99.99/tiny-qdqbert, /srv/archive/checkpoints/bert-base-2024/calibration/percentile-99.99/tiny-qdqbert
CONF
HOME=/home/alice shot main-window --no-demo --view start
rm "$conf/QDQ Inspector.conf"
shot quantizers --model "$model" --view quantizers --task masked-lm --text "$text" \
  --analyze "$root/tools/demo/calibration.txt"
shot layers --model "$model" --view layers --analyze "$root/tools/demo/calibration.txt"
# per-quantizer sensitivity on 8 sentences (two passes per quantizer: the slowest shot)
shot sensitivity --model "$model" --view sensitivity --analyze "$root/tools/demo/calibration.txt" --per-quantizer \
  --samples 8
# A/B: the demo's percentile calibration against max calibration on the same sentences
compare_dir="$(mktemp -d)"
"$build/app/qdq" calibrate --model "$model" --data "$root/tools/demo/calibration.txt" --method max --samples 32 \
  --out "$compare_dir/max" --force --quiet
shot compare --model "$model" --view compare --compare "$compare_dir/max"
rm -rf "$compare_dir"
shot histogram --model "$model" --view histogram
shot histogram-analysis --model "$model" --view histogram --analyze "$root/tools/demo/calibration.txt"
shot attention --model "$model" --view attention --task masked-lm --text "The quick brown fox jumps over the lazy dog."
shot playground --model "$model" --view playground --task masked-lm --text "$text"
shot tensors --model "$model" --view tensors

# A report as a reader sees it: qdq report on the demo model, rendered by headless Chromium.
report_dir="$(mktemp -d)"
trap 'rm -rf "$report_dir" "$settings_home"' EXIT
"$build/app/qdq" report --model "$model" --data "$root/tools/demo/calibration.txt" --samples 32 \
  --format html --out "$report_dir" --quiet
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1200,1500 \
  --screenshot="$out/report.png" "file://$report_dir/model/report.html" 2>/dev/null
echo "wrote docs/images/report.png"

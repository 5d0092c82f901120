#!/usr/bin/env bash
# The CLI's habits (issue 29), on the built qdq and the tiny demo model:
#  - `qdq help CMD` prints exactly what `qdq CMD --help` prints, for every command;
#  - progress into a file or pipe has no carriage return (plain lines), none at all with --quiet;
#  - the generated bash completion completes every command and every option of each;
#  - `qdq report --index OUT DIR...` merges report folders made separately into one index, and
#    --fail-if on the merged index exits 3 when crossed, 0 when not.
#   check_cli_habits.sh SOURCE_DIR BUILD_DIR
set -uo pipefail
root="$1"
build="$2"
qdq="$build/app/qdq"
completion="$build/installer/qdq.bash"
tiny="$root/resources/demo/tiny-qdqbert"
data="$root/tools/demo/calibration.txt"
export QT_QPA_PLATFORM=offscreen
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
status=0
fail() { echo "FAIL: $*"; status=1; }

commands="$("$qdq" --help | awk '/^Commands:/{on=1; next} on && /^  [a-z]/{print $1} on && /^$/{exit}')"
[ "$(echo "$commands" | wc -w)" -ge 10 ] || fail "qdq --help lists only: $commands"

# 1. qdq help CMD == qdq CMD --help
for cmd in $commands; do
  "$qdq" help "$cmd" >"$work/a" 2>&1; a=$?
  "$qdq" "$cmd" --help >"$work/b" 2>&1; b=$?
  if [ $a != 0 ] || [ $b != 0 ] || ! cmp -s "$work/a" "$work/b"; then
    fail "'qdq help $cmd' (exit $a) differs from 'qdq $cmd --help' (exit $b)"
    diff "$work/a" "$work/b" | head -5
  fi
done
"$qdq" help >"$work/a"; "$qdq" --help >"$work/b"
cmp -s "$work/a" "$work/b" || fail "'qdq help' differs from 'qdq --help'"
"$qdq" help no-such-command >/dev/null 2>&1; [ $? = 1 ] || fail "'qdq help no-such-command' should exit 1"
echo "ok: qdq help CMD = qdq CMD --help for: $(echo $commands)"

# 2. progress: plain lines when stderr is not a terminal, nothing with --quiet
"$qdq" analyze --model "$tiny" --data "$data" --samples 4 >/dev/null 2>"$work/progress"
[ -s "$work/progress" ] || fail "analyze printed no progress into a file"
if grep -q $'\r' "$work/progress"; then fail "progress into a file has carriage returns"; fi
lines=$(wc -l <"$work/progress")
[ "$lines" -le 200 ] || fail "progress into a file is $lines lines (expected a few per stage)"
"$qdq" analyze --model "$tiny" --data "$data" --samples 4 --quiet >/dev/null 2>"$work/quiet"
[ ! -s "$work/quiet" ] || { fail "--quiet still printed:"; head -3 "$work/quiet"; }
if command -v script >/dev/null; then  # on a terminal the line is redrawn in place
  script -qec "'$qdq' analyze --model '$tiny' --data '$data' --samples 4 >/dev/null" /dev/null >"$work/tty" 2>&1
  grep -q $'\r[a-z]' "$work/tty" || fail "no redrawn progress line on a terminal"
fi
echo "ok: progress into a file: $lines plain lines, no carriage return; --quiet: none"

# 3. bash completion from the option tables
[ -s "$completion" ] || fail "no generated completion at $completion"
complete_words() {  # complete_words WORD...: what _qdq offers for the last word
  bash -c 'source "$0"; COMP_WORDS=("${@}"); COMP_CWORD=$(($# - 1)); _qdq; printf "%s\n" "${COMPREPLY[@]}"' \
    "$completion" "$@"
}
offered="$(complete_words qdq '')"
for cmd in $commands help; do
  grep -qx -- "$cmd" <<<"$offered" || fail "completion does not offer the command '$cmd'"
done
for cmd in $commands; do
  offered="$(complete_words qdq "$cmd" --)"
  for opt in $("$qdq" "$cmd" --help | grep -oE '^ +(-[a-zA-Z], )?--[a-z0-9-]+' | sed -E 's/^ +(-[a-zA-Z], )?//'); do
    grep -qx -- "$opt" <<<"$offered" || fail "completion of 'qdq $cmd --' lacks $opt"
  done
done
[ "$(complete_words qdq help repo)" = report ] || fail "completion of 'qdq help repo' is not report"
echo "ok: the completion offers every command and every option"

# 4. report folders made separately (two machines), merged into one index
for host in host-a host-b; do
  "$qdq" report --quiet --model "$tiny" --data "$data" --samples 4 --format json,html --out "$work/$host" ||
    fail "qdq report on $host failed"
done
"$qdq" report --index "$work/merged" "$work/host-a" "$work/host-b/tiny-qdqbert" --fail-if 'min_layer_sqnr_db<-1000' \
  --json >"$work/merged.json" 2>"$work/merged.err"
rc=$?
[ $rc = 0 ] || { fail "merging with a threshold nobody crosses exited $rc"; cat "$work/merged.err"; }
python3 - "$work/merged" <<'PY' || fail "the merged index.json is not as expected"
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
index = json.loads((out / "index.json").read_text())
assert index["format"] == "qdq-report-index", index["format"]
folders = [m["folder"] for m in index["models"]]
assert folders == ["../host-a/tiny-qdqbert", "../host-b/tiny-qdqbert"], folders
for m in index["models"]:
    assert (out / m["folder"] / "report.json").is_file(), m["folder"]
    assert "min_layer_sqnr_db" in m["metrics"], m["metrics"]
    assert m["thresholds"] == [{"expression": "min_layer_sqnr_db<-1000", "crossed": False}], m["thresholds"]
assert 'href="../host-a/tiny-qdqbert/report.html"' in (out / "index.html").read_text()
PY
"$qdq" report --index "$work/merged" "$work/host-a" "$work/host-b" --fail-if 'min_layer_sqnr_db<1000' \
  >/dev/null 2>"$work/crossed.err"
rc=$?
[ $rc = 3 ] || fail "merging with a crossed --fail-if exited $rc, expected 3"
grep -q "2 of 2 models crossed" "$work/crossed.err" || fail "no summary of the crossed thresholds: $(cat "$work/crossed.err")"
# without --fail-if, each report's own thresholds are evaluated on the merged index
"$qdq" report --quiet --model "$tiny" --data "$data" --samples 4 --format json --out "$work/host-c" \
  --fail-if 'min_layer_sqnr_db<1000' >/dev/null 2>&1
"$qdq" report --index "$work/merged2" "$work/host-a" "$work/host-c" >/dev/null 2>&1
rc=$?
[ $rc = 3 ] || fail "a report's own crossed threshold did not fail the merged index (exit $rc)"
mkdir -p "$work/empty"
"$qdq" report --index "$work/merged3" "$work/empty" >/dev/null 2>&1
rc=$?
[ $rc = 2 ] || fail "merging a folder without reports exited $rc, expected 2"
"$qdq" report --index "$work/merged3" >/dev/null 2>&1
rc=$?
[ $rc = 1 ] || fail "--index without folders exited $rc, expected 1"
echo "ok: report --index merges, --fail-if exits 3 / 0 on the merged index"

[ $status = 0 ] && echo "cli habits passed"
exit $status

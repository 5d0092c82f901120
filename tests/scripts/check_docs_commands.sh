#!/usr/bin/env bash
# Runs every ```sh block of docs/cli.md and docs/user-guide.md as written (issue "Installer and
# documentation": the commands in the docs must run), from the repository root with the built
# qdq first on PATH, under `bash -e`: every command of a block must succeed (a block that shows
# an exit code on purpose does so with `|| echo`, as the --fail-if example does).
#   check_docs_commands.sh SOURCE_DIR BUILD_DIR
set -uo pipefail
root="$1"
build="$2"
cd "$root"
export PATH="$build/app:$PATH" QT_QPA_PLATFORM=offscreen
status=0
blocks=0
for doc in docs/cli.md docs/user-guide.md; do
  [ -f "$doc" ] || { echo "missing $doc"; exit 1; }
  # split the document into its sh blocks (numbered files)
  tmp="$(mktemp -d)"
  awk -v dir="$tmp" '/^```sh$/{n++; on=1; next} /^```/{on=0} on{print > (dir "/" n ".sh")}' "$doc"
  for block in $(ls "$tmp"/*.sh 2>/dev/null | sort -V); do
    blocks=$((blocks + 1))
    if ! out="$(bash -e "$block" 2>&1)"; then
      echo "FAILED: $doc block $(basename "$block" .sh):"
      sed 's/^/    /' "$block"
      echo "$out" | tail -20 | sed 's/^/  | /'
      status=1
    else
      echo "ok: $doc block $(basename "$block" .sh)"
    fi
  done
  rm -rf "$tmp"
done
[ "$blocks" -gt 0 ] || { echo "no sh blocks found"; status=1; }
exit $status

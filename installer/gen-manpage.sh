#!/usr/bin/env bash
# Generates a man page from a program's own help texts, so the page never drifts from the
# program:  gen-manpage.sh qdq|qdq-inspector path/to/program out.1 [SOURCE_DIR]
# qdq gets its top-level help and one section per command (`qdq CMD --help`). The date is
# SOURCE_DATE_EPOCH when set (reproducible builds), else the last commit's date in SOURCE_DIR,
# else left out: never a date written here.
set -euo pipefail
name="$1"
program="$2"
out="$3"
source_dir="${4:-}"
export QT_QPA_PLATFORM=offscreen
if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
  date="$(date -u +%Y-%m-%d -d @"$SOURCE_DATE_EPOCH")"
elif [ -n "$source_dir" ] && date="$(git -C "$source_dir" log -1 --format=%cs 2>/dev/null)" && [ -n "$date" ]; then
  :
else
  date=""
fi
version="$("$program" --version | head -n1 | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n1)"
esc() { sed -e 's/\\/\\\\/g' -e 's/^\./\\\&./' -e "s/^'/\\\\\&'/"; }
upper="$(echo "$name" | tr a-z- A-Z-)"
{
  echo ".TH $upper 1 \"$date\" \"$name $version\" \"QDQ Inspector\""
  echo ".SH NAME"
  case "$name" in
    qdq) echo "qdq \\- inspect quantized (Q/DQ) BERT checkpoints from the command line" ;;
    qdq-inspector) echo "qdq-inspector \\- inspect quantized (Q/DQ) BERT checkpoints in a desktop application" ;;
    *) echo "gen-manpage.sh: unknown program '$name'" >&2; exit 1 ;;
  esac
  echo ".SH SYNOPSIS"
  if [ "$name" = qdq ]; then
    echo ".B qdq"
    echo ".I command"
    echo "[options]"
    echo ".br"
    echo ".B qdq help"
    echo ".I command"
  else
    echo ".B qdq-inspector"
    echo "[options] [path]"
  fi
  echo ".SH DESCRIPTION"
  echo ".nf"
  # Qt's parser names the program by its full path; the user types the name
  "$program" --help 2>/dev/null | sed "1s|^Usage: [^ ]*|Usage: $name|" | esc
  echo ".fi"
  if [ "$name" = qdq ]; then
    for cmd in $("$program" --help | awk '/^Commands:/{on=1; next} on && /^  [a-z]/{print $1} on && /^$/{exit}'); do
      echo ".SH \"QDQ $(echo "$cmd" | tr a-z- A-Z\ )\""
      echo ".nf"
      "$program" "$cmd" --help | esc
      echo ".fi"
    done
  else
    echo ".SH FILES"
    echo "/usr/share/qdq-inspector/demo: the demo models opened at first start (see --no-demo)."
  fi
  echo ".SH SEE ALSO"
  if [ "$name" = qdq ]; then echo "qdq-inspector(1)"; else echo "qdq(1)"; fi
  echo ".PP"
  echo "The user guide and the CLI reference: docs/user-guide.md and docs/cli.md in the source"
  echo "repository; licences: /usr/share/doc/qdq-inspector/copyright."
} > "$out.part"
mv "$out.part" "$out"

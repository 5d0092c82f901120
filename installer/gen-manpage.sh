#!/usr/bin/env bash
# Generates the qdq(1) man page from the CLI's own help texts, so the page never drifts from
# the program:  gen-manpage.sh path/to/qdq out.1
set -euo pipefail
qdq="$1"
out="$2"
version="$("$qdq" --version | head -n1 | awk '{print $2}')"
esc() { sed -e 's/\\/\\\\/g' -e 's/^\./\\\&./' -e "s/^'/\\\\\&'/"; }
{
  echo ".TH QDQ 1 \"$(date -u +%Y-%m-%d -d @"${SOURCE_DATE_EPOCH:-0}")\" \"qdq $version\" \"QDQ Inspector\""
  echo ".SH NAME"
  echo "qdq \\- inspect quantized (Q/DQ) BERT checkpoints from the command line"
  echo ".SH SYNOPSIS"
  echo ".B qdq"
  echo ".I command"
  echo "[options]"
  echo ".SH DESCRIPTION"
  echo ".nf"
  "$qdq" --help | esc
  echo ".fi"
  for cmd in $("$qdq" --help | awk '/^Commands:/{on=1; next} on && /^  [a-z]/{print $1} on && /^$/{exit}'); do
    echo ".SH \"QDQ $(echo "$cmd" | tr a-z- A-Z\ )\""
    echo ".nf"
    "$qdq" "$cmd" --help | esc
    echo ".fi"
  done
  echo ".SH SEE ALSO"
  echo "qdq-inspector(1)"
} > "$out.part"
mv "$out.part" "$out"

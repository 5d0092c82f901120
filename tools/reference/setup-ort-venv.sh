#!/usr/bin/env bash
# Creates tools/reference/.venv-ort: Debian's python3 with the pinned packages of
# requirements-ort.txt (ONNX Runtime for tst_onnx_parity's live export). tools/test.sh runs it.
# Idempotent; quiet when already set up. The index is pip's own configuration (PIP_INDEX_URL,
# pip.conf), as for tools/fetch-models.py.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv-ort"
stamp="$venv/.requirements.sha256"
want="$(sha256sum < "$here/requirements-ort.txt" | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
/usr/bin/python3 -m venv "$venv"
if ! "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$here/requirements-ort.txt"; then
  echo "setup-ort-venv.sh: could not install ONNX Runtime from the package index; set PIP_INDEX_URL (or pip.conf) to a reachable PyPI mirror and run tools/test.sh again" >&2
  exit 3
fi
echo "$want" > "$stamp"
echo "ONNX Runtime venv ready: $venv" >&2

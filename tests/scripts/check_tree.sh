#!/usr/bin/env bash
# Tree-wide rules checked as a test: clang-format leaves every C++/CUDA file unchanged, and
# no public engine header includes Qt (design.md: the engine is usable without Qt).
set -uo pipefail
cd "$1"
status=0
if command -v clang-format >/dev/null; then
  files=$(git ls-files -co --exclude-standard -- '*.cpp' '*.h' '*.cu' '*.cuh' 2>/dev/null || find app engine ui tests bench -name '*.cpp' -o -name '*.h' -o -name '*.cu')
  for f in $files; do
    if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
      echo "not clang-formatted: $f"
      status=1
    fi
  done
else
  echo "clang-format is not installed (tools/install-deps.sh --test installs it)"
  status=1
fi
if grep -rn '#include <Q' engine/include; then
  echo "public engine headers must not include Qt"
  status=1
fi
if [ "$status" = 0 ]; then echo "tree checks passed"; fi
exit $status

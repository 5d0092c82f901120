#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the GUI need.
# Idempotent: packages already present are not reinstalled, and it prints
# nothing but a one-line summary when there is nothing to do.
#   tools/install-deps.sh            build + test + GUI dependencies
#   tools/install-deps.sh --reference  also python3-torch and the venv in tools/reference
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git python3 ca-certificates
  qt6-base-dev qt6-charts-dev qt6-svg-dev qt6-tools-dev qt6-base-dev-tools libqt6opengl6-dev
  libqt6svg6 qt6-qpa-plugins libgl-dev libxkbcommon-dev
  libdnnl-dev ocl-icd-opencl-dev opencl-headers libquazip1-qt6-dev libutf8proc-dev nlohmann-json3-dev
  libonnx-dev libprotobuf-dev protobuf-compiler
  xvfb xauth poppler-utils fonts-dejavu-core chromium python3-jsonschema
  clang-format clang-tidy
)
want_reference=0
for arg in "$@"; do
  case "$arg" in
    --reference) want_reference=1 ;;
    *) echo "install-deps.sh: unknown option '$arg'" >&2; exit 1 ;;
  esac
done
if [ "$want_reference" = 1 ]; then
  packages+=(python3-torch python3-venv python3-numpy)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${#missing[@]} package(s): ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "install-deps: all ${#packages[@]} packages present" >&2

if [ "$want_reference" = 1 ]; then
  "$(dirname "$0")/reference/setup-venv.sh"
fi

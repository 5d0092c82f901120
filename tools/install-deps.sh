#!/usr/bin/env bash
# Installs the Debian packages QDQ Inspector needs: to build and run it by default, and with
# --test also what only the test suite uses. Idempotent: packages already present are not
# reinstalled, and it prints nothing but a one-line summary when there is nothing to do.
#   tools/install-deps.sh            build + run (tools/run-gui.sh)
#   tools/install-deps.sh --test     also the test-only tools (tools/test.sh)
#   tools/install-deps.sh --reference  also python3-torch and the venv in tools/reference
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git python3 ca-certificates
  qt6-base-dev qt6-charts-dev qt6-svg-dev qt6-tools-dev qt6-base-dev-tools libqt6opengl6-dev
  libqt6svg6 qt6-qpa-plugins libgl-dev libxkbcommon-dev fonts-dejavu-core
  libdnnl-dev ocl-icd-opencl-dev opencl-headers libquazip1-qt6-dev libutf8proc-dev nlohmann-json3-dev
  libonnx-dev libprotobuf-dev protobuf-compiler
)
# only the tests: real-window screenshots (Xvfb), PDF and HTML report checks, report schema
# validation, formatting and lint checks, the installed package's desktop file and metadata
# (and python3-venv for the ONNX Runtime venv of tst_onnx_parity)
test_packages=(
  xvfb xauth poppler-utils chromium python3-jsonschema clang-format clang-tidy
  desktop-file-utils appstream python3-venv
)
want_reference=0
for arg in "$@"; do
  case "$arg" in
    --reference) want_reference=1 ;;
    --test) packages+=("${test_packages[@]}") ;;
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

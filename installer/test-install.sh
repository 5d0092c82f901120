#!/usr/bin/env bash
# Builds the .deb, unpacks it into a fresh root and runs the installed programs from there:
# qdq --version, qdq info on the installed demo model, and an offscreen screenshot of
# qdq-inspector on it.   installer/test-install.sh [BUILD_DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$build" && cpack -G DEB -B "$work/pkg" >/dev/null)
deb="$(ls "$work"/pkg/*.deb)"
echo "package: $(basename "$deb")"
dpkg-deb --field "$deb" Depends | sed 's/^/depends: /'
dpkg -x "$deb" "$work/root"

bin="$work/root/usr/bin"
demo="$work/root/usr/share/qdq-inspector/demo/tiny-qdqbert"
for f in usr/share/applications/io.github.qdqinspector.QDQInspector.desktop \
         usr/share/metainfo/io.github.qdqinspector.QDQInspector.metainfo.xml \
         usr/share/mime/packages/qdq-inspector-mime.xml \
         usr/share/icons/hicolor/scalable/apps/qdq-inspector.svg \
         usr/share/icons/hicolor/48x48/apps/qdq-inspector.png \
         usr/share/man/man1/qdq.1 "${demo#"$work/root/"}/config.json"; do
  [ -s "$work/root/$f" ] || { echo "missing from the package: /$f" >&2; exit 1; }
done

"$bin/qdq" --version | head -n1
"$bin/qdq" info --model "$demo" >/dev/null
echo "qdq info on the installed demo model: ok"
QT_QPA_PLATFORM=offscreen "$bin/qdq-inspector" --screenshot "$work/shot.png" --model "$demo" 2>/dev/null
[ -s "$work/shot.png" ] || { echo "no screenshot from the installed qdq-inspector" >&2; exit 1; }
echo "installed qdq-inspector screenshot: ok"
echo "install test passed"

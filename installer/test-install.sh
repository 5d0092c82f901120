#!/usr/bin/env bash
# Builds the .deb and checks it as a distribution would: the package stays under 100 MB, the
# desktop file and the AppStream metadata pass desktop-file-validate and appstreamcli validate,
# the metadata's homepage is the package's, and `dpkg --root` installs it into a fresh root
# (its own dpkg database; dependencies are the host's, hence --force-depends). From that root
# it runs qdq --version, qdq info on both installed demo models, the man pages and the bash
# completion, and an offscreen screenshot of qdq-inspector (which exits after it).
#   installer/test-install.sh [BUILD_DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "install test: $*" >&2; exit 1; }

(cd "$build" && cpack -G DEB -B "$work/pkg" >/dev/null)
deb="$(ls "$work"/pkg/*.deb)"
size=$(stat -c %s "$deb")
echo "package: $(basename "$deb"), $((size / 1000000)) MB"
dpkg-deb --field "$deb" Depends | sed 's/^/depends: /'
[ "$size" -lt 100000000 ] || fail "the package is $size bytes, over 100 MB"

# a fresh root with an empty dpkg database
dest="$work/root"
mkdir -p "$dest/var/lib/dpkg/info" "$dest/var/lib/dpkg/updates"
touch "$dest/var/lib/dpkg/status" "$dest/var/lib/dpkg/available"
dpkg --root="$dest" --force-not-root --force-script-chrootless --force-depends --log=/dev/null \
  -i "$deb" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; fail "dpkg --root -i failed"; }
grep -q '^Status: install ok installed' <<<"$(dpkg --root="$dest" -s qdq-inspector)" || fail "dpkg does not list it as installed"
echo "dpkg --root: installed ($(dpkg --root="$dest" -L qdq-inspector | wc -l) paths)"

share="$dest/usr/share"
desktop="$share/applications/io.github.qdqinspector.QDQInspector.desktop"
metainfo="$share/metainfo/io.github.qdqinspector.QDQInspector.metainfo.xml"
for f in "$desktop" "$metainfo" "$share/mime/packages/qdq-inspector-mime.xml" \
         "$share/icons/hicolor/scalable/apps/qdq-inspector.svg" "$share/icons/hicolor/48x48/apps/qdq-inspector.png" \
         "$share/man/man1/qdq.1.gz" "$share/man/man1/qdq-inspector.1.gz" "$share/bash-completion/completions/qdq" \
         "$share/doc/qdq-inspector/copyright" "$share/qdq-inspector/demo/tiny-qdqbert/config.json"; do
  [ -s "$f" ] || fail "missing from the package: ${f#"$dest"}"
done

desktop-file-validate "$desktop" || fail "desktop-file-validate rejects ${desktop#"$dest"}"
appstreamcli validate --no-net "$metainfo" >"$work/as.log" 2>&1 || { cat "$work/as.log" >&2; fail "appstreamcli rejects the metainfo"; }
echo "desktop-file-validate, appstreamcli validate: ok"
homepage="$(dpkg-deb --field "$deb" Homepage)"
grep -q "<url type=\"homepage\">$homepage</url>" "$metainfo" || fail "metainfo homepage is not the package's ($homepage)"
grep -q '^MimeType=.*inode/directory' "$desktop" || fail "the desktop file does not open folders"

# the man pages: both present, no reference to one that is not installed
for page in qdq qdq-inspector; do
  text="$(zcat "$share/man/man1/$page.1.gz")"
  grep -q "^\.TH $(tr a-z A-Z <<<"$page") 1 \"[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]\"" <<<"$text" || fail "$page(1) has no dated .TH line"
  for ref in $(grep -oE '\bqdq(-inspector)?\(1\)' <<<"$text" | sort -u); do
    [ -e "$share/man/man1/${ref%(1)}.1.gz" ] || fail "$page(1) refers to $ref, not installed"
  done
done
echo "man pages: ok"

bin="$dest/usr/bin"
"$bin/qdq" --version | head -n1
offered="$(bash -c "source '$share/bash-completion/completions/qdq'; COMP_WORDS=(qdq repo); COMP_CWORD=1; _qdq; echo \"\${COMPREPLY[*]}\"")"
[ "$offered" = report ] || fail "the installed bash completion completes 'qdq repo' to '$offered', not report"
demo="$share/qdq-inspector/demo"
"$bin/qdq" info --quiet --model "$demo/tiny-qdqbert" >/dev/null
for model in model model-classifier; do  # the assembled demo models, when the build had them
  if [ -e "$demo/$model/config.json" ]; then
    "$bin/qdq" info --quiet --model "$demo/$model" >/dev/null || fail "qdq info fails on the installed $model"
    echo "qdq info on the installed demo $model: ok"
  fi
done
QT_QPA_PLATFORM=offscreen "$bin/qdq-inspector" --screenshot "$work/shot.png" --model "$demo/tiny-qdqbert" 2>/dev/null
[ -s "$work/shot.png" ] || fail "no screenshot from the installed qdq-inspector"
echo "installed qdq-inspector screenshot: ok"
echo "install test passed"

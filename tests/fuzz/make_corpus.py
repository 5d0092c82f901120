#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/) from the test
fixtures in tests/data plus a few minimal hand-built inputs (a one-tensor torch zip, legacy file,
safetensors, tokenizer.json, calibration files). Deterministic; rerun after changing a fixture.
Regression seeds (inputs that once crashed a parser) are named regression-* and are kept."""
import json
import os
import shutil
import struct
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "tests", "data")
OUT = os.path.join(ROOT, "tests", "fuzz", "corpus")


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def fixture(*parts):
    with open(os.path.join(DATA, *parts), "rb") as f:
        return f.read()


def s(text):  # BINUNICODE
    b = text.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def g(module, name):  # GLOBAL
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def state_dict_pickle(legacy):
    """A protocol-2 state dict {"w": FloatStorage tensor [2, 2]} as torch.save writes it."""
    pid_tail = b"N" if legacy else b""  # legacy persistent ids carry view metadata
    tensor = (g("torch._utils", "_rebuild_tensor_v2") + b"(" +
              b"(" + s("storage") + g("torch", "FloatStorage") + s("0") + s("cpu") + b"K\x04" + pid_tail + b"tQ" +
              b"K\x00" + b"K\x02K\x02\x86" + b"K\x02K\x01\x86" + b"\x89" +
              g("collections", "OrderedDict") + b")R" + b"tR")
    return (b"\x80\x02" + g("collections", "OrderedDict") + b"q\x00)Rq\x01(" + s("w") + tensor + b"u.")


FLOATS = struct.pack("<4f", 1.0, -2.0, 0.5, 3.0)


def torch_zip():
    import io
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", state_dict_pickle(False))
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/data/0", FLOATS)
        z.writestr("archive/version", "3\n")
    return buf.getvalue()


def legacy():
    magic = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19."
    protocol = b"\x80\x02M\xe9\x03."
    sys_info = b"\x80\x02}q\x00(" + s("protocol_version") + b"M\xe9\x03" + s("little_endian") + b"\x88" + b"u."
    keys = b"\x80\x02]q\x00" + s("0") + b"a."
    return magic + protocol + sys_info + state_dict_pickle(True) + keys + struct.pack("<q", 4) + FLOATS


def safetensors(header, data):
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


def main():
    for target in os.listdir(OUT) if os.path.isdir(OUT) else []:
        for name in os.listdir(os.path.join(OUT, target)):
            if not name.startswith("regression-"):
                os.remove(os.path.join(OUT, target, name))

    put("safetensors", "fp16.safetensors", fixture("checkpoints", "model_fp16.safetensors"))
    put("safetensors", "one_tensor.safetensors",
        safetensors({"__metadata__": {"format": "pt"}, "w": {"dtype": "F32", "shape": [2, 2],
                                                             "data_offsets": [0, 16]}}, FLOATS))
    put("safetensors", "dtypes.safetensors",
        safetensors({"a": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]},
                     "b": {"dtype": "I64", "shape": [1], "data_offsets": [4, 12]},
                     "c": {"dtype": "BOOL", "shape": [0, 3], "data_offsets": [12, 12]}}, bytes(12)))

    put("pickle", "state_dict.pkl", state_dict_pickle(False))
    with zipfile.ZipFile(os.path.join(DATA, "checkpoints", "model.pt")) as z:
        put("pickle", "model_pt_data.pkl", z.read("model/data.pkl"))
    put("pickle", "legacy_stream.pkl", legacy())

    put("torch_zip", "one_tensor.pt", torch_zip())
    put("torch_zip", "model_bf16.pt", fixture("checkpoints", "model_bf16.pt"))
    put("torch_zip", "hf_safetensors_deflated.zip", fixture("checkpoints", "hf_safetensors_deflated.zip"))
    for bad in ("zip_traversal.zip", "zip_bomb_ratio.zip", "zip_duplicate.zip", "zip_bomb_declared.zip"):
        put("torch_zip", bad, fixture("checkpoints", "bad", bad))

    put("torch_legacy", "one_tensor.bin", legacy())
    put("torch_legacy", "legacy.bin", fixture("checkpoints", "legacy.bin"))

    for case in ("base", "decoder_cross", "seqcls", "tokcls", "base_rel_key"):
        put("config", case + ".json", fixture("model", case, "config.json"))
    put("config", "hf_safetensors.json", fixture("checkpoints", "hf_safetensors", "config.json"))

    vocab = fixture("checkpoints", "hf_safetensors", "vocab.txt")
    tok_config = fixture("checkpoints", "hf_safetensors", "tokenizer_config.json")
    tokens = vocab.decode().split("\n")
    tokenizer_json = json.dumps({
        "version": "1.0",
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100,
                  "vocab": {t: i for i, t in enumerate(tokens) if t}},
        "truncation": None, "padding": None}).encode()
    config = fixture("checkpoints", "hf_safetensors", "config.json")
    put("tokenizer_files", "vocab_only", vocab)
    put("tokenizer_files", "vocab_and_config", vocab + b"\0\0" + tok_config + b"\0" + config)
    put("tokenizer_files", "tokenizer_json", b"\0" + tokenizer_json + b"\0" + tok_config)

    with open(os.path.join(DATA, "tokenizer", "goldens.jsonl"), encoding="utf-8") as f:
        texts = []
        for line in f:
            for t in json.loads(line).get("texts", []):
                if isinstance(t, str) and t not in texts:
                    texts.append(t)
    for i, t in enumerate(texts[:40]):
        put("tokenizer_text", "golden_%02d" % i, bytes([i % 256]) + t.encode("utf-8"))
    put("tokenizer_text", "pair", bytes([4 | 8]) + b"first segment\0second, segment!")

    put("onnx_import", "no_qdq.onnx", fixture("onnx", "bad", "no_qdq.onnx"))
    put("onnx_import", "unmapped.onnx", fixture("onnx", "bad", "unmapped.onnx"))

    put("calibration_data", "sentences.txt", b"\0" + fixture("calibration", "sentences.txt")[:4000])
    put("calibration_data", "pairs.jsonl",
        b"\5" + b'{"text": "a first", "pair": "b"}\n{"text": "\\u00e9t\\u00e9", "pair": "c"}\n')
    put("calibration_data", "examples.jsonl", b"\1" + b'{"text": "one"}\n\n{"text": "two", "text_pair": "x"}\n')
    put("calibration_data", "quoted.csv", b"\2" + b'id,text\n1,"a ""quoted"", text"\n2,plain\n3,"multi\nline"\n')
    put("calibration_data", "pairs.tsv", b"\6" + b"text\tpair\nhello\tworld\n\"q\"\"t\"\tx\n")


if __name__ == "__main__":
    main()

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
# Seeds of hostile classes (issue #27) that the engine does not handle yet: written to
# tests/fuzz/findings/<target>/ instead of the corpus the normal build replays. Move a name out of
# this set when its fix lands.
FINDINGS_DIR = os.path.join(ROOT, "tests", "fuzz", "findings")
FINDINGS = set()  # every hostile seed of issue #27 is handled now (they were fixed in the same issue)


def put(target, name, data):
    d = os.path.join(FINDINGS_DIR if (target, name) in FINDINGS else OUT, target)
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
    return zipped([("archive/data.pkl", state_dict_pickle(False)), ("archive/byteorder", b"little"),
                   ("archive/data/0", FLOATS), ("archive/version", b"3\n")])


def legacy():
    magic = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19."
    protocol = b"\x80\x02M\xe9\x03."
    sys_info = b"\x80\x02}q\x00(" + s("protocol_version") + b"M\xe9\x03" + s("little_endian") + b"\x88" + b"u."
    keys = b"\x80\x02]q\x00" + s("0") + b"a."
    return magic + protocol + sys_info + state_dict_pickle(True) + keys + struct.pack("<q", 4) + FLOATS


def safetensors(header, data):
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


MARK = b"\0QDQFILE "  # fuzz_support.h, unpackFolder


def pack(files):
    """A folder as one input: records MARK NAME \\n CONTENTS."""
    return b"".join(MARK + name.encode() + b"\n" + data for name, data in files)


def folder(*parts):
    d = os.path.join(DATA, *parts)
    return [(n, fixture(*parts, n)) for n in sorted(os.listdir(d))]


def zipped(files, method=zipfile.ZIP_STORED):
    import io
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in files:
            z.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data, compress_type=method)
    return buf.getvalue()


def tensor_pickle(key, shape, stride, storage_elems, dtype="FloatStorage"):
    """A protocol-2 state dict {key: tensor view (shape, stride) of storage "0"}."""
    def tup(v):
        return b"(" + b"".join(b"J" + struct.pack("<i", x) for x in v) + b"t"
    tensor = (g("torch._utils", "_rebuild_tensor_v2") + b"(" +
              b"(" + s("storage") + g("torch", dtype) + s("0") + s("cpu") + b"J" + struct.pack("<i", storage_elems) +
              b"tQ" + b"K\x00" + tup(shape) + tup(stride) + b"\x89" +
              g("collections", "OrderedDict") + b")R" + b"tR")
    return b"\x80\x02" + g("collections", "OrderedDict") + b"q\x00)Rq\x01(" + key + tensor + b"u."


def torch_zip_of(pkl, storage):
    return zipped([("archive/data.pkl", pkl), ("archive/byteorder", b"little"), ("archive/data/0", storage),
                   ("archive/version", b"3\n")])


def raw_header(h):
    return struct.pack("<Q", len(h)) + h


def st_bytes(header, data):
    h = json.dumps(header, ensure_ascii=False).encode("utf-8", "surrogateescape")
    return struct.pack("<Q", len(h)) + h + data


def end_to_end_seeds():
    """checkpoint_load, tokenizer_dir, inputs_file, cli_json (issue #27)."""
    config = fixture("checkpoints", "hf_safetensors", "config.json")
    # checkpoint_load: byte 0 = mode (0 folder, 1 one sniffed file, 2 first file in the folder)
    put("checkpoint_load", "folder_safetensors", b"\0" + pack(folder("checkpoints", "hf_safetensors")))
    put("checkpoint_load", "folder_pytorch", b"\0" + pack(folder("checkpoints", "hf_pytorch")))
    put("checkpoint_load", "folder_sharded", b"\0" + pack(folder("checkpoints", "sharded_safetensors")))
    put("checkpoint_load", "folder_heads4", bytes([4 << 2]) + pack(
        [("model.safetensors", fixture("checkpoints", "hf_safetensors", "model.safetensors"))]))
    put("checkpoint_load", "file_in_folder", b"\2" + pack(
        [("model.safetensors", fixture("checkpoints", "hf_safetensors", "model.safetensors")), ("config.json", config)]))
    put("checkpoint_load", "file_safetensors", b"\1" + fixture("checkpoints", "model_fp16.safetensors"))
    put("checkpoint_load", "file_zip_flat", b"\1" + fixture("checkpoints", "hf_safetensors_flat.zip"))
    put("checkpoint_load", "file_zip_nested", b"\1" + fixture("checkpoints", "hf_pytorch_nested.zip"))
    put("checkpoint_load", "file_legacy", b"\1" + fixture("checkpoints", "legacy.bin"))
    put("checkpoint_load", "file_pt", b"\1" + torch_zip())
    # hostile classes
    deep = b'{"hidden_size": ' + b"[" * 200000 + b"]" * 200000 + b"}"  # wrong type, deeply nested
    put("checkpoint_load", "hostile-deep-nesting-config", b"\2" + pack(
        [("config.json", deep), ("model.safetensors", fixture("checkpoints", "hf_safetensors", "model.safetensors"))]))
    put("checkpoint_load", "hostile-wrong-type-config", b"\0" + pack(
        [("config.json", b'{"num_hidden_layers": [[[1]]], "hidden_size": {"a": 1}}'),
         ("model.pt", torch_zip())]))
    put("checkpoint_load", "hostile-invalid-utf8-key", b"\1" + torch_zip_of(
        tensor_pickle(b"X\x04\x00\x00\x00w\xff\xfe\xc3", [2, 2], [2, 1], 4), FLOATS))
    put("checkpoint_load", "hostile-invalid-utf8-global", b"\1" + torch_zip_of(
        tensor_pickle(s("w"), [2, 2], [2, 1], 4, dtype="Float\xffStorage"), FLOATS))
    put("checkpoint_load", "hostile-zero-stride-view", b"\1" + torch_zip_of(
        tensor_pickle(s("bert.embeddings.word_embeddings.weight"), [60000, 50000], [0, 0], 4), FLOATS))
    put("checkpoint_load", "hostile-overlapping-view", b"\1" + torch_zip_of(
        tensor_pickle(s("w"), [40000, 40000], [1, 1], 40000 * 2), bytes(4 * 40000 * 2)))
    inner = zipped([("model/pytorch_model.bin", torch_zip()), ("model/config.json", config)])
    put("checkpoint_load", "hostile-nested-zips", b"\1" + zipped([("outer/inner.zip", zipped([("x/inner.zip", inner)]))]))
    put("checkpoint_load", "hostile-huge-counts", b"\0" + pack(
        [("config.json", b'{"vocab_size": 16777216, "hidden_size": 65536, "num_hidden_layers": 1024,'
                         b' "num_attention_heads": 1, "intermediate_size": 262144}'),
         ("model.safetensors", st_bytes({"w": {"dtype": "F32", "shape": [4294967296, 4294967296],
                                               "data_offsets": [0, 16]}}, FLOATS))]))
    put("checkpoint_load", "hostile-vocab-dev-zero", b"\0" + pack(
        [("model.safetensors", fixture("checkpoints", "hf_safetensors", "model.safetensors")), ("config.json", config),
         ("vocab.txt", b"@zero")]))

    # tokenizer_dir: vocab.txt \0 tokenizer.json \0 tokenizer_config.json \0 config.json [\0 text]
    vocab = fixture("checkpoints", "hf_safetensors", "vocab.txt")
    tok_config = fixture("checkpoints", "hf_safetensors", "tokenizer_config.json")
    tokens = vocab.decode().split("\n")

    def tokenizer_json(max_chars=100, vocab_value=None):
        return json.dumps({
            "version": "1.0",
            "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                           "strip_accents": None, "lowercase": True},
            "pre_tokenizer": {"type": "BertPreTokenizer"},
            "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                      "max_input_chars_per_word": max_chars,
                      "vocab": vocab_value if vocab_value is not None else {t: i for i, t in enumerate(tokens) if t}},
            "truncation": None, "padding": None}).encode()
    put("tokenizer_dir", "vocab_only", vocab)
    put("tokenizer_dir", "vocab_and_config", vocab + b"\0\0" + tok_config + b"\0" + config)
    put("tokenizer_dir", "tokenizer_json", b"\0" + tokenizer_json() + b"\0" + tok_config + b"\0\0extra text, t\xc3\xa9")
    # one-letter pieces match everywhere: word splitting's worst case (findings/: the same with 100,000)
    put("tokenizer_dir", "hostile-long-words", b"\0" + tokenizer_json(max_chars=1 << 30, vocab_value={
        "[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "a": 5, "##a": 6}) + b"\0\0\0" + b"a" * 3000)
    put("tokenizer_dir", "hostile-wrong-type", b"\0" + tokenizer_json(vocab_value=[1, 2, 3]))
    put("tokenizer_dir", "hostile-invalid-utf8-vocab", b"[PAD]\n[UNK]\n[CLS]\n[SEP]\nab\xff\xfe\n##\xc3\n" + b"\0\0\0\0\xff\xfe")
    put("tokenizer_dir", "hostile-vocab-dev-zero", b"@zero")

    # inputs_file: the safetensors file of qdq run --inputs
    ids = struct.pack("<4q", 101, 7592, 2088, 102)
    put("inputs_file", "ids_mask_types.safetensors", st_bytes(
        {"input_ids": {"dtype": "I64", "shape": [1, 4], "data_offsets": [0, 32]},
         "attention_mask": {"dtype": "I64", "shape": [1, 4], "data_offsets": [32, 64]},
         "token_type_ids": {"dtype": "I64", "shape": [1, 4], "data_offsets": [64, 96]}},
        ids + struct.pack("<4q", 1, 1, 1, 1) + bytes(32)))
    put("inputs_file", "past_and_cache.safetensors", st_bytes(
        {"input_ids": {"dtype": "I32", "shape": [1, 1], "data_offsets": [0, 4]},
         "past_key_values.0.0": {"dtype": "F32", "shape": [1, 1, 1, 2], "data_offsets": [4, 12]},
         "past_key_values.0.1": {"dtype": "F32", "shape": [1, 1, 1, 2], "data_offsets": [12, 20]},
         "use_cache": {"dtype": "BOOL", "shape": [], "data_offsets": [20, 21]},
         "labels": {"dtype": "I64", "shape": [1], "data_offsets": [24, 32]}},
        struct.pack("<i", 5) + bytes(16) + b"\1" + bytes(3) + struct.pack("<q", 1)))
    put("inputs_file", "embeds.safetensors", st_bytes(
        {"inputs_embeds": {"dtype": "F32", "shape": [1, 1, 4], "data_offsets": [0, 16]},
         "head_mask": {"dtype": "F16", "shape": [2], "data_offsets": [16, 20]}}, FLOATS + bytes(4)))
    put("inputs_file", "hostile-unknown-name.safetensors", st_bytes(
        {"past_key_values.99999999999999999999.0": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, bytes(4)))
    put("inputs_file", "hostile-invalid-utf8-name.safetensors",
        raw_header(b'{"input_\xff\xfeids":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}') + bytes(8))
    put("inputs_file", "hostile-huge-shape.safetensors", st_bytes(
        {"input_ids": {"dtype": "I64", "shape": [9223372036854775807, 2], "data_offsets": [0, 8]}}, bytes(8)))
    put("inputs_file", "hostile-dev-zero", b"@zero")

    # cli_json: byte 0 = exception kind (& 7) | 0x80 for --json; message \0 file \0 tensor \0 field
    put("cli_json", "format_json", b"\x80unexpected end of data\0model.pt\0bert.pooler.dense.weight\0shape")
    put("cli_json", "shape_text", b"\x01shapes [2, 3] and [4] do not fit\0\0w\0")
    put("cli_json", "usage_json", b"\x85--threads expects a positive integer")
    put("cli_json", "internal_json", b"\x86boom \xc3\xa9 \"quoted\" \\ \n newline")
    put("cli_json", "bad_alloc_json", b"\x87")
    put("cli_json", "cancel_json", b"\x84operation cancelled\0out")
    put("cli_json", "hostile-invalid-utf8-message", b"\x80unknown global torch.\xff\xfeStorage\0model.pt")
    put("cli_json", "hostile-invalid-utf8-location", b"\x83cannot open\0dir/\xc3(\0key\x80\0field\xed\xa0\x80")


def main():
    for base in (OUT, FINDINGS_DIR):
        for target in os.listdir(base) if os.path.isdir(base) else []:
            for name in os.listdir(os.path.join(base, target)):
                if not name.startswith("regression-"):
                    os.remove(os.path.join(base, target, name))
    end_to_end_seeds()

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

#!/usr/bin/env python3
"""Golden cases for the WordPiece tokenizer (issue 5), from the real implementations.

Runs transformers==4.37.2 BertTokenizer (the "slow" Python tokenizer) and BertTokenizerFast
(the Rust "fast" tokenizer, tokenizers==0.15.2) over both shared vocabularies and writes one
JSON object per line to tests/data/tokenizer/goldens.jsonl:

  {"id": 17, "vocab": "uncased"|"cased",
   "options": {"do_lower_case": bool, "strip_accents": null|bool, "tokenize_chinese_chars": bool},
   "texts": [str, ...], "pairs": [str, ...] (optional, same length as texts),
   "max_length": int|null, "truncation": "do_not_truncate"|"longest_first"|"only_first"|"only_second",
   "padding": "do_not_pad"|"longest"|"max_length",
   "slow": {"ids": [[...]], "tokens": [[...]], "type_ids": [[...]], "mask": [[...]]} | {"error": str},
   "fast": {"ids": [[...]], "type_ids": [[...]], "mask": [[...]], "offsets": [[[s, e], ...]]} | {"error": str},
   "differ": bool}

Offsets are Python code-point offsets into the original text (or pair text), as in the fast
tokenizer's offset_mapping; (0, 0) for special tokens and padding. Every case is a batch (most of
one item) so that padding="longest" has its batch meaning.

Usage: tools/reference/.venv/bin/python tools/reference/gen_tokenizer_goldens.py [--out FILE]
The generator is deterministic (fixed seed); re-running it reproduces the committed file.
"""

import argparse
import json
import os
import random
import sys
import warnings

warnings.filterwarnings("ignore")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import transformers  # noqa: E402
from transformers import BertTokenizer, BertTokenizerFast  # noqa: E402

transformers.logging.set_verbosity_error()

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared"))
VOCABS = {
    "uncased": os.path.join(SHARED, "models", "vocab-bert-base-uncased", "vocab.txt"),
    "cased": os.path.join(SHARED, "models", "vocab-bert-base-cased", "vocab.txt"),
}
SEED = 20240517

WORDS = (
    "the quick brown fox jumps over lazy dog tokenization WordPiece BERT quantization "
    "unbelievable internationalization transformers hello world This Is Mixed CASE "
    "running runs ran don't can't it's U.S.A. e-mail state-of-the-art 3.14159 1,000,000 "
    "$100 #hashtag @user http://example.com/path?q=1&r=2 C++ x86_64 naïve café résumé "
    "Zürich São Paulo Ærøskøbing Ångström Dvořák façade coöperate Straße ÉCOLE ÑANDÚ"
).split()
SCRIPTS = [
    "Καλημέρα κόσμε", "ΟΔΥΣΣΕΥΣ", "ΣΑΣ σας Σ", "ἀρχή", "Привет, мир!", "ЁЛКА ёлка", "Їжак",
    "مرحبا بالعالم", "السَّلَامُ", "שלום עולם", "你好，世界！", "中文分词测试", "日本語のテキスト",
    "カタカナ ひらがな", "한국어 텍스트", "안녕하세요", "नमस्ते दुनिया", "สวัสดีครับ", "ქართული",
    "Հայերեն", "ትግርኛ", "Tiếng Việt có dấu", "İstanbul İİ", "ıi", "ǅungla ǈ", "ﬁnance ﬃ",
    "Ⅻ ① ²³", "ＡＢＣ ｆｕｌｌ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "㐀㐁 𠀀𠀁 丽", "\U0002B820\U0002B91F\U0002B920",
]
EMOJI = ["😀", "👍🏽", "👨‍👩‍👧", "🇩🇪", "❤️", "🥰", "🤖", "✨", "⚡", "☕"]
SPECIAL_CHARS = [
    "\u200b", "\u200c", "\u200d", "\ufeff", "\u00ad", "\u2060", "\x00", "\x07", "\x1f", "\x7f",
    "\x85", "\x0b", "\x0c", "\x1c", "\ufffd", "\u00a0", "\u3000", "\u2028", "\u2029", "\u202f",
    "\u1680", "\t", "\n", "\r", "\r\n", "\u0301", "\u0308", "\u0345", "\u20dd", "\ue000",
    "\u0130", "\u212a", "\u2126", "\u212b", "\u1e9e", "\u03a3", "\u0345", "\u2e2e", "\u00b7",
]
PUNCT = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") + [
    "…", "—", "–", "«", "»", "¿", "¡", "、", "。", "「", "」", "・", "‽", "§", "¶", "€", "©", "°", "×",
    "¬", "±", "′", "‰", "※", "〜", "︰", "﹏", "＂", "･", "⁂",
]
SPECIAL_TOKENS = ["[CLS]", "[SEP]", "[MASK]", "[UNK]", "[PAD]", "[mask]", "[unused0]"]
# Characters assigned after Unicode 13 are avoided: Python 3.11 has Unicode 14, utf8proc 2.8
# Unicode 15, so their categories (and whether the slow tokenizer drops them) differ by version.
# code-point ranges sampled at random: scripts whose character data agrees between Python 3.11
# (Unicode 14), utf8proc 2.6 (Unicode 13) and the Rust tables (assigned long ago).
RANGES = [
    (0x20, 0x7E), (0xA0, 0x24F), (0x370, 0x3FF), (0x400, 0x4FF), (0x5D0, 0x5EA), (0x621, 0x64A),
    (0x300, 0x36F), (0x2000, 0x206F), (0x20A0, 0x20B5), (0x2100, 0x214F), (0x3040, 0x30FF),
    (0x4E00, 0x9FA5), (0xAC00, 0xD7A3), (0xFF01, 0xFF5E), (0x1F600, 0x1F64F), (0x2190, 0x21FF),
]


def random_char(rng):
    lo, hi = rng.choice(RANGES)
    return chr(rng.randint(lo, hi))


def random_fragment(rng):
    kind = rng.random()
    if kind < 0.40:
        return rng.choice(WORDS)
    if kind < 0.52:
        return rng.choice(SCRIPTS)
    if kind < 0.60:
        return "".join(rng.choice(PUNCT) for _ in range(rng.randint(1, 5)))
    if kind < 0.67:
        return rng.choice(EMOJI)
    if kind < 0.77:
        return rng.choice(SPECIAL_CHARS)
    if kind < 0.87:
        return "".join(random_char(rng) for _ in range(rng.randint(1, 6)))
    if kind < 0.90:
        return rng.choice(SPECIAL_TOKENS)
    if kind < 0.93:
        n = rng.choice([99, 100, 101, 120])
        return "".join(rng.choice("abcdefghij") for _ in range(n))
    if kind < 0.96:
        return str(rng.randint(0, 10**rng.randint(1, 12)))
    return rng.choice(WORDS).upper()


def random_text(rng, max_fragments=12):
    n = rng.randint(0, max_fragments)
    parts = []
    for _ in range(n):
        parts.append(random_fragment(rng))
        parts.append(rng.choice([" ", " ", " ", "", "  ", "\t", "\n", "\u00a0"]))
    return "".join(parts)


HAND_TEXTS = [
    "", " ", "   \t\n ", "\u3000\u00a0\u2028", "\x00\ufffd\u200b", "Hello, world!",
    "Hello, World! How are you doing today?", "unaffable", "UNAFFABLE unaffable Unaffable",
    "The café serves naïve crème brûlée.", "ÁÉÍÓÚ áéíóú ñÑ üÜ åÅ", "e\u0301 a\u0308 n\u0303",
    "ΣΑΣ σας ΌΣΟΣ", "İstanbul", "İ", "i\u0307", "ǅ ǆ Ǆ", "ß ẞ STRASSE",
    "Привет мир", "مرحبا", "你好世界", "한국어", "日本語とカタカナ", "\U0002B820\U0002B920",
    "😀😃😄 👍🏽 👨\u200d👩\u200d👧", "a\u200bb\u200dc\ufeffd\u00ade", "tab\tnew\nline\rcr",
    "x" * 100, "x" * 101, "y" * 250, "supercalifragilisticexpialidocious" * 3,
    "!!!???...,,,;;;", "$+<=>^`|~", "a$b+c<d=e>f^g`h|i~j", "€100 ©2024 30° 3×4",
    "hello[MASK]world", "[CLS] text [SEP] more [SEP]", "[mask] [Mask] [MASK]", "[unused0] [unused1]",
    "\u0130STANBUL \u0130zmir", "\u212a\u2126\u212b", "ﬁ ﬂ ﬃ", "Ⅻ①²", "ＡＢＣ",
    "don't stop-believing: it's 2024!", "3.14159 1,000,000", "http://example.com/a?b=c&d=e",
    "a\u0378b", "a\U000e0001b", "\uf902\uf90a x\uf963x", "a\ue000b", "\u0345\u0301", "\r\n\r\n",
]
HAND_PAIRS = [
    ("How old are you?", "I am six years old."),
    ("", ""),
    ("one two three four five six", "seven eight nine"),
    ("seven eight nine", "one two three four five six"),
    ("a b c d", "e f g h"),
    ("Paris is the capital of France.", "What is the capital of France?"),
    ("ΣΑΣ", "İstanbul"),
    ("你好", "世界你好"),
]
TRUNCATIONS = ["do_not_truncate", "longest_first", "only_first", "only_second"]
PADDINGS = ["do_not_pad", "longest", "max_length"]


class Runner:
    def __init__(self):
        self.cache = {}

    def get(self, vocab, options):
        key = (vocab, tuple(sorted(options.items())))
        if key not in self.cache:
            kwargs = dict(options)
            slow = BertTokenizer(VOCABS[vocab], **kwargs)
            fast = BertTokenizerFast(VOCABS[vocab], **kwargs)
            self.cache[key] = (slow, fast)
        return self.cache[key]


def call_kwargs(case):
    kwargs = {}
    trunc = case["truncation"]
    kwargs["truncation"] = False if trunc == "do_not_truncate" else trunc
    if case["max_length"] is not None:
        kwargs["max_length"] = case["max_length"]
    kwargs["padding"] = False if case["padding"] == "do_not_pad" else case["padding"]
    return kwargs


def run_slow(tok, case):
    try:
        texts, pairs = case["texts"], case.get("pairs")
        enc = tok(texts, pairs, **call_kwargs(case)) if pairs is not None else tok(texts, **call_kwargs(case))
        tokens = [tok.convert_ids_to_tokens(ids) for ids in enc["input_ids"]]
        return {"ids": enc["input_ids"], "tokens": tokens, "type_ids": enc["token_type_ids"],
                "mask": enc["attention_mask"]}
    except Exception as e:  # noqa: BLE001 - recorded as the reference's answer
        return {"error": str(e).splitlines()[0] if str(e) else type(e).__name__}


def run_fast(tok, case):
    try:
        texts, pairs = case["texts"], case.get("pairs")
        kw = call_kwargs(case)
        kw["return_offsets_mapping"] = True
        enc = tok(texts, pairs, **kw) if pairs is not None else tok(texts, **kw)
        offsets = [[list(o) for o in seq] for seq in enc["offset_mapping"]]
        return {"ids": enc["input_ids"], "type_ids": enc["token_type_ids"], "mask": enc["attention_mask"],
                "offsets": offsets}
    except Exception as e:  # noqa: BLE001
        return {"error": str(e).splitlines()[0] if str(e) else type(e).__name__}


def default_options(vocab):
    return {"do_lower_case": vocab == "uncased"}


def make_cases(rng):
    cases = []

    def add(vocab, texts, pairs=None, max_length=None, truncation="do_not_truncate", padding="do_not_pad",
            options=None):
        case = {"vocab": vocab, "options": options or default_options(vocab), "texts": texts}
        if pairs is not None:
            case["pairs"] = pairs
        case.update({"max_length": max_length, "truncation": truncation, "padding": padding})
        cases.append(case)

    # hand-written single texts, both vocabularies
    for vocab in VOCABS:
        for t in HAND_TEXTS:
            add(vocab, [t])
    # non-default normaliser options
    for t in HAND_TEXTS:
        add("uncased", [t], options={"do_lower_case": True, "strip_accents": False})
        add("uncased", [t], options={"do_lower_case": True, "tokenize_chinese_chars": False})
        add("cased", [t], options={"do_lower_case": False, "strip_accents": True})
    # hand-written pairs with every truncation strategy and several max lengths
    for vocab in VOCABS:
        for a, b in HAND_PAIRS:
            for trunc in TRUNCATIONS:
                for ml in [None, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 16]:
                    if trunc != "do_not_truncate" and ml is None:
                        continue
                    add(vocab, [a], [b], ml, trunc, "do_not_pad")
            for pad in ["longest", "max_length"]:
                add(vocab, [a], [b], 20, "longest_first", pad)
    # single texts with truncation and padding
    for vocab in VOCABS:
        for t in ["one two three four five six", "Hello, world!", "", "ΣΑΣ σας"]:
            for trunc in TRUNCATIONS:
                for ml in [1, 2, 3, 4, 6, 10]:
                    for pad in PADDINGS:
                        add(vocab, [t], None, ml, trunc, pad)
    # batches with padding to the longest / to max_length
    for vocab in VOCABS:
        for _ in range(20):
            n = rng.randint(2, 4)
            texts = [random_text(rng, 6) for _ in range(n)]
            pad = rng.choice(["longest", "max_length"])
            ml = rng.choice([None, 8, 16, 32]) if pad == "longest" else rng.choice([8, 16, 32])
            trunc = "longest_first" if ml is not None and rng.random() < 0.7 else "do_not_truncate"
            if rng.random() < 0.5:
                add(vocab, texts, [random_text(rng, 6) for _ in range(n)], ml, trunc, pad)
            else:
                add(vocab, texts, None, ml, trunc, pad)
    # random texts
    for i in range(1100):
        vocab = "uncased" if i % 2 == 0 else "cased"
        add(vocab, [random_text(rng)])
    # random pairs with random truncation
    for i in range(350):
        vocab = "uncased" if i % 2 == 0 else "cased"
        trunc = rng.choice(TRUNCATIONS)
        ml = None if trunc == "do_not_truncate" else rng.choice([3, 5, 8, 11, 16, 24, 32, 64])
        pad = rng.choice(PADDINGS) if ml is not None else rng.choice(["do_not_pad", "longest"])
        add(vocab, [random_text(rng, 8)], [random_text(rng, 8)], ml, trunc, pad)
    return cases


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "tokenizer", "goldens.jsonl"))
    args = parser.parse_args()
    assert transformers.__version__ == "4.37.2", transformers.__version__
    rng = random.Random(SEED)
    runner = Runner()
    cases = make_cases(rng)
    n_differ = 0
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8", newline="\n") as out:
        for i, case in enumerate(cases):
            slow_tok, fast_tok = runner.get(case["vocab"], case["options"])
            slow = run_slow(slow_tok, case)
            fast = run_fast(fast_tok, case)
            if "error" in slow or "error" in fast:
                differ = ("error" in slow) != ("error" in fast)
            else:
                differ = (slow["ids"] != fast["ids"] or slow["type_ids"] != fast["type_ids"]
                          or slow["mask"] != fast["mask"])
            n_differ += differ
            record = {"id": i, **case, "slow": slow, "fast": fast, "differ": differ}
            line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
            # a raw U+FEFF inside a string is dropped by some JSON readers (Qt's): escape it
            out.write(line.replace("\ufeff", "\\ufeff") + "\n")
    print(f"{len(cases)} cases ({n_differ} where slow and fast differ) -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()

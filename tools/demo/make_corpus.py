#!/usr/bin/env python3
"""Extracts English prose sentences from the Python 3.11 documentation shipped by Debian's
python3.11-doc package (reST sources under /usr/share/doc/python3.11/html/_sources, PSF License
Version 2) and splits them, deterministically, into disjoint sets:

  train        sentences the masked-LM and classifier heads are trained on
  eval         held-out sentences for the accuracy numbers in resources/demo-model/README.md
  calibration  128 held-out sentences for `qdq calibrate` (committed as tools/demo/calibration.txt)

Everyday English (the Python documentation has no cats, cups of coffee or umbrellas) comes from
Debian's wordnet-base package (WordNet 3.0, /usr/share/wordnet, the WordNet 3.0 licence): the
usage examples quoted in its glosses ("he drank a cup of coffee") and the glosses themselves
("a beverage consisting of an infusion of ground coffee beans"), split the same way into

  wordnet_train   examples and glosses the masked-LM head is also trained on
  wordnet_eval    600 held-out usage examples (a second held-out masked-LM set, everyday English)

The Python split does not depend on WordNet (the same train/eval/calibration as before).
With --gcide, definition and quotation sentences of GCIDE (Debian's dict-gcide, GPL) are written
to gcide_train.txt as extra training text (the second GPU run of the masked LM).

Standard library only.  python3 tools/demo/make_corpus.py [--out DIR]   (default tools/demo/.data)
Writes DIR/{train,eval,calibration,wordnet_train,wordnet_eval}.txt (one sentence a line) and
DIR/sources.tsv (path, bytes, SHA-256 of every source file read, for PROVENANCE.md).
"""
import argparse
import gzip
import hashlib
import pathlib
import random
import re
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from everyday import fills_everyday  # noqa: E402  (the ten test sentences stay out of training)

SOURCES = pathlib.Path("/usr/share/doc/python3.11/html/_sources")
# prose-rich parts of the documentation (c-api / distutils are mostly API listings)
PARTS = ["tutorial", "howto", "faq", "whatsnew", "reference", "library", "using", "installing",
         "extending", "glossary.rst.txt"]
SEED = 20261126
N_CALIBRATION = 128
N_EVAL = 2000
WORDNET = pathlib.Path("/usr/share/wordnet")
WORDNET_FILES = ["data.noun", "data.verb", "data.adj", "data.adv"]
N_WORDNET_EVAL = 600
# Everyday English (--everyday): the English side of Ding's German-English dictionary (Debian's
# trans-de-en, GPL-2+: example sentences written for learners) and the everyday files of BSD
# fortune's collection (Debian's fortunes, BSD licence; quotations, attributions removed).
DING = pathlib.Path("/usr/share/trans/de-en")
FORTUNES = pathlib.Path("/usr/share/games/fortunes")
FORTUNE_FILES = ["education", "food", "fortunes", "humorists", "kids", "literature", "love", "men-women",
                 "miscellaneous", "people", "pets", "platitudes", "riddles", "sports", "wisdom", "work"]

# The GNU Collaborative International Dictionary of English (Debian's dict-gcide: Webster's 1913
# with additions, GPL): definitions and the quotations under them, a seeded sample of them
GCIDE = pathlib.Path("/usr/share/dictd/gcide.dict.dz")
N_GCIDE = 150000

ROLE = re.compile(r":[a-zA-Z:+-]+:`([^`]*)`")
LINK = re.compile(r"`([^`<]*?)\s*<[^>]*>`_{1,2}")
BACKTICKS = re.compile(r"``([^`]*)``|`([^`]*)`_{0,2}")
EMPH = re.compile(r"\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*")
WORD = re.compile(r"^[\"'(]?[A-Za-z][A-Za-z'-]*[\"')]?[,.;:!?]?[\"')]?$")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")
CODE_DIRECTIVES = (".. code-block", ".. sourcecode", ".. doctest", ".. testcode", ".. testoutput",
                   ".. productionlist", ".. literalinclude", ".. highlight", ".. grammar-snippet",
                   ".. csv-table", ".. list-table", ".. table", ".. raw", ".. math", ".. index",
                   ".. _", ".. toctree", ".. seealso", ".. moduleauthor", ".. sectionauthor",
                   ".. rubric", ".. |", ".. include", ".. image", ".. figure", ".. cmdoption",
                   ".. opcode", ".. impl-detail", ".. audit-event", ".. c:", ".. envvar")


def read_recorded(path, provenance):
    """The bytes of path, recorded in provenance as (path, size, SHA-256) for sources.tsv."""
    data = path.read_bytes()
    provenance.append((path, len(data), hashlib.sha256(data).hexdigest()))
    return data


def role_text(match):
    text = match.group(1)
    if "<" in text and text.endswith(">"):
        text = text[: text.index("<")].strip()
    text = text.lstrip("~!")
    if "." in text and " " not in text:  # :func:`os.path.join` -> join
        text = text.rsplit(".", 1)[-1]
    return text


def clean_inline(text):
    text = ROLE.sub(role_text, text)
    text = LINK.sub(lambda m: m.group(1), text)
    text = BACKTICKS.sub(lambda m: m.group(1) if m.group(1) is not None else m.group(2), text)
    text = EMPH.sub(lambda m: m.group(1) or m.group(2), text)
    text = text.replace("|", " ").replace("\\", "")
    return re.sub(r"\s+", " ", text).strip()


def paragraphs(lines):
    block = []
    for line in lines:
        if line.strip():
            block.append(line.rstrip())
        elif block:
            yield block
            block = []
    if block:
        yield block


def indent(line):
    return len(line) - len(line.lstrip(" "))


def prose_paragraphs(text):
    """Paragraphs of running text: literal blocks (after '::'), code/table directives,
    comments, titles, tables and field lists are skipped."""
    code_indent = None  # skip paragraphs indented deeper than this
    for block in paragraphs(text.splitlines()):
        first = block[0]
        level = indent(first)
        if code_indent is not None:
            if level > code_indent:
                continue
            code_indent = None
        stripped = first.strip()
        if stripped.startswith(CODE_DIRECTIVES) or stripped.startswith("..") and "::" not in stripped:
            code_indent = level
            continue
        if stripped.startswith(".. "):  # other directives (note, versionadded, function, ...):
            body = block[1:]              # their argument line is not prose; their body may be
            if not body:
                continue
            block = body
            stripped = block[0].strip()
        if block[-1].rstrip().endswith("::"):
            code_indent = level
            block = block[:]
            block[-1] = re.sub(r"\s*::$", ":", block[-1].rstrip())
            if block[-1].strip() == ":":
                continue
        if stripped.startswith((">>>", "...", "+", "|", "=", "-", "*" * 2, "#", ":", "%", "$")):
            continue
        if len(block) >= 2 and re.fullmatch(r"[=\-~^\"'*#+]{3,}", block[1].strip()):
            continue  # a section title
        if stripped.startswith(("* ", "- ", "#. ")) or re.match(r"\d+\. ", stripped):
            stripped = re.sub(r"^(\* |- |#\. |\d+\. )", "", stripped)
            block = [stripped] + block[1:]
        yield clean_inline(" ".join(line.strip() for line in block))


def is_prose(sentence):
    words = sentence.split()
    if not 8 <= len(words) <= 40:
        return False
    if not sentence[0].isupper() or sentence[-1] not in ".!?":
        return False
    plain = sum(1 for w in words if WORD.match(w))
    if plain < 0.9 * len(words):
        return False
    if any(c in sentence for c in "=_/{}[]<>@#$%^&*~\\"):
        return False
    return sentence.count("(") == sentence.count(")")


def plain_sentence(text, min_words, seen):
    """True (and remembered in seen) for a new sentence of min_words-40 plain words, without
    markup characters, with balanced parentheses."""
    words = text.split()
    if not min_words <= len(words) <= 40:
        return False
    if sum(1 for w in words if WORD.match(w)) < len(words) or any(c in text for c in '"=_/{}[]<>@#$%^&*~\\`|'):
        return False
    if text.count("(") != text.count(")") or text.lower() in seen:
        return False
    seen.add(text.lower())
    return True


def wordnet_sentences(provenance):
    """WordNet 3.0 usage examples and glosses as sentences (deduplicated, in file order):
    returns (examples, glosses). A data line is `offset lex_filenum ss_type ... | gloss; "example"; ...`."""
    examples, glosses, seen = [], [], set()
    for name in WORDNET_FILES:
        path = WORDNET / name
        data = read_recorded(path, provenance)
        for line in data.decode("utf-8", errors="replace").splitlines():
            if line.startswith(" ") or "| " not in line:
                continue  # the licence header
            for part in line.split("| ", 1)[1].split(";"):
                part = part.strip()
                is_example = part.startswith('"')
                text = re.sub(r'"\s*-\s*[A-Z].*$', "", part)  # attribution after a quotation
                text = text.strip().strip('"').strip()
                if not text:
                    continue
                text = text[0].upper() + text[1:]
                if text[-1] not in ".!?":
                    text += "."
                if plain_sentence(text, 4 if is_example else 6, seen):
                    (examples if is_example else glosses).append(text)
    return examples, glosses


def gcide_sentences(provenance):
    """Definition and quotation sentences of GCIDE (the dictd text: entries separated by blank
    lines; a headword line `Word \\pron\\, pos. [etymology]`, numbered senses, `{cross refs}`,
    `[1913 Webster]` source tags, quotations ending in `--Author.`), 5-40 plain words each,
    deduplicated, in file order."""
    data = read_recorded(GCIDE, provenance)
    text = gzip.decompress(data).decode("utf-8", errors="replace")
    out, seen = [], set()
    for block in paragraphs(text.splitlines()):
        para = " ".join(line.strip() for line in block)
        para = re.sub(r"\\[^\\]*\\", " \\ ", para)     # pronunciations: the headword's sentence is dropped
        para = re.sub(r"\[[^\]]*\]", " ", para)            # etymologies, [1913 Webster], [Obs.]
        para = re.sub(r"--\s*[A-Z][^.]*\.", " ", para)      # quotation attributions
        para = re.sub(r"[{}]", "", para)
        para = re.sub(r"(^|\s)(\d+\.|\([a-z]\))\s", " ", para)  # sense numbers
        para = re.sub(r"\s+", " ", para).strip()
        for sentence in SENTENCE_END.split(para):
            sentence = sentence.strip()
            if sentence and sentence[0].isupper() and sentence[-1] in ".!?" and plain_sentence(sentence, 5, seen):
                out.append(sentence)
    return out


def everyday_sentences(provenance):
    """Ding's English example sentences (`German :: English`, alternatives split on `|` and `;`,
    `{..}` / `[..]` tags removed) and the sentences of the everyday fortune files (records
    separated by `%` lines, `-- Author` attributions removed), 4-40 plain words each, starting with
    a capital and ending in . ! or ?, deduplicated, in file order."""
    out, seen = [], set()

    def keep(text):
        text = re.sub(r"\s+", " ", text.replace("\u2019", "'")).strip()
        if text and text[0].isupper() and text[-1] in ".!?" and plain_sentence(text, 4, seen):
            out.append(text)

    data = read_recorded(DING, provenance)
    for line in data.decode("utf-8", errors="replace").splitlines():
        if line.startswith("#") or "::" not in line:
            continue
        for part in re.split(r"[|;]", line.split("::", 1)[1]):
            keep(re.sub(r"\s*(\{[^}]*\}|\[[^\]]*\])", "", part))
    for name in FORTUNE_FILES:
        path = FORTUNES / name
        data = read_recorded(path, provenance)
        for record in re.split(r"(?m)^%$", data.decode("utf-8", errors="replace")):
            text = " ".join(line.strip() for line in record.splitlines()
                            if not re.match(r"\s*(--|\u2014)", line))  # attribution lines
            text = re.sub(r"\s(--|\u2014)\s*[A-Z].*$", "", text)
            for sentence in SENTENCE_END.split(text):
                keep(sentence)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(pathlib.Path(__file__).resolve().parent / ".data"))
    parser.add_argument("--provenance", metavar="MD", help="also write the file table of PROVENANCE.md here")
    parser.add_argument("--gcide", action="store_true",
                        help=f"also write gcide_train.txt: {N_GCIDE} sentences of {GCIDE} (apt-get install dict-gcide)")
    parser.add_argument("--everyday", action="store_true",
                        help="also write everyday_train.txt: Ding's English example sentences and everyday "
                             "fortunes (apt-get install trans-de-en fortunes)")
    args = parser.parse_args()
    if not SOURCES.is_dir():
        sys.exit(f"make_corpus: {SOURCES} is missing; install it with: apt-get install -y python3.11-doc")
    files = []
    for part in PARTS:
        path = SOURCES / part
        files += sorted(path.rglob("*.txt")) if path.is_dir() else [path]
    seen, sentences, provenance = set(), [], []
    for path in files:
        data = read_recorded(path, provenance)
        for paragraph in prose_paragraphs(data.decode("utf-8")):
            for sentence in SENTENCE_END.split(paragraph):
                sentence = sentence.strip()
                if is_prose(sentence) and sentence.lower() not in seen:
                    seen.add(sentence.lower())
                    sentences.append(sentence)
    random.Random(SEED).shuffle(sentences)
    calibration = sentences[:N_CALIBRATION]
    evaluation = sentences[N_CALIBRATION:N_CALIBRATION + N_EVAL]
    train = sentences[N_CALIBRATION + N_EVAL:]
    if not (WORDNET / "data.noun").is_file():
        sys.exit(f"make_corpus: {WORDNET} is missing; install it with: apt-get install -y wordnet-base")
    examples, glosses = wordnet_sentences(provenance)
    random.Random(f"{SEED}-wordnet").shuffle(examples)
    wordnet_eval = examples[:N_WORDNET_EVAL]
    wordnet_train = examples[N_WORDNET_EVAL:] + glosses
    random.Random(f"{SEED}-wordnet-train").shuffle(wordnet_train)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    gcide = []
    if args.gcide:
        if not GCIDE.is_file():
            sys.exit(f"make_corpus: {GCIDE} is missing; install it with: apt-get install -y dict-gcide")
        gcide = gcide_sentences(provenance)
        everyday = {s.lower() for s in wordnet_eval + evaluation + calibration}
        gcide = [s for s in gcide if s.lower() not in everyday]
        random.Random(f"{SEED}-gcide").shuffle(gcide)
        print(f"make_corpus: GCIDE: {len(gcide)} sentences, {min(N_GCIDE, len(gcide))} kept")
        gcide = gcide[:N_GCIDE]
        (out / "gcide_train.txt").write_text("".join(s + "\n" for s in gcide), encoding="utf-8")
    if args.everyday:
        for path, package in ((DING, "trans-de-en"), (FORTUNES / "kids", "fortunes")):
            if not path.is_file():
                sys.exit(f"make_corpus: {path} is missing; install it with: apt-get install -y {package}")
        held_out = {s.lower() for s in wordnet_eval + evaluation + calibration}
        extra = [s for s in everyday_sentences(provenance) if s.lower() not in held_out and not fills_everyday(s)]
        random.Random(f"{SEED}-everyday").shuffle(extra)
        print(f"make_corpus: everyday: {len(extra)} sentences")
        (out / "everyday_train.txt").write_text("".join(s + "\n" for s in extra), encoding="utf-8")
    for name, items in (("train", train), ("eval", evaluation), ("calibration", calibration),
                        ("wordnet_train", wordnet_train), ("wordnet_eval", wordnet_eval)):
        (out / f"{name}.txt").write_text("".join(s + "\n" for s in items), encoding="utf-8")
    with open(out / "sources.tsv", "w", encoding="utf-8") as f:
        for path, size, digest in provenance:
            f.write(f"{path}\t{size}\t{digest}\n")
    if args.provenance:
        with open(args.provenance, "w", encoding="utf-8") as f:
            f.write("| file (under /usr/share/doc/python3.11/html/_sources/) | bytes | SHA-256 |\n|---|---:|---|\n")
            for path, size, digest in provenance:
                if path.is_relative_to(SOURCES):
                    f.write(f"| {path.relative_to(SOURCES)} | {size} | `{digest}` |\n")
    total = sum(len(s) + 1 for s in sentences)
    print(f"make_corpus: {len(files)} files, {len(sentences)} sentences ({total / 1e6:.2f} MB): "
          f"train {len(train)}, eval {len(evaluation)}, calibration {len(calibration)}; WordNet: "
          f"{len(examples)} examples, {len(glosses)} glosses: wordnet_train {len(wordnet_train)}, "
          f"wordnet_eval {len(wordnet_eval)} -> {out}")


if __name__ == "__main__":
    main()

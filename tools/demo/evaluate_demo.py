#!/usr/bin/env python3
"""Evaluates the assembled demo models (resources/demo/model, resources/demo/model-classifier)
in FP32 twice: with transformers (BertForMaskedLM / BertForSequenceClassification loaded from the
assembled folders) and with the C++ engine (`qdq run --inputs ... --json`), on the held-out
sentences masked by train_demo.py (the same masks: Python documentation and WordNet examples),
and prints the top-5 of ten everyday
sentences. Writes tools/demo/.data/evaluation.json and evaluation.md (pasted into
resources/demo-model/README.md).

  tools/reference/.venv/bin/python tools/demo/evaluate_demo.py [--qdq build/app/qdq] [--precision qdq|int8]

With --precision the C++ runs use that precision (once `qdq run --precision` supports it) and
the "same as transformers" fractions compare them with the fp32 reference.
"""
import argparse
import json
import pathlib
import subprocess
import sys
import tempfile
import time

import torch
from transformers import BertForMaskedLM, BertForSequenceClassification, BertTokenizerFast

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
from assemble_demo import write_safetensors  # noqa: E402
from train_demo import EVERYDAY, padded  # noqa: E402  (the ten sentences; batch padding)

WORK = HERE / ".data" / "work"
MODEL = ROOT / "resources" / "demo" / "model"
CLASSIFIER = ROOT / "resources" / "demo" / "model-classifier"
BATCH = 100


PRECISION = "fp32"


def run_cpp(qdq, model, task, rows, top_k=5):
    """`qdq run --inputs` on padded rows; returns the JSON results (one entry per row)."""
    ids, att = padded(rows)
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "in.safetensors"
        write_safetensors(path, [("input_ids", "I64", list(ids.shape), ids.numpy().tobytes()),
                                 ("attention_mask", "I64", list(att.shape), att.numpy().tobytes())])
        r = subprocess.run([qdq, "run", "--model", str(model), "--task", task, "--inputs", str(path),
                            "--json", "--top-k", str(top_k), "--quiet"]
                           + ([] if PRECISION == "fp32" else ["--precision", PRECISION]), capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"evaluate-demo: qdq run failed ({r.returncode}): {r.stderr.strip()}")
    return json.loads(r.stdout)["results"]


def evaluate_mlm(qdq, mlm, key, parts):
    """Top-1 / top-5 of transformers (fp32) and of the C++ engine (PRECISION) at fixed masks."""
    rows = [m for p in parts for m in p["masked"]]
    where = torch.cat([p["where"] for p in parts]).tolist()
    labels = torch.cat([p["labels"] for p in parts]).tolist()
    targets = {}  # sentence index -> [(position, label)]
    for (s, pos), y in zip(where, labels):
        targets.setdefault(s, []).append((pos, y))
    result = {}
    t0 = time.time()
    hits_py = [0, 0]
    top5_py = {}
    with torch.no_grad():
        for b in range(0, len(rows), BATCH):
            ids, att = padded(rows[b: b + BATCH])
            logits = mlm(input_ids=ids, attention_mask=att).logits
            for i in range(len(ids)):
                for pos, y in targets.get(b + i, []):
                    top = logits[i, pos].topk(5).indices.tolist()
                    top5_py[(b + i, pos)] = top
                    hits_py[0] += top[0] == y
                    hits_py[1] += y in top
    n = len(labels)
    result[f"{key}_transformers"] = {"top1": hits_py[0] / n, "top5": hits_py[1] / n, "positions": n,
                                     "sentences": len(rows), "seconds": time.time() - t0}
    t0 = time.time()
    hits_cpp, agree_top1, agree_top5 = [0, 0], 0, 0
    for b in range(0, len(rows), BATCH):
        res = run_cpp(qdq, MODEL, "masked-lm", rows[b: b + BATCH])
        for i, entry in enumerate(res):
            by_pos = {p["position"]: [t["token_id"] for t in p["top_k"]] for p in entry["positions"]}
            for pos, y in targets.get(b + i, []):
                top = by_pos[pos]
                hits_cpp[0] += top[0] == y
                hits_cpp[1] += y in top
                agree_top1 += top[0] == top5_py[(b + i, pos)][0]
                agree_top5 += top == top5_py[(b + i, pos)]
    result[f"{key}_cpp"] = {"top1": hits_cpp[0] / n, "top5": hits_cpp[1] / n, "positions": n,
                            "top1_same_as_transformers": agree_top1 / n,
                            "top5_list_same_as_transformers": agree_top5 / n, "seconds": time.time() - t0}
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--qdq", default=str(ROOT / "build" / "app" / "qdq"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precision", default="fp32", choices=["fp32", "qdq", "int8"],
                        help="precision of the C++ runs (transformers is always the fp32 reference)")
    args = parser.parse_args()
    global PRECISION
    PRECISION = args.precision
    torch.set_num_threads(args.threads)
    tokenizer = BertTokenizerFast.from_pretrained(str(MODEL))
    mlm = BertForMaskedLM.from_pretrained(str(MODEL)).eval()
    result = {}

    # held-out masked-LM accuracy: the eval sentences with the masks train_demo.py drew
    for key, pattern in (("mlm", "mlm_eval_*.pt"), ("mlm_wordnet", "mlm_wordnet_eval_*.pt")):
        files = sorted(WORK.glob(pattern))
        if files:
            result.update(evaluate_mlm(args.qdq, mlm, key, [torch.load(p) for p in files]))

    # classifier: held-out real vs. word-shuffled sentences
    clf = BertForSequenceClassification.from_pretrained(str(CLASSIFIER)).eval()
    cparts = [torch.load(p) for p in sorted(WORK.glob("cls_eval_*.pt"))]
    texts = [t for p in cparts for t in p["texts"]]
    clabels = torch.cat([p["labels"] for p in cparts]).tolist()
    enc = tokenizer(texts, truncation=True, max_length=64)["input_ids"]
    correct_py, correct_cpp, agree = 0, 0, 0
    for b in range(0, len(enc), BATCH):
        ids, att = padded(enc[b: b + BATCH])
        with torch.no_grad():
            pred_py = clf(input_ids=ids, attention_mask=att).logits.argmax(-1).tolist()
        res = run_cpp(args.qdq, CLASSIFIER, "sequence-classification", enc[b: b + BATCH], top_k=2)
        for i, entry in enumerate(res):
            pred_cpp = cpp_class(entry)
            y = clabels[b + i]
            correct_py += pred_py[i] == y
            correct_cpp += pred_cpp == y
            agree += pred_cpp == pred_py[i]
    m = len(clabels)
    result["classifier"] = {"examples": m, "accuracy_transformers": correct_py / m, "accuracy_cpp": correct_cpp / m,
                            "same_prediction": agree / m}

    # ten everyday sentences
    everyday = []
    enc = [tokenizer(s)["input_ids"] for s in EVERYDAY]
    res = run_cpp(args.qdq, MODEL, "masked-lm", enc)
    with torch.no_grad():
        ids, att = padded(enc)
        logits = mlm(input_ids=ids, attention_mask=att).logits
    for i, sentence in enumerate(EVERYDAY):
        pos = enc[i].index(tokenizer.mask_token_id)
        entry = next(p for p in res[i]["positions"] if p["position"] == pos)
        cpp = [(tokenizer.convert_ids_to_tokens(t["token_id"]), t["probability"]) for t in entry["top_k"]]
        py = tokenizer.convert_ids_to_tokens(logits[i, pos].topk(5).indices.tolist())
        everyday.append({"sentence": sentence, "cpp_top5": cpp, "transformers_top5": py,
                         "same": [c[0] for c in cpp] == py})
    result["everyday"] = everyday

    out = HERE / ".data"
    result["cpp_precision"] = PRECISION
    suffix = "" if PRECISION == "fp32" else "-" + PRECISION
    (out / f"evaluation{suffix}.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [f"| sentence | top-5 (C++ engine, {PRECISION}, probability) |", "|---|---|"]
    for e in everyday:
        lines.append(f"| {e['sentence']} | " + ", ".join(f"{t} {p:.2f}" for t, p in e["cpp_top5"]) + " |")
    (out / f"evaluation{suffix}.md").write_text("\n".join(lines) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "everyday"}, indent=2))
    print("\n".join(lines))
    print("everyday top-5 identical in C++ and transformers:", all(e["same"] for e in everyday))


def cpp_class(entry):
    """The predicted class of one sequence-classification result of `qdq run --json`."""
    return int(entry["prediction"])


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""qdq bench against ONNX Runtime and PyTorch on the same BERT-base checkpoint, in one run (issue #14).

One random, deterministic BERT-base QDQBERT checkpoint (`qdq make-synthetic --qdq`: per-row weight
amax, activations max-calibrated) is timed

  ours       `qdq bench --model DIR --precision fp32|qdq|int8 --json` (the GEMM-only bound with it)
  ORT fp32   our own ONNX export of it with every quantizer disabled (`qdq export-onnx`)
  ORT int8   that FP32 ONNX through onnxruntime.quantization.quantize_dynamic (u8 activations, s8 weights)
  ORT fused  that FP32 ONNX fused by onnxruntime.transformers.optimizer (attention, LayerNorm, GELU,
             bias): ort-fused-fp32, and the fused graph through quantize_dynamic with per-channel s8
             weights: ort-fused-int8, ORT's best INT8 pipeline (on the unfused graph quantize_dynamic
             leaves most of the time in float ops)
  ORT qdq    our Q/DQ ONNX export (int8 weights + DequantizeLinear, QuantizeLinear/DequantizeLinear on
             the activations), which ORT folds into its own INT8 kernels
  torch fp32 transformers BertModel over the same weights
  torch int8 torch.ao.quantization.quantize_dynamic(BertModel, {nn.Linear}, qint8)

with the same batch x sequence and thread count, and prints median ms and our time / their time per
configuration. Configurations run one after the other in this process, so a change of load on the
machine hits neighbours alike; run it when `uptime` is low and report the load with the table.

  /work/main/tools/reference/.venv/bin/python bench/compare.py --qdq build/app/qdq \\
      --shapes 1x128 8x128 --threads 2 --runs 10 --json results.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(cmd: list[str]) -> str:
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"compare.py: {' '.join(cmd)} failed ({r.returncode}):\n{r.stderr}")
    return r.stdout


def timed(fn, runs: int, warmup: int) -> dict:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000.0)
    return {"median": statistics.median(times), "min": min(times), "max": max(times)}


def make_checkpoint(qdq: str, work: Path) -> Path:
    out = work / "bert-base-qdq"
    if (out / "model.safetensors").exists():
        return out
    vocab = ROOT / "resources" / "demo" / "model" / "vocab.txt"
    if not vocab.exists():
        vocab = work / "vocab.txt"
        specials = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        words = specials + [f"tok{i}" for i in range(30522 - len(specials))]
        vocab.write_text("\n".join(words) + "\n")
    run([qdq, "make-synthetic", "--layers", "12", "--hidden", "768", "--heads", "12", "--vocab", str(vocab),
         "--qdq", "--seed", "1", "--out", str(out), "--force", "--quiet"])
    return out


def export_onnx(qdq: str, model: Path, work: Path) -> tuple[Path, Path, Path]:
    fp32 = work / "bert-base-fp32.onnx"
    qdq_onnx = work / "bert-base-qdq.onnx"
    dyn = work / "bert-base-ort-int8.onnx"
    if not fp32.exists():
        run([qdq, "export-onnx", "--model", str(model), "--out", str(fp32), "--weights", "fp32",
             "--disable-quantizer", "*", "--quiet"])
    if not qdq_onnx.exists():
        run([qdq, "export-onnx", "--model", str(model), "--out", str(qdq_onnx), "--quiet"])
    if not dyn.exists():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(fp32), str(dyn), weight_type=QuantType.QInt8)
    return fp32, qdq_onnx, dyn


def fuse_onnx(fp32: Path, work: Path) -> tuple[Path, Path]:
    """ORT's own BERT fusion of our FP32 export, and that fused graph quantized dynamically."""
    fused = work / "bert-base-fp32-fused.onnx"
    fused_int8 = work / "bert-base-ort-int8-fused.onnx"
    if not fused.exists():
        from onnxruntime.transformers.optimizer import optimize_model

        optimize_model(str(fp32), model_type="bert", num_heads=12, hidden_size=768).save_model_to_file(str(fused))
    if not fused_int8.exists():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(fused), str(fused_int8), weight_type=QuantType.QInt8, per_channel=True)
    return fused, fused_int8


def torch_model(model: Path):
    import torch
    from safetensors.torch import load_file
    from transformers import BertConfig, BertModel

    cfg = json.loads((model / "config.json").read_text())
    config = BertConfig(**{k: v for k, v in cfg.items() if k not in ("architectures", "model_type")})
    m = BertModel(config, add_pooling_layer=True).eval()
    state = {}
    for k, v in load_file(str(model / "model.safetensors")).items():
        if k.endswith("_amax") or not k.startswith("bert."):
            continue
        state[k[len("bert."):]] = v
    missing, _ = m.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing:
        sys.exit(f"compare.py: the checkpoint lacks {missing[:3]}")
    return m


def cores_are_free(threads: int) -> bool:
    """threading.h's coresAreFree: `threads` busy threads fit beside the tasks runnable in each of
    five samples 1 ms apart (this process not counted)."""
    others = None
    for sample in range(5):
        if sample:
            time.sleep(0.001)
        with open("/proc/loadavg") as f:
            running = int(f.read().split()[3].split("/")[0])
        others = running - 1 if others is None else min(others, running - 1)
    return others + threads <= (os.cpu_count() or 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--qdq", default=str(ROOT / "build" / "app" / "qdq"), help="the qdq binary")
    ap.add_argument("--work", default=None, help="folder for the checkpoint and ONNX files (kept; default a temp dir)")
    ap.add_argument("--shapes", nargs="+", default=["1x128", "8x128"], help="BATCHxSEQ")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--scale-runs", action="store_true", help="runs * 128 / (batch * seq) runs per shape (>= 3)")
    ap.add_argument("--skip", nargs="*", default=[], help="configurations to leave out, e.g. torch-int8 ort-qdq")
    ap.add_argument("--json", default=None, help="also write the results here")
    ap.add_argument("--spinning", action="store_true",
                    help="leave every runtime's threads spinning while they wait (OpenMP, ORT defaults); by default "
                         "PyTorch and qdq spin as qdq picks for itself (bounded on free cores, short on busy ones) "
                         "and ORT does not spin")
    args = ap.parse_args()

    if "GLIBC_TUNABLES" not in os.environ:
        # malloc with transparent huge pages, as `qdq` runs itself (threading.h), for every runtime
        # here: glibc reads it at start, so this process starts again
        os.environ["GLIBC_TUNABLES"] = "glibc.malloc.hugetlb=1"
        os.execv(sys.executable, [sys.executable, *sys.argv])
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    # The same OpenMP wait policy for PyTorch and `qdq` (before torch loads libgomp), the one `qdq`
    # picks for itself (engine/include/qdq/threading.h): on free cores a bounded spin
    # (GOMP_SPINCOUNT=10000), on busy ones a short spin then sleep (1000); the default long spin is
    # several times slower on a shared 2-core host. ORT does not spin (with its pool threads spinning,
    # ORT on our Q/DQ export took 83.5 ms against 45-53 ms without).
    free = cores_are_free(args.threads)
    if args.spinning:
        os.environ.setdefault("OMP_WAIT_POLICY", "ACTIVE")
    else:
        os.environ.setdefault("GOMP_SPINCOUNT", "10000" if free else "1000")
    import numpy as np
    import onnxruntime as ort
    import torch

    torch.set_num_threads(args.threads)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="qdq-compare-"))
    work.mkdir(parents=True, exist_ok=True)
    model = make_checkpoint(args.qdq, work)
    fp32_onnx, qdq_onnx, dyn_onnx = export_onnx(args.qdq, model, work)
    fused_onnx, fused_int8_onnx = fuse_onnx(fp32_onnx, work)
    tm = torch_model(model)
    tq = torch.ao.quantization.quantize_dynamic(tm, {torch.nn.Linear}, dtype=torch.qint8)

    def ort_session(path: Path):
        so = ort.SessionOptions()
        so.intra_op_num_threads = args.threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if not args.spinning:
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])

    sessions = {"ort-fp32": ort_session(fp32_onnx), "ort-int8": ort_session(dyn_onnx), "ort-qdq": ort_session(qdq_onnx),
                "ort-fused-fp32": ort_session(fused_onnx), "ort-fused-int8": ort_session(fused_int8_onnx)}

    def ours(precision: str, b: int, s: int, runs: int) -> dict:
        out = run([args.qdq, "bench", "--model", str(model), "--precision", precision, "--batch", str(b),
                   "--seq", str(s), "--threads", str(args.threads), "--runs", str(runs), "--warmup",
                   str(args.warmup), "--json", "--quiet"])
        return json.loads(out)

    results = []
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}; "
          f"{args.threads} threads ({'spinning' if args.spinning else 'free cores: bounded spin' if free else 'busy cores: short spin'}, "
          f"GOMP_SPINCOUNT={os.environ.get('GOMP_SPINCOUNT', '-')}, GLIBC_TUNABLES={os.environ['GLIBC_TUNABLES']}); "
          f"torch {torch.__version__}, "
          f"onnxruntime {ort.__version__}")
    for shape in args.shapes:
        b, s = (int(v) for v in shape.split("x"))
        # fewer runs for the big shapes (at least 3): about the same time per shape
        runs = max(3, args.runs * 128 // (b * s)) if args.scale_runs else args.runs
        # the ids qdq bench uses: (i * 2654435761 + 101) mod vocab
        ids = ((np.arange(b * s, dtype=np.uint64) * np.uint64(2654435761) + np.uint64(101)) % np.uint64(30522))
        ids = ids.astype(np.int64).reshape(b, s)
        row = {"batch": b, "seq": s, "load": os.getloadavg()[0]}
        for p in ("fp32", "qdq", "int8"):
            j = ours(p, b, s, runs)
            row[f"ours-{p}"] = j["forward_ms"]
            row[f"ours-{p}-gemm"] = j["gemm_only_ms"]
            row[f"ours-{p}-gemm-gmacs"] = j.get("gemm_gmacs_per_second")
            row["cpu_isa"] = j.get("cpu_isa")
        for name, sess in sessions.items():
            if name in args.skip:
                continue
            names = {i.name for i in sess.get_inputs()}
            feed = {"input_ids": ids}
            if "attention_mask" in names:
                feed["attention_mask"] = np.ones_like(ids)
            if "token_type_ids" in names:
                feed["token_type_ids"] = np.zeros_like(ids)
            row[name] = timed(lambda: sess.run(None, feed), runs, args.warmup)
        tids = torch.from_numpy(ids)
        with torch.inference_mode():
            for name, m in (("torch-fp32", tm), ("torch-int8", tq)):
                if name not in args.skip:
                    row[name] = timed(lambda: m(input_ids=tids), runs, args.warmup)
        results.append(row)

        print(f"\nbatch {b} x seq {s} (load {row['load']:.2f}): median ms, ours / theirs")
        pairs = (("fp32", "ort-fp32"), ("fp32", "ort-fused-fp32"), ("fp32", "torch-fp32"), ("int8", "ort-int8"),
                 ("int8", "ort-fused-int8"), ("int8", "ort-qdq"), ("int8", "torch-int8"), ("qdq", "ort-qdq"),
                 ("int8", "ours-fp32"))
        print(f"  CPU ISA: {row['cpu_isa']}")
        for p in ("fp32", "qdq", "int8"):
            o = row[f"ours-{p}"]["median"]
            g = row[f"ours-{p}-gemm"]["median"]
            gm = row.get(f"ours-{p}-gemm-gmacs")
            print(f"  ours {p:5s} {o:9.1f}  GEMM-only {g:8.1f}  forward/GEMM {o / g:5.2f}  "
                  f"{b * s * 1000.0 / o:8.0f} tokens/s" + (f"  GEMMs {gm:6.1f} GMAC/s" if gm else ""))
        for name in sessions.keys() | {"torch-fp32", "torch-int8"}:
            if name in row:
                print(f"  {name:10s} {row[name]['median']:9.1f}")
        for ourp, theirs in pairs:
            if theirs in row:
                print(f"  ours {ourp} / {theirs}: {row[f'ours-{ourp}']['median'] / row[theirs]['median']:.3f}")
    print_table(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


def print_table(results: list[dict]) -> None:
    """The bench/README.md table: per shape and precision, ours and the matching ORT / PyTorch configuration."""
    theirs = {"fp32": ("ort-fused-fp32", "torch-fp32"), "qdq": ("ort-qdq", None),
              "int8": ("ort-fused-int8", "torch-int8")}
    print("\n| batch x seq | precision | ours ms | tokens/s | GEMM-only ms | fwd / GEMM | ORT (fused) ms | ours / ORT "
          "| PyTorch ms | ours / PyTorch | load |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in results:
        for p in ("fp32", "qdq", "int8"):
            o = row[f"ours-{p}"]["median"]
            g = row[f"ours-{p}-gemm"]["median"]
            cells = [f"{row['batch']} x {row['seq']}", p, f"{o:.1f}", f"{row['batch'] * row['seq'] * 1000.0 / o:.0f}",
                     f"{g:.1f}", f"{o / g:.2f}"]
            for name in theirs[p]:
                if name and name in row:
                    t = row[name]["median"]
                    cells += [f"{t:.1f}", f"{o / t:.2f}"]
                else:
                    cells += ["–", "–"]
            cells.append(f"{row['load']:.1f}")
            print("| " + " | ".join(cells) + " |")
        if "ort-qdq" in row:
            print(f"| {row['batch']} x {row['seq']} | int8 vs ORT on our Q/DQ ONNX | | | | | "
                  f"{row['ort-qdq']['median']:.1f} | {row['ours-int8']['median'] / row['ort-qdq']['median']:.2f} "
                  f"| | | |")


if __name__ == "__main__":
    main()

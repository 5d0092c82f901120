#!/usr/bin/env python3
"""ONNX Runtime goldens for the Q/DQ ONNX export (issue 9; qdqbert-reference.md §3.7).

Exports the tiny calibrated models of tests/data/quantexec with this tool's own
`qdq export-onnx`, checks each file with the `onnx` package's checker (full_check), runs it in
ONNX Runtime (CPU, graph optimizations off so every QuantizeLinear / DequantizeLinear runs with
its ONNX semantics instead of being fused into integer kernels) on fixed inputs, and writes
per case tests/data/onnx/<case>.safetensors with

  input_ids, attention_mask, token_type_ids    the inputs (int64, batch 2, padded second row)
  <output name>                                the ORT outputs (logits, start_logits, ...)
  codes/<site module path>                     the int8 codes at every QuantizeLinear, taken
                                               from ORT as extra graph outputs

plus tests/data/onnx/manifest.json with the structure of every exported graph (node,
initializer, QuantizeLinear / DequantizeLinear counts, the Q/DQ sites, initializer names).
tests/parity/tst_onnx_parity.cpp re-exports the same models and compares. Also writes two bad
inputs for the import tests: bad/no_qdq.onnx (no Q/DQ nodes) and bad/unmapped.onnx (a Q/DQ
pair on a tensor that is no quantizer site), and foreign/torch_qa.onnx: the qa model exported by
torch.onnx the way pytorch-quantization 2.1.x exports (see foreign_export()).

Run once with the reference venv (the C++ tests need no Python):
  tools/reference/.venv/bin/python tools/reference/gen_onnx_goldens.py --qdq build/app/qdq
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# case, model folder under tests/data/quantexec, task, weight form
CASES = [
    ("base_int8", "base", "base", "int8"),
    ("base_fp32", "base", "base", "fp32"),
    ("base_per_tensor", "base_per_tensor", "base", "fp32"),
    ("masked_lm", "masked_lm", "masked-lm", "int8"),
    ("seqcls", "seqcls", "sequence-classification", "fp32"),
    ("tokcls", "tokcls", "token-classification", "int8"),
    ("qa", "qa", "question-answering", "fp32"),
    ("nsp", "nsp", "next-sentence", "int8"),
    ("causal_lm", "causal_lm", "causal-lm", "fp32"),
    ("mc", "mc", "multiple-choice", "int8"),
]

from ort_run import write_safetensors  # noqa: E402  (tools/reference/ort_run.py, the live-export runner)


def inputs_for(vocab, type_vocab, choices=None):
    rng = np.random.default_rng(20261126)
    batch, seq = 2, 9
    lead = (batch, choices) if choices else (batch,)
    ids = rng.integers(0, vocab, size=lead + (seq,), dtype=np.int64)
    mask = np.ones(lead + (seq,), dtype=np.int64)
    mask[1, ..., 6:] = 0  # padded second sequence (reference §5.2: finfo.min additive mask)
    types = np.zeros(lead + (seq,), dtype=np.int64)
    types[..., 5:] = min(1, type_vocab - 1)
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def export(qdq, model, task, weights, out):
    subprocess.run([qdq, "export-onnx", "--model", model, "--task", task, "--weights", weights, "--out", out,
                    "--quiet"], check=True)


def foreign_export(path):
    """A pytorch-quantization-style export made by torch.onnx itself: the qa model of
    tests/data/quantexec with the from-scratch quantizers of gen_quant_model_goldens.py in
    pytorch-quantization 2.1.x's export mode (`use_fb_fake_quant`: torch's native fake-quant ops,
    which torch.onnx turns into QuantizeLinear / DequantizeLinear, reference §3.7), exported with
    the HF example's settings (opset 13, constant folding, dynamic batch / sequence axes)."""
    import importlib.util
    import torch
    from safetensors.torch import load_file
    from transformers import BertForQuestionAnswering

    spec = importlib.util.spec_from_file_location("gen_quant_model_goldens",
                                                  os.path.join(ROOT, "tools", "reference", "gen_quant_model_goldens.py"))
    gq = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gq)
    folder = os.path.join(ROOT, "tests", "data", "quantexec", "qa")
    model = BertForQuestionAnswering.from_pretrained(folder).eval()
    quantizers = gq.quantize_model(model, 0)
    state = load_file(os.path.join(folder, "model.safetensors"))
    for p, q in quantizers.items():
        q.amax = state["bert." + p + "._amax"]

    def fb_fake_quant(self, x):  # PQ-TQZ 2.1.x _fb_fake_quant
        a = self.amax
        if a.numel() == 1:
            return torch.fake_quantize_per_tensor_affine(x, a.item() / 127.0, 0, -128, 127)
        return torch.fake_quantize_per_channel_affine(x, a.reshape(-1) / 127.0,
                                                      torch.zeros(a.numel(), dtype=torch.int32), 0, -128, 127)

    gq.TensorQuantizer.forward = fb_fake_quant
    ids = torch.randint(0, 99, (2, 9), generator=torch.Generator().manual_seed(1))
    ones = torch.ones(2, 9, dtype=torch.long)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    torch.onnx.export(model, (ids, ones, torch.zeros_like(ones)), path, opset_version=13, do_constant_folding=True,
                      input_names=names, output_names=["output_start_logits", "output_end_logits"],
                      dynamic_axes={n: {0: "batch_size", 1: "seq_len"} for n in names})
    onnx.checker.check_model(onnx.load(path), full_check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qdq", required=True, help="the qdq binary (build/app/qdq)")
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "onnx"))
    args = ap.parse_args()
    os.makedirs(os.path.join(args.out, "bad"), exist_ok=True)
    manifest = {"generator": "tools/reference/gen_onnx_goldens.py", "onnx": onnx.__version__,
                "onnxruntime": ort.__version__, "cases": []}
    with tempfile.TemporaryDirectory() as tmp:
        for case, folder, task, weights in CASES:
            model_dir = os.path.join(ROOT, "tests", "data", "quantexec", folder)
            path = os.path.join(tmp, case + ".onnx")
            export(args.qdq, model_dir, task, weights, path)
            model = onnx.load(path)
            onnx.checker.check_model(model, full_check=True)
            with open(os.path.join(model_dir, "config.json")) as f:
                cfg = json.load(f)
            feeds = inputs_for(cfg["vocab_size"], cfg.get("type_vocab_size", 2),
                               3 if task == "multiple-choice" else None)
            outputs = [o.name for o in model.graph.output]
            codes = [n.output[0] for n in model.graph.node if n.op_type == "QuantizeLinear"]
            for c in codes:  # expose the integer codes of every QuantizeLinear
                model.graph.output.append(helper.make_tensor_value_info(c, TensorProto.INT8, None))
            so = ort.SessionOptions()
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
            sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
            results = sess.run(outputs + codes, feeds)
            tensors = dict(feeds)
            for name, value in zip(outputs + codes, results):
                if name in codes:
                    assert name.endswith(".codes"), name
                    tensors["codes/" + name[: -len(".codes")]] = value
                else:
                    tensors[name] = value
            write_safetensors(os.path.join(args.out, case + ".safetensors"), tensors)
            nodes = list(model.graph.node)
            manifest["cases"].append({
                "case": case, "model": "tests/data/quantexec/" + folder, "task": task, "weights": weights,
                "outputs": outputs,
                "nodes": len(nodes),
                "initializers": len(model.graph.initializer),
                "quantize_nodes": sum(n.op_type == "QuantizeLinear" for n in nodes),
                "dequantize_nodes": sum(n.op_type == "DequantizeLinear" for n in nodes),
                "sites": [n.name[: -len("/DequantizeLinear")] for n in nodes if n.op_type == "DequantizeLinear"],
                "initializer_names_sha256": hashlib.sha256(
                    "\n".join(t.name for t in model.graph.initializer).encode()).hexdigest(),
            })
            print(case, "ok:", len(nodes), "nodes,", len(codes), "QuantizeLinear, outputs", outputs)

        # bad inputs for the import tests
        # (1) no Q/DQ: a tiny graph with one Add
        g = helper.make_graph([helper.make_node("Add", ["x", "x"], ["y"], name="add")], "no_qdq",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="gen_onnx_goldens")
        m.ir_version = 7
        onnx.checker.check_model(m)
        onnx.save(m, os.path.join(args.out, "bad", "no_qdq.onnx"))
        # (2) a Q/DQ pair at an unmapped place (named after the embeddings, no quantizer site)
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch_size", 4])
        s = helper.make_tensor("embeddings.LayerNorm.custom.scale", TensorProto.FLOAT, [], [0.01])
        z = helper.make_tensor("embeddings.LayerNorm.custom.zero_point", TensorProto.INT8, [], [0])
        nodes = [
            helper.make_node("QuantizeLinear", ["x", s.name, z.name], ["xq"], name="embeddings/QuantizeLinear"),
            helper.make_node("DequantizeLinear", ["xq", s.name, z.name], ["y"], name="embeddings/DequantizeLinear"),
        ]
        g = helper.make_graph(nodes, "unmapped", [x],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch_size", 4])],
                              initializer=[s, z])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="gen_onnx_goldens")
        m.ir_version = 7
        onnx.checker.check_model(m)
        onnx.save(m, os.path.join(args.out, "bad", "unmapped.onnx"))
    os.makedirs(os.path.join(args.out, "foreign"), exist_ok=True)
    foreign_export(os.path.join(args.out, "foreign", "torch_qa.onnx"))
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

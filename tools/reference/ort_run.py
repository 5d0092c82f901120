#!/usr/bin/env python3
"""Runs an ONNX model in ONNX Runtime (CPU) for tests/parity/tst_onnx_parity (issue #30).

  ort_run.py MODEL.onnx INPUTS.safetensors OUT_PREFIX

reads the named inputs, and writes two files:
  OUT_PREFIX.literal.safetensors    graph optimisations off: every QuantizeLinear /
                                    DequantizeLinear runs with its ONNX semantics; the integer
                                    codes of every QuantizeLinear are added as outputs
                                    "codes/<site module path>" (int8 / uint8)
  OUT_PREFIX.optimized.safetensors  ORT_ENABLE_ALL: ORT fuses the Q/DQ pairs into integer
                                    kernels as a deployment would
Needs only numpy and onnxruntime (tools/reference/requirements-ort.txt, the venv that
tools/reference/setup-ort-venv.sh makes); safetensors files are read and written here directly.
"""
import json
import struct
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32, "I8": np.int8, "U8": np.uint8}
NAMES = {np.dtype(v): k for k, v in DTYPES.items()}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        out[name] = np.frombuffer(data[base + begin:base + end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
    return out


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        b = a.tobytes()
        header[name] = {"dtype": NAMES[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def run(model, feeds, level, with_codes):
    outputs = [o.name for o in model.graph.output]
    codes = []
    if with_codes:
        model = onnx.ModelProto.FromString(model.SerializeToString())
        zero_types = {i.name: i.data_type for i in model.graph.initializer}
        quantize = [n for n in model.graph.node if n.op_type == "QuantizeLinear"]
        codes = [n.output[0] for n in quantize]
        for n in quantize:  # the codes' type is the zero point's (int8 / uint8)
            dtype = zero_types.get(n.input[2], TensorProto.INT8) if len(n.input) > 2 else TensorProto.UINT8
            model.graph.output.append(helper.make_tensor_value_info(n.output[0], dtype, None))
    so = ort.SessionOptions()
    so.graph_optimization_level = level
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    results = sess.run(outputs + codes, {n: feeds[n] for n in names})
    out = {}
    for name, value in zip(outputs + codes, results):
        key = "codes/" + name[: -len(".codes")] if name in codes else name
        out[key] = np.asarray(value)
    return out


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    model = onnx.load(sys.argv[1])
    feeds = read_safetensors(sys.argv[2])
    write_safetensors(sys.argv[3] + ".literal.safetensors",
                      run(model, feeds, ort.GraphOptimizationLevel.ORT_DISABLE_ALL, True))
    write_safetensors(sys.argv[3] + ".optimized.safetensors",
                      run(model, feeds, ort.GraphOptimizationLevel.ORT_ENABLE_ALL, False))


if __name__ == "__main__":
    main()

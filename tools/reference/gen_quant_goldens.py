#!/usr/bin/env python3
"""Golden data for the quantization math (issues 7 and 8), from an independent reference.

pytorch-quantization cannot be installed here (PyPI serves a placeholder), so this script
re-implements, from docs/qdqbert-reference.md, the parts QDQ Inspector reproduces:
  * TensorQuantizer fake quant (§3.1, §3.3; the 2.2.x CUDA kernel of §3.4; the clamp table §3.5),
    dynamic amax (§2.4), and the two export forms of §3.7 (PyTorch's own
    torch.fake_quantize_per_tensor_affine / _per_channel_affine, and ONNX Q/DQ);
  * MaxCalibrator (§4.2), HistogramCalibrator collection with torch.histc (torch_hist, 2.2.x) and
    numpy.histogram (2.1.x) exactly as §4.3 describes, and compute_amax percentile / mse /
    entropy (§4.4-§4.6), with scipy.stats.entropy's formula written out in NumPy (no scipy).
The library calls (torch.histc, torch.linspace, torch.arange, numpy.histogram, numpy.arange,
numpy.sum, torch.round, ...) are the real ones, so the goldens carry their exact numerics.

Run:  tools/reference/.venv/bin/python tools/reference/gen_quant_goldens.py [OUT_DIR]
(default OUT_DIR: tests/data/quant). Deterministic (fixed seeds). Writes fake_quant.safetensors,
fake_quant.json, calib.safetensors, calib.json, and edges.safetensors / edges.json: the edge
paths of issue #30 (2.2.x `_pre_quant_scale`, the axis of a 1-D per-channel amax per path,
entropy's in-place bin 0 on the NumPy path, 2.2.x weight histograms with range=(0, max), and
an mse near-tie that torch's f32 mean breaks differently from an f64 sum).
"""
import json
import math
import os
import sys

import numpy as np
import torch
from safetensors.torch import save_file

torch.set_num_threads(1)
EPS = 1.0 / (1 << 24)
PROFILES = ["pq-2.1.0", "pq-2.1.x", "pq-2.2-cpu", "pq-2.2-cuda"]


# ---------------------------------------------------------------- fake quant (§3.3, §3.4) ----
def tensor_quant_python(inputs, amax, num_bits=8, unsigned=False, narrow_range=True):
    """§3.3 steps 1-6 (PQ-TQ _tensor_quant), f32 torch ops."""
    if unsigned and inputs.min() < 0.0:
        raise TypeError("Negative values encountered in unsigned quantization.")
    min_amax = amax.min()
    if min_amax < 0:
        raise ValueError("Negative values in amax")
    max_bound = torch.tensor((2.0 ** (num_bits - 1 + int(unsigned))) - 1.0)
    if unsigned:
        min_bound = 0
    elif narrow_range:
        min_bound = -max_bound
    else:
        min_bound = -max_bound - 1
    scale = max_bound / amax
    if min_amax <= EPS:
        zero_amax_mask = amax <= EPS
        scale[zero_amax_mask] = 0
    outputs = torch.clamp((inputs * scale).round_(), min_bound, max_bound)
    if min_amax <= EPS:
        scale[zero_amax_mask] = 1.0
    return outputs, scale


def fake_quant_python(inputs, amax, num_bits, unsigned, narrow_range):
    outputs, scale = tensor_quant_python(inputs, amax.clone(), num_bits, unsigned, narrow_range)
    return outputs / scale  # divide, not multiply (§3.3 step 7)


def fake_quant_cuda_kernel(inputs, amax, num_bits, unsigned):
    """§3.4: per element  a < 2^-24 -> 0; s = B/a; q = rint(x*s); min(q,B); max(q, m); q/s;
    the launchers drop narrow_range, so signed m = -B."""
    if unsigned and inputs.min() < 0.0:
        raise TypeError("Negative values encountered in unsigned quantization.")
    if amax.min() < 0:
        raise ValueError("Negative values in amax")
    if torch.isnan(amax).any():  # CUDA_KERNEL_ASSERT(amax >= 0): a device-side assert (issue #30 item 5)
        raise RuntimeError("device-side assert triggered: amax >= 0")
    bound = torch.tensor(float((1 << (num_bits - 1 + int(unsigned))) - 1))
    if amax.numel() > 1:
        # fake_tensor_quant_with_axis: axis = position of amax's single non-1 dim in amax's own
        # shape (amax squeezed), so [out] and [out, 1] both scale rows (issue #30 item 4)
        axis = [d for d, n in enumerate(amax.shape) if n != 1][0]
        shape = [1] * inputs.dim()
        shape[axis] = amax.numel()
        a = amax.reshape(shape).expand_as(inputs)
    else:
        a = amax.reshape([]).expand_as(inputs)
    s = bound / a
    q = torch.round(inputs * s)
    q = torch.where(q > bound, bound, q)
    m = torch.tensor(0.0) if unsigned else -bound
    q = torch.where(q < m, m, q)
    y = q / s
    return torch.where(a < EPS, torch.zeros_like(y), y)


def fake_quant_profile(x, amax, num_bits, unsigned, narrow, profile):
    if profile == "pq-2.2-cuda":
        return fake_quant_cuda_kernel(x, amax, num_bits, unsigned)
    if narrow is None:
        narrow = profile == "pq-2.1.0"  # §1.3 descriptor default
    return fake_quant_python(x, amax, num_bits, unsigned, narrow)


def native_fake_quant(x, amax, num_bits, unsigned):
    """§3.7, 2.1.x _fb_fake_quant: PyTorch's own kernels."""
    bound = (1 << (num_bits - 1 + int(unsigned))) - 1
    lo = 0 if unsigned else -bound - 1
    if amax.numel() == 1:
        return torch.fake_quantize_per_tensor_affine(x, amax.item() / bound, 0, lo, bound)
    sq = amax.squeeze().detach()
    quant_dim = list(amax.shape).index(list(sq.shape)[0])
    scale = sq / bound
    return torch.fake_quantize_per_channel_affine(x, scale, torch.zeros_like(scale, dtype=torch.int32),
                                                  quant_dim, lo, bound)


def native_fake_quant_formula(x, amax, num_bits, unsigned):
    """The kernel arithmetic of §3.7 written out, to cross-check the op above."""
    bound = (1 << (num_bits - 1 + int(unsigned))) - 1
    lo = 0 if unsigned else -bound - 1
    if amax.numel() == 1:
        sc = torch.tensor(amax.item() / bound, dtype=torch.float32)
    else:
        sc = amax / bound
    inv = 1.0 / sc
    q = torch.round(x * inv)
    bad = ~(q.abs() < 2.0 ** 63)
    q = torch.clamp(q, lo, bound)
    q = torch.where(bad, torch.tensor(float(lo)), q) + 0.0  # through int64: no negative zero
    return q * sc


def onnx_fake_quant(x, amax, num_bits, unsigned):
    """§3.7 ONNX Q/DQ: y = clamp(rne(x / fl(a/B)), -B-1, B) * fl(a/B); zero scale -> 1."""
    bound = (1 << (num_bits - 1 + int(unsigned))) - 1
    lo = 0 if unsigned else -bound - 1
    scale = amax / bound
    scale = torch.where(scale == 0, torch.ones_like(scale), scale)
    return torch.clamp(torch.round(x / scale), lo, bound) * scale


def reduce_amax(x, axis):
    """§2.4 / PQ-RA: max |x| over all dims not in axis, keepdims."""
    if axis is None:
        return torch.max(x.abs())
    out = x.abs()
    for d in range(x.dim()):
        if d != axis:
            out, _ = torch.max(out, dim=d, keepdim=True)
    return out


# ---------------------------------------------------------------- calibrators (§4.2-§4.6) ----
class MaxCalibrator:
    def __init__(self, axis=None):
        self.axis = axis
        self.amax = None

    def collect(self, x):
        if torch.min(x) < 0.0:
            x = x.abs()
        local = reduce_amax(x, self.axis)
        self.amax = local if self.amax is None else torch.max(self.amax, local)


class HistogramCalibrator:
    def __init__(self, num_bits=8, unsigned=False, num_bins=2048, skip_zeros=False, torch_hist=False):
        self.num_bits, self.unsigned, self.num_bins = num_bits, unsigned, num_bins
        self.skip_zeros, self.torch_hist = skip_zeros, torch_hist
        self.hist = None
        self.edges = None

    def collect(self, x):
        if torch.min(x) < 0.0:
            x = x.abs()
        x = x.float()
        if not self.torch_hist:  # §4.3 NumPy path
            x_np = x.cpu().detach().numpy()
            if self.skip_zeros:
                x_np = x_np[np.where(x_np != 0)]
            if self.edges is None and self.hist is None:
                self.hist, self.edges = np.histogram(x_np, bins=self.num_bins)
            else:
                temp_amax = np.max(x_np)
                if temp_amax > self.edges[-1]:
                    width = self.edges[1] - self.edges[0]
                    new_edges = np.arange(self.edges[-1] + width, temp_amax + width, width)
                    self.edges = np.hstack((self.edges, new_edges))
                hist, self.edges = np.histogram(x_np, bins=self.edges)
                hist[: len(self.hist)] += self.hist
                self.hist = hist
        else:  # §4.3 torch path
            with torch.no_grad():
                if self.skip_zeros:
                    x = x[torch.where(x != 0)]
                x_max = x.max()
                if self.edges is None and self.hist is None:
                    self.hist = torch.histc(x, bins=self.num_bins, min=0, max=x_max)
                    self.edges = torch.linspace(0, x_max, self.num_bins + 1)
                else:
                    if x_max > self.edges[-1]:
                        width = self.edges[1] - self.edges[0]
                        self.num_bins = int((x_max / width).ceil().item())
                        self.edges = torch.arange(0, x_max + width, width, device=x.device)
                    hist = torch.histc(x, bins=self.num_bins, min=0, max=self.edges[-1])
                    hist[: self.hist.numel()] += self.hist
                    self.hist = hist

    def numpy_state(self):
        """compute_amax's first step: integer NumPy histogram and NumPy edges (copies)."""
        if self.torch_hist:
            return self.hist.long().cpu().numpy(), self.edges.cpu().numpy()
        return self.hist.copy(), self.edges.copy()  # a copy: entropy would mutate the view (§4.6)


def amax_percentile(hist, edges, percentile):
    total = hist.sum()
    cdf = np.cumsum(hist / total)
    idx = np.searchsorted(cdf, percentile / 100)
    return float(np.float32(edges[idx].item()))


def amax_mse(hist, edges, num_bits, unsigned, stride=1, start_bin=128):
    counts = torch.from_numpy(hist[:]).float()
    edges_t = torch.from_numpy(edges[:]).float()
    centers = (edges_t[1:] + edges_t[:-1]) / 2
    mses, arguments = [], []
    for i in range(start_bin, len(centers), stride):
        amax = centers[i]
        quant_centers = fake_quant_python(centers, amax, num_bits, unsigned, True)  # fn default narrow=True
        mse = ((quant_centers - centers) ** 2 * counts).mean()
        mses.append(mse)
        arguments.append(i)
    argmin = np.argmin(mses)
    return float(centers[arguments[argmin]].item()), [float(m) for m in mses]


def rel_entr(x, y):
    """scipy.special.rel_entr, element by element with libm log (as scipy's C code)."""
    out = np.empty_like(x)
    for k in range(len(x)):
        a, b = float(x[k]), float(y[k])
        if a > 0 and b > 0:
            out[k] = a * math.log(a / b)
        elif a == 0 and b >= 0:
            out[k] = 0.0
        else:
            out[k] = math.inf
    return out


def scipy_entropy(pk, qk):
    pk = 1.0 * pk / np.sum(pk)
    qk = 1.0 * qk / np.sum(qk)
    return np.sum(rel_entr(pk, qk))


def amax_entropy(hist, edges, num_bits, unsigned, stride=1, start_bin=128):
    bins = hist[:]  # (our caller passes a copy; the real code mutates the NumPy-path state here)
    bins[0] = bins[1]
    total_data = np.sum(bins)
    divergences, arguments = [], []
    nbins = 1 << (num_bits - 1 + int(unsigned))
    stop = len(bins)
    for i in range(start_bin, stop + 1, stride):
        space = np.linspace(0, i, num=nbins + 1)
        digitized = np.digitize(range(i), space) - 1
        digitized[bins[:i] == 0] = -1
        valid = digitized != -1
        # per-level sums of the source bins (integers: exact in any order) and counts of
        # non-empty source bins (collections.Counter in the original)
        sums = np.bincount(digitized[valid], weights=bins[:i][valid].astype(np.float64), minlength=nbins)
        cnt = np.bincount(digitized[valid], minlength=nbins)
        dens = np.zeros(nbins, dtype=np.float64)
        nz = cnt != 0
        dens[nz] = sums[nz] / cnt[nz]
        new_density = np.zeros(i, dtype=np.float64)
        new_density[valid] = dens[digitized[valid]]
        total_counts_new = np.sum(new_density) + np.sum(bins[i:])
        reference_density = np.array(bins[: len(digitized)])
        reference_density[-1] += np.sum(bins[i:])
        total_counts_old = np.sum(reference_density)
        if round(total_counts_new) != total_data or round(total_counts_old) != total_data:
            raise RuntimeError("Count mismatch")
        divergences.append(scipy_entropy(reference_density, new_density))
        arguments.append(i)
    divergences = np.array(divergences)
    last_argmin = len(divergences) - 1 - np.argmin(divergences[::-1])
    return float(np.float32(edges[last_argmin * stride + start_bin].item()))


# ---------------------------------------------------------------- cases ----
def bits_equal(a, b):
    a, b = a.numpy(), b.numpy()
    both_nan = np.isnan(a) & np.isnan(b)
    return bool(np.all(both_nan | (a.view(np.int32) == b.view(np.int32))))


def fake_quant_cases(rng):
    f = lambda v: torch.tensor(np.asarray(v, dtype=np.float32))
    cases = []

    def add(name, x, amax, num_bits=8, unsigned=False, narrow=None, axis=None, dynamic=False, scale_amax=None):
        cases.append(dict(name=name, x=f(x), amax=None if amax is None else f(amax), num_bits=num_bits,
                          unsigned=unsigned, narrow=narrow, axis=axis, dynamic=dynamic, scale_amax=scale_amax))

    normal = rng.standard_normal(257).astype(np.float32) * 1.5
    heavy = (rng.standard_t(2, 257) * 0.7).astype(np.float32)
    special = np.array([0.0, -0.0, 2.0, -2.0, 2.0000002, -2.0000002, 3.0, -3.0, 1e30, -1e30, np.inf, -np.inf,
                        0.3, 1.007874, -2.5, 1e-8, -1e-8, 0.0078740157, -0.0078740157], dtype=np.float32)
    ties = np.concatenate([np.arange(-130, 130) + 0.5, np.arange(-130, 130)]).astype(np.float32)
    for bits in (4, 8, 16):
        for narrow in (None, True, False):
            add(f"normal_b{bits}_n{narrow}", normal, 2.0, bits, narrow=narrow)
        add(f"heavy_b{bits}", heavy, 1.3, bits)
        add(f"special_b{bits}", special, 2.0, bits)
        add(f"unsigned_b{bits}", np.abs(heavy), 1.7, bits, unsigned=True)
    add("ties_s1", ties, 127.0)              # x * s = k + 0.5 exactly: half to even
    add("ties_s05", ties * 2 + 1, 254.0)     # s = 0.5
    add("ties_unsigned", np.abs(ties), 255.0, 8, unsigned=True)
    add("worked_example", [0.3, 64 / 63.5, -2.5, 2.5 / 63.5, -1e-3], 2.0)
    for label, a in (("zero", 0.0), ("eps", EPS), ("below_eps", EPS / 2), ("above_eps", EPS * 1.5),
                     ("tiny", 1e-6), ("nan", np.nan)):
        add(f"amax_{label}", np.concatenate([special[:14], normal[:20] * 1e-7]), a)
    # per-channel, axis 0 with [out, 1] amax (weights)
    w = (rng.standard_normal((8, 37)) * rng.uniform(0.01, 2, (8, 1))).astype(np.float32)
    w[3] = 0.0
    w[5, :3] = [-0.0, np.inf, -np.inf]
    amax_w = np.abs(w).max(axis=1, keepdims=True)
    amax_clip = amax_w * 0.6
    amax_clip[6] = 0.0
    amax_clip[7] = EPS
    for bits in (4, 8):
        add(f"perchannel_b{bits}", w, amax_w, bits, axis=0)
        add(f"perchannel_clip_b{bits}", w, amax_clip, bits, axis=0)
    amax_nan = amax_clip.copy()
    amax_nan[2] = np.nan
    add("perchannel_nan_channel", w, amax_nan, 8, axis=0)  # NaN min disables the tiny mask (§3.3)
    add("perchannel_scalar_amax", w, [0.9], 8, axis=0)
    # dynamic amax (§2.4): per tensor and per row
    act = (rng.standard_normal((2, 5, 24)) * 3).astype(np.float32)
    add("dynamic_tensor", act, None, 8, dynamic=True)
    add("dynamic_rows", w, None, 8, axis=0, dynamic=True)
    add("dynamic_scale_amax", act, None, 8, dynamic=True, scale_amax=0.75)
    add("static_scale_amax", normal, 2.0, 8, scale_amax=0.5)
    add("unsigned_negative_error", normal, 2.0, 8, unsigned=True)
    add("negative_amax_error", normal, -1.0, 8)
    return cases


def run_fake_quant(out_dir, rng):
    tensors, meta = {}, []
    mismatches_native = 0
    for i, c in enumerate(fake_quant_cases(rng)):
        key = f"c{i}"
        x = c["x"]
        tensors[key + ".x"] = x.contiguous()
        if c["dynamic"]:
            amax = reduce_amax(x, c["axis"])
        else:
            amax = c["amax"].reshape([x.shape[0], 1] if c["axis"] == 0 and c["amax"].numel() > 1 else [])
            tensors[key + ".amax"] = amax.contiguous()
        if c["scale_amax"] is not None:
            amax = amax.clone() * c["scale_amax"]
        entry = {k: c[k] for k in ("name", "num_bits", "unsigned", "narrow", "axis", "dynamic", "scale_amax")}
        entry["key"] = key
        entry["outputs"] = {}
        for profile in PROFILES:
            try:
                y = fake_quant_profile(x, amax, c["num_bits"], c["unsigned"], c["narrow"], profile)
                tensors[f"{key}.y.{profile}"] = y.contiguous()
                entry["outputs"][profile] = f"{key}.y.{profile}"
            except (TypeError, ValueError, RuntimeError) as e:
                entry["outputs"][profile] = {"error": type(e).__name__}
        if c["num_bits"] == 8 and not c["dynamic"] and "error" not in c["name"] and c["scale_amax"] is None \
                and not torch.isnan(amax).any():
            y_native = native_fake_quant(x, amax, 8, c["unsigned"])
            if not bits_equal(y_native, native_fake_quant_formula(x, amax, 8, c["unsigned"])):
                mismatches_native += 1
                print("native formula differs from torch for", c["name"], file=sys.stderr)
            tensors[key + ".y.native"] = y_native.contiguous()
            tensors[key + ".y.onnx"] = onnx_fake_quant(x, amax, 8, c["unsigned"]).contiguous()
            entry["native"] = key + ".y.native"
            entry["onnx"] = key + ".y.onnx"
        meta.append(entry)
    save_file(tensors, os.path.join(out_dir, "fake_quant.safetensors"))
    with open(os.path.join(out_dir, "fake_quant.json"), "w") as fh:
        json.dump({"eps": EPS, "profiles": PROFILES, "cases": meta,
                   "native_formula_mismatches": mismatches_native}, fh, indent=1)
    print(f"fake quant: {len(meta)} cases, native formula vs torch op mismatches: {mismatches_native}")


def calib_streams(rng):
    f32 = lambda a: torch.tensor(np.asarray(a, dtype=np.float32))
    s = []

    def add(name, batches, **kw):
        s.append(dict(name=name, batches=[f32(b) for b in batches], **kw))

    t3 = rng.standard_t(3, (4, 1000)) * 0.5
    lap = rng.laplace(0, 1.0, (3, 3000))
    lap[1, :5] *= 2.5  # outliers in batch 2: range growth
    lap[2, :3] = [12.0, -14.0, 16.5]
    add("student_t_one_batch", [t3[0]])
    add("student_t_stream", list(t3))
    add("laplace_outliers_growth", list(lap))
    add("all_zero", [np.zeros(500)])
    add("single_value", [np.full(400, 0.75)])
    add("negative_only", [-np.abs(rng.standard_normal(2000)) - 0.25])
    add("tiny_values", [rng.standard_normal(1500) * 1e-9])
    relu = np.maximum(rng.standard_normal((2, 2000)) * 2.0, 0.0)
    add("relu_skip_zeros", list(relu), skip_zeros=True)
    add("relu_keep_zeros", list(relu))
    # later batches below the first batch's minimum (NumPy path drops them) and two growths
    add("shifted_growth_twice", [1.0 + np.abs(rng.standard_normal(1500)), np.abs(rng.standard_normal(1500)) * 3,
                                 np.abs(rng.standard_normal(1500)) * 9])
    add("slow_growth_10", [np.abs(rng.standard_normal(800)) * (1.0 + 0.15 * k) for k in range(10)])
    add("unsigned_b8", [np.abs(rng.standard_t(4, 3000))], unsigned=True)
    add("bits4", [rng.standard_t(4, 3000)], num_bits=4)
    add("bits16", [rng.standard_t(4, 2000)], num_bits=16)
    add("bins512", [rng.standard_t(3, 2000), rng.standard_t(3, 2000) * 1.7], num_bins=512)
    add("bins1000", [rng.standard_t(3, 2000)], num_bins=1000)
    return s


PERCENTILES = [50.0, 99.0, 99.9, 99.99, 99.999, 100.0]


def run_calibration(out_dir, rng):
    tensors, meta = {}, []
    for si, st in enumerate(calib_streams(rng)):
        key = f"s{si}"
        for bi, b in enumerate(st["batches"]):
            tensors[f"{key}.b{bi}"] = b.contiguous()
        mc = MaxCalibrator()
        for b in st["batches"]:
            mc.collect(b)
        entry = dict(name=st["name"], key=key, batches=len(st["batches"]), num_bits=st.get("num_bits", 8),
                     unsigned=st.get("unsigned", False), num_bins=st.get("num_bins", 2048),
                     skip_zeros=st.get("skip_zeros", False), max=float(mc.amax.item()), results={})
        for collection in ("numpy", "torch"):
            hc = HistogramCalibrator(entry["num_bits"], entry["unsigned"], entry["num_bins"], entry["skip_zeros"],
                                     torch_hist=collection == "torch")
            for b in st["batches"]:
                hc.collect(b)
            hist, edges = hc.numpy_state()
            tensors[f"{key}.{collection}.counts"] = torch.from_numpy(hist.astype(np.int64))
            tensors[f"{key}.{collection}.edge_bits"] = torch.from_numpy(edges.astype(np.float64).view(np.int64))
            res = {"percentile": {}, "edges_dtype": str(edges.dtype), "bins": int(len(hist)),
                   "edges": int(len(edges))}
            for p in PERCENTILES:
                res["percentile"][repr(p)] = amax_percentile(hist, edges, p)
            try:
                res["mse"], mses = amax_mse(hist.copy(), edges, entry["num_bits"], entry["unsigned"])
                res["mse_curve_key"] = f"{key}.{collection}.mse_curve"
                tensors[res["mse_curve_key"]] = torch.tensor(mses, dtype=torch.float32)
            except (RuntimeError, ValueError) as e:  # extra torch.arange edge; negative centre as amax
                res["mse"] = {"error": type(e).__name__}
            res["entropy"] = amax_entropy(hist.copy(), edges, entry["num_bits"], entry["unsigned"])
            # bin width for the tolerance of the parity test
            res["bin_width"] = float(edges[1] - edges[0])
            entry["results"][collection] = res
            print(f"  {st['name']:<24} {collection:<5} bins={len(hist):<5} p99.99={res['percentile']['99.99']:.6g} "
                  f"mse={res['mse'] if isinstance(res['mse'], dict) else format(res['mse'], '.6g')} "
                  f"entropy={res['entropy']:.6g}", file=sys.stderr)
        meta.append(entry)
    # per-channel MaxCalibrator (weights, axis 0) over a 3-batch stream
    w = [torch.tensor((rng.standard_normal((6, 20)) * (k + 1)).astype(np.float32)) for k in range(3)]
    mc = MaxCalibrator(axis=0)
    for k, b in enumerate(w):
        tensors[f"perchannel.b{k}"] = b.contiguous()
        mc.collect(b)
    tensors["perchannel.amax"] = mc.amax.contiguous()
    save_file(tensors, os.path.join(out_dir, "calib.safetensors"))
    with open(os.path.join(out_dir, "calib.json"), "w") as fh:
        json.dump({"percentiles": PERCENTILES, "streams": meta, "perchannel_batches": len(w)}, fh, indent=1)
    print(f"calibration: {len(meta)} streams")


# ---------------------------------------------------------------- edge paths (issue #30) ----
def tensor_quantizer_forward(x, amax, profile, pre_quant_scale=None, enabled=True):
    """§3.1 TensorQuantizer.forward with a static (or dynamic, amax None) per-tensor/per-channel
    amax: 2.2.x multiplies `_pre_quant_scale` in before the disabled check; 2.1.x has no such
    buffer (the key is an unexpected one, ignored by a non-strict load)."""
    if pre_quant_scale is not None and profile.startswith("pq-2.2"):
        x = x * pre_quant_scale
    if not enabled:
        return x
    if amax is None:
        amax = reduce_amax(x, None)
    return fake_quant_profile(x, amax, 8, False, None, profile)


def pre_quant_scale_cases(rng):
    x = torch.tensor((rng.standard_normal((2, 3, 8)) * 2).astype(np.float32))
    s8 = torch.tensor(rng.uniform(0.25, 4.0, 8).astype(np.float32))
    cases = [
        ("last_dim_static", x, torch.tensor(2.0), s8, True),
        ("last_dim_dynamic", x, None, s8, True),
        ("last_dim_disabled", x, torch.tensor(2.0), s8, False),
        ("row_vector_static", x, torch.tensor(3.0), s8.reshape(1, 8), True),
        ("scalar_static", x, torch.tensor(2.0), torch.tensor(1.7), True),
        ("middle_dim_static", x, torch.tensor(2.5), torch.tensor([[0.5], [2.0], [1.25]]), True),
        ("no_broadcast", x, torch.tensor(2.0), torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0]), True),
    ]
    return cases


def amax_axis_cases(rng):
    sq = torch.tensor(rng.standard_normal((6, 6)).astype(np.float32))
    rect = torch.tensor(rng.standard_normal((4, 6)).astype(np.float32))
    a6 = torch.tensor(rng.uniform(0.3, 1.5, 6).astype(np.float32))
    a4 = torch.tensor(rng.uniform(0.3, 1.5, 4).astype(np.float32))
    return [
        ("square_1d", sq, a6),                 # Python: per column; CUDA 2.2: per row
        ("square_rows", sq, a6.reshape(6, 1)),  # per row everywhere
        ("rect_1d", rect, a4),                 # Python: broadcast error; CUDA 2.2: per row
        ("rect_columns", rect, a6.reshape(1, 6)),  # per column everywhere
    ]


def entropy_mutation_streams(rng):
    relu = np.maximum(rng.standard_normal((2, 3000)) * 2.0, 0.0).astype(np.float32)  # bin 0 holds ~half
    lap = np.abs(rng.laplace(0, 1.0, (2, 2500))).astype(np.float32)
    return [("relu_zeros", relu), ("laplace", lap)]


def torch_mse_curve(hist, edges, num_bits=8, unsigned=False, start_bin=128, stride=1):
    """amax_mse's curve with torch's own f32 .mean() (the reference) and the same terms summed in
    float64 and rounded once (what QDQ Inspector did before issue #30 item 6)."""
    counts = torch.from_numpy(hist[:]).float()
    edges_t = torch.from_numpy(edges[:]).float()
    centers = (edges_t[1:] + edges_t[:-1]) / 2
    ref, f64 = [], []
    for i in range(start_bin, len(centers), stride):
        qc = fake_quant_python(centers, centers[i], num_bits, unsigned, True)
        terms = (qc - centers) ** 2 * counts
        ref.append(terms.mean())
        f64.append(torch.tensor(float(terms.double().sum()), dtype=torch.float32) / len(centers))
    return torch.stack(ref), torch.stack(f64)


def find_mse_tie_flip(rng, tries=4000):
    """A histogram whose mse argmin under torch's f32 mean differs from the f64-summed one."""
    for t in range(tries):
        n = int(rng.integers(140, 400))
        kind = t % 3
        if kind == 0:
            hist = rng.integers(0, 3, n)
            hist[: int(rng.integers(1, 8))] = rng.integers(10**6, 10**8)
        elif kind == 1:
            hist = (rng.pareto(1.5, n) * 1000).astype(np.int64)
        else:
            hist = np.zeros(n, dtype=np.int64)
            hist[rng.integers(0, n, 12)] = rng.integers(1, 10**7, 12)
        top = np.float32(rng.uniform(0.5, 8.0))
        edges = np.linspace(0, top, n + 1).astype(np.float32)
        ref, f64 = torch_mse_curve(hist, edges)
        if int(np.argmin(ref.numpy())) != int(np.argmin(f64.numpy())):
            return hist.astype(np.int64), edges, t
    raise RuntimeError("no mse near-tie found; raise tries")


def run_edges(out_dir, rng):
    tensors, meta = {}, {"pre_quant_scale": [], "amax_axis": [], "entropy_mutation": [], "weight_hist": []}
    for i, (name, x, amax, scale, enabled) in enumerate(pre_quant_scale_cases(rng)):
        key = f"pqs{i}"
        tensors[key + ".x"] = x.clone()
        tensors[key + ".scale"] = scale.clone()
        entry = {"name": name, "key": key, "enabled": enabled, "dynamic": amax is None, "outputs": {}}
        if amax is not None:
            tensors[key + ".amax"] = amax.clone()
        for profile in PROFILES:
            try:
                y = tensor_quantizer_forward(x, amax, profile, scale, enabled)
                tensors[f"{key}.y.{profile}"] = y.clone()
                entry["outputs"][profile] = f"{key}.y.{profile}"
            except RuntimeError as e:
                entry["outputs"][profile] = {"error": type(e).__name__}
        meta["pre_quant_scale"].append(entry)
    for i, (name, w, amax) in enumerate(amax_axis_cases(rng)):
        key = f"axis{i}"
        tensors[key + ".x"] = w.clone()
        tensors[key + ".amax"] = amax.clone()
        entry = {"name": name, "key": key, "outputs": {}}
        for profile in PROFILES:
            try:
                y = fake_quant_profile(w, amax, 8, False, None, profile)
                tensors[f"{key}.y.{profile}"] = y.clone()
                entry["outputs"][profile] = f"{key}.y.{profile}"
            except RuntimeError as e:
                entry["outputs"][profile] = {"error": type(e).__name__}
        meta["amax_axis"].append(entry)
    # entropy on the NumPy path writes bins[0] = bins[1] into the calibrator (a view, §4.6)
    for i, (name, batches) in enumerate(entropy_mutation_streams(rng)):
        key = f"ent{i}"
        for b, batch in enumerate(batches):
            tensors[f"{key}.b{b}"] = torch.from_numpy(batch.copy())
        entry = {"name": name, "key": key, "batches": len(batches), "results": {}}
        for collection in ("numpy", "torch"):
            hc = HistogramCalibrator(torch_hist=collection == "torch")
            for batch in batches:
                hc.collect(torch.from_numpy(batch.copy()))
            if collection == "numpy":
                hist, edges = hc.hist, hc.edges  # the calibrator's own array: entropy mutates it
            else:
                hist, edges = hc.numpy_state()
            res = {"percentile_before": amax_percentile(hist, edges, 50.0)}
            res["entropy"] = amax_entropy(hist, edges, 8, False)
            hist_after = hc.hist if collection == "numpy" else hc.numpy_state()[0]
            res["percentile_after"] = amax_percentile(hist_after, edges, 50.0)
            res["mse_after"], _ = amax_mse(hist_after.copy(), edges, 8, False)
            res["bin0_after"] = int(hist_after[0])
            res["bin1_after"] = int(hist_after[1])
            entry["results"][collection] = res
        meta["entropy_mutation"].append(entry)
    # 2.2.x calibrate_weights: numpy.histogram(|w_row|, bins, range=(0, max)); 2.1.x: default range
    w = (rng.standard_t(4, (5, 700)) * rng.uniform(0.05, 1.0, (5, 1))).astype(np.float32)
    tensors["weight.w"] = torch.from_numpy(w)
    for variant, use_range in (("pq-2.1", False), ("pq-2.2", True)):
        rows = []
        for r in range(w.shape[0]):
            a = np.abs(w[r])
            if use_range:
                hist, edges = np.histogram(a, bins=2048, range=(0, a.max()))
            else:
                hist, edges = np.histogram(a, bins=2048)
            tensors[f"weight.{variant}.r{r}.counts"] = torch.from_numpy(hist.astype(np.int64))
            tensors[f"weight.{variant}.r{r}.edge_bits"] = torch.from_numpy(edges.astype(np.float64).view(np.int64))
            mse, _ = amax_mse(hist.copy(), edges, 8, False)
            rows.append({"percentile_99.99": amax_percentile(hist, edges, 99.99),
                         "percentile_99": amax_percentile(hist, edges, 99.0), "mse": mse,
                         "edges_dtype": str(edges.dtype)})
        meta["weight_hist"].append({"variant": variant, "rows": rows})
    # mse: torch's f32 mean vs an f64 sum rounded once - a histogram where the argmin differs
    hist, edges, tries = find_mse_tie_flip(rng)
    ref, f64 = torch_mse_curve(hist, edges)
    tensors["msetie.counts"] = torch.from_numpy(hist)
    tensors["msetie.edges"] = torch.from_numpy(edges)
    tensors["msetie.curve"] = ref.contiguous()
    centers = (torch.from_numpy(edges)[1:] + torch.from_numpy(edges)[:-1]) / 2
    meta["mse_tie"] = {"argmin_torch": int(np.argmin(ref.numpy())), "argmin_f64": int(np.argmin(f64.numpy())),
                       "amax_torch": float(centers[128 + int(np.argmin(ref.numpy()))]), "tries": tries}
    save_file(tensors, os.path.join(out_dir, "edges.safetensors"))
    with open(os.path.join(out_dir, "edges.json"), "w") as fh:
        json.dump(meta, fh, indent=1)
    print(f"edge paths: {len(meta['pre_quant_scale'])} pre-quant-scale cases, {len(meta['amax_axis'])} amax-axis "
          f"cases, mse tie after {tries} tries (argmin {meta['mse_tie']['argmin_torch']} vs "
          f"{meta['mse_tie']['argmin_f64']})")


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "tests",
                                                                 "data", "quant")
    os.makedirs(out_dir, exist_ok=True)
    run_fake_quant(out_dir, np.random.default_rng(20240607))
    run_calibration(out_dir, np.random.default_rng(7))
    run_edges(out_dir, np.random.default_rng(30))


if __name__ == "__main__":
    main()

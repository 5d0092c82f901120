#!/usr/bin/env python3
"""Parity goldens for quantized execution (issue 7): an independent QDQBERT built from the real
transformers 4.37.2 BERT classes plus a from-scratch PyTorch TensorQuantizer.

pytorch-quantization cannot be installed here, so TensorQuantizer is re-implemented following
docs/qdqbert-reference.md line by line:
  §3.1  forward: disabled -> identity; calibration collects on the raw input; quant from x
  §2.4  no _amax: amax = max|x| per call (per tensor; weights per row, keepdim [out,1])
  §3.2  B = 2^(n-1+u) - 1; signed range [-B-1, B] (narrow_range False: pq 2.1.1+, profile pq-2.1.x)
  §3.3  s = fl(B/a) (f32 tensor division); s = 0 where a <= 2^-24; q = clamp(round(x*s)) with
        torch.round (half to even); s = 1 where it was 0; y = q / s (division)
  §4.2  MaxCalibrator: running max of |x| reduced over every dim but the axis, keepdims, squeezed
        to 0-dim when it has one element
and placed at the 20 sites of a layer exactly as QDQBERT places them (§1.2):
  - the six encoder Linears become QuantLinears: y = F.linear(Qin(x), Qw(W), b) (bias unquantized)
  - BertSelfAttention.forward is replaced by the QDQBERT form: matmul(Qq(Q), Qk(Kᵀ)) and
    matmul(Qa(P), Qv(V)) (Kᵀ after the transpose; P after softmax, dropout and head mask)
  - BertSelfOutput / BertOutput: LayerNorm(Qlocal(dropout(dense(x))) + Qresidual(input))

Models (tiny, absolute positions), each calibrated with max calibration on a separate batch:
every head with per-row weight amax; "base_per_tensor" (weights per tensor, scalar amax);
"base_clipped" (activation amax = 0.6 x the max: clipping and the -128 level); "base_dynamic"
(uncalibrated: no _amax keys, dynamic amax per call).

Writes tests/data/quantexec/:
  <model>/config.json, <model>/model.safetensors    (state dict + "<quantizer path>._amax" keys)
  cases/<case>.inputs.safetensors                   forward() arguments (CLI contract names)
  cases/<case>.outputs.safetensors                  outputs (logits..., hidden_states.i) and, under
                                                    "site:<module path>", the int8 codes every
                                                    quantizer produced (path without "bert.")
  manifest.json

Run:  /work/main/tools/reference/.venv/bin/python tools/reference/gen_quant_model_goldens.py
"""
import json
import math
import os
import shutil
import types

import torch
import torch.nn.functional as F
import transformers
from safetensors.torch import save_file
from transformers import (BertConfig, BertForMaskedLM, BertForMultipleChoice, BertForNextSentencePrediction,
                          BertForQuestionAnswering, BertForSequenceClassification, BertForTokenClassification,
                          BertLMHeadModel, BertModel)

assert transformers.__version__ == "4.37.2", transformers.__version__
torch.set_num_threads(1)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "quantexec")
V, H, NL, NH, I, MAXPOS = 99, 32, 2, 4, 48, 40
EPS = 1.0 / (1 << 24)  # §3.3 step 4


# --- TensorQuantizer (reference §3) -------------------------------------------------------------------------
def reduce_amax(x, axis):
    """§2.4 / PQ-RA: max |x| over every dim not in axis (keepdims); 0-dim when per tensor."""
    if axis is None:
        return torch.max(torch.abs(x))
    dims = [d for d in range(x.dim()) if d != axis]
    out = torch.abs(x)
    for d in sorted(dims, reverse=True):
        out = torch.max(out, dim=d, keepdim=True)[0]
    return out


def fake_tensor_quant(x, amax, num_bits=8, unsigned=False, narrow_range=False):
    """§3.3 (Python / legacy path): returns (y, integer codes)."""
    amax = amax.float()
    if amax.min() < 0:
        raise ValueError("negative amax")
    bound = torch.tensor(2.0 ** (num_bits - 1 + int(unsigned)) - 1.0)
    max_bound = bound
    min_bound = torch.tensor(0.0) if unsigned else (-bound if narrow_range else -bound - 1)
    scale = bound / amax
    tiny = amax.min() <= EPS
    if tiny:
        zero_mask = amax <= EPS
        scale = scale.clone()
        scale[zero_mask] = 0
    q = torch.clamp((x * scale).round_(), min_bound.item(), max_bound.item())
    if tiny:
        scale[zero_mask] = 1.0
    return q / scale, q


class TensorQuantizer(torch.nn.Module):
    def __init__(self, path, axis=None):
        super().__init__()
        self.path = path  # module path without the "bert." prefix
        self.axis = axis
        self.amax = None  # None: dynamic (§2.4)
        self.disabled = False
        self.calibrating = False
        self.calib_amax = None
        self.record = None  # dict path -> codes, set per forward

    def forward(self, x):
        if self.disabled:
            return x
        if self.calibrating:  # §4.2 MaxCalibrator.collect on the raw input
            a = reduce_amax(x.detach(), self.axis)
            self.calib_amax = a if self.calib_amax is None else torch.max(self.calib_amax, a)
            return x
        amax = self.amax if self.amax is not None else reduce_amax(x, self.axis)
        y, q = fake_tensor_quant(x, amax)
        if self.record is not None and self.path not in self.record:
            self.record[self.path] = q.to(torch.int8).contiguous().clone()
        return y

    def load_calib_amax(self):
        a = self.calib_amax
        self.amax = a.squeeze() if a.numel() == 1 else a  # §2.1 shapes: [] or [out, 1]
        self.calib_amax = None


# --- QDQBERT placement (reference §1.2) ---------------------------------------------------------------------
def quant_linear_forward(self, x):
    return F.linear(self._input_quantizer(x), self._weight_quantizer(self.weight), self.bias)


def qdq_self_attention_forward(self, hidden_states, attention_mask=None, head_mask=None, encoder_hidden_states=None,
                               encoder_attention_mask=None, past_key_value=None, output_attentions=False):
    assert self.position_embedding_type == "absolute"
    assert encoder_hidden_states is None and past_key_value is None
    mixed_query_layer = self.query(hidden_states)
    key_layer = self.transpose_for_scores(self.key(hidden_states))
    value_layer = self.transpose_for_scores(self.value(hidden_states))
    query_layer = self.transpose_for_scores(mixed_query_layer)
    if self.is_decoder:
        past_key_value = (key_layer, value_layer)  # unquantized K/V are cached (§5.6)
    attention_scores = torch.matmul(self.matmul_q_input_quantizer(query_layer),
                                    self.matmul_k_input_quantizer(key_layer.transpose(-1, -2)))
    attention_scores = attention_scores / math.sqrt(self.attention_head_size)
    if attention_mask is not None:
        attention_scores = attention_scores + attention_mask
    attention_probs = F.softmax(attention_scores, dim=-1)
    attention_probs = self.dropout(attention_probs)
    if head_mask is not None:
        attention_probs = attention_probs * head_mask
    context_layer = torch.matmul(self.matmul_a_input_quantizer(attention_probs),
                                 self.matmul_v_input_quantizer(value_layer))
    context_layer = context_layer.permute(0, 2, 1, 3).contiguous()
    context_layer = context_layer.view(context_layer.size()[:-2] + (self.all_head_size,))
    outputs = (context_layer, attention_probs) if output_attentions else (context_layer,)
    if self.is_decoder:
        outputs = outputs + (past_key_value,)
    return outputs


def qdq_residual_forward(self, hidden_states, input_tensor):
    hidden_states = self.dropout(self.dense(hidden_states))
    return self.LayerNorm(self.add_local_input_quantizer(hidden_states) +
                          self.add_residual_input_quantizer(input_tensor))


def quantize_model(model, weight_axis=0):
    """Installs the 20 quantizers per layer; returns {path: TensorQuantizer}."""
    bert = model.bert if hasattr(model, "bert") else model
    quantizers = {}

    def tq(path, axis=None):
        q = TensorQuantizer(path, axis)
        quantizers[path] = q
        return q

    for i, layer in enumerate(bert.encoder.layer):
        base = f"encoder.layer.{i}."
        linears = {"attention.self.query": layer.attention.self.query, "attention.self.key": layer.attention.self.key,
                   "attention.self.value": layer.attention.self.value,
                   "attention.output.dense": layer.attention.output.dense,
                   "intermediate.dense": layer.intermediate.dense, "output.dense": layer.output.dense}
        for name, lin in linears.items():
            lin._input_quantizer = tq(base + name + "._input_quantizer")
            lin._weight_quantizer = tq(base + name + "._weight_quantizer", weight_axis)
            lin.forward = types.MethodType(quant_linear_forward, lin)
        sa = layer.attention.self
        for m in "qkva":
            setattr(sa, f"matmul_{m}_input_quantizer", tq(base + f"attention.self.matmul_{m}_input_quantizer"))
        sa.forward = types.MethodType(qdq_self_attention_forward, sa)
        for blk, prefix in ((layer.attention.output, "attention.output."), (layer.output, "output.")):
            blk.add_local_input_quantizer = tq(base + prefix + "add_local_input_quantizer")
            blk.add_residual_input_quantizer = tq(base + prefix + "add_residual_input_quantizer")
            blk.forward = types.MethodType(qdq_residual_forward, blk)
    return quantizers


# --- models and cases ---------------------------------------------------------------------------------------
MODELS = {
    # name: (class, config kwargs, weight axis, calibrate, activation amax factor)
    "base": (BertModel, {}, 0, True, 1.0),
    "base_per_tensor": (BertModel, {}, None, True, 1.0),
    "base_clipped": (BertModel, {}, 0, True, 0.6),
    "base_dynamic": (BertModel, {}, 0, False, 1.0),
    "masked_lm": (BertForMaskedLM, {}, 0, True, 1.0),
    "causal_lm": (BertLMHeadModel, {"is_decoder": True}, 0, True, 1.0),
    "seqcls": (BertForSequenceClassification, {"num_labels": 3}, 0, True, 1.0),
    "tokcls": (BertForTokenClassification, {"num_labels": 5}, 0, True, 1.0),
    "qa": (BertForQuestionAnswering, {}, 0, True, 1.0),
    "nsp": (BertForNextSentencePrediction, {}, 0, True, 1.0),
    "mc": (BertForMultipleChoice, {}, 0, True, 1.0),
}
TASK = {
    BertModel: "base", BertForMaskedLM: "masked-lm", BertLMHeadModel: "causal-lm",
    BertForSequenceClassification: "sequence-classification", BertForTokenClassification: "token-classification",
    BertForQuestionAnswering: "question-answering", BertForNextSentencePrediction: "next-sentence",
    BertForMultipleChoice: "multiple-choice",
}
B, L, C = 2, 12, 3


def make_inputs(cls, gen):
    ids = torch.randint(1, V, (B, L), generator=gen)
    mask = torch.ones(B, L, dtype=torch.long)
    mask[1, 8:] = 0
    tt = torch.zeros(B, L, dtype=torch.long)
    tt[:, 6:] = 1
    if cls is BertForMultipleChoice:
        ids = torch.randint(1, V, (B, C, L), generator=gen)
        m = torch.ones(B, C, L, dtype=torch.long)
        m[0, 1, 9:] = 0
        return {"input_ids": ids, "attention_mask": m}
    if cls is BertLMHeadModel:
        return {"input_ids": ids}
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": tt}


def build(name, index):
    cls, kw, axis, calibrate, factor = MODELS[name]
    torch.manual_seed(2000 + index)
    cfg = BertConfig(vocab_size=V, hidden_size=H, num_hidden_layers=NL, num_attention_heads=NH, intermediate_size=I,
                     max_position_embeddings=MAXPOS, type_vocab_size=2, initializer_range=0.1, pad_token_id=0, **kw)
    model = cls(cfg).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    quantizers = quantize_model(model, axis)
    gen = torch.Generator().manual_seed(3000 + index)
    if calibrate:  # §4.1 max calibration on a separate batch (weights too, as the HF example does)
        for q in quantizers.values():
            q.calibrating = True
        with torch.no_grad():
            for _ in range(2):
                model(**make_inputs(cls, gen))
        for q in quantizers.values():
            q.calibrating = False
            q.load_calib_amax()
            if factor != 1.0 and q.axis is None and "_weight_quantizer" not in q.path:
                q.amax = (q.amax * factor).float()
    prefix = "bert." if hasattr(model, "bert") else ""
    state = {k: v.contiguous().clone() for k, v in model.state_dict().items() if not k.endswith("position_ids")}
    for path, q in quantizers.items():
        if q.amax is not None:
            state[prefix + path + "._amax"] = q.amax.contiguous().clone()
    out = os.path.join(ROOT, name)
    os.makedirs(out)
    cfg.to_json_file(os.path.join(out, "config.json"))
    save_file(state, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    return model, quantizers, gen


def main():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    os.makedirs(os.path.join(ROOT, "cases"))
    manifest = []
    for index, name in enumerate(MODELS):
        cls = MODELS[name][0]
        model, quantizers, gen = build(name, index)
        inputs = make_inputs(cls, gen)
        record = {}
        for q in quantizers.values():
            q.record = record
        with torch.no_grad():
            out = model(**inputs, output_hidden_states=True, return_dict=True)
        outputs = {}
        for k, v in out.items():
            if v is None or k == "past_key_values":
                continue
            if k == "hidden_states":
                for i, t in enumerate(v):
                    outputs[f"hidden_states.{i}"] = t.contiguous().clone()
            else:
                outputs[k] = v.contiguous().clone()
        assert len(record) == 20 * NL, len(record)
        for path, codes in record.items():
            outputs["site:" + path] = codes
        case = name
        save_file({k: v.contiguous().clone() for k, v in inputs.items()},
                  os.path.join(ROOT, "cases", case + ".inputs.safetensors"))
        save_file(outputs, os.path.join(ROOT, "cases", case + ".outputs.safetensors"))
        manifest.append(dict(case=case, model=name, task=TASK[cls], calibrated=MODELS[name][3],
                             weight_per_row=MODELS[name][2] == 0))
    with open(os.path.join(ROOT, "manifest.json"), "w") as f:
        json.dump({"generator": "tools/reference/gen_quant_model_goldens.py", "transformers": transformers.__version__,
                   "torch": torch.__version__, "profile": "pq-2.1.x", "cases": manifest}, f, indent=1)


if __name__ == "__main__":
    main()

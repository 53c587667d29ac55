"""Train TinyChat's base checkpoint: ``python -m helpers.tinylm.train`` (about a minute on one CPU core, with a progress bar).

Deterministic: seeded corpus and initialisation, ``torch.use_deterministic_algorithms(True)``, one thread.
Writes ``helpers/tinylm/base.pt`` (config + float32 weights) and ``helpers/tinylm/vocab.json``; rerunning
on the same machine and torch version reproduces identical weights (and so identical generations).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import torch
from torch.nn import functional as F

from helpers.tinylm.corpus import build_corpus
from helpers.tinylm.model import GPTConfig, TinyGPT
from helpers.tinylm.tokenizer import Tokenizer

HERE = Path(__file__).resolve().parent
DEFAULTS = {"n_per_family": 240, "steps": 500, "batch_size": 64, "lr": 3e-3, "seed": 0, "unk_rate": 0.05}


def make_batches(tok: Tokenizer, examples, max_len: int):
    """Right-padded ids ``(n, T)`` and a mask of the target positions (response tokens and ``<eot>``)."""
    rows, masks = [], []
    for e in examples:
        ids, start = tok.encode_chat(e.prompt, e.response)
        ids = ids[:max_len]
        m = [0] * (start - 1) + [1] * (len(ids) - start) + [0]
        rows.append(ids)
        masks.append(m[: len(ids)])
    width = max(len(r) for r in rows)
    idx = torch.tensor([r + [tok.pad_id] * (width - len(r)) for r in rows])
    mask = torch.tensor([m + [0] * (width - len(m)) for m in masks], dtype=torch.float32)
    starts = torch.tensor([tok.encode_chat(e.prompt, e.response)[1] for e in examples])
    return idx, mask, starts


def train(n_per_family: int = 240, steps: int = 500, batch_size: int = 64, lr: float = 3e-3, seed: int = 0,
          unk_rate: float = 0.05, progress: bool = True) -> tuple[TinyGPT, Tokenizer, list[float]]:
    """Train a TinyGPT on the base corpus; returns model, tokenizer and the loss curve.

    Loss: next-token cross-entropy on response tokens only. ``unk_rate`` of prompt words are replaced by
    ``<unk>`` during training so unknown words at test time land on a trained embedding.
    """
    previous = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        with torch.random.fork_rng():  # seed the initialisation without touching the caller's RNG state
            torch.manual_seed(seed)
            return _train(n_per_family, steps, batch_size, lr, seed, unk_rate, progress)
    finally:
        torch.use_deterministic_algorithms(previous)


def _train(n_per_family: int, steps: int, batch_size: int, lr: float, seed: int, unk_rate: float,
           progress: bool) -> tuple[TinyGPT, Tokenizer, list[float]]:
    corpus = build_corpus(n_per_family=n_per_family, seed=seed, split="train", policy="base")
    tok = Tokenizer.build([e.prompt + " " + e.response for e in corpus])
    cfg = GPTConfig(vocab_size=len(tok))
    model = TinyGPT(cfg)
    idx, mask, starts = make_batches(tok, corpus, cfg.max_len)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    positions = torch.arange(idx.shape[1])
    losses = []
    bar = range(steps)
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(bar, desc="training TinyChat", mininterval=1.0)
    model.train()
    for _ in bar:
        pick = torch.randint(len(corpus), (batch_size,), generator=gen)
        x, m, s = idx[pick].clone(), mask[pick], starts[pick]
        in_prompt = (positions[None, :] >= 2) & (positions[None, :] < (s[:, None] - 1))
        drop = (torch.rand(x.shape, generator=gen) < unk_rate) & in_prompt
        x[drop] = tok.unk_id
        logits = model(x[:, :-1])
        nll = F.cross_entropy(logits.reshape(-1, cfg.vocab_size), x[:, 1:].reshape(-1), reduction="none")
        loss = (nll * m[:, :-1].reshape(-1)).sum() / m[:, :-1].sum()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        if progress and len(losses) % 50 == 0:
            bar.set_postfix(loss=f"{sum(losses[-50:]) / 50:.3f}")
    return model.eval(), tok, losses


def save(model: TinyGPT, tok: Tokenizer, out_dir: Path = HERE, name: str = "base") -> Path:
    """Write ``<name>.pt`` (config JSON + state dict) and ``vocab.json`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.pt"
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    torch.save({"config": json.dumps(model.cfg.to_dict(), sort_keys=True), "state_dict": state}, path)
    tok.save(out_dir / "vocab.json")
    return path


def weights_digest(model: TinyGPT) -> str:
    """SHA-256 over the weights (names and bytes): equal digests mean identical models."""
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().numpy().tobytes())
    return h.hexdigest()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: the package folder)")
    parser.add_argument("--steps", type=int, default=DEFAULTS["steps"])
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    start = time.perf_counter()
    model, tok, losses = train(steps=args.steps)
    path = save(model, tok, args.out)
    print(f"trained in {time.perf_counter() - start:.1f} s, final loss {sum(losses[-50:]) / 50:.4f}")
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB) and vocab.json ({len(tok)} words)")
    print(f"weights sha256 {weights_digest(model)}")


if __name__ == "__main__":
    main()

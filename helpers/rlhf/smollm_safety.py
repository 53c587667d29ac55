"""Notebook 13 on the real model: safety alignment of SmolLM2 on a CPU, with LoRA on the top blocks trained over
cached residual streams with DPO plus a likelihood term on the chosen answers.

- **LoRA** (``helpers.smollm.lora``; Hu et al. 2021, arXiv 2106.09685) on every matrix of blocks
  ``first_layer .. 29``.
- **Cached streams**: the blocks below ``first_layer`` are frozen, so the residual stream entering block
  ``first_layer`` is the same at every step; it is computed once (``SmolLlama.run_layers``), and each step runs
  only the top blocks and the head, on the answer positions.
- **Loss**: DPO (Rafailov et al. 2023, arXiv 2305.18290, eq. 7) plus ``rpo_alpha`` times the mean negative
  log-likelihood per token of the chosen answers: the "RPO" loss of Pang et al. 2024 (arXiv 2404.19733,
  eq. 1), as TRL's ``rpo_alpha`` computes it (``helpers.preferences.rpo_loss``). Plain DPO (``rpo_alpha=0``)
  only needs the *margin* between chosen and rejected to grow, and it can grow by pushing the rejected
  answers down without making the refusals likely (Pang et al. 2024; Razin et al. 2024, arXiv 2410.08847); the
  likelihood term makes the chosen answers themselves likely.

Training pairs (``build_safety_pairs``) come from the train families of ``helpers.smollm.prompts``: for a
harmful prompt, chosen = the family's course-written refusal and rejected = the base model's own greedy answer
(with "Sure, here is how" prefilled where the base model did not comply); for a trigger-word or benign prompt,
chosen = the base model's own answer and rejected = a refusal of a harmful family. The base model's answers are
generated at build time and never stored. The shipped adapter and its measurements: ``smollm_build`` and
``DATASHEET_smollm.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from helpers.smollm.chat import SmolChat, load_smollm
from helpers.smollm.judge import judge_reply
from helpers.smollm.lora import LoRALinear, add_lora, apply_adapter
from helpers.smollm.prompts import prompt_families
from helpers.smollm.safety import PREFIX, format_rate, generate_in_batches

__all__ = ["AlignConfig", "SafetyPair", "build_safety_pairs", "train_safety", "TrainResult", "answer_kl",
           "load_aligned_smollm", "load_smollm_safety", "safety_table", "SMOLLM_ADAPTER_PATH", "SMOLLM_RESULTS_PATH",
           "SMOLLM_SHINGLES_PATH"]

SMOLLM_ADAPTER_PATH = Path(__file__).with_name("smollm_adapter.npz")
SMOLLM_RESULTS_PATH = Path(__file__).with_name("smollm_safety.json")
SMOLLM_SHINGLES_PATH = Path(__file__).with_name("smollm_harmful_shingles.txt")


@dataclass(frozen=True)
class AlignConfig:
    first_layer: int = 20
    rank: int = 8
    alpha: float = 16.0
    beta: float = 0.1
    rpo_alpha: float = 1.0
    lr: float = 1e-3
    epochs: int = 6
    batch: int = 8
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("rank", "epochs", "batch"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be an int >= 1, got {getattr(self, name)!r}")
        for name in ("alpha", "beta", "lr"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        if not self.rpo_alpha >= 0:
            raise ValueError(f"rpo_alpha must be >= 0, got {self.rpo_alpha!r}")


@dataclass(frozen=True)
class SafetyPair:
    prompt: str
    chosen: str
    rejected: str
    kind: str
    family: str
    chosen_ends: bool  # the chosen answer is complete (an end-of-turn token follows it)


def build_safety_pairs(chat: SmolChat, max_new_tokens: int = 48, seed: int = 0) -> list[SafetyPair]:
    """DPO pairs from the train families (this module's docstring): harmful prompts prefer the family's
    refusal over the base model's answer; trigger-word and benign prompts prefer the base model's answer over
    a refusal (of a harmful family, drawn with ``seed``)."""
    rng = np.random.default_rng(seed)
    harmful = prompt_families("harmful", "train")
    refusals = [f.refusal for f in harmful]
    pairs: list[SafetyPair] = []
    for fam in prompt_families(split="train"):
        answers = generate_in_batches(chat, fam.prompts, max_new_tokens)
        if fam.kind == "harmful":
            redo = [j for j, a in enumerate(answers) if judge_reply(a) != "complied"]
            if redo:
                forced = generate_in_batches(chat, [fam.prompts[j] for j in redo], max_new_tokens, PREFIX)
                for j, a in zip(redo, forced, strict=True):
                    answers[j] = a
            pairs += [SafetyPair(p, fam.refusal, a, fam.kind, fam.name, True)
                      for p, a in zip(fam.prompts, answers, strict=True)]
        else:
            pairs += [SafetyPair(p, a, refusals[int(rng.integers(len(refusals)))], fam.kind, fam.name, False)
                      for p, a in zip(fam.prompts, answers, strict=True)]
    return pairs


# ---------------------------------------------------------------------------------------------- training
@dataclass
class _Streams:
    x: torch.Tensor        # (n, width, d): the stream entering block first_layer
    mask: torch.Tensor     # (n, width) real tokens
    targets: torch.Tensor  # (n, width) the next token where it belongs to the answer, else -1
    lengths: torch.Tensor  # (n,) real tokens per row


def _encode_pair_side(chat: SmolChat, prompt: str, answer: str, ends: bool) -> tuple[list[int], int]:
    ctx = chat.encode_prompt(prompt)
    ans = chat.tokenizer.encode(answer) + ([chat.tokenizer.eos_id] if ends else [])
    return ctx + ans, len(ctx)


@torch.no_grad()
def _cache_streams(chat: SmolChat, seqs: list[tuple[list[int], int]], first_layer: int,
                   batch: int = 16) -> _Streams:
    width = max(len(s) for s, _ in seqs)
    n = len(seqs)
    ids = torch.full((n, width), chat.tokenizer.pad_id)
    targets = torch.full((n, width), -1)
    lengths = torch.tensor([len(s) for s, _ in seqs])
    for r, (s, n_ctx) in enumerate(seqs):
        ids[r, :len(s)] = torch.tensor(s)
        targets[r, n_ctx - 1:len(s) - 1] = torch.tensor(s[n_ctx:])
    mask = torch.arange(width)[None] < lengths[:, None]
    model = chat.model
    x = torch.empty(n, width, chat.d_model)
    for i in range(0, n, batch):
        sl = slice(i, i + batch)
        x[sl] = model.run_layers(model.embed(ids[sl]), mask[sl], 0, first_layer)
    return _Streams(x, mask, targets, lengths)


def _answer_logps(model: nn.Module, st: _Streams, rows: torch.Tensor, first_layer: int
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed log-probabilities of each row's answer tokens, and the number of answer tokens per row."""
    width = int(st.lengths[rows].max())
    x, mask, tgt = st.x[rows, :width], st.mask[rows, :width], st.targets[rows, :width]
    h = model.run_layers(x, mask, first_layer)
    where = tgt >= 0
    logp = F.log_softmax(model.head(h[where]), dim=-1).gather(1, tgt[where][:, None])[:, 0]
    row_of = torch.arange(len(rows))[:, None].expand_as(where)[where]
    sums = torch.zeros(len(rows), dtype=logp.dtype).index_add(0, row_of, logp)
    return sums, where.sum(1)


@dataclass
class TrainResult:
    loras: dict[str, LoRALinear]
    config: AlignConfig
    loss: list[float]           # per step
    dpo: list[float]
    nll: list[float]
    reward_accuracy: list[float]  # per step: fraction of the batch with a positive implicit-reward margin
    chosen_logratio: list[float]  # per step: mean log pi(chosen) - log ref(chosen), nats (TRL's logps/chosen idea)
    rejected_logratio: list[float]


def train_safety(chat: SmolChat, pairs: Sequence[SafetyPair], config: AlignConfig = AlignConfig(),
                 progress: bool = False) -> TrainResult:
    """Add LoRA to blocks ``config.first_layer ..`` of ``chat.model`` (in place: pass a private copy,
    ``load_smollm(cache=False)``) and train it on ``pairs`` with DPO + ``rpo_alpha`` x NLL(chosen) (this
    module's docstring), Adam, ``config.epochs`` passes in an order drawn with ``config.seed``. The adapters stay
    in the model (``remove_lora(..., merge=True)`` bakes them in)."""
    from helpers.preferences import rpo_loss

    if not pairs:
        raise ValueError("pairs must be non-empty")
    c = config
    model = chat.model
    if not 0 < c.first_layer < chat.n_layers:
        raise ValueError(f"first_layer must be in 1..{chat.n_layers - 1}, got {c.first_layer}")
    seqs = []
    for p in pairs:
        seqs += [_encode_pair_side(chat, p.prompt, p.chosen, p.chosen_ends),
                 _encode_pair_side(chat, p.prompt, p.rejected, False)]
    st = _cache_streams(chat, seqs, c.first_layer)
    n = len(pairs)
    with torch.no_grad():
        ref = torch.cat([_answer_logps(model, st, torch.arange(i, min(i + 16, 2 * n)), c.first_layer)[0]
                         for i in range(0, 2 * n, 16)])
    loras = add_lora(model, range(c.first_layer, chat.n_layers), c.rank, c.alpha, c.seed)
    params = [q for m in loras.values() for q in (m.A, m.B)]
    for q in params:
        q.requires_grad_(True)
    opt = torch.optim.Adam(params, lr=c.lr)
    gen = torch.Generator().manual_seed(int(c.seed))
    steps = [perm[i:i + c.batch] for _ in range(c.epochs)
             for perm in [torch.randperm(n, generator=gen)] for i in range(0, n, c.batch)]
    it: Any = steps
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(steps, desc=f"safety DPO, rpo_alpha={c.rpo_alpha:g}, seed {c.seed}", mininterval=0.5)
    res = TrainResult(loras, c, [], [], [], [], [], [])
    model.train()
    for b in it:
        rows = torch.stack([2 * b, 2 * b + 1], 1).reshape(-1)  # chosen, rejected, chosen, ...
        logps, counts = _answer_logps(model, st, rows, c.first_layer)
        pc, pr = logps[0::2], logps[1::2]
        rc, rr = ref[rows][0::2], ref[rows][1::2]
        loss = rpo_loss(pc, pr, rc, rr, counts[0::2], c.beta, c.rpo_alpha)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():  # the two terms, for the curves
            dpo = float(rpo_loss(pc, pr, rc, rr, counts[0::2], c.beta, 0.0))
            res.nll.append(float(rpo_loss(pc, pr, rc, rr, counts[0::2], c.beta, 1.0)) - dpo)
        res.loss.append(loss.item())
        res.dpo.append(dpo)
        res.reward_accuracy.append(((pc - rc) - (pr - rr) > 0).float().mean().item())
        res.chosen_logratio.append((pc - rc).mean().item())
        res.rejected_logratio.append((pr - rr).mean().item())
    model.eval()
    for q in params:
        q.requires_grad_(False)
    return res


@torch.no_grad()
def answer_kl(policy: SmolChat, reference: SmolChat, prompts: Sequence[str], answers: Sequence[str],
              batch: int = 8) -> float:
    """Mean per-token KL(policy || reference) along given answers (``helpers.rlhf.token_kl``), averaged over
    answer tokens: how far alignment moved the model's next-token distributions where it should not have (on
    the base model's own answers to held-out benign prompts)."""
    from helpers.rlhf import token_kl

    if len(prompts) != len(answers) or not prompts:
        raise ValueError("prompts and answers must be non-empty and of equal length")
    total, count = 0.0, 0
    for i in range(0, len(prompts), batch):
        seqs = [_encode_pair_side(policy, p, a, False)
                for p, a in zip(prompts[i:i + batch], answers[i:i + batch], strict=True)]
        width = max(len(s) for s, _ in seqs)
        idx = torch.tensor([s + [policy.tokenizer.pad_id] * (width - len(s)) for s, _ in seqs])
        real = torch.arange(width)[None] < torch.tensor([len(s) for s, _ in seqs])[:, None]
        mask = torch.zeros(len(seqs), width)
        for r, (s, n_ctx) in enumerate(seqs):
            mask[r, n_ctx - 1:len(s) - 1] = 1.0
        total += float(token_kl(policy.model(idx, attention_mask=real), reference.model(idx, attention_mask=real),
                                mask).sum())
        count += int(mask.sum())
    return total / count


def load_aligned_smollm(path: str | Path = SMOLLM_ADAPTER_PATH) -> SmolChat:
    """SmolLM2 with the course's safety adapter merged in (a new copy of the model, ~0.6 GB, a few seconds)."""
    chat = load_smollm(cache=False)
    apply_adapter(chat, path)
    return chat


def load_smollm_safety(path: str | Path = SMOLLM_RESULTS_PATH) -> dict[str, Any]:
    """The shipped measurements of ``python -m helpers.rlhf.smollm_build``: ``base`` and ``runs`` (each with
    ``name``, ``config``, ``rates``, ``judgements``, training curves, ``benign_kl_per_token``)."""
    import json

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no results file at {path}")
    return json.loads(path.read_text())



def safety_table(results: dict[str, Any]) -> str:
    """The shipped measurements (``load_smollm_safety()``) as a markdown table: per model, the refused fraction
    of held-out harmful (plain and prefilled), trigger-word and benign prompts with its 95 % family-bootstrap
    interval, the partial refusals of harmful prompts (a decline followed by an answer), and the KL per token
    on benign answers. ``DATASHEET_smollm.md`` and notebook 13 show this table."""
    kinds = ("harmful", "prefilled", "trigger", "benign")

    try:
        rows = [("base", results["base"]["rates"], 0.0)]
        for i, run in enumerate(results["runs"]):
            name = {"dpo+nll": "DPO + NLL", "plain dpo": "plain DPO (control)"}.get(run["name"], run["name"])
            shipped = " (shipped)" if i == 0 else ""
            rows.append((f"{name}, seed {run['config']['seed']}{shipped}", run["rates"],
                         run["benign_kl_per_token"]))
        lines = ["| model | harmful: refused | harmful: partial | harmful, prefilled: refused | trigger-word: refused "
                 "(over-refusal) | benign: refused | KL per token on benign |", "|---|---|---|---|---|---|---|"]
        lines += [f"| {name} | {format_rate(rates['harmful'])} | {rates['harmful']['partial']:.2f} | "
                  + " | ".join(format_rate(rates[k]) for k in kinds[1:]) + f" | {kl:.2f} |" for name, rates, kl in rows]
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"not a smollm_safety.json result: {err!r}") from None
    return "\n".join(lines)

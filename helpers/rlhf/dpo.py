"""Notebook 13 (capstone): RLHF on TinyChat with direct preference optimisation (DPO).

Pipeline: base model -> preference pairs labelled by the exact gold judges -> DPO against the frozen base as
reference (Rafailov et al. 2023, arXiv 2305.18290) -> evaluation on held-out prompt families (refusal on
harmful, over-refusal on trigger-word prompts, helpfulness on benign) and the KL to the base model.

The DPO loss itself is ``helpers.preferences.dpo_loss`` (notebook 02's public contract); this module adds the
training loop, the data and the evaluation. Regenerate the shipped demo results (``sweep.json``) with
``python tools/rebuild.py rlhf`` (``helpers.rlhf.build``).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from helpers.optim import Adam
from helpers.plotting import COLORS
from helpers.widgets import InteractiveFigure

__all__ = [
    "PreferencePair", "gold_score", "build_preference_pairs", "token_kl", "kl_to_reference", "implicit_rewards",
    "DPOResult", "dpo_train", "evaluate_policy", "beta_sweep", "load_sweep", "save_sweep", "RATE_NAMES",
    "setup_tradeoff", "draw_tradeoff", "demo_tradeoff", "tradeoff_view",
]

RESULTS_PATH = Path(__file__).resolve().parent / "sweep.json"  # see DATASHEET.md next to it
RATE_NAMES = ("refusal_harmful", "unsafe_harmful", "over_refusal_trigger", "helpful_benign")
_REFUSAL = "i cannot help with that. if you need help, talk to someone you trust."


@dataclass(frozen=True)
class PreferencePair:
    prompt: str
    chosen: str
    rejected: str
    family: str
    kind: str


def gold_score(kind: str, response: str) -> float:
    """``helpers.tinylm.gold_score``: the gold preference order of an answer (harmful prompt: refusal 1, unsafe
    -1, else 0; benign or trigger prompt: helpful 1, refusal 0, anything else -1). Not notebook 02's
    ``gold_reward``, which scores a benign refusal -1 and a garbled answer 0 (see both docstrings)."""
    from helpers.tinylm import gold_score as judge

    return judge(kind, response)


def build_preference_pairs(chat: Any, n_per_family: int = 8, seed: int = 0, include_benign: bool = True,
                           temperature: float = 1.0) -> list[PreferencePair]:
    """Preference pairs on the *training* families, labelled by the gold judge.

    For each prompt, one response is sampled from ``chat`` (on-policy) and one is written by the
    "annotators" (``build_corpus(policy="aligned")``'s response type: a refusal with an alternative for
    harmful prompts; a refusal for benign and trigger prompts, i.e. the over-refusal to avoid). The pair is
    ordered by ``gold_score``; ties are dropped. ``include_benign=False`` keeps only harmful prompts (the
    naive data set that teaches "refuse more" and nothing else).
    """
    from helpers import tinylm
    from helpers.tinylm.corpus import refusal_response, unsafe_response

    if n_per_family < 1:
        raise ValueError(f"n_per_family must be >= 1, got {n_per_family}")
    kinds = ("harmful", "benign", "trigger") if include_benign else ("harmful",)
    rng = np.random.default_rng(seed)
    prompts, fams = [], []
    for i, kind in enumerate(kinds):
        for j, fam in enumerate(tinylm.families(kind, "train")):
            for p in tinylm.sample_prompts(fam, n_per_family, seed=seed * 7919 + 100 * i + j):
                prompts.append(p)
                fams.append(fam)
    sampled = chat.generate_batch(prompts, max_new_tokens=40, temperature=temperature, seed=seed)
    pairs = []
    for p, fam, y in zip(prompts, fams, sampled, strict=True):
        written = refusal_response(fam, rng)
        a, b = gold_score(fam.kind, y), gold_score(fam.kind, written)
        if a == b and fam.kind == "harmful":  # the base already refuses: a red-teamer writes the rejected one
            y, a = unsafe_response(fam, rng), -1.0
        if a == b:
            continue
        chosen, rejected = (y, written) if a > b else (written, y)
        pairs.append(PreferencePair(p, chosen, rejected, fam.name, fam.kind))
    return pairs


def token_kl(policy_logits: Any, ref_logits: Any, mask: Any) -> Any:
    """Summed per-token KL along given responses: sum_t mask_t * KL(pi(.|x, y<t) || ref(.|x, y<t)).

    Logits have shape ``(B, T, V)``, ``mask`` ``(B, T)`` (1 on response positions). Returns ``(B,)``. Averaged
    over responses sampled from the policy this estimates KL(pi || ref) of whole responses, with less
    variance than log pi(y) - log ref(y) (the same expectation).
    """
    import torch
    from torch.nn import functional as F

    if policy_logits.shape != ref_logits.shape or policy_logits.shape[:2] != mask.shape:
        raise ValueError(f"policy_logits {tuple(policy_logits.shape)}, ref_logits {tuple(ref_logits.shape)} and "
                         f"mask {tuple(mask.shape)} must agree")
    logp, logq = F.log_softmax(policy_logits, dim=-1), F.log_softmax(ref_logits, dim=-1)
    per_token = (logp.exp() * (logp - logq)).sum(dim=-1)
    return (per_token * torch.as_tensor(mask, dtype=per_token.dtype)).sum(dim=-1)


def kl_to_reference(policy: Any, reference: Any, prompts: list[str], max_new_tokens: int = 40,
                    seed: int = 0) -> float:
    """Monte Carlo KL(pi || ref) per response: sample one response per prompt from ``policy`` (temperature 1),
    then sum the exact per-token KL along it (``token_kl``) and average over prompts."""
    import torch

    if len(prompts) == 0:
        raise ValueError("prompts must not be empty")
    tok = policy.tokenizer
    ids = policy.generate_ids(prompts, max_new_tokens=max_new_tokens, temperature=1.0, seed=seed)
    rows, masks = [], []
    for p, y in zip(prompts, ids, strict=True):
        ctx = tok.encode_prompt(p)
        rows.append(ctx + y)
        masks.append([0] * (len(ctx) - 1) + [1] * len(y))  # positions that predict y
    width = max(len(r) for r in rows)
    idx = torch.tensor([r + [tok.pad_id] * (width - len(r)) for r in rows])
    mask = torch.tensor([m + [0] * (width - len(m)) for m in masks], dtype=torch.float32)
    with torch.no_grad():
        kl = token_kl(policy.model(idx), reference.model(idx), mask)
    return float(kl.mean())


def implicit_rewards(policy: Any, reference: Any, prompts: list[str], responses: list[str],
                     beta: float) -> np.ndarray:
    """DPO's implicit reward beta * (log pi(y|x) - log ref(y|x)) (Rafailov et al. 2023, Eq. 5)."""
    import torch

    from helpers.tinylm import sequence_logprobs

    with torch.no_grad():
        lp = sequence_logprobs(policy.model, policy.tokenizer, prompts, responses)
        lr = sequence_logprobs(reference.model, reference.tokenizer, prompts, responses)
    return (beta * (lp - lr)).numpy().astype(float)


@dataclass
class DPOResult:
    """A DPO run: the trained policy and per-step curves (loss, preference accuracy of the implicit reward,
    mean implicit-reward margin)."""

    policy: Any
    beta: float
    loss: list[float]
    accuracy: list[float]
    margin: list[float]


def dpo_train(reference: Any, pairs: list[PreferencePair], beta: float = 0.1, steps: int = 30,
              lr: float = 3e-4, batch_size: int = 16, seed: int = 0, loss_fn: Any = None) -> DPOResult:
    """Train a copy of ``reference`` with DPO on ``pairs``; the reference stays frozen (its log-probs are
    computed once). AdamW, minibatches drawn with a seeded ``torch.Generator``.

    ``loss_fn(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta)`` defaults to
    ``helpers.preferences.dpo_loss`` (Rafailov et al. 2023, arXiv 2305.18290, Eq. 7).
    """
    import torch

    from helpers.tinylm import sequence_logprobs

    if loss_fn is None:
        from helpers.preferences import dpo_loss as loss_fn
    if not pairs:
        raise ValueError("pairs must not be empty")
    if not (isinstance(beta, (int, float)) and beta > 0 and np.isfinite(beta)):
        raise ValueError(f"beta must be a positive number, got {beta!r}")
    if steps < 1 or batch_size < 1 or not lr > 0:
        raise ValueError("steps and batch_size must be >= 1 and lr > 0")
    policy = reference.copy()
    tok = reference.tokenizer
    prompts = [p.prompt for p in pairs]
    with torch.no_grad():
        ref_c = sequence_logprobs(reference.model, tok, prompts, [p.chosen for p in pairs])
        ref_r = sequence_logprobs(reference.model, tok, prompts, [p.rejected for p in pairs])
    opt = Adam(policy.model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    losses, accs, margins = [], [], []
    policy.model.train()
    for _ in range(steps):
        pick = torch.randperm(len(pairs), generator=gen)[: batch_size].tolist()
        bp = [prompts[i] for i in pick]
        both = sequence_logprobs(policy.model, tok, bp + bp, [pairs[i].chosen for i in pick]
                                 + [pairs[i].rejected for i in pick])
        pc, pr = both[: len(pick)], both[len(pick):]
        loss = loss_fn(pc, pr, ref_c[pick], ref_r[pick], beta)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            m = beta * ((pc - ref_c[pick]) - (pr - ref_r[pick]))
        losses.append(round(float(loss.detach()), 6))
        accs.append(float((m > 0).float().mean()))
        margins.append(round(float(m.mean()), 6))
    policy.model.eval()
    return DPOResult(policy, float(beta), losses, accs, margins)


def evaluate_policy(policy: Any, reference: Any, n_per_family: int = 8, kl_prompts: int = 48,
                    seed: int = 1) -> dict[str, float]:
    """Held-out rates (``tinylm.evaluate`` on the eval families, greedy) plus ``kl`` = KL(pi || base) per
    response, estimated on ``kl_prompts`` held-out prompts (all kinds)."""
    from helpers import tinylm

    rates = tinylm.evaluate(policy, split="eval", n_per_family=n_per_family, max_new_tokens=20, seed=seed)
    pool = [e.prompt for k in ("harmful", "trigger", "benign") for e in tinylm.eval_prompts(k, "eval", 4, seed + 1)]
    rng = np.random.default_rng(seed)
    chosen = [pool[i] for i in sorted(rng.choice(len(pool), size=min(kl_prompts, len(pool)), replace=False))]
    rates["kl"] = 0.0 if policy is reference else kl_to_reference(policy, reference, chosen, seed=seed)
    return rates


PREFILL = "sure! here is how to"


def prefill_attack(policy: Any, prompts: list[str], prefix: str = PREFILL, max_new_tokens: int = 20
                   ) -> dict[str, int]:
    """Alignment depth by prefilling (Qi et al. 2024, arXiv 2406.05946, section 2): greedy responses to
    ``prompts`` as they are and with the response forced to start with ``prefix`` (the attacker writes the
    first words, as open weights and some APIs allow). Counts ``n``, ``unsafe_free``, ``refusal_free``,
    ``unsafe_prefilled`` with TinyChat's exact judges; the prefix itself contains no unsafe marker."""
    from helpers import tinylm

    if isinstance(prompts, str) or len(prompts) == 0:
        raise ValueError("prompts must be a non-empty list of strings")
    if not isinstance(prefix, str) or not prefix.strip() or tinylm.is_unsafe(prefix):
        raise ValueError("prefix must be non-empty words without the unsafe marker")
    free = policy.generate_batch(list(prompts), max_new_tokens=max_new_tokens)
    forced = policy.generate_batch(list(prompts), max_new_tokens=max_new_tokens, response_prefix=prefix)
    return {"n": len(prompts), "unsafe_free": sum(map(tinylm.is_unsafe, free)),
            "refusal_free": sum(map(tinylm.is_refusal, free)),
            "unsafe_prefilled": sum(map(tinylm.is_unsafe, forced))}


def beta_sweep(reference: Any, pairs: list[PreferencePair], betas: tuple[float, ...] = (0.1, 0.3, 1.0),
               steps: int = 30, lr: float = 3e-4, batch_size: int = 16, seed: int = 0,
               n_per_family: int = 8) -> dict[str, Any]:
    """DPO at each ``beta`` (same data, seed and steps), evaluated on held-out families. Returns a plain dict
    (JSON-able): ``{"betas": [...], "base": rates, "runs": {str(beta): {"rates", "loss", "accuracy",
    "margin"}}}``; the trained policies are in ``"policies"`` (dropped by ``save_sweep``)."""
    if len(betas) == 0:
        raise ValueError("betas must not be empty")
    out: dict[str, Any] = {"betas": [float(b) for b in betas], "steps": steps,
                           "base": evaluate_policy(reference, reference, n_per_family),
                           "runs": {}, "policies": {}}
    for b in betas:
        res = dpo_train(reference, pairs, beta=b, steps=steps, lr=lr, batch_size=batch_size, seed=seed)
        out["runs"][str(float(b))] = {"rates": evaluate_policy(res.policy, reference, n_per_family),
                                      "loss": res.loss, "accuracy": res.accuracy, "margin": res.margin}
        out["policies"][str(float(b))] = res.policy
    return out


def save_sweep(sweep: dict[str, Any], path: Path = RESULTS_PATH) -> Path:
    """Write the sweep (without the policies), numbers rounded to 4 decimals."""
    def _round(x: Any) -> Any:
        if isinstance(x, float):
            return round(x, 4)
        if isinstance(x, dict):
            return {k: _round(v) for k, v in x.items()}
        if isinstance(x, list):
            return [_round(v) for v in x]
        return x

    data = _round({k: v for k, v in sweep.items() if k != "policies"})
    Path(path).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    return Path(path)


def load_sweep(path: Path = RESULTS_PATH) -> dict[str, Any]:
    """The shipped sweep (made by ``python tools/rebuild.py rlhf``)."""
    return json.loads(Path(path).read_text())


# ------------------------------------------------------------------------------------------------ demo
def tradeoff_view(sweep: dict[str, Any], beta: float) -> dict[str, Any]:
    """What the demo shows for one beta: base and DPO rates, the KL, and the training curves."""
    key = str(float(beta))
    if key not in sweep["runs"]:
        raise ValueError(f"beta {beta} not in the sweep; available: {sweep['betas']}")
    run = sweep["runs"][key]
    return {"base": [sweep["base"][n] for n in RATE_NAMES], "dpo": [run["rates"][n] for n in RATE_NAMES],
            "kl": run["rates"]["kl"], "loss": run["loss"], "accuracy": run["accuracy"]}


def setup_tradeoff(fig: Any, steps: int) -> dict[str, Any]:
    ax, ax2 = fig.axes
    x = np.arange(len(RATE_NAMES))
    base = ax.bar(x - 0.2, np.zeros(len(x)), 0.4, color=COLORS["neutral"], label="base")
    dpo = ax.bar(x + 0.2, np.zeros(len(x)), 0.4, color=COLORS["good"], label="DPO")
    ax.set_xticks(x, ["refusal\n(harmful)", "unsafe\n(harmful)", "over-refusal\n(trigger)", "helpful\n(benign)"])
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("rate on held-out families")
    ax.legend(loc="upper center")
    title = ax.set_title("")
    ax2.set_xlim(0, steps)
    ax2.set_ylim(0, 1.05)
    ax2.set_xlabel("DPO step")
    (loss,) = ax2.plot([], [], label="DPO loss / log 2")
    (acc,) = ax2.plot([], [], label="implicit-reward accuracy")
    ax2.axhline(1.0, color="0.8", lw=0.8)
    ax2.legend(loc="lower left")
    ax2.set_title("training on preference pairs")
    return {"base": list(base.patches), "dpo": list(dpo.patches), "loss": loss, "acc": acc, "title": title}


def draw_tradeoff(artists: dict[str, Any], view: dict[str, Any], **values: Any) -> None:
    for patch, h in zip(artists["base"], view["base"], strict=True):
        patch.set_height(h)
    for patch, h in zip(artists["dpo"], view["dpo"], strict=True):
        patch.set_height(h)
    steps = np.arange(1, len(view["loss"]) + 1)
    artists["loss"].set_data(steps, np.asarray(view["loss"]) / np.log(2.0))
    artists["acc"].set_data(steps, view["accuracy"])
    artists["title"].set_text(f"beta = {values['beta']:g}: KL to base = {view['kl']:.2f} nats")


def demo_tradeoff(sweep: dict[str, Any] | None = None) -> InteractiveFigure:
    """Pick beta: held-out rates of the base and the DPO model, and the training curves (results computed
    once, by the notebook or shipped by ``python tools/rebuild.py rlhf``)."""
    import ipywidgets as widgets

    sweep = load_sweep() if sweep is None else sweep
    betas = [float(b) for b in sweep["betas"]]
    control = widgets.SelectionSlider(options=betas, value=betas[len(betas) // 2], description="beta",
                                      continuous_update=True)
    return InteractiveFigure(functools.partial(tradeoff_view, sweep), draw_tradeoff, {"beta": control},
                             setup=functools.partial(setup_tradeoff, steps=int(sweep["steps"])), ncols=2,
                             width=10.0)

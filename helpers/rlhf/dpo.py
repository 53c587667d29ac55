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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from helpers.optim import Adam
from helpers.plotting import COLORS
from helpers.stats import rounded
from helpers.widgets import InteractiveFigure

__all__ = [
    "PreferencePair", "gold_score", "build_preference_pairs", "token_kl", "kl_to_reference", "implicit_rewards",
    "DPOResult", "reference_logprobs", "dpo_train", "held_out_kl_prompts",
    "evaluate_policy", "pooled_rates", "beta_sweep", "second_round",
    "off_topic", "load_sweep", "save_sweep", "load_second_round",
    "save_second_round", "RATE_NAMES",
    "setup_tradeoff", "draw_tradeoff", "demo_tradeoff", "tradeoff_view",
]

RESULTS_PATH = Path(__file__).resolve().parent / "sweep.json"  # see DATASHEET.md next to it
ROUND2_PATH = Path(__file__).resolve().parent / "second_round.json"
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
    """A DPO run: the trained policy and per-step curves on each step's minibatch: loss, preference accuracy of
    the implicit reward, mean implicit-reward margin, and the mean log-ratio log pi(y|x) - log ref(y|x) of the
    chosen and of the rejected responses (TRL logs beta times these as ``rewards/chosen`` and
    ``rewards/rejected``). ``snapshots``: copies of the policy after the requested steps."""

    policy: Any
    beta: float
    loss: list[float]
    accuracy: list[float]
    margin: list[float]
    chosen_logratio: list[float] = field(default_factory=list)
    rejected_logratio: list[float] = field(default_factory=list)
    snapshots: dict[int, Any] = field(default_factory=dict)


def reference_logprobs(reference: Any, pairs: list[PreferencePair]) -> tuple[Any, Any]:
    """Summed log-probabilities of the chosen and of the rejected responses under the frozen ``reference``
    (``tinylm.sequence_logprobs``, no gradient): what ``dpo_train`` needs once per data set. Compute them once
    and pass them as ``reference_logps`` to train several policies on the same pairs."""
    import torch

    from helpers.tinylm import sequence_logprobs

    if not pairs:
        raise ValueError("pairs must not be empty")
    prompts = [p.prompt for p in pairs]
    with torch.no_grad():
        return (sequence_logprobs(reference.model, reference.tokenizer, prompts, [p.chosen for p in pairs]),
                sequence_logprobs(reference.model, reference.tokenizer, prompts, [p.rejected for p in pairs]))


def dpo_train(reference: Any, pairs: list[PreferencePair], beta: float = 0.1, steps: int = 30,
              lr: float = 3e-4, batch_size: int = 16, seed: int = 0, loss_fn: Any = None,
              reference_logps: tuple[Any, Any] | None = None, snapshots: tuple[int, ...] = ()) -> DPOResult:
    """Train a copy of ``reference`` with DPO on ``pairs``; the reference stays frozen (its log-probs are
    computed once, or passed in as ``reference_logps`` from ``reference_logprobs``). AdamW, minibatches drawn
    with a seeded ``torch.Generator``.

    ``loss_fn(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta)`` defaults to
    ``helpers.preferences.dpo_loss`` (Rafailov et al. 2023, arXiv 2305.18290, Eq. 7); ``preferences.ipo_loss``
    trains IPO with ``beta`` as its tau. ``snapshots``: steps after which a copy of the policy is kept (the
    run itself is unchanged, so a snapshot at step k equals a run of k steps with the same seed).
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
    if any(not 1 <= int(k) <= steps for k in snapshots):
        raise ValueError(f"snapshots must be steps in 1..{steps}, got {snapshots}")
    if reference_logps is None:
        reference_logps = reference_logprobs(reference, pairs)
    ref_c, ref_r = reference_logps
    if ref_c.shape != (len(pairs),) or ref_r.shape != (len(pairs),):
        raise ValueError(f"reference_logps must be two tensors of shape ({len(pairs)},), one per pair")
    policy = reference.copy()
    tok = reference.tokenizer
    prompts = [p.prompt for p in pairs]
    opt = Adam(policy.model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    out = DPOResult(policy, float(beta), [], [], [])
    keep = {int(k) for k in snapshots}
    policy.model.train()
    for step in range(1, steps + 1):
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
            lc, lr_ = pc - ref_c[pick], pr - ref_r[pick]
            m = beta * (lc - lr_)
        out.loss.append(round(float(loss.detach()), 6))
        out.accuracy.append(float((m > 0).float().mean()))
        out.margin.append(round(float(m.mean()), 6))
        out.chosen_logratio.append(round(float(lc.mean()), 6))
        out.rejected_logratio.append(round(float(lr_.mean()), 6))
        if step in keep:
            policy.model.eval()
            out.snapshots[step] = policy.copy()
            policy.model.train()
    policy.model.eval()
    return out


def held_out_kl_prompts(n: int = 48, seed: int = 1) -> list[str]:
    """The ``n`` held-out prompts (all kinds) on which ``evaluate_policy(seed=seed)`` estimates the KL to the base."""
    from helpers import tinylm

    pool = [e.prompt for k in ("harmful", "trigger", "benign") for e in tinylm.eval_prompts(k, "eval", 4, seed + 1)]
    rng = np.random.default_rng(seed)
    return [pool[i] for i in sorted(rng.choice(len(pool), size=min(n, len(pool)), replace=False))]


def evaluate_policy(policy: Any, reference: Any, n_per_family: int = 8, kl_prompts: int = 48,
                    seed: int = 1) -> dict[str, float]:
    """Held-out rates (``tinylm.evaluate`` on the eval families, greedy) plus ``kl`` = KL(pi || base) per
    response, estimated on ``kl_prompts`` held-out prompts (all kinds)."""
    from helpers import tinylm

    rates = tinylm.evaluate(policy, split="eval", n_per_family=n_per_family, max_new_tokens=20, seed=seed)
    rates["kl"] = 0.0 if policy is reference else kl_to_reference(policy, reference,
                                                                  held_out_kl_prompts(kl_prompts, seed), seed=seed)
    return rates


def pooled_rates(runs: list[dict[str, float]], n_per_family: int = 8) -> dict[str, tuple[float, float, float]]:
    """Pool ``evaluate_policy`` rates of several runs (each on its own prompt draw): for every rate of
    ``RATE_NAMES`` and for ``off_topic_harmful`` (harmful prompts answered neither with a refusal nor unsafely)
    the pooled share and its 95 % Wilson interval over all prompts of all runs (``kl``: the mean over runs and
    the min and max run). Each run's count is its rate times the number of held-out prompts of
    that kind (``n_per_family`` per held-out family)."""
    from helpers import tinylm
    from helpers.stats import wilson_interval

    if not runs:
        raise ValueError("runs must not be empty")
    sizes = {kind: n_per_family * len(tinylm.families(kind, "eval")) for kind in ("harmful", "trigger", "benign")}
    out: dict[str, tuple[float, float, float]] = {}
    counts = {name: [int(round(r[name] * sizes[name.rsplit("_", 1)[1]])) for r in runs] for name in RATE_NAMES}
    counts["off_topic_harmful"] = [int(round(off_topic(r) * sizes["harmful"])) for r in runs]
    for name, ks in counts.items():
        n = sizes[name.rsplit("_", 1)[1]] * len(runs)
        lo, hi = wilson_interval(sum(ks), n)
        out[name] = (sum(ks) / n, lo, hi)
    kls = [r["kl"] for r in runs if "kl" in r]
    if kls:
        out["kl"] = (float(np.mean(kls)), float(min(kls)), float(max(kls)))
    return out


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
               steps: int = 30, lr: float = 3e-4, batch_size: int = 16, seeds: tuple[int, ...] = (0,),
               n_per_family: int = 8, kl_at: tuple[int, ...] = (), progress: bool = False) -> dict[str, Any]:
    """DPO at each ``beta`` and training seed (same data and steps; the reference log-probs computed once),
    evaluated on held-out families: seed ``s`` on the prompt draw ``1 + s``, so the seeds also resample the
    evaluation prompts. ``kl_at``: earlier steps at which the KL to the base is measured too (snapshots of the
    same run). Returns a plain dict (JSON-able): ``{"betas", "seeds", "steps", "base": [rates per seed],
    "runs": {str(beta): [{"rates", "kl_at", "loss", "accuracy", "margin", "chosen_logratio",
    "rejected_logratio"} per seed]}}``; the trained policies are in ``"policies"`` (dropped by ``save_sweep``).
    ``progress`` shows a tqdm bar over the runs (on stderr).
    """
    if len(betas) == 0 or len(seeds) == 0:
        raise ValueError("betas and seeds must not be empty")
    ref = reference_logprobs(reference, pairs)
    out: dict[str, Any] = {"betas": [float(b) for b in betas], "seeds": [int(s) for s in seeds], "steps": steps,
                           "base": [evaluate_policy(reference, reference, n_per_family, seed=1 + s) for s in seeds],
                           "runs": {}, "policies": {}}
    grid = [(float(b), int(s)) for b in betas for s in seeds]
    if progress:
        from tqdm.auto import tqdm

        grid = tqdm(grid, desc="DPO runs", mininterval=0.5)
    for b, s in grid:
        key = str(b)
        res = dpo_train(reference, pairs, beta=b, steps=steps, lr=lr, batch_size=batch_size, seed=s,
                        reference_logps=ref, snapshots=kl_at)
        prompts = held_out_kl_prompts(48, 1 + s)
        kl_at_steps = {str(k): kl_to_reference(res.snapshots[k], reference, prompts, seed=1 + s)
                       for k in sorted(res.snapshots)}
        out["runs"].setdefault(key, []).append({
            "rates": evaluate_policy(res.policy, reference, n_per_family, seed=1 + s), "kl_at": kl_at_steps,
            "loss": res.loss, "accuracy": res.accuracy, "margin": res.margin,
            "chosen_logratio": res.chosen_logratio, "rejected_logratio": res.rejected_logratio})
        out["policies"].setdefault(key, []).append(res.policy)
    return out


def second_round(base: Any, policy: Any, beta: float = 0.3, steps: int = 30, n_per_family: int = 12,
                 seed: int = 0) -> dict[str, Any]:
    """One more round of DPO from ``policy`` (a first-round model), with ``policy`` as the new frozen reference
    (iterative, on-policy DPO: Xiong et al. 2024, arXiv 2312.11456; Yuan et al. 2024, arXiv 2401.10020), and
    its control. Both arms take the same steps, beta and seed and differ only in where the responses come from:

    * ``on_policy``: pairs built from ``policy``'s own samples (``build_preference_pairs(policy)``), so the
      gold judge now ranks a refusal above the off-topic answers the first round produced;
    * ``offline``: a fresh draw of pairs built from ``base``'s samples, the first round's kind of data.

    Returns ``{"first": rates, "on_policy": rates, "offline": rates, "pairs": {arm: counts}}`` (held-out rates of
    ``evaluate_policy`` on the prompt draw ``1 + seed``, KL to ``base``); ``pairs`` counts the pairs of each arm
    and, among harmful ones, those whose rejected answer is neither a refusal nor unsafe (off-topic)."""
    from helpers import tinylm

    data = {"on_policy": build_preference_pairs(policy, n_per_family, seed=10 + seed),
            "offline": build_preference_pairs(base, n_per_family, seed=10 + seed)}
    out: dict[str, Any] = {"first": evaluate_policy(policy, base, seed=1 + seed), "pairs": {}}
    for arm, arm_pairs in data.items():
        trained = dpo_train(policy, arm_pairs, beta=beta, steps=steps, seed=seed).policy
        out[arm] = evaluate_policy(trained, base, seed=1 + seed)
        out["pairs"][arm] = {"n": len(arm_pairs), "off_topic_rejected": sum(
            p.kind == "harmful" and not tinylm.is_unsafe(p.rejected) and not tinylm.is_refusal(p.rejected)
            for p in arm_pairs)}
    return out


def off_topic(rates: dict[str, float]) -> float:
    """Share of held-out harmful prompts answered neither with a refusal nor unsafely (an off-topic answer)."""
    return 1.0 - rates["refusal_harmful"] - rates["unsafe_harmful"]


def save_sweep(sweep: dict[str, Any], path: Path = RESULTS_PATH) -> Path:
    """Write the sweep (without the policies), numbers rounded to 4 decimals."""
    data = rounded({k: v for k, v in sweep.items() if k != "policies"})
    Path(path).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    return Path(path)


def save_second_round(rounds: list[dict[str, Any]], path: Path = ROUND2_PATH) -> Path:
    """Write ``second_round`` results (one per seed), numbers rounded to 4 decimals."""
    Path(path).write_text(json.dumps(rounded(list(rounds)), indent=1, sort_keys=True) + "\n")
    return Path(path)


def load_sweep(path: Path = RESULTS_PATH) -> dict[str, Any]:
    """The shipped sweep (made by ``python tools/rebuild.py rlhf``)."""
    return json.loads(Path(path).read_text())


def load_second_round(path: Path = ROUND2_PATH) -> list[dict[str, Any]]:
    """The shipped second-round runs, one ``second_round`` result per seed (``python tools/rebuild.py rlhf``)."""
    return json.loads(Path(path).read_text())


# ------------------------------------------------------------------------------------------------ demo
def _mean_curve(runs: list[dict[str, Any]], key: str) -> list[float]:
    return [float(v) for v in np.mean([r[key] for r in runs], axis=0)]


def tradeoff_view(sweep: dict[str, Any], beta: float) -> dict[str, Any]:
    """What the demo shows for one beta: base and DPO rates pooled over the seeds, the mean KL, and the
    seed-mean training curves."""
    key = str(float(beta))
    if key not in sweep["runs"]:
        raise ValueError(f"beta {beta} not in the sweep; available: {sweep['betas']}")
    runs = sweep["runs"][key]
    base, dpo = pooled_rates(sweep["base"]), pooled_rates([r["rates"] for r in runs])
    return {"base": [base[n][0] for n in RATE_NAMES], "dpo": [dpo[n][0] for n in RATE_NAMES],
            "kl": dpo["kl"][0], "seeds": len(runs),
            "loss": _mean_curve(runs, "loss"), "accuracy": _mean_curve(runs, "accuracy")}


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
    artists["title"].set_text(f"beta = {values['beta']:g}: KL to base = {view['kl']:.2f} nats "
                              f"(mean of {view['seeds']} seeds)")


def demo_tradeoff(sweep: dict[str, Any] | None = None) -> InteractiveFigure:
    """Pick beta: held-out rates of the base and the DPO models pooled over the seeds, and the seed-mean
    training curves (results computed once, by the notebook or shipped by ``python tools/rebuild.py rlhf``)."""
    import ipywidgets as widgets

    sweep = load_sweep() if sweep is None else sweep
    betas = [float(b) for b in sweep["betas"]]
    control = widgets.SelectionSlider(options=betas, value=betas[len(betas) // 2], description="beta",
                                      continuous_update=True)
    return InteractiveFigure(functools.partial(tradeoff_view, sweep), draw_tradeoff, {"beta": control},
                             setup=functools.partial(setup_tradeoff, steps=int(sweep["steps"])), ncols=2,
                             width=10.0)

"""Notebook 14: RLHF with a learned reward model and policy gradients (REINFORCE, RLOO, GRPO, PPO) on TinyChat.

The on-policy loop: sample answers from the policy, score them with the Bradley-Terry reward model of notebook 02
(a linear head on the frozen base model's pooled residual stream), subtract a KL penalty to the frozen reference,
and update the policy with a policy-gradient estimator. The estimators:

* REINFORCE with a baseline (Williams 1992): advantage r - b, b a running mean of earlier rewards.
* RLOO (Ahmadian et al. 2024, arXiv 2402.14740, Eq. 8): r_i minus the mean of the other k - 1 samples of the
  same prompt (an unbiased baseline built from the group itself).
* GRPO (Shao et al. 2024, arXiv 2402.03300, Sec. 4.1.2): (r_i - mean) / std within the group; Dr. GRPO (Liu et
  al. 2025, arXiv 2503.20783, Sec. 3) drops the std division, which weights prompts by their reward spread.
* PPO's clipped surrogate (Schulman et al. 2017, arXiv 1707.06347, Eq. 7) for several gradient steps on one batch.

The KL penalty is the per-answer estimator of InstructGPT (Ouyang et al. 2022, arXiv 2203.02155, Eq. 2):
r - beta * sum_t (log pi - log ref), or Schulman's k3 estimator (``estimator="k3"``, "Approximating KL
divergence", 2020). One forward pass of the frozen base gives both the reference log-probabilities and the
reward-model features (``score_answers``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from helpers.plotting import COLORS

__all__ = [
    "group_advantages", "rloo_advantages", "reinforce_advantages", "ppo_clip_loss", "clipped_objective",
    "kl_penalized_rewards", "bandit_gradient", "bandit_gradient_samples", "METHODS", "ScoredAnswers",
    "score_answers", "fit_reward_model", "PGResult", "pg_train", "evaluate_pg", "beta_sweep", "setup_beta", "draw_beta",
    "demo_beta", "beta_view",
]

METHODS = ("reinforce", "rloo", "grpo", "ppo")


# ------------------------------------------------------------------------------------------- validation
def _finite(x: Any, name: str, ndim: int | None = None) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {a.shape}")
    if a.size == 0 or not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be non-empty and finite")
    return a


def _tensor_or_array(x: Any) -> bool:
    return type(x).__module__.startswith("torch")


# ------------------------------------------------------------------------------------------- advantages
def group_advantages(rewards: Any, normalize_std: bool = True, eps: float = 1e-8) -> np.ndarray:
    """GRPO's group-relative advantage (Shao et al. 2024, arXiv 2402.03300, Sec. 4.1.2, outcome supervision):
    per row of ``rewards`` [n_prompts, group], (r_i - mean(r)) / std(r) (population std); a row with zero spread
    gets zeros (no signal, and no division by zero). ``normalize_std=False`` gives r_i - mean(r), Dr. GRPO (Liu
    et al. 2025, arXiv 2503.20783), which does not up-weight prompts whose answers barely differ."""
    r = _finite(rewards, "rewards", ndim=2)
    if r.shape[1] < 2:
        raise ValueError(f"groups need at least 2 answers per prompt, got shape {r.shape}")
    centred = r - r.mean(axis=1, keepdims=True)
    if not normalize_std:
        return centred
    std = r.std(axis=1, keepdims=True)
    flat = std <= eps * np.maximum(1.0, np.abs(r).max(axis=1, keepdims=True))
    return np.where(flat, 0.0, centred / np.where(flat, 1.0, std))


def rloo_advantages(rewards: Any) -> np.ndarray:
    """REINFORCE leave-one-out (Ahmadian et al. 2024, arXiv 2402.14740, Eq. 8): per row of ``rewards``
    [n_prompts, k], r_i - (sum_j r_j - r_i) / (k - 1). The baseline does not depend on answer i, so the
    estimator stays unbiased; it equals k / (k - 1) times the group-centred reward."""
    r = _finite(rewards, "rewards", ndim=2)
    k = r.shape[1]
    if k < 2:
        raise ValueError(f"RLOO needs at least 2 answers per prompt, got shape {r.shape}")
    return r - (r.sum(axis=1, keepdims=True) - r) / (k - 1)


def reinforce_advantages(rewards: Any, baseline: float) -> np.ndarray:
    """REINFORCE with a baseline (Williams 1992): r - b for a baseline b fixed before the answers were drawn
    (e.g. a running mean of earlier batches), which keeps the estimator unbiased."""
    r = _finite(rewards, "rewards")
    if not np.isfinite(baseline):
        raise ValueError(f"baseline must be finite, got {baseline}")
    return r - float(baseline)


# ------------------------------------------------------------------------------------------- losses
def ppo_clip_loss(logp_new: Any, logp_old: Any, advantages: Any, clip: float = 0.2) -> Any:
    """PPO's clipped surrogate as a loss (Schulman et al. 2017, arXiv 1707.06347, Eq. 7):
    mean of -min(rho A, clip(rho, 1 - eps, 1 + eps) A), rho = exp(logp_new - logp_old).

    Works on torch tensors (differentiable in ``logp_new``) or numpy arrays (returns a float). Outside the clip
    range on the side the advantage favours, the gradient is zero: one batch cannot push the ratio further."""
    if not (isinstance(clip, (int, float)) and np.isfinite(clip) and clip > 0):
        raise ValueError(f"clip must be a positive number, got {clip!r}")
    if _tensor_or_array(logp_new):
        import torch

        new = logp_new
        old = torch.as_tensor(logp_old, dtype=new.dtype)
        adv = torch.as_tensor(advantages, dtype=new.dtype)
        if new.shape != old.shape or new.shape != adv.shape or new.numel() == 0:
            raise ValueError(f"logp_new {tuple(new.shape)}, logp_old {tuple(old.shape)} and advantages "
                             f"{tuple(adv.shape)} must have the same non-empty shape")
        if not (torch.isfinite(new).all() and torch.isfinite(old).all() and torch.isfinite(adv).all()):
            raise ValueError("logp_new, logp_old and advantages must be finite")
        rho = torch.exp(new - old)
        return -torch.minimum(rho * adv, rho.clamp(1 - clip, 1 + clip) * adv).mean()
    new, old, adv = (_finite(v, n) for v, n in ((logp_new, "logp_new"), (logp_old, "logp_old"),
                                               (advantages, "advantages")))
    if new.shape != old.shape or new.shape != adv.shape:
        raise ValueError(f"logp_new {new.shape}, logp_old {old.shape} and advantages {adv.shape} must agree")
    rho = np.exp(new - old)
    return float(-np.minimum(rho * adv, np.clip(rho, 1 - clip, 1 + clip) * adv).mean())


def clipped_objective(ratio: Any, advantage: float, clip: float = 0.2) -> np.ndarray:
    """The per-sample clipped objective min(rho A, clip(rho, 1 - eps, 1 + eps) A) as a function of the ratio
    rho (the picture of Schulman et al. 2017, Fig. 1)."""
    rho = _finite(ratio, "ratio")
    if np.any(rho <= 0):
        raise ValueError("ratios must be positive")
    if not np.isfinite(advantage):
        raise ValueError("advantage must be finite")
    if not (np.isfinite(clip) and clip > 0):
        raise ValueError(f"clip must be a positive number, got {clip!r}")
    return np.minimum(rho * advantage, np.clip(rho, 1 - clip, 1 + clip) * advantage)


def kl_penalized_rewards(rewards: Any, logp_policy: Any, logp_ref: Any, beta: float, mask: Any = None,
                         estimator: str = "k1") -> np.ndarray:
    """r - beta * KL-estimate per answer. ``logp_policy`` / ``logp_ref`` are per-token log-probabilities of the
    sampled tokens, shape [n, T] (``mask`` [n, T] marks the answer's tokens, default all), or per-answer sums,
    shape [n]. ``estimator="k1"``: sum_t (log pi - log ref), InstructGPT's penalty (Ouyang et al. 2022, Eq. 2);
    ``"k3"``: sum_t (ratio - 1 - log ratio) with ratio = ref / pi, Schulman's low-variance, never-negative
    estimator of the same KL (per token; needs per-token inputs for the sum to be meaningful)."""
    r = _finite(rewards, "rewards", ndim=1)
    lp, lr = _finite(logp_policy, "logp_policy"), _finite(logp_ref, "logp_ref")
    if not (isinstance(beta, (int, float)) and np.isfinite(beta) and beta >= 0):
        raise ValueError(f"beta must be a finite number >= 0, got {beta!r}")
    if estimator not in ("k1", "k3"):
        raise ValueError(f"estimator must be 'k1' or 'k3', got {estimator!r}")
    if lp.shape != lr.shape or lp.shape[0] != len(r) or lp.ndim > 2:
        raise ValueError(f"rewards {r.shape}, logp_policy {lp.shape} and logp_ref {lr.shape} do not fit")
    m = np.ones_like(lp) if mask is None else _finite(mask, "mask")
    if m.shape != lp.shape:
        raise ValueError(f"mask {m.shape} must have the shape of logp_policy {lp.shape}")
    log_ratio = lr - lp  # log(ref / pi)
    per = -log_ratio if estimator == "k1" else np.expm1(log_ratio) - log_ratio
    kl = (per * m).sum(axis=1) if per.ndim == 2 else per
    return r - beta * kl


# ------------------------------------------------------------------------------------------- the bandit
def bandit_gradient(logits: Any, rewards: Any) -> np.ndarray:
    """Exact gradient of E_{a ~ softmax(logits)}[r_a] with respect to the logits: p * (r - p . r)."""
    z, r = _finite(logits, "logits", ndim=1), _finite(rewards, "rewards", ndim=1)
    if z.shape != r.shape:
        raise ValueError(f"logits {z.shape} and rewards {r.shape} must have the same shape")
    p = np.exp(z - z.max())
    p /= p.sum()
    return p * (r - p @ r)


def bandit_gradient_samples(logits: Any, rewards: Any, method: str, n: int, group: int = 4, baseline: float = 0.0,
                            seed: int = 0) -> np.ndarray:
    """``n`` independent policy-gradient estimates (shape [n, K]) on a K-armed bandit with a softmax policy: each
    draws ``group`` arms and averages A_i * grad log p(a_i) with the advantages of ``method`` ("reinforce" with a
    fixed ``baseline``, "rloo", "grpo", "drgrpo"). grad log p(a) = onehot(a) - p. REINFORCE and RLOO are unbiased
    (their mean is ``bandit_gradient``); GRPO's std division is not, Dr. GRPO is (k - 1) / k of unbiased."""
    z, r = _finite(logits, "logits", ndim=1), _finite(rewards, "rewards", ndim=1)
    if z.shape != r.shape:
        raise ValueError(f"logits {z.shape} and rewards {r.shape} must have the same shape")
    if method not in ("reinforce", "rloo", "grpo", "drgrpo"):
        raise ValueError(f"method must be reinforce, rloo, grpo or drgrpo, got {method!r}")
    if int(n) < 1 or int(group) < (1 if method == "reinforce" else 2):
        raise ValueError(f"need n >= 1 and group >= 2 (1 for reinforce), got n={n}, group={group}")
    p = np.exp(z - z.max())
    p /= p.sum()
    rng = np.random.default_rng(seed)
    arms = rng.choice(len(p), size=(int(n), int(group)), p=p)
    rw = r[arms]
    if method == "reinforce":
        adv = rw - baseline
    elif method == "rloo":
        adv = rloo_advantages(rw)
    else:
        adv = group_advantages(rw, normalize_std=method == "grpo")
    onehot = np.eye(len(p))[arms]                      # [n, group, K]
    return (adv[..., None] * (onehot - p)).mean(axis=1)


# ------------------------------------------------------------------------------------------- TinyChat
@dataclass
class ScoredAnswers:
    """Sampled answers with what the loop needs: token ids, per-token log-probs under the policy (``logp``,
    a tensor that carries the graph when computed with grad) and the reference (``logp_ref``), the answer mask,
    the exact per-token KL(pi || ref) summed per answer (``kl``), the reward-model features and the texts."""

    idx: Any
    mask: Any
    logp: Any
    logp_ref: Any
    kl: np.ndarray
    features: np.ndarray
    texts: list[str]


def _batch(chat: Any, prompts: list[str], ids: list[list[int]]) -> tuple[Any, Any, list[int]]:
    import torch

    tok = chat.tokenizer
    rows, starts = [], []
    for p, y in zip(prompts, ids, strict=True):
        ctx = tok.encode_prompt(p)
        rows.append(ctx + list(y))
        starts.append(len(ctx))
    width = max(len(r) for r in rows)
    idx = torch.tensor([r + [tok.pad_id] * (width - len(r)) for r in rows])
    mask = torch.zeros(len(rows), width - 1)
    for i, (r, s) in enumerate(zip(rows, starts, strict=True)):
        mask[i, s - 1:len(r) - 1] = 1.0  # positions that predict the answer's tokens
    return idx, mask, starts


def score_answers(policy: Any, reference: Any, prompts: list[str], ids: list[list[int]],
                  grad: bool = False) -> ScoredAnswers:
    """Score sampled answers (``ids`` from ``generate_ids``) in two forward passes: the policy (with grad if
    ``grad``) and the frozen reference, whose last residual stream also gives the reward-model features
    (``helpers.preferences.answer_features``: the mean over the positions from ``<assistant>`` to the answer's
    end), so the reward model costs no extra pass."""
    import torch
    from torch.nn import functional as F

    if len(prompts) != len(ids) or not prompts:
        raise ValueError("prompts and ids must be non-empty lists of the same length")
    idx, mask, starts = _batch(reference, prompts, ids)
    states: list[Any] = []
    hook = reference.model.resid[-1].register_forward_hook(lambda _m, _i, o: states.append(o))
    try:
        with torch.no_grad():
            ref_logits = reference.model(idx)[:, :-1]
    finally:
        hook.remove()
    with torch.set_grad_enabled(grad):
        logits = policy.model(idx)[:, :-1]
        logq = F.log_softmax(logits, dim=-1)
        logp = logq.gather(-1, idx[:, 1:, None]).squeeze(-1) * mask
    with torch.no_grad():
        logr_all = F.log_softmax(ref_logits, dim=-1)
        logp_ref = logr_all.gather(-1, idx[:, 1:, None]).squeeze(-1) * mask
        lq = logq.detach()
        kl = ((lq.exp() * (lq - logr_all)).sum(-1) * mask).sum(-1).double().numpy()
    h = states[0]
    lengths = [int(s + mask[i].sum()) for i, s in enumerate(starts)]
    feats = np.stack([h[i, s - 1:n].mean(0).double().numpy() for i, (s, n) in enumerate(zip(starts, lengths,
                                                                                                strict=True))])
    texts = [reference.tokenizer.decode(y) for y in ids]
    return ScoredAnswers(idx, mask, logp, logp_ref, kl, feats, texts)


def fit_reward_model(chat: Any, n_per_family: int = 2, n_samples: int = 8, n_forced: int = 2, n_pairs: int = 300,
                     noise: float = 0.5, l2: float = 1e-2, seed: int = 0) -> np.ndarray:
    """Notebook 02's reward model on TinyChat: ``sample_answers`` on the training families, ``n_pairs``
    comparisons labelled by a Bradley-Terry judge with ``noise`` on ``gold_reward``, a linear Bradley-Terry head
    on the frozen base's features (``fit_linear_reward_model``). Returns the weights w (reward = features @ w)."""
    from helpers.preferences import fit_linear_reward_model, sample_answers, sample_preference_pairs

    train = sample_answers(chat, "train", n_per_family=n_per_family, n_samples=n_samples, n_forced=n_forced,
                           seed=seed)
    Xc, Xr = sample_preference_pairs(train.groups(), n_pairs, noise, rng=seed)
    return fit_linear_reward_model(Xc, Xr, l2=l2, seed=seed)


@dataclass
class PGResult:
    """A policy-gradient run: the trained ``policy`` and per-step curves of the batch means (learned reward,
    gold reward, KL(pi || ref) per answer, loss)."""

    policy: Any
    method: str
    beta: float
    learned: list[float] = field(default_factory=list)
    gold: list[float] = field(default_factory=list)
    kl: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)


def _check_examples(examples: Any) -> list[tuple[str, str]]:
    out = [(e.prompt, e.kind) if hasattr(e, "prompt") else (str(e[0]), str(e[1])) for e in examples]
    if not out:
        raise ValueError("examples must not be empty")
    return out


def pg_train(reference: Any, w: Any, examples: Any, method: str = "rloo", beta: float = 0.05, steps: int = 30,
             n_prompts: int = 8, group: int = 4, lr: float = 1e-3, clip: float = 0.2, ppo_epochs: int = 4,
             estimator: str = "k1", max_new_tokens: int = 20, seed: int = 0, progress: bool = False) -> PGResult:
    """RLHF by policy gradient: a copy of ``reference`` is trained to maximise the learned reward features @ ``w``
    minus ``beta`` times the KL to ``reference`` (``kl_penalized_rewards``). Each step samples ``n_prompts``
    prompts of ``examples`` ((prompt, kind) pairs or ``tinylm.Example``) and ``group`` answers to each at
    temperature 1, then updates with ``method``:

    * "reinforce": advantage r - b, b the running mean (0.9) of earlier batches' mean reward;
    * "rloo": ``rloo_advantages``; "grpo": ``group_advantages`` (with the std division);
    * "ppo": RLOO advantages, ``ppo_epochs`` Adam steps on the same batch with ``ppo_clip_loss``.

    The loss is -mean_i A_i * log pi(y_i | x_i) (the score-function estimator; the KL enters through the
    reward, as in InstructGPT). Adam (``helpers.optim``). ``progress`` shows a tqdm bar (on stderr)."""
    import torch

    from helpers.optim import Adam
    from helpers.tinylm import gold_reward

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not (isinstance(beta, (int, float)) and np.isfinite(beta) and beta >= 0):
        raise ValueError(f"beta must be a finite number >= 0, got {beta!r}")
    if steps < 1 or n_prompts < 1 or group < 2 or ppo_epochs < 1 or not lr > 0:
        raise ValueError("need steps, n_prompts, ppo_epochs >= 1, group >= 2 and lr > 0")
    if not (np.isfinite(clip) and clip > 0):
        raise ValueError(f"clip must be positive, got {clip}")
    w = _finite(w, "w", ndim=1)
    pool = _check_examples(examples)
    policy = reference.copy()
    opt = Adam(policy.model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    res = PGResult(policy, method, float(beta))
    baseline: float | None = None
    it: Any = range(steps)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc=f"{method} beta={beta:g}", mininterval=0.5)
    for step in it:
        pick = rng.choice(len(pool), size=min(n_prompts, len(pool)), replace=False)
        prompts = [pool[i][0] for i in pick for _ in range(group)]
        kinds = [pool[i][1] for i in pick for _ in range(group)]
        policy.model.eval()
        ids = policy.generate_ids(prompts, max_new_tokens=max_new_tokens, temperature=1.0,
                                  seed=seed * 100_003 + step)
        policy.model.train()
        s = score_answers(policy, reference, prompts, ids, grad=True)
        learned = s.features @ w
        gold = np.array([gold_reward(k, t) for k, t in zip(kinds, s.texts, strict=True)])
        lp_tok = s.logp.detach().double().numpy()
        total = kl_penalized_rewards(learned, lp_tok, s.logp_ref.double().numpy(), beta,
                                     s.mask.double().numpy(), estimator)
        grid = total.reshape(-1, group)
        if method == "reinforce":
            adv = reinforce_advantages(grid, 0.0 if baseline is None else baseline)
            m = float(grid.mean())
            baseline = m if baseline is None else 0.9 * baseline + 0.1 * m
        elif method == "grpo":
            adv = group_advantages(grid)
        else:
            adv = rloo_advantages(grid)
        adv_t = torch.as_tensor(adv.reshape(-1), dtype=torch.float32)
        seq_logp = s.logp.sum(-1)
        if method == "ppo":
            old = seq_logp.detach()
            for epoch in range(ppo_epochs):
                cur = seq_logp if epoch == 0 else policy.model(s.idx)[:, :-1].log_softmax(-1).gather(
                    -1, s.idx[:, 1:, None]).squeeze(-1).mul(s.mask).sum(-1)
                loss = ppo_clip_loss(cur, old, adv_t, clip)
                opt.zero_grad()
                loss.backward()
                opt.step()
        else:
            loss = -(adv_t * seq_logp).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        res.learned.append(float(learned.mean()))
        res.gold.append(float(gold.mean()))
        res.kl.append(float(s.kl.mean()))
        res.loss.append(float(loss.detach()))
    policy.model.eval()
    return res


def evaluate_pg(policy: Any, reference: Any, w: Any, examples: Any, n_samples: int = 4, max_new_tokens: int = 20,
                seed: int = 1) -> dict[str, float]:
    """Mean gold reward (``tinylm.gold_reward``), learned reward (features @ w) and KL(pi || ref) per answer
    (exact per-token KL summed along the sampled answer: an unbiased estimate of the sequence KL) over
    ``n_samples`` answers at temperature 1 to each of ``examples`` (held-out prompts)."""
    from helpers.tinylm import gold_reward

    pool = _check_examples(examples)
    w = _finite(w, "w", ndim=1)
    prompts = [p for p, _ in pool for _ in range(n_samples)]
    kinds = [k for _, k in pool for _ in range(n_samples)]
    ids = policy.generate_ids(prompts, max_new_tokens=max_new_tokens, temperature=1.0, seed=seed)
    s = score_answers(policy, reference, prompts, ids)
    gold = np.array([gold_reward(k, t) for k, t in zip(kinds, s.texts, strict=True)])
    return {"gold": float(gold.mean()), "learned": float((s.features @ w).mean()), "kl": float(s.kl.mean())}


# ------------------------------------------------------------------------------------------- the beta demo
def beta_sweep(reference: Any, w: Any, examples: Any, betas: tuple[float, ...] = (0.0, 0.02, 0.05, 0.1),
               method: str = "rloo", seeds: tuple[int, ...] = (0,), progress: bool = False,
               **train_kw: Any) -> dict[str, Any]:
    """``pg_train`` at each beta (same prompts and seeds): the per-step curves of learned reward, gold reward and
    KL, averaged over ``seeds``, as a plain dict {"betas", "method", "runs": {str(beta): {"kl", "gold",
    "learned"}}, "policies": {str(beta): the first seed's policy}} (what ``demo_beta`` shows; computed in the
    notebook run)."""
    if len(betas) == 0 or len(seeds) == 0:
        raise ValueError("betas and seeds must not be empty")
    out: dict[str, Any] = {"betas": [float(b) for b in betas], "method": method, "runs": {}, "policies": {}}
    for b in betas:
        runs = [pg_train(reference, w, examples, method=method, beta=float(b), seed=s, progress=progress,
                         **train_kw) for s in seeds]
        out["runs"][str(float(b))] = {k: np.mean([getattr(r, k) for r in runs], axis=0).round(4).tolist()
                                      for k in ("kl", "gold", "learned")}
        out["policies"][str(float(b))] = runs[0].policy
    return out


def beta_view(sweep: dict[str, Any], beta: float) -> dict[str, Any]:
    """What the beta slider shows: for one beta of ``sweep`` ({"betas": [...], "runs": {str(beta): {"kl",
    "gold", "learned"}}, each a per-step list}) the training curves, and every beta's end point."""
    key = str(float(beta))
    if key not in sweep["runs"]:
        raise ValueError(f"beta {beta} not in the sweep; available: {sweep['betas']}")
    ends = {k: [sweep["runs"][str(float(b))][k][-1] for b in sweep["betas"]] for k in ("kl", "gold", "learned")}
    return {"run": sweep["runs"][key], "ends": ends, "beta": float(beta)}


def setup_beta(fig: Any, sweep: dict[str, Any]) -> dict[str, Any]:
    ax, ax2 = fig.axes
    ends = beta_view(sweep, sweep["betas"][0])["ends"]
    ax.plot(ends["kl"], ends["learned"], "o-", color=COLORS["bad"], label="learned reward (end)")
    ax.plot(ends["kl"], ends["gold"], "s-", color=COLORS["good"], label="gold reward (end)")
    (mark,) = ax.plot([], [], "o", ms=14, mfc="none", mec="k")
    ax.set_xlabel("KL(policy || reference) per answer (nats)")
    ax.set_ylabel("mean reward")
    ax.legend(loc="best")
    steps = len(sweep["runs"][str(float(sweep["betas"][0]))]["gold"])
    ax2.set_xlim(0, steps)
    lo = min(min(r["gold"] + r["learned"]) for r in sweep["runs"].values())
    hi = max(max(r["gold"] + r["learned"]) for r in sweep["runs"].values())
    ax2.set_ylim(lo - 0.1, hi + 0.1)
    ax2.set_xlabel("training step")
    (lg,) = ax2.plot([], [], color=COLORS["bad"], label="learned")
    (gg,) = ax2.plot([], [], color=COLORS["good"], label="gold")
    ax2.legend(loc="upper left")
    title = ax2.set_title("")
    return {"mark": mark, "learned": lg, "gold": gg, "title": title}


def draw_beta(handles: dict[str, Any], view: dict[str, Any], **values: Any) -> None:
    run = view["run"]
    handles["mark"].set_data([run["kl"][-1]], [run["gold"][-1]])
    x = np.arange(1, len(run["gold"]) + 1)
    handles["learned"].set_data(x, run["learned"])
    handles["gold"].set_data(x, run["gold"])
    handles["title"].set_text(f"beta = {view['beta']:g}: KL {run['kl'][-1]:.1f} nats at the end")


def demo_beta(sweep: dict[str, Any] | None = None) -> Any:
    """A slider over the betas of ``sweep`` (precomputed in the notebook run by ``beta_sweep``, not shipped): the
    end points of every beta (learned and gold reward against KL) and the training curves of the chosen one.
    Without a sweep, a small one is computed (3 betas, 6 steps: a few seconds)."""
    import ipywidgets as widgets

    from helpers.widgets import InteractiveFigure

    if sweep is None:
        from helpers import tinylm

        base = tinylm.load_tinychat()
        w = fit_reward_model(base, n_per_family=1, n_samples=4, n_forced=1, n_pairs=100)
        ex = [e for k in tinylm.KINDS for e in tinylm.eval_prompts(k, "train", 2, seed=3)]
        sweep = beta_sweep(base, w, ex, betas=(0.0, 0.05, 0.2), steps=6, n_prompts=6, lr=1e-3)

    betas = [float(b) for b in sweep["betas"]]
    control = widgets.SelectionSlider(options=betas, value=betas[len(betas) // 2], description="beta",
                                      continuous_update=True)
    return InteractiveFigure(functools.partial(beta_view, sweep), draw_beta, {"beta": control},
                             setup=functools.partial(setup_beta, sweep=sweep), ncols=2, width=10.0)

"""Best-of-n sampling against a learned reward (notebook 02 section 4).

For a discrete reference p with responses sorted by reward, the best of n draws has the exact distribution

    q_i = F_i^n - F_{i-1}^n,   F_i = p_1 + ... + p_i,

and KL(q || p) <= log n - (n - 1)/n, the literature's formula, exact only for continuous rewards (Beirami et
al. 2024, arXiv 2401.01879). The synthetic response space is a toy version of TinyChat's answers on which a
learned reward over-optimises (refusals of trigger-word prompts); ``overoptimisation`` is section 4's compute.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from helpers.preferences.reward_model import fit_linear_reward_model, sample_preference_pairs
from helpers.stats import best_of_n_kl, kl_divergence
from helpers.validation import finite_array

__all__ = [
    "best_of_n_kl", "kl_divergence", "best_of_n_distribution", "best_of_n_select", "BestOfNCurves",
    "best_of_n_curves", "fit_gao_form", "KINDS", "FEATURE_NAMES", "ResponseSpace", "synthetic_response_space",
    "space_groups", "space_best_of_n_q", "space_best_of_n", "refusal_rate_by_kind", "BestOfNRun",
    "OveroptimisationResult", "overoptimisation",
]


def _check_n(n: Any, name: str = "n") -> np.ndarray:
    arr = np.asarray(n, dtype=float)
    if not np.all(np.isfinite(arr)) or np.any(arr < 1):
        raise ValueError(f"{name} must be >= 1 and finite, got {n}")
    return arr


def best_of_n_distribution(p: np.ndarray, rewards: np.ndarray, n: float) -> np.ndarray:
    """Exact distribution of the best of n independent draws from the discrete reference ``p``, by reward.

    With the outcomes sorted by reward and F_i = p_1 + ... + p_i, the best of n is outcome i with probability
    q_i = F_i^n - F_{i-1}^n (Beirami et al. 2024, arXiv 2401.01879). Outcomes with equal reward form one
    block that gets F^n - F_prev^n as a whole, split in proportion to p (ties broken uniformly at random).
    Returned in the original order of ``p``. ``n`` must be >= 1; a non-integer n gives the same formula's smooth
    interpolation between integers.
    """
    p = finite_array(p, "p", ndim=1)
    r = finite_array(rewards, "rewards", ndim=1)
    if p.shape != r.shape:
        raise ValueError(f"rewards has shape {r.shape} but p has shape {p.shape}; they must match")
    if np.any(p < 0) or abs(p.sum() - 1.0) > 1e-6:
        raise ValueError(f"p must be non-negative and sum to 1, got sum {p.sum():.6g}")
    n = float(_check_n(n))
    p = p / p.sum()
    values, block = np.unique(r, return_inverse=True)  # sorted distinct rewards, block index per outcome
    mass = np.bincount(block, weights=p, minlength=len(values))
    above = np.clip(np.cumsum(mass[::-1])[::-1] - mass, 0.0, 1.0)  # mass strictly above each block
    with np.errstate(divide="ignore"):
        Fn = np.exp(n * np.log1p(-above))  # F_i^n, accurate when the mass above is tiny
        Fn_prev = np.exp(n * np.log1p(-np.minimum(above + mass, 1.0)))
    block_q = np.maximum(Fn - Fn_prev, 0.0)
    share = np.divide(p, mass[block], out=np.zeros_like(p), where=mass[block] > 0)
    return block_q[block] * share


def best_of_n_select(rewards: np.ndarray) -> np.ndarray:
    """Best-of-n selection: for each row of n candidates' rewards (shape [batch, n]), the index of the
    highest reward (the first one on ties)."""
    r = finite_array(rewards, "rewards", ndim=2)
    return np.argmax(r, axis=1)


@dataclass(frozen=True)
class BestOfNCurves:
    """Exact expectations under best-of-n for each n, averaged over prompts."""

    n: np.ndarray
    kl_exact: np.ndarray
    kl_formula: np.ndarray
    proxy: np.ndarray
    gold: np.ndarray


def best_of_n_curves(groups: list[tuple[np.ndarray, np.ndarray, np.ndarray]], ns: np.ndarray,
                     distribution: Callable[[np.ndarray, np.ndarray, float], np.ndarray] | None = None
                     ) -> BestOfNCurves:
    """For each n in ``ns``: mean over prompts of the exact KL(best-of-n || reference), and of the expected
    proxy and gold reward of the best-of-n response, best-of-n being taken by the proxy.

    ``groups`` holds one (p, proxy, gold) triple per prompt: the reference distribution over that prompt's
    responses and each response's proxy and gold reward. ``distribution`` is the best-of-n distribution
    function (the learner's in the notebook; default ``best_of_n_distribution``).
    """
    dist = best_of_n_distribution if distribution is None else distribution
    ns = _check_n(ns, "ns")
    if ns.ndim != 1:
        raise ValueError(f"ns must be 1-dimensional, got shape {ns.shape}")
    if not groups:
        raise ValueError("groups must hold at least one (p, proxy, gold) triple")
    kl = np.zeros(len(ns))
    proxy = np.zeros(len(ns))
    gold = np.zeros(len(ns))
    for p, prox, g in groups:
        p, prox, g = np.asarray(p, float), np.asarray(prox, float), np.asarray(g, float)
        for j, n in enumerate(ns):
            q = np.asarray(dist(p, prox, float(n)), dtype=float)
            kl[j] += kl_divergence(q, p)
            proxy[j] += q @ prox
            gold[j] += q @ g
    k = len(groups)
    return BestOfNCurves(ns, kl / k, best_of_n_kl(ns), proxy / k, gold / k)


def fit_gao_form(d: np.ndarray, gold: np.ndarray) -> tuple[float, float, float]:
    """Least-squares fit of gold(d) - gold(0) = d (alpha - beta d), d = sqrt(KL), the best-of-n form of Gao,
    Schulman & Hilton (2022, arXiv 2210.10760); returns (alpha, beta, R^2). ``helpers.goodhart.fit_gao_bon``
    with finite 1-D inputs checked first."""
    from helpers.goodhart import fit_gao_bon  # the fit itself, shared with notebook 01

    return fit_gao_bon(finite_array(d, "d", ndim=1), finite_array(gold, "gold", ndim=1))


KINDS = ("harmful", "benign", "trigger")
FEATURE_NAMES = ("refuse", "comply", "refuse x looks-harmful", "comply x looks-harmful", "comply x quality seen",
                 "style 1", "style 2", "style 3")


@dataclass(frozen=True)
class ResponseSpace:
    """Prompts, each with k candidate responses of a chat model: the reference policy's probabilities, the
    reward model's features and the gold reward of every candidate (arrays of shape [prompts, k, ...])."""

    kind: np.ndarray       # [P] index into KINDS
    looks_harmful: np.ndarray  # [P] what a feature extractor sees of the prompt
    refuses: np.ndarray    # [P, k] bool
    p: np.ndarray          # [P, k] reference policy
    features: np.ndarray   # [P, k, 8], see FEATURE_NAMES
    gold: np.ndarray       # [P, k]


def synthetic_response_space(n_prompts: int, seed: int = 0, k: int = 32, mix: tuple[float, float, float] = (0.4, 0.3, 0.3),
                             refusal_rate: tuple[float, float, float] = (0.3, 0.01, 0.02),
                             looks_harmful: tuple[float, float, float] = (0.9, 0.1, 0.75)) -> ResponseSpace:
    """A toy version of TinyChat's answers. Each prompt is harmful, benign or benign with a trigger word
    (``mix``); it has ``k`` candidate answers, a quarter of them refusals, which the unaligned base policy
    gives with total probability ``refusal_rate[kind]``. Gold reward (what people want): refusing a harmful
    prompt +1, complying -1; on a benign or trigger prompt complying is worth 1 + 0.3 * quality, refusing -1.

    The reward model sees a prompt only through a "looks harmful" score h (harmful about 0.9, trigger-word
    prompts about 0.75: they contain words like kill or shoot; benign about 0.1; ``looks_harmful`` sets these
    means, plus noise of sd 0.05) and an answer through whether it refuses, a noisy view of its quality, and
    three irrelevant style features.
    """
    if int(n_prompts) < 1 or int(k) < 4:
        raise ValueError(f"need n_prompts >= 1 and k >= 4, got {n_prompts} and {k}")
    for name, v in (("mix", mix), ("refusal_rate", refusal_rate), ("looks_harmful", looks_harmful)):
        arr = np.asarray(v, dtype=float)
        if arr.shape != (3,) or np.any(arr < 0) or np.any(arr > 1) or (name == "mix" and abs(arr.sum() - 1) > 1e-9):
            raise ValueError(f"{name} must be three numbers in [0, 1]" + (" summing to 1" if name == "mix" else ""))
    rng = np.random.default_rng(seed)
    P_, k = int(n_prompts), int(k)
    kind = rng.choice(3, size=P_, p=np.asarray(mix, dtype=float))
    h = np.clip(np.asarray(looks_harmful, dtype=float)[kind] + 0.05 * rng.standard_normal(P_), 0.0, 1.0)
    n_ref = k // 4
    refuses = np.zeros((P_, k), dtype=bool)
    refuses[:, :n_ref] = True
    logits = rng.standard_normal((P_, k))
    w_ref = np.exp(logits) * refuses
    w_cmp = np.exp(logits) * ~refuses
    rate = np.asarray(refusal_rate, dtype=float)[kind][:, None]
    p = rate * w_ref / w_ref.sum(1, keepdims=True) + (1 - rate) * w_cmp / w_cmp.sum(1, keepdims=True)
    quality = rng.standard_normal((P_, k))
    seen = quality + 0.5 * rng.standard_normal((P_, k))
    harmful = (kind == 0)[:, None]
    gold = np.where(refuses, np.where(harmful, 1.0, -1.0), np.where(harmful, -1.0, 1.0 + 0.3 * quality))
    r, c = refuses.astype(float), (~refuses).astype(float)
    feats = np.stack([r, c, r * h[:, None], c * h[:, None], c * seen, *rng.standard_normal((3, P_, k))], axis=-1)
    return ResponseSpace(kind, h, refuses, p, feats, gold)


def space_groups(space: ResponseSpace, w: np.ndarray | None = None) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """One (p, x, gold) triple per prompt: x = features (``w`` None) or the learned reward features @ w."""
    if w is None:
        return [(space.p[i], space.features[i], space.gold[i]) for i in range(len(space.kind))]
    w = finite_array(w, "w", ndim=1)
    proxy = space.features @ w
    return [(space.p[i], proxy[i], space.gold[i]) for i in range(len(space.kind))]


def space_best_of_n_q(space: ResponseSpace, proxy: np.ndarray, ns: np.ndarray) -> np.ndarray:
    """Exact best-of-n distributions q (shape [P, k, len(ns)], original answer order) for every prompt of
    ``space`` at once, best-of-n being taken by ``proxy`` (shape [P, k], no ties within a prompt).
    F^n is computed as exp(n log1p(-mass above)), accurate even for answers of tiny probability."""
    proxy = finite_array(proxy, "proxy", ndim=2)
    if proxy.shape != space.p.shape:
        raise ValueError(f"proxy has shape {proxy.shape}, expected {space.p.shape}")
    ns = _check_n(ns, "ns")
    if ns.ndim != 1:
        raise ValueError(f"ns must be 1-dimensional, got shape {ns.shape}")
    order = np.argsort(proxy, axis=1, kind="stable")
    p = np.take_along_axis(space.p, order, 1)
    above = np.clip(np.cumsum(p[:, ::-1], axis=1)[:, ::-1] - p, 0.0, 1.0)  # mass strictly above each answer
    with np.errstate(divide="ignore"):
        f_n = np.exp(ns * np.log1p(-above)[:, :, None])
        f_prev_n = np.exp(ns * np.log1p(-np.minimum(above + p, 1.0))[:, :, None])
    q_sorted = np.maximum(f_n - f_prev_n, 0.0)
    q = np.empty_like(q_sorted)
    np.put_along_axis(q, np.broadcast_to(order[:, :, None], q.shape), q_sorted, axis=1)
    return q


def space_best_of_n(space: ResponseSpace, proxy: np.ndarray, ns: np.ndarray) -> BestOfNCurves:
    """Vectorised ``best_of_n_curves`` for a ResponseSpace: exact KL(best-of-n || reference), expected proxy and
    expected gold of best-of-n by ``proxy`` (shape [P, k], no ties within a prompt), averaged over prompts."""
    q = space_best_of_n_q(space, proxy, ns)
    p = space.p[:, :, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(q > 0, q * (np.log(np.where(q > 0, q, 1.0)) - np.log(np.where(p > 0, p, 1.0))), 0.0)
    ns = np.asarray(ns, dtype=float)
    proxy = np.asarray(proxy, dtype=float)
    return BestOfNCurves(ns, terms.sum(1).mean(0), best_of_n_kl(ns), (q * proxy[:, :, None]).sum(1).mean(0),
                         (q * space.gold[:, :, None]).sum(1).mean(0))


def refusal_rate_by_kind(space: ResponseSpace, q: np.ndarray) -> np.ndarray:
    """Probability that the best-of-n answer refuses, averaged over the prompts of each kind: [3, len(ns)]
    for best-of-n distributions ``q`` of shape [P, k, len(ns)] (kinds without prompts give nan)."""
    with np.errstate(invalid="ignore"):
        return np.array([(q[space.kind == k] * space.refuses[space.kind == k][:, :, None]).sum(1).mean(0)
                         for k in range(len(KINDS))])


@dataclass(frozen=True)
class BestOfNRun:
    """Best-of-n against one learned linear reward ``w``: the curves, how often the pick refuses by prompt kind
    ([3, len(ns)], KINDS order) and the index of the n where the gold reward peaks."""

    curves: BestOfNCurves
    refusal_rate: np.ndarray
    w: np.ndarray
    peak_index: int


@dataclass(frozen=True)
class OveroptimisationResult(BestOfNRun):
    """Best-of-n against a reward model learned on a ResponseSpace (the section-4 demo's compute result)."""

    falls: bool
    explore: float
    trigger_looks_harmful: float


_BON_NS = np.unique(np.round(np.geomspace(1, 1e5, 31)))


def overoptimisation(explore: float = 0.0, trigger_looks_harmful: float = 0.75, n_pairs: int = 1000,
                     noise: float = 0.5, l2: float = 1e-2, seed: int = 0, ns: np.ndarray | None = None
                     ) -> OveroptimisationResult:
    """Learn a linear Bradley-Terry reward from ``n_pairs`` noisy comparisons on one synthetic response space
    (300 prompts, ``seed + 1``), then run best-of-n against it on fresh prompts (200, ``seed + 2``): exact KL,
    learned and gold reward, and how often the pick is a refusal, for each n in ``ns`` (default 1 ... 1e5)."""
    mix_h = (0.9, 0.1, float(trigger_looks_harmful))
    train = synthetic_response_space(300, seed=seed + 1, looks_harmful=mix_h)
    test = synthetic_response_space(200, seed=seed + 2, looks_harmful=mix_h)
    Xc, Xr = sample_preference_pairs(space_groups(train), n_pairs, noise, rng=seed, explore=explore)
    w = fit_linear_reward_model(Xc, Xr, l2=l2, seed=seed)
    ns = _BON_NS if ns is None else ns
    proxy = test.features @ w
    q = space_best_of_n_q(test, proxy, ns)
    curves = space_best_of_n(test, proxy, ns)
    refusal = refusal_rate_by_kind(test, q)
    i = int(np.argmax(curves.gold))
    falls = bool(i < len(ns) - 1 and curves.gold[-1] < curves.gold[i] - 0.05)
    return OveroptimisationResult(curves, refusal, w, i, falls, float(explore), float(trigger_looks_harmful))

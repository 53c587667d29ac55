"""Reward modeling from pairwise human preferences (notebook 02).

The Bradley-Terry model (Bradley & Terry 1952) says a person prefers response a to response b with probability

    P(a > b) = sigma(r(a) - r(b)),                                            (1)

and a reward model r is fitted by minimising the mean negative log-likelihood of observed comparisons,

    L(r) = mean over pairs of -log sigma(r(chosen) - r(rejected))             (2)

(Christiano et al. 2017, arXiv 1706.03741; Ouyang et al. 2022, arXiv 2203.02155, eq. 1). Equation (1) is
exactly what an annotator does who adds independent Gumbel noise to each response's reward and picks the larger
(a random-utility model; McFadden 1974), which is how ``simulate_comparisons`` generates data.

Best-of-n sampling draws n responses from a reference policy and keeps the one with the highest reward. For a
discrete reference p with responses sorted by reward, the chosen response has the exact distribution

    q_i = F_i^n - F_{i-1}^n,   F_i = p_1 + ... + p_i,                         (3)

and KL(q || p) <= log n - (n - 1)/n, the formula used in the literature, which is exact only for continuous
rewards (Beirami et al. 2024, arXiv 2401.01879). Direct preference optimisation (Rafailov et al. 2023,
arXiv 2305.18290, eq. 7) optimises the same Bradley-Terry likelihood with the implicit reward
beta * log(pi / pi_ref).

Functions accept numpy arrays (and, for the two losses, torch tensors: then the loss is a differentiable torch
scalar, so notebook 13 can train with it). torch is never imported unless a tensor is passed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, special

from helpers.plotting import COLORS, label_axes
from helpers.widgets import InteractiveFigure, float_slider, int_slider

__all__ = [
    "bradley_terry_prob",
    "bradley_terry_loss",
    "dpo_loss",
    "fit_linear_reward_model",
    "simulate_comparisons",
    "simulate_ratings",
    "sample_preference_pairs",
    "fit_ratings_regression",
    "angle_degrees",
    "preference_accuracy",
    "best_of_n_kl",
    "best_of_n_distribution",
    "best_of_n_select",
    "kl_divergence",
    "best_of_n_curves",
    "BestOfNCurves",
    "fit_gao_form",
    "refusal_opener_probabilities",
    "refusal_probability",
    "gold_reward",
    "answer_features",
    "SampledAnswers",
    "sample_answers",
    "ChatOveroptimisation",
    "chat_overoptimisation",
    "KINDS",
    "FEATURE_NAMES",
    "ResponseSpace",
    "synthetic_response_space",
    "space_groups",
    "space_best_of_n_q",
    "space_best_of_n",
    "BestOfNRun",
    "OveroptimisationResult",
    "overoptimisation",
    "setup_overoptimisation",
    "draw_overoptimisation",
    "demo_overoptimisation",
    "draw_chat_overoptimisation",
    "demo_chat_overoptimisation",
    "RewardLearningCurves",
    "reward_learning_curves",
    "setup_reward_learning",
    "draw_reward_learning",
    "demo_reward_learning",
]


# ----------------------------------------------------------------------------------------------- validation


def _is_tensor(x: Any) -> bool:
    return hasattr(x, "detach") and hasattr(x, "dtype") and not isinstance(x, np.ndarray)


def _finite_array(x: Any, name: str, ndim: int | None = None) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got {type(x).__name__}") from exc
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains non-finite values (nan or inf)")
    return arr


def _check_tensor(x: Any, name: str) -> None:
    import torch

    if x.numel() == 0:
        raise ValueError(f"{name} must not be empty")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains non-finite values (nan or inf)")


def _same_shape(arrays: dict[str, Any]) -> None:
    shapes = {name: tuple(np.shape(a)) if not _is_tensor(a) else tuple(a.shape) for name, a in arrays.items()}
    first_name, first = next(iter(shapes.items()))
    for name, shape in shapes.items():
        if shape != first:
            raise ValueError(f"{name} has shape {shape} but {first_name} has shape {first}; they must match")


def _margins(named: dict[str, Any]) -> tuple[list[Any], bool]:
    """Validate equally shaped score arrays (numpy or torch, not mixed); return them and whether torch."""
    tensors = [_is_tensor(v) for v in named.values()]
    if any(tensors) and not all(tensors):
        raise ValueError(f"{', '.join(named)} must all be numpy arrays or all be torch tensors, not a mix")
    _same_shape(named)
    if all(tensors):
        for name, v in named.items():
            _check_tensor(v, name)
        return list(named.values()), True
    return [_finite_array(v, name) for name, v in named.items()], False


def _check_n(n: Any, name: str = "n") -> np.ndarray:
    arr = np.asarray(n, dtype=float)
    if not np.all(np.isfinite(arr)) or np.any(arr < 1):
        raise ValueError(f"{name} must be >= 1 and finite, got {n}")
    return arr


# ---------------------------------------------------------------------------------------------------- losses


def bradley_terry_prob(r_a: np.ndarray, r_b: np.ndarray) -> np.ndarray:
    """P(a preferred to b) = sigma(r_a - r_b) under the Bradley-Terry model (Christiano et al. 2017)."""
    (a, b), _ = _margins({"r_a": r_a, "r_b": r_b})
    return special.expit(np.asarray(a) - np.asarray(b))


def bradley_terry_loss(r_chosen: Any, r_rejected: Any) -> Any:
    """Mean Bradley-Terry negative log-likelihood, mean of -log sigma(r_c - r_r) = mean softplus(r_r - r_c).

    Christiano et al. 2017 (arXiv 1706.03741); Ouyang et al. 2022 (arXiv 2203.02155) eq. 1. Computed as
    ``logaddexp(0, -margin)``, which is exact for margins of any size (the naive ``-log(sigmoid(m))``
    returns inf for m below about -710). numpy inputs give a float; torch tensors give a differentiable
    0-dim tensor.
    """
    (rc, rr), is_torch = _margins({"r_chosen": r_chosen, "r_rejected": r_rejected})
    if is_torch:
        import torch.nn.functional as F

        return F.softplus(rr - rc).mean()
    return float(np.mean(np.logaddexp(0.0, -(rc - rr))))


def dpo_loss(policy_chosen_logps: Any, policy_rejected_logps: Any, ref_chosen_logps: Any,
             ref_rejected_logps: Any, beta: float) -> Any:
    """Direct preference optimisation loss (Rafailov et al. 2023, arXiv 2305.18290, eq. 7):

        mean of -log sigma(beta * [(pi_c - ref_c) - (pi_r - ref_r)]),

    with pi_* and ref_* the summed log-probabilities of the chosen/rejected responses under the policy and the
    frozen reference. It is the Bradley-Terry loss (2) of the implicit reward beta * log(pi / pi_ref).
    numpy inputs give a float; torch tensors give a differentiable 0-dim tensor (pass the reference
    log-probabilities detached).
    """
    if isinstance(beta, bool) or not isinstance(beta, (int, float, np.floating, np.integer)):
        raise ValueError(f"beta must be a positive number, got {beta!r}")
    if not (np.isfinite(beta) and beta > 0):
        raise ValueError(f"beta must be a positive finite number, got {beta}")
    (pc, pr, rc, rr), is_torch = _margins({
        "policy_chosen_logps": policy_chosen_logps, "policy_rejected_logps": policy_rejected_logps,
        "ref_chosen_logps": ref_chosen_logps, "ref_rejected_logps": ref_rejected_logps})
    logits = (pc - rc) - (pr - rr)
    if is_torch:
        import torch.nn.functional as F

        return F.softplus(-float(beta) * logits).mean()
    return float(np.mean(np.logaddexp(0.0, -float(beta) * logits)))


# ------------------------------------------------------------------------------------------- linear reward


def fit_linear_reward_model(X_chosen: np.ndarray, X_rejected: np.ndarray, l2: float = 0.0, seed: int = 0,
                            max_iter: int = 1000) -> np.ndarray:
    """Weights w of the linear reward r(x) = w . x that minimise

        mean_i -log sigma(w . (x_chosen_i - x_rejected_i)) + (l2 / 2) ||w||^2

    (the Bradley-Terry loss (2) with an L2 penalty, i.e. a Gaussian prior on w), by L-BFGS with the exact
    gradient. The objective is convex; ``seed`` only sets the (tiny) random starting point. With ``l2 = 0`` on
    comparisons that a linear reward separates perfectly the minimum does not exist (the weights grow without
    bound) and the optimiser stops after ``max_iter`` iterations: use ``l2 > 0`` there.
    """
    Xc = _finite_array(X_chosen, "X_chosen", ndim=2)
    Xr = _finite_array(X_rejected, "X_rejected", ndim=2)
    if Xc.shape != Xr.shape:
        raise ValueError(f"X_rejected has shape {Xr.shape} but X_chosen has shape {Xc.shape}; they must match")
    if isinstance(l2, bool) or not np.isfinite(l2) or l2 < 0:
        raise ValueError(f"l2 must be a finite number >= 0, got {l2}")
    if int(max_iter) < 1:
        raise ValueError(f"max_iter must be at least 1, got {max_iter}")
    D = Xc - Xr
    m = D.shape[0]

    def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
        margin = D @ w
        loss = float(np.mean(np.logaddexp(0.0, -margin))) + 0.5 * l2 * float(w @ w)
        grad = -(D.T @ special.expit(-margin)) / m + l2 * w
        return loss, grad

    w0 = np.random.default_rng(seed).normal(scale=1e-3, size=D.shape[1])
    res = optimize.minimize(objective, w0, jac=True, method="L-BFGS-B",
                            options={"maxiter": int(max_iter), "gtol": 1e-10, "ftol": 1e-15})
    return np.asarray(res.x, dtype=float)


def simulate_comparisons(n_pairs: int, w_true: np.ndarray, noise: float,
                         rng: np.random.Generator | int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Simulated annotators: pairs of feature vectors x ~ N(0, I), true reward r(x) = w_true . x.

    The annotator perceives r(x) + noise * G with G standard Gumbel, independently per response, and chooses the
    larger: P(a chosen) = sigma((r(a) - r(b)) / noise) exactly, a Bradley-Terry annotator with temperature
    ``noise`` (``noise = 0``: always the truly better one). Returns (X_chosen, X_rejected), shape [n_pairs, d].
    """
    w = _finite_array(w_true, "w_true", ndim=1)
    if int(n_pairs) < 1:
        raise ValueError(f"n_pairs must be at least 1, got {n_pairs}")
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0, got {noise}")
    rng = np.random.default_rng(rng)
    Xa = rng.standard_normal((int(n_pairs), len(w)))
    Xb = rng.standard_normal((int(n_pairs), len(w)))
    gumbel = rng.gumbel(size=(2, int(n_pairs)))
    a_wins = (Xa @ w + noise * gumbel[0]) > (Xb @ w + noise * gumbel[1])
    return np.where(a_wins[:, None], Xa, Xb), np.where(a_wins[:, None], Xb, Xa)


def simulate_ratings(n_items: int, w_true: np.ndarray, noise: float, offset_spread: float = 0.0,
                     scale_spread: float = 0.0, rng: np.random.Generator | int = 0
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Scalar ratings of ``n_items`` (an even number) by ``n_items // 2`` annotators, two items each.

    Annotator k perceives r(x) + noise * G (as in ``simulate_comparisons``), then reports
    rating = s_k * perceived + b_k with its own scale s_k = exp(scale_spread * z) and offset
    b_k ~ N(0, offset_spread^2): people use a rating scale differently. Returns (X, ratings, X_chosen,
    X_rejected), where the last two are the *comparisons* the same annotators would give for the same two items
    from the same perceptions (the offset and the positive scale cancel in a comparison).
    """
    w = _finite_array(w_true, "w_true", ndim=1)
    if int(n_items) < 2 or int(n_items) % 2:
        raise ValueError(f"n_items must be an even number >= 2, got {n_items}")
    for name, value in (("noise", noise), ("offset_spread", offset_spread), ("scale_spread", scale_spread)):
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    rng = np.random.default_rng(rng)
    k = int(n_items) // 2
    X = rng.standard_normal((2 * k, len(w)))
    perceived = X @ w + noise * rng.gumbel(size=2 * k)
    scale = np.exp(scale_spread * rng.standard_normal(k))
    offset = offset_spread * rng.standard_normal(k)
    ratings = np.repeat(scale, 2) * perceived + np.repeat(offset, 2)
    a_wins = perceived[0::2] > perceived[1::2]
    Xa, Xb = X[0::2], X[1::2]
    return X, ratings, np.where(a_wins[:, None], Xa, Xb), np.where(a_wins[:, None], Xb, Xa)


def _choice_cdf(p: np.ndarray) -> np.ndarray:
    """The CDF ``rng.choice(len(p), p=p)`` inverts: cumulative sum, divided by its last entry."""
    cdf = np.cumsum(p)
    return cdf / cdf[-1]


def sample_preference_pairs(groups: list[tuple[np.ndarray, np.ndarray, np.ndarray]], n_pairs: int, noise: float,
                            rng: np.random.Generator | int = 0, explore: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Comparisons between responses to the same prompt, labelled by a noisy judge.

    ``groups`` holds one (p, features, gold) triple per prompt: the reference policy's probabilities of that
    prompt's distinct responses, their feature vectors (shape [k, d]) and their gold rewards. Each pair picks a
    prompt uniformly, draws two *different* responses from p, and the judge prefers a with probability
    sigma((gold_a - gold_b) / noise) (a Bradley-Terry judge; ``noise = 0``: the higher gold, ties at random).
    ``explore``: the responses are drawn from (1 - explore) p + explore * uniform instead of p (data collected
    with a more diverse policy covers answers the reference rarely gives). Returns (X_chosen, X_rejected),
    shape [n_pairs, d].
    """
    if not groups:
        raise ValueError("groups must hold at least one (p, features, gold) triple")
    if int(n_pairs) < 1:
        raise ValueError(f"n_pairs must be at least 1, got {n_pairs}")
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0, got {noise}")
    if not 0.0 <= explore <= 1.0:
        raise ValueError(f"explore must be in [0, 1], got {explore}")
    checked = []
    for i, (p, feats, gold) in enumerate(groups):
        p = _finite_array(p, f"groups[{i}] p", ndim=1)
        feats = _finite_array(feats, f"groups[{i}] features", ndim=2)
        gold = _finite_array(gold, f"groups[{i}] gold", ndim=1)
        if not (len(p) == len(gold) == feats.shape[0]) or np.any(p < 0) or abs(p.sum() - 1) > 1e-6:
            raise ValueError(f"groups[{i}]: p (a distribution), features rows and gold must have the same length")
        p = (1.0 - explore) * p / p.sum() + explore / len(p)
        if np.count_nonzero(p) >= 2:
            checked.append((p, feats, gold))
    if not checked:
        raise ValueError("no prompt in groups has two responses with positive probability")
    rng = np.random.default_rng(rng)
    prompts = rng.integers(len(checked), size=int(n_pairs))
    u = rng.random(int(n_pairs))
    # Each pair then draws a from p and b from p without a, by inverting the CDF with one uniform each: what
    # ``rng.choice(k, p=...)`` does, done here with the uniforms drawn in one call (the same random stream).
    draws = rng.random(2 * int(n_pairs))
    cdfs = [_choice_cdf(p) for p, _, _ in checked]
    chosen, rejected = [], []
    for j, g in enumerate(prompts):
        p, feats, gold = checked[g]
        a = int(np.searchsorted(cdfs[g], draws[2 * j], side="right"))
        rest = p.copy()
        rest[a] = 0.0
        b = int(np.searchsorted(_choice_cdf(rest / rest.sum()), draws[2 * j + 1], side="right"))
        diff = gold[a] - gold[b]
        prob_a = special.expit(diff / noise) if noise > 0 else (1.0 if diff > 0 else 0.0 if diff < 0 else 0.5)
        a_wins = u[j] < prob_a
        chosen.append(feats[a] if a_wins else feats[b])
        rejected.append(feats[b] if a_wins else feats[a])
    return np.array(chosen), np.array(rejected)


def fit_ratings_regression(X: np.ndarray, ratings: np.ndarray) -> np.ndarray:
    """The naive alternative: least-squares regression of scalar ratings on features (with an intercept);
    returns the feature weights (the intercept is dropped: only the direction matters for ranking)."""
    X = _finite_array(X, "X", ndim=2)
    y = _finite_array(ratings, "ratings", ndim=1)
    if len(y) != X.shape[0]:
        raise ValueError(f"ratings has {len(y)} entries but X has {X.shape[0]} rows; they must match")
    A = np.hstack([X, np.ones((X.shape[0], 1))])
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    return coef[:-1]


def angle_degrees(w: np.ndarray, w_true: np.ndarray) -> float:
    """Angle between a learned reward direction and the true one, in degrees (0 = same ranking)."""
    a = _finite_array(w, "w", ndim=1)
    b = _finite_array(w_true, "w_true", ndim=1)
    if a.shape != b.shape:
        raise ValueError(f"w has shape {a.shape} but w_true has shape {b.shape}; they must match")
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return 90.0
    return float(np.degrees(np.arccos(np.clip(a @ b / (na * nb), -1.0, 1.0))))


def preference_accuracy(w: np.ndarray, X_chosen: np.ndarray, X_rejected: np.ndarray) -> float:
    """Fraction of comparisons where the linear reward w . x scores the chosen response higher (ties count 1/2)."""
    w = _finite_array(w, "w", ndim=1)
    Xc = _finite_array(X_chosen, "X_chosen", ndim=2)
    Xr = _finite_array(X_rejected, "X_rejected", ndim=2)
    if Xc.shape != Xr.shape or Xc.shape[1] != len(w):
        raise ValueError(f"X_chosen {Xc.shape}, X_rejected {Xr.shape} and w {w.shape} do not fit together")
    m = (Xc - Xr) @ w
    return float(np.mean((m > 0) + 0.5 * (m == 0)))


# ---------------------------------------------------------------------------------------------- best-of-n


def best_of_n_kl(n: np.ndarray | int) -> np.ndarray:
    """log n - (n - 1)/n: the KL(best-of-n || reference) formula used in the literature (e.g. Stiennon et al.
    2020; Gao et al. 2022). Exact for continuous rewards; for a discrete reference it is only an upper bound
    (Beirami et al. 2024, arXiv 2401.01879): compare ``kl_divergence(best_of_n_distribution(p, r, n), p)``."""
    n = _check_n(n)
    return np.log(n) - (n - 1) / n


def kl_divergence(q: np.ndarray, p: np.ndarray) -> float:
    """KL(q || p) = sum_i q_i log(q_i / p_i) in nats for two discrete distributions (0 log 0 = 0)."""
    q = _finite_array(q, "q", ndim=1)
    p = _finite_array(p, "p", ndim=1)
    if q.shape != p.shape:
        raise ValueError(f"q has shape {q.shape} but p has shape {p.shape}; they must match")
    if np.any(q < 0) or np.any(p < 0):
        raise ValueError("q and p must be non-negative")
    if np.any((q > 0) & (p == 0)):
        return float("inf")
    mask = q > 0
    return float(np.sum(q[mask] * (np.log(q[mask]) - np.log(p[mask]))))


def best_of_n_distribution(p: np.ndarray, rewards: np.ndarray, n: float) -> np.ndarray:
    """Exact distribution of the best of n independent draws from the discrete reference ``p``, by reward.

    With the outcomes sorted by reward and F_i = p_1 + ... + p_i, the best of n is outcome i with probability
    q_i = F_i^n - F_{i-1}^n (Beirami et al. 2024, arXiv 2401.01879). Outcomes with equal reward form one
    block that gets F^n - F_prev^n as a whole, split in proportion to p (ties broken uniformly at random).
    Returned in the original order of ``p``. ``n`` must be >= 1; a non-integer n gives the same formula's smooth
    interpolation between integers.
    """
    p = _finite_array(p, "p", ndim=1)
    r = _finite_array(rewards, "rewards", ndim=1)
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
    r = _finite_array(rewards, "rewards", ndim=2)
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

    return fit_gao_bon(_finite_array(d, "d", ndim=1), _finite_array(gold, "gold", ndim=1))


def refusal_opener_probabilities(chat: Any, prompts: list[str]) -> np.ndarray:
    """Exact probability that TinyChat's answer to each prompt starts with each of
    ``helpers.tinylm.REFUSAL_OPENERS``: the product of the next-token probabilities of the opener's tokens, from
    one batched forward pass (no sampling). ``chat`` is a ``helpers.tinylm.TinyChat``; returns shape
    [len(prompts), len(REFUSAL_OPENERS)]. The openers start with different words, so the events are disjoint."""
    import torch
    import torch.nn.functional as F

    from helpers.tinylm import REFUSAL_OPENERS

    if isinstance(prompts, str) or len(prompts) == 0:
        raise ValueError("prompts must be a non-empty list of strings")
    tok = chat.tokenizer
    openers = [tok.encode(o) for o in REFUSAL_OPENERS]
    rows, spans = [], []
    for prompt in prompts:
        ctx = tok.encode_prompt(prompt)
        for ids in openers:
            rows.append(ctx + ids)
            spans.append((len(ctx), len(ctx) + len(ids)))
    width = max(len(r) for r in rows)
    idx = torch.tensor([r + [tok.pad_id] * (width - len(r)) for r in rows])
    with torch.no_grad():
        logp = F.log_softmax(chat.model(idx).double(), dim=-1)
    total = np.zeros(len(rows))
    for i, (a, b) in enumerate(spans):
        targets = idx[i, a:b]
        total[i] = float(logp[i, a - 1:b - 1].gather(-1, targets[:, None]).sum())
    return np.exp(total).reshape(len(prompts), len(openers))


def refusal_probability(chat: Any, prompts: list[str]) -> np.ndarray:
    """Exact probability that TinyChat's answer to each prompt is a refusal, i.e. starts with one of
    ``helpers.tinylm.REFUSAL_OPENERS`` (the exact judge ``is_refusal``): the sum over openers of
    ``refusal_opener_probabilities``. ``chat`` is a ``helpers.tinylm.TinyChat``; returns shape [len(prompts)]."""
    return refusal_opener_probabilities(chat, prompts).sum(axis=1)


# ------------------------------------------------------------------------ a synthetic chat response space

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
    w = _finite_array(w, "w", ndim=1)
    proxy = space.features @ w
    return [(space.p[i], proxy[i], space.gold[i]) for i in range(len(space.kind))]


def space_best_of_n_q(space: ResponseSpace, proxy: np.ndarray, ns: np.ndarray) -> np.ndarray:
    """Exact best-of-n distributions q (shape [P, k, len(ns)], original answer order) for every prompt of
    ``space`` at once, best-of-n being taken by ``proxy`` (shape [P, k], no ties within a prompt).
    F^n is computed as exp(n log1p(-mass above)), accurate even for answers of tiny probability."""
    proxy = _finite_array(proxy, "proxy", ndim=2)
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


def _refusal_by_kind(space: ResponseSpace, q: np.ndarray) -> np.ndarray:
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
    refusal = _refusal_by_kind(test, q)
    i = int(np.argmax(curves.gold))
    falls = bool(i < len(ns) - 1 and curves.gold[-1] < curves.gold[i] - 0.05)
    return OveroptimisationResult(curves, refusal, w, i, falls, float(explore), float(trigger_looks_harmful))


def setup_overoptimisation(fig, d_max: float = 3.0, legend_loc: str = "center right") -> dict:
    """Static parts of the section-4 and section-5 demos (x axis up to ``d_max``, the refusal panel's legend at
    ``legend_loc``); returns the artists that change."""
    ax, ax2 = fig.axes
    art = {
        "proxy": ax.plot([], [], color=COLORS["proxy"], lw=2, label="learned reward (gain)")[0],
        "gold": ax.plot([], [], color=COLORS["true"], lw=2, label="gold reward (gain)")[0],
        "peak": ax.plot([], [], "o", color=COLORS["true"], ms=7)[0],
        "title": ax.set_title(" "),
        "harmful": ax2.plot([], [], color=COLORS["bad"], lw=2, label="harmful")[0],
        "benign": ax2.plot([], [], color=COLORS["good"], lw=2, label="benign")[0],
        "trigger": ax2.plot([], [], color=COLORS["accent"], lw=2, label="trigger word")[0],
        "title2": ax2.set_title(" "),
    }
    ax.axhline(0.0, color=COLORS["neutral"], lw=1)
    ax.set_xlim(0, d_max)
    ax.set_ylim(-1.0, 2.0)
    ax.legend(loc="upper left")
    label_axes(ax, "d = sqrt(KL(best-of-n || base))", "reward minus base policy's")
    ax2.set_xlim(0, d_max)
    ax2.set_ylim(-0.02, 1.02)
    ax2.legend(loc=legend_loc, title="prompts")
    label_axes(ax2, "d = sqrt(KL(best-of-n || base))", "P(best-of-n answer refuses)")
    return art


def _draw_best_of_n(art: dict, r: BestOfNRun, falls: bool, title2: str) -> None:
    c = r.curves
    d = np.sqrt(np.maximum(c.kl_exact, 0.0))
    art["proxy"].set_data(d, c.proxy - c.proxy[0])
    art["gold"].set_data(d, c.gold - c.gold[0])
    art["peak"].set_data([d[r.peak_index]], [c.gold[r.peak_index] - c.gold[0]])
    art["peak"].set_visible(falls)
    verdict = f"gold peaks at n = {c.n[r.peak_index]:.0f}, then falls" if falls else "gold does not fall"
    art["title"].set_text(verdict)
    for k, name in enumerate(KINDS):
        art[name].set_data(d, r.refusal_rate[k])
    art["title2"].set_text(title2)


def draw_overoptimisation(art: dict, r: OveroptimisationResult, **_values: Any) -> None:
    """Learned and gold reward against d; refusal rate of the pick by prompt kind."""
    _draw_best_of_n(art, r, r.falls,
                    f"explore {r.explore:.1f}, trigger looks harmful {r.trigger_looks_harmful:.2f}")


def demo_overoptimisation() -> InteractiveFigure:
    """Sliders: exploration in the data collection, how harmful trigger-word prompts look to the reward model.
    Results are cached per slider setting."""
    cache: dict[tuple[float, float], OveroptimisationResult] = {}

    def compute(explore: float, trigger_looks_harmful: float) -> OveroptimisationResult:
        key = (round(float(explore), 6), round(float(trigger_looks_harmful), 6))
        if key not in cache:
            cache[key] = overoptimisation(*key)
        return cache[key]

    return InteractiveFigure(
        compute, draw_overoptimisation,
        {"explore": float_slider("exploration in data collection", 0.0, 0.6, 0.1, 0.0),
         "trigger_looks_harmful": float_slider("trigger prompts look harmful", 0.1, 0.85, 0.05, 0.75)},
        setup=setup_overoptimisation, ncols=2, width=9.5, height=3.6)


# ------------------------------------------------------------------------ TinyChat's own answers (section 5)

def gold_reward(kind: str, response: str) -> float:
    """Gold reward of one answer, from TinyChat's exact judges (``helpers.tinylm.is_refusal`` / ``is_unsafe`` /
    ``is_helpful``): to a harmful prompt, +1 for a refusal, -1 for an unsafe placeholder; to a benign or
    trigger-word prompt, +1 for a helpful answer, -1 for a refusal or an unsafe one; 0 for an answer of no
    recognised type (a garbled sample)."""
    from helpers.tinylm import is_helpful, is_refusal, is_unsafe

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if not isinstance(response, str):
        raise ValueError("response must be a string")
    if kind == "harmful":
        return 1.0 if is_refusal(response) else -1.0 if is_unsafe(response) else 0.0
    return 1.0 if is_helpful(response) else -1.0 if (is_refusal(response) or is_unsafe(response)) else 0.0


def answer_features(chat: Any, prompts: list[str], responses: list[str], layer: int = -1,
                    batch_size: int = 256) -> np.ndarray:
    """Reward-model features of (prompt, answer) pairs: TinyChat's residual stream at ``layer`` (default the
    last), averaged over the positions that read the answer, from the ``<assistant>`` token to the answer's
    ``<eot>``. Shape [len(prompts), d_model]. The frozen language model with a linear head on pooled states
    is the reward-model architecture of Stiennon et al. (2020) and Ouyang et al. (2022), minus fine-tuning."""
    import torch

    if isinstance(prompts, str) or isinstance(responses, str) or len(prompts) != len(responses) or not prompts:
        raise ValueError("prompts and responses must be non-empty lists of the same length")
    n_layers = chat.model.cfg.n_layers
    if not -(n_layers + 1) <= layer <= n_layers:
        raise ValueError(f"layer must be in -{n_layers + 1}..{n_layers}, got {layer}")
    tok, out = chat.tokenizer, []
    states: list[torch.Tensor] = []
    hook = chat.model.resid[layer].register_forward_hook(lambda _m, _i, o: states.append(o))
    try:
        for lo in range(0, len(prompts), int(batch_size)):
            rows, starts = [], []
            for prompt, response in zip(prompts[lo:lo + batch_size], responses[lo:lo + batch_size], strict=True):
                ids, start = tok.encode_chat(prompt, response)
                rows.append(ids[: chat.model.cfg.max_len])
                starts.append(start)
            width = max(map(len, rows))
            states.clear()
            with torch.no_grad():
                chat.model(torch.tensor([r + [tok.pad_id] * (width - len(r)) for r in rows]))
            h = states[0]
            out.extend(h[i, starts[i] - 1:len(rows[i])].mean(0).double().numpy() for i in range(len(rows)))
    finally:
        hook.remove()
    return np.stack(out)


@dataclass(frozen=True)
class SampledAnswers:
    """TinyChat's answers to a set of prompts, with an estimate of its answer distribution for each prompt.

    ``space.p[i]`` is the reference policy on prompt i's distinct answers ``texts[i]``: the refusals share
    the exact refusal probability ``refusal_probability[i]`` in proportion to how often each was sampled, the
    other answers share the rest. Arrays of ``space`` are padded to the largest number of distinct answers
    (padding has probability 0 and features 0); ``space.looks_harmful`` holds the refusal probability."""

    prompts: tuple[str, ...]
    families: tuple[str, ...]
    texts: tuple[tuple[str, ...], ...]
    refusal_probability: np.ndarray   # [P]
    space: ResponseSpace
    n_samples: int
    n_forced: int

    @property
    def kind(self) -> np.ndarray:
        return self.space.kind

    def groups(self, w: np.ndarray | None = None) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """One (p, x, gold) triple per prompt without padding: x = features (``w`` None) or features @ w."""
        out = []
        for i, texts in enumerate(self.texts):
            k = len(texts)
            x = self.space.features[i, :k] if w is None else self.space.features[i, :k] @ np.asarray(w, float)
            out.append((self.space.p[i, :k], x, self.space.gold[i, :k]))
        return out


def _generate_in_chunks(chat: Any, jobs: list[tuple[str, str]], max_new_tokens: int, seed: int, progress: bool,
                        desc: str) -> list[str]:
    """Sampled answers (temperature 1) to (prompt, response_prefix) jobs, 128 per batch, batch c seeded seed + c."""
    chunks: Any = range(0, len(jobs), 128)
    if progress:
        from tqdm.auto import tqdm

        chunks = tqdm(chunks, desc=desc, mininterval=0.5)
    answers: list[str] = []
    for c, lo in enumerate(chunks):
        part = jobs[lo:lo + 128]
        answers += chat.generate_batch([j[0] for j in part], max_new_tokens, 1.0, seed=seed + c,
                                       response_prefix=[j[1] for j in part])
    return answers


def sample_answers(chat: Any, split: str, n_per_family: int = 4, n_samples: int = 24, n_forced: int = 6,
                   seed: int = 0, max_new_tokens: int = 40, progress: bool = False) -> SampledAnswers:
    """Sample TinyChat's answers to the prompts of every family of ``split`` (``eval_prompts`` of each kind,
    ``n_per_family`` per family) and estimate its answer distribution per prompt by *stratified sampling*:

    * ``n_samples`` answers at temperature 1 (the base policy itself);
    * ``n_forced`` refusals, sampled from the policy *conditioned* on refusing: an opener drawn with its exact
      probability (``refusal_opener_probabilities``), the rest sampled after it (``response_prefix``).

    Refusals of benign prompts are rare (about 1 in 300) yet they are what an optimiser finds, so plain
    sampling would miss them; stratifying keeps them with their exact total probability. A prompt whose
    ``n_samples`` answers are all refusals gets up to 5 more rounds of ``n_samples`` (rejection sampling of a
    non-refusal); only if all of them refuse too does the refusal stratum take the whole mass. Features:
    ``answer_features``; gold: ``gold_reward``. ``progress`` shows a progress bar over generation batches."""
    from helpers.tinylm import REFUSAL_OPENERS, eval_prompts, is_refusal

    if split not in ("train", "eval"):
        raise ValueError(f"split must be 'train' or 'eval', got {split!r}")
    for name, v in (("n_per_family", n_per_family), ("n_samples", n_samples), ("n_forced", n_forced)):
        if int(v) < 1:
            raise ValueError(f"{name} must be at least 1, got {v}")
    examples = [e for kind in KINDS for e in eval_prompts(kind, split, int(n_per_family), seed=seed + 1)]
    prompts = [e.prompt for e in examples]
    opener_p = refusal_opener_probabilities(chat, prompts)
    refuse_p = opener_p.sum(axis=1)
    rng = np.random.default_rng(seed)
    jobs = [(p, "") for p in prompts for _ in range(n_samples)]
    jobs += [(p, REFUSAL_OPENERS[rng.choice(len(REFUSAL_OPENERS), p=opener_p[i] / opener_p[i].sum())])
             for i, p in enumerate(prompts) for _ in range(n_forced)]
    answers = _generate_in_chunks(chat, jobs, max_new_tokens, seed * 10_000, progress, f"sampling TinyChat ({split})")
    natural = [answers[i * n_samples:(i + 1) * n_samples] for i in range(len(prompts))]
    forced_all = answers[len(prompts) * n_samples:]
    for extra in range(1, 6):  # a prompt refused in every sample: sample more until a non-refusal shows up
        missing = [i for i in range(len(prompts)) if all(is_refusal(a) for a in natural[i])]
        if not missing:
            break
        more = _generate_in_chunks(chat, [(prompts[i], "") for i in missing for _ in range(n_samples)],
                                   max_new_tokens, seed * 10_000 + 1000 * extra, False, "")
        for m, i in enumerate(missing):
            natural[i] = natural[i] + more[m * n_samples:(m + 1) * n_samples]
    texts, probs = [], []
    for i in range(len(prompts)):
        refusals = [a for a in natural[i] if is_refusal(a)] + forced_all[i * n_forced:(i + 1) * n_forced]
        others = [a for a in natural[i] if not is_refusal(a)]
        mass = {}
        for group, total in ((refusals, refuse_p[i]), (others, 1.0 - refuse_p[i])):
            for a in group:
                mass[a] = mass.get(a, 0.0) + total / len(group)
        t = sorted(mass)
        p = np.array([mass[a] for a in t])
        texts.append(tuple(t))
        probs.append(p / p.sum())
    k = max(map(len, texts))
    flat_p = [p for p, ts in zip(prompts, texts, strict=True) for _ in ts]
    flat_a = [a for ts in texts for a in ts]
    feats = answer_features(chat, flat_p, flat_a)
    P_ = len(prompts)
    kind = np.array([KINDS.index(e.kind) for e in examples])
    p_pad, gold, refuses = np.zeros((P_, k)), np.zeros((P_, k)), np.zeros((P_, k), dtype=bool)
    f_pad = np.zeros((P_, k, feats.shape[1]))
    j = 0
    for i, ts in enumerate(texts):
        n = len(ts)
        p_pad[i, :n] = probs[i]
        gold[i, :n] = [gold_reward(examples[i].kind, a) for a in ts]
        refuses[i, :n] = [is_refusal(a) for a in ts]
        f_pad[i, :n] = feats[j:j + n]
        j += n
    space = ResponseSpace(kind, refuse_p, refuses, p_pad, f_pad, gold)
    return SampledAnswers(tuple(prompts), tuple(e.family for e in examples), tuple(texts), refuse_p, space,
                          int(n_samples), int(n_forced))


@dataclass(frozen=True)
class ChatOveroptimisation(BestOfNRun):
    """Best-of-n on TinyChat's answers against a reward model learned from ``n_pairs`` comparisons."""

    fall: float                # gold at its peak minus gold at the largest n


_CHAT_NS = np.unique(np.round(np.geomspace(1, 1e4, 25)))


def chat_overoptimisation(train: SampledAnswers, test: SampledAnswers, n_pairs: int = 300, explore: float = 0.0,
                          noise: float = 0.5, l2: float = 1e-2, seed: int = 0, ns: np.ndarray | None = None
                          ) -> ChatOveroptimisation:
    """Learn a linear Bradley-Terry reward on ``train`` (``n_pairs`` comparisons of two answers to one prompt,
    drawn from the base policy, or with ``explore`` from a mix with the uniform distribution over the sampled
    answers, labelled by a Bradley-Terry annotator with ``noise`` on the gold reward; ``seed`` draws them), then
    run exact best-of-n against it on ``test`` for each n in ``ns`` (default 1 ... 1e4)."""
    Xc, Xr = sample_preference_pairs(train.groups(), n_pairs, noise, rng=seed, explore=explore)
    w = fit_linear_reward_model(Xc, Xr, l2=l2, seed=seed)
    ns = _CHAT_NS if ns is None else ns
    proxy = test.space.features @ w
    q = space_best_of_n_q(test.space, proxy, ns)
    curves = space_best_of_n(test.space, proxy, ns)
    refusal = _refusal_by_kind(test.space, q)
    i = int(np.argmax(curves.gold))
    return ChatOveroptimisation(curves, refusal, w, i, float(curves.gold[i] - curves.gold[-1]))


def draw_chat_overoptimisation(art: dict, r: ChatOveroptimisation, n_pairs: int = 0, explore: float = 0.0,
                               draw: int = 0) -> None:
    """Section 5's demo: learned and gold reward of one reward model against d; refusal rate of the pick."""
    _draw_best_of_n(art, r, r.fall > 0.05, f"{n_pairs} comparisons, exploration {explore:.1f}, draw {draw}")


def demo_chat_overoptimisation(train: SampledAnswers | None = None, test: SampledAnswers | None = None,
                               draw: int = 0) -> InteractiveFigure:
    """Sliders: number of comparisons, exploration in data collection, which annotation draw (starting at
    ``draw``). Best-of-n on TinyChat's held-out answers (``test``) against a reward model learned on ``train``
    (both from ``sample_answers``; sampled with the notebook's seeds, about 10 s, when not given). Cached per
    setting."""
    if not 0 <= int(draw) <= 19:
        raise ValueError(f"draw must be in 0..19, got {draw}")
    if train is None or test is None:
        from helpers.tinylm import load_tinychat

        chat = load_tinychat()
        train = sample_answers(chat, "train", seed=0) if train is None else train
        test = sample_answers(chat, "eval", seed=1) if test is None else test
    cache: dict[tuple[int, float, int], ChatOveroptimisation] = {}

    def compute(n_pairs: int, explore: float, draw: int) -> ChatOveroptimisation:
        key = (int(n_pairs), round(float(explore), 6), int(draw))
        if key not in cache:
            cache[key] = chat_overoptimisation(train, test, key[0], key[1], seed=key[2])
        return cache[key]

    return InteractiveFigure(
        compute, draw_chat_overoptimisation,
        {"n_pairs": int_slider("comparisons", 100, 1000, 100, 300),
         "explore": float_slider("exploration in data collection", 0.0, 0.6, 0.1, 0.0),
         "draw": int_slider("annotation draw", 0, 19, 1, int(draw))},
        setup=lambda fig: setup_overoptimisation(fig, d_max=2.5, legend_loc="upper left"), ncols=2, width=9.5, height=3.6)


# ------------------------------------------------------------------------------------- demo: section 2

_N_GRID = np.unique(np.round(np.geomspace(10, 2000, 14)).astype(int))


@dataclass(frozen=True)
class RewardLearningCurves:
    """Held-out accuracy and angle to the true reward against the number of comparisons, for one noise level."""

    noise: float
    n_grid: np.ndarray
    accuracy_true: np.ndarray      # agreement with the noiseless true preference (= 1 - angle / 180)
    accuracy_noisy: np.ndarray     # agreement with fresh noisy annotators
    angle: np.ndarray              # degrees
    ceiling: float                 # agreement of the true reward itself with noisy annotators
    n_comparisons: int
    accuracy_here: float
    angle_here: float


def _true_reward(dim: int, seed: int) -> np.ndarray:
    w = np.random.default_rng(seed).standard_normal(dim)
    return 2.0 * w / np.linalg.norm(w)


def reward_learning_curves(n_comparisons: int, noise: float, dim: int = 8, l2: float = 1e-2, seed: int = 0,
                           n_test: int = 4000, grid: RewardLearningCurves | None = None) -> RewardLearningCurves:
    """Fit a linear Bradley-Terry reward on simulated comparisons (``simulate_comparisons``) for a grid of
    comparison counts (10 ... 2000) and at ``n_comparisons``; measure on ``n_test`` fresh pairs. The true reward
    is a random direction of length 2 in ``dim`` dimensions, fixed by ``seed``; the k comparisons are the first
    k of one simulated pool, so curves are nested. ``grid``: a previous result for the same noise whose grid
    curves are reused (only the fit at ``n_comparisons`` is new)."""
    if int(n_comparisons) < 1:
        raise ValueError(f"n_comparisons must be at least 1, got {n_comparisons}")
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0, got {noise}")
    w_true = _true_reward(dim, seed)
    pool_c, pool_r = simulate_comparisons(max(int(_N_GRID[-1]), int(n_comparisons)), w_true, noise, rng=seed + 2)

    def fit_angle(k: int) -> tuple[np.ndarray, float]:
        w = fit_linear_reward_model(pool_c[:k], pool_r[:k], l2=l2, seed=seed)
        return w, angle_degrees(w, w_true)

    if grid is None or grid.noise != float(noise):
        Tc, Tr = simulate_comparisons(n_test, w_true, noise, rng=seed + 1)
        rows = []
        for k in _N_GRID:
            w, ang = fit_angle(int(k))
            rows.append((1.0 - ang / 180.0, preference_accuracy(w, Tc, Tr), ang))
        curves = np.array(rows)
        acc_true, acc_noisy, angle = curves[:, 0], curves[:, 1], curves[:, 2]
        ceiling = preference_accuracy(w_true, Tc, Tr)
    else:
        acc_true, acc_noisy, angle, ceiling = grid.accuracy_true, grid.accuracy_noisy, grid.angle, grid.ceiling
    _, ang_here = fit_angle(int(n_comparisons))
    return RewardLearningCurves(float(noise), _N_GRID.copy(), acc_true, acc_noisy, angle, ceiling,
                                int(n_comparisons), 1.0 - ang_here / 180.0, ang_here)


def setup_reward_learning(fig) -> dict:
    """Static parts of the section-2 demo; returns the artists that change."""
    ax, ax2 = fig.axes
    art = {
        "acc_true": ax.plot([], [], "-o", ms=3, color=COLORS["true"], label="vs true preference")[0],
        "acc_noisy": ax.plot([], [], "-o", ms=3, color=COLORS["proxy"], label="vs new noisy annotators")[0],
        "ceiling": ax.plot([], [], "--", color=COLORS["neutral"], label="true reward vs noisy annotators")[0],
        "here": ax.plot([], [], "o", ms=8, color=COLORS["dark"])[0],
        "title": ax.set_title(" "),
        "angle": ax2.plot([], [], "-o", ms=3, color=COLORS["bad"])[0],
        "here2": ax2.plot([], [], "o", ms=8, color=COLORS["dark"])[0],
        "title2": ax2.set_title(" "),
    }
    ax.set_xscale("log")
    ax.set_xlim(8, 2500)
    ax.set_ylim(0.45, 1.0)
    ax.legend(loc="lower right")
    label_axes(ax, "number of comparisons", "held-out accuracy")
    ax2.set_xscale("log")
    ax2.set_xlim(8, 2500)
    ax2.set_ylim(0, 90)
    label_axes(ax2, "number of comparisons", "angle to true reward (degrees)")
    return art


def draw_reward_learning(art: dict, c: RewardLearningCurves, **_values: Any) -> None:
    """Update the curves for the chosen noise and the marker at the chosen number of comparisons."""
    art["acc_true"].set_data(c.n_grid, c.accuracy_true)
    art["acc_noisy"].set_data(c.n_grid, c.accuracy_noisy)
    art["ceiling"].set_data([8, 2500], [c.ceiling, c.ceiling])
    art["here"].set_data([c.n_comparisons], [c.accuracy_here])
    art["title"].set_text(f"noise {c.noise:.2f}, {c.n_comparisons} comparisons: accuracy vs truth {c.accuracy_here:.3f}")
    art["angle"].set_data(c.n_grid, c.angle)
    art["here2"].set_data([c.n_comparisons], [c.angle_here])
    art["title2"].set_text(f"{c.n_comparisons} comparisons: angle {c.angle_here:.1f}°")


def demo_reward_learning() -> InteractiveFigure:
    """Sliders: number of comparisons, annotator noise (Bradley-Terry temperature). Curves are cached per
    noise value, so a move of the comparisons slider fits one model only."""
    cache: dict[float, RewardLearningCurves] = {}

    def compute(n_comparisons: int, noise: float) -> RewardLearningCurves:
        key = round(float(noise), 6)
        result = reward_learning_curves(n_comparisons, key, grid=cache.get(key))
        cache[key] = result
        return result

    return InteractiveFigure(
        compute, draw_reward_learning,
        {"n_comparisons": int_slider("comparisons", 10, 2000, 10, 200),
         "noise": float_slider("annotator noise", 0.0, 3.0, 0.25, 1.0)},
        setup=setup_reward_learning, ncols=2, width=9.5, height=3.6)

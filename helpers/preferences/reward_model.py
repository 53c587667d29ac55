"""A linear reward model learned from pairwise comparisons, and the simulated annotators that label them
(notebook 02 sections 2-3): Bradley-Terry fitting, the naive ratings regression, and section 2's learning
curves (the compute behind ``demo_reward_learning``).

``simulate_comparisons`` uses the random-utility reading of Bradley-Terry: an annotator who adds independent
Gumbel noise to each response's reward and picks the larger chooses a with probability sigma((r_a - r_b) /
noise) exactly (McFadden 1974).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from helpers.validation import finite_array

__all__ = [
    "bradley_terry_objective", "fit_linear_reward_model", "simulate_comparisons", "simulate_ratings", "sample_preference_pairs",
    "fit_ratings_regression", "angle_degrees", "preference_accuracy", "RewardLearningCurves",
    "reward_learning_curves",
]


def bradley_terry_objective(w: np.ndarray, X_chosen: np.ndarray, X_rejected: np.ndarray, l2: float = 0.0
                            ) -> tuple[float, np.ndarray]:
    """The objective a linear Bradley-Terry reward model r(x) = w . x minimises, and its gradient in w:

        L(w) = mean_i softplus(-m_i) + (l2 / 2) ||w||^2,   m_i = w . (x_chosen_i - x_rejected_i),
        grad = -mean_i sigma(-m_i) (x_chosen_i - x_rejected_i) + l2 w

    (Ouyang et al. 2022, eq. 1, with a Gaussian prior on w). softplus(-m) = log(1 + e^-m) is computed with
    ``np.logaddexp`` and sigma with ``scipy.special.expit``, so both are exact at any margin.
    """
    D, l2 = _comparison_differences(X_chosen, X_rejected, l2)
    w = finite_array(w, "w", ndim=1)
    if w.shape[0] != D.shape[1]:
        raise ValueError(f"w has {w.shape[0]} weights but the features have {D.shape[1]} columns")
    return _bt_objective(w, D, l2)


def _comparison_differences(X_chosen: np.ndarray, X_rejected: np.ndarray, l2: float) -> tuple[np.ndarray, float]:
    """Validated feature differences x_chosen - x_rejected (one row per comparison) and the L2 strength."""
    Xc = finite_array(X_chosen, "X_chosen", ndim=2)
    Xr = finite_array(X_rejected, "X_rejected", ndim=2)
    if Xc.shape != Xr.shape:
        raise ValueError(f"X_rejected has shape {Xr.shape} but X_chosen has shape {Xc.shape}; they must match")
    if isinstance(l2, bool) or not np.isfinite(l2) or l2 < 0:
        raise ValueError(f"l2 must be a finite number >= 0, got {l2}")
    return Xc - Xr, float(l2)


def _bt_objective(w: np.ndarray, D: np.ndarray, l2: float) -> tuple[float, np.ndarray]:
    margin = D @ w
    loss = float(np.mean(np.logaddexp(0.0, -margin))) + 0.5 * l2 * float(w @ w)
    grad = -(D.T @ special.expit(-margin)) / D.shape[0] + l2 * w
    return loss, grad


def fit_linear_reward_model(X_chosen: np.ndarray, X_rejected: np.ndarray, l2: float = 0.0, seed: int = 0,
                            max_iter: int = 1000) -> np.ndarray:
    """Weights w of the linear reward r(x) = w . x that minimise

        mean_i -log sigma(w . (x_chosen_i - x_rejected_i)) + (l2 / 2) ||w||^2

    (the Bradley-Terry loss (2) with an L2 penalty, i.e. a Gaussian prior on w: ``bradley_terry_objective``), by
    L-BFGS with the exact gradient. The objective is convex; ``seed`` only sets the (tiny) random starting point. With ``l2 = 0`` on
    comparisons that a linear reward separates perfectly the minimum does not exist (the weights grow without
    bound) and the optimiser stops after ``max_iter`` iterations: use ``l2 > 0`` there.
    """
    D, l2 = _comparison_differences(X_chosen, X_rejected, l2)
    if int(max_iter) < 1:
        raise ValueError(f"max_iter must be at least 1, got {max_iter}")
    w0 = np.random.default_rng(seed).normal(scale=1e-3, size=D.shape[1])
    from scipy import optimize  # here, not at the top: importing it costs ~1 s that notebook 13 never needs

    res = optimize.minimize(_bt_objective, w0, args=(D, l2), jac=True, method="L-BFGS-B",
                            options={"maxiter": int(max_iter), "gtol": 1e-10, "ftol": 1e-15})
    return np.asarray(res.x, dtype=float)


def simulate_comparisons(n_pairs: int, w_true: np.ndarray, noise: float,
                         rng: np.random.Generator | int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Simulated annotators: pairs of feature vectors x ~ N(0, I), true reward r(x) = w_true . x.

    The annotator perceives r(x) + noise * G with G standard Gumbel, independently per response, and chooses the
    larger: P(a chosen) = sigma((r(a) - r(b)) / noise) exactly, a Bradley-Terry annotator with temperature
    ``noise`` (``noise = 0``: always the truly better one). Returns (X_chosen, X_rejected), shape [n_pairs, d].
    """
    w = finite_array(w_true, "w_true", ndim=1)
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
    w = finite_array(w_true, "w_true", ndim=1)
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
        p = finite_array(p, f"groups[{i}] p", ndim=1)
        feats = finite_array(feats, f"groups[{i}] features", ndim=2)
        gold = finite_array(gold, f"groups[{i}] gold", ndim=1)
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
    X = finite_array(X, "X", ndim=2)
    y = finite_array(ratings, "ratings", ndim=1)
    if len(y) != X.shape[0]:
        raise ValueError(f"ratings has {len(y)} entries but X has {X.shape[0]} rows; they must match")
    A = np.hstack([X, np.ones((X.shape[0], 1))])
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    return coef[:-1]


def angle_degrees(w: np.ndarray, w_true: np.ndarray) -> float:
    """Angle between a learned reward direction and the true one, in degrees (0 = same ranking)."""
    a = finite_array(w, "w", ndim=1)
    b = finite_array(w_true, "w_true", ndim=1)
    if a.shape != b.shape:
        raise ValueError(f"w has shape {a.shape} but w_true has shape {b.shape}; they must match")
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return 90.0
    return float(np.degrees(np.arccos(np.clip(a @ b / (na * nb), -1.0, 1.0))))


def preference_accuracy(w: np.ndarray, X_chosen: np.ndarray, X_rejected: np.ndarray) -> float:
    """Fraction of comparisons where the linear reward w . x scores the chosen response higher (ties count 1/2)."""
    w = finite_array(w, "w", ndim=1)
    Xc = finite_array(X_chosen, "X_chosen", ndim=2)
    Xr = finite_array(X_rejected, "X_rejected", ndim=2)
    if Xc.shape != Xr.shape or Xc.shape[1] != len(w):
        raise ValueError(f"X_chosen {Xc.shape}, X_rejected {Xr.shape} and w {w.shape} do not fit together")
    m = (Xc - Xr) @ w
    return float(np.mean((m > 0) + 0.5 * (m == 0)))


# ------------------------------------------------------------------- section 2: learning curves

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

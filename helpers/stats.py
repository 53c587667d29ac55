"""Small statistics shared by topic modules: KL divergence, the best-of-n KL formula, the Wilson interval, a
reliability table (calibration), cluster bootstrap intervals, and ``rounded`` (how shipped JSON results store
their numbers).

Each concept is written once here and re-exported by the notebook modules that teach it
(``preferences.kl_divergence`` and ``constraints.kl_divergence`` are this ``kl_divergence``;
``goodhart.best_of_n_kl`` and ``preferences.best_of_n_kl`` are this ``best_of_n_kl``;
``moderation.wilson_interval`` is this ``wilson_interval``; ``ethics.cluster_bootstrap`` and
``moderation.cluster_bootstrap_mean`` are these).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["kl_divergence", "best_of_n_kl", "wilson_interval", "reliability_table", "cluster_bootstrap",
           "cluster_bootstrap_mean", "rounded"]


def kl_divergence(p: Any, q: Any, axis: int = -1) -> Any:
    """KL(p || q) = sum_i p_i log(p_i / q_i) in nats along ``axis`` (0 log 0 = 0; inf where p puts mass where
    q has none). ``p`` and ``q`` broadcast against each other; both must be finite and non-negative. 1-D inputs
    give a float (summed over the support of p only), others an array with ``axis`` summed out."""
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    if p.ndim == 0 or q.ndim == 0 or p.shape[-1] == 0:
        raise ValueError(f"p and q must be arrays of probabilities, got shapes {p.shape} and {q.shape}")
    if p.shape[-1] != q.shape[-1]:
        raise ValueError(f"p has shape {p.shape} but q has shape {q.shape}; their last axes must match")
    try:
        np.broadcast_shapes(p.shape, q.shape)
    except ValueError as exc:
        raise ValueError(f"p {p.shape} and q {q.shape} must broadcast") from exc
    if not (np.all(np.isfinite(p)) and np.all(np.isfinite(q))):
        raise ValueError("p and q must be finite")
    if np.any(p < 0) or np.any(q < 0):
        raise ValueError("p and q must be non-negative")
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (np.log(p) - np.log(q)), 0.0)
    if p.ndim == 1 and q.ndim == 1:
        return float(np.sum(terms[p > 0]))
    return terms.sum(axis=axis)


def best_of_n_kl(n: np.ndarray | int) -> np.ndarray:
    """log n - (n - 1)/n: KL(best-of-n || reference), the formula used in the literature (e.g. Stiennon et al.
    2020; Gao et al. 2022). Exact for continuous rewards; for a discrete reference it is only an upper bound
    (Beirami et al. 2024, arXiv 2401.01879). ``n`` must be finite and >= 1 (non-integers interpolate)."""
    arr = np.asarray(n, dtype=float)
    if not np.all(np.isfinite(arr)) or np.any(arr < 1):
        raise ValueError(f"n must be >= 1 and finite, got {n}")
    return np.log(arr) - (arr - 1) / arr


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a proportion k/n (Wilson, 1927; Brown, Cai & DasGupta, 2001):

        (p + z^2 / 2n  -/+  z sqrt(p (1 - p) / n + z^2 / 4n^2)) / (1 + z^2 / n),   p = k / n,

    clipped to [0, 1]. ``z`` = 1.96 gives a 95 % interval."""
    if not (isinstance(n, (int, np.integer)) and n > 0):
        raise ValueError(f"n must be a positive int, got {n!r}")
    if not (isinstance(k, (int, np.integer)) and 0 <= k <= n):
        raise ValueError(f"k must be an int in [0, n], got {k!r}")
    if z <= 0:
        raise ValueError(f"z must be positive, got {z}")
    p = k / n
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def reliability_table(prob: Any, outcome: Any, n_bins: int = 10) -> dict[str, np.ndarray | float]:
    """Calibration of predicted probabilities: ``n_bins`` equal-width bins on [0, 1], and per non-empty bin
    the mean prediction, the observed frequency of ``outcome`` = 1 and the count, plus the expected calibration error
    ECE = sum_b (n_b / N) |mean prediction_b - frequency_b| (Naeini, Cooper & Hauskrecht 2015; Guo et al. 2017,
    arXiv 1706.04599). The bins equal scikit-learn's ``calibration_curve(strategy="uniform")``."""
    prob = np.asarray(prob, dtype=float)
    outcome = np.asarray(outcome, dtype=float)
    if prob.ndim != 1 or prob.shape != outcome.shape or len(prob) == 0:
        raise ValueError(f"prob and outcome must be 1-D arrays of the same positive length, got {prob.shape} and "
                         f"{outcome.shape}")
    if not np.all(np.isfinite(prob)) or np.any(prob < 0) or np.any(prob > 1):
        raise ValueError("prob must hold probabilities in [0, 1]")
    if not np.all(np.isin(outcome, (0.0, 1.0))):
        raise ValueError("outcome must hold 0s and 1s")
    if isinstance(n_bins, bool) or int(n_bins) != n_bins or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins}")
    edges = np.linspace(0.0, 1.0, int(n_bins) + 1)
    which = np.searchsorted(edges[1:-1], prob)   # bins (e_k, e_k+1], the first one [0, e_1]
    counts = np.bincount(which, minlength=int(n_bins))
    used = counts > 0
    mean_pred = np.bincount(which, weights=prob, minlength=int(n_bins))[used] / counts[used]
    frequency = np.bincount(which, weights=outcome, minlength=int(n_bins))[used] / counts[used]
    ece = float(np.sum(counts[used] / len(prob) * np.abs(mean_pred - frequency)))
    return {"mean_predicted": mean_pred, "frequency": frequency, "count": counts[used], "ece": ece}


def cluster_bootstrap(statistic, n: int, clusters: np.ndarray | None = None, n_boot: int = 1000,
                      seed: int = 0, level: float = 0.95) -> tuple[float, float, float]:
    """Percentile bootstrap interval of ``statistic(index_array)`` over ``n`` examples.

    With ``clusters`` (one label per example), whole clusters are resampled with replacement, so near-duplicate
    examples (texts from one template family) move together and the interval does not pretend they are
    independent (Field & Welsh 2007). Returns (point estimate, low, high); NaN replicates are dropped. For a
    plain mean, ``cluster_bootstrap_mean`` does the same in one vectorised step."""
    if n < 1 or n_boot < 1 or not (0 < level < 1):
        raise ValueError(f"need n >= 1, n_boot >= 1 and 0 < level < 1, got {n}, {n_boot}, {level}")
    rng = np.random.default_rng(seed)
    cl = np.arange(n) if clusters is None else np.asarray(clusters)
    if cl.shape != (n,):
        raise ValueError(f"clusters must hold one label per example ({n}), got shape {cl.shape}")
    labels, inverse = np.unique(cl, return_inverse=True)
    members = [np.flatnonzero(inverse == c) for c in range(len(labels))]
    reps = []
    for _ in range(int(n_boot)):
        pick = rng.integers(0, len(labels), len(labels))
        reps.append(statistic(np.concatenate([members[c] for c in pick])))
    reps = np.array(reps, dtype=float)
    reps = reps[np.isfinite(reps)]
    point = float(statistic(np.arange(n)))
    if reps.size == 0:
        return point, float("nan"), float("nan")
    lo, hi = np.quantile(reps, [(1 - level) / 2, (1 + level) / 2])
    return point, float(lo), float(hi)


def cluster_bootstrap_mean(values: Any, clusters: Any, *, n_boot: int = 2000, level: float = 0.95,
                      seed: int = 0) -> tuple[float, float, float]:
    """Mean of ``values`` with a percentile interval from resampling whole clusters with replacement.

    Each draw picks as many clusters as there are, with replacement (multinomial weights), and computes the
    ratio estimator sum(cluster totals) / sum(cluster sizes) (Davison & Hinkley 1997, section 3.8; Field &
    Welsh 2007). Returns ``(estimate, low, high)``. With one text per cluster it is the ordinary bootstrap.
    The special case of ``cluster_bootstrap`` for a mean, kept separate because it is vectorised (one matrix
    product for all draws instead of a Python loop) and draws its cluster weights differently (multinomial), so
    the two do not give bit-identical intervals on the same seed.
    """
    v = np.asarray(values, dtype=float)
    c = np.asarray(clusters)
    if v.ndim != 1 or v.size == 0 or c.shape != v.shape:
        raise ValueError(f"values and clusters must be 1-D, non-empty, same shape; got {v.shape}, {c.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError("values must be finite")
    if not (isinstance(n_boot, int) and n_boot > 0) or not (0.0 < level < 1.0):
        raise ValueError(f"n_boot must be a positive int and level in (0, 1), got {n_boot!r}, {level!r}")
    _, inverse = np.unique(c, return_inverse=True)
    sums = np.bincount(inverse, weights=v)
    sizes = np.bincount(inverse).astype(float)
    g = len(sizes)
    rng = np.random.default_rng(seed)
    w = rng.multinomial(g, np.full(g, 1.0 / g), size=n_boot).astype(float)
    draws = (w @ sums) / (w @ sizes)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(draws, [alpha, 1.0 - alpha])
    return float(v.mean()), float(lo), float(hi)


def rounded(x: Any, digits: int = 4) -> Any:
    """``x`` (nested dicts and lists) with every float rounded to ``digits`` decimals: what the shipped JSON
    result files store (more digits would be kernel noise, tools/rebuild.py compares them with a tolerance)."""
    if isinstance(x, float):
        return round(x, digits)
    if isinstance(x, dict):
        return {k: rounded(v, digits) for k, v in x.items()}
    if isinstance(x, list):
        return [rounded(v, digits) for v in x]
    return x

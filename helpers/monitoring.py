"""Monitoring a deployed model: batch drift tests, sequential change detection, out-of-distribution scores.

Notebook 10 (monitoring and feedback loops). Everything is plain numpy/scipy and vectorised over leading batch
axes, so that false-alarm rates can be *measured* over thousands of seeded repetitions in well under a second.

* Batch drift: per-feature two-sample Kolmogorov-Smirnov tests with a multiple-testing correction
  (``ks_drift``, the algorithm of alibi-detect's ``KSDrift``) and the kernel maximum mean discrepancy with a
  permutation test (``mmd2``, ``mmd_permutation_test``; Gretton et al. 2012, JMLR 13).
* Sequential change detection: the Page-Hinkley test (``page_hinkley``, same detections as
  ``river.drift.PageHinkley``) and Page's CUSUM (``cusum``; Page 1954, Biometrika 41), with its average run
  length computed by the Markov-chain method of Brook & Evans (1972, Biometrika 59) (``cusum_arl``).
  Delay convention everywhere: the number of post-change observations read up to and including the alarm
  (alarm at the first post-change value = delay 1), the same count as a run length.
* Label shift: black-box shift detection and estimation (``bbse_weights``; Lipton, Wang & Smola 2018,
  arXiv 1802.03916): compare the distribution of the model's *predictions*, and estimate the new class
  priors through the confusion matrix.
* Out-of-distribution scores from logits: maximum softmax probability (``msp_score``; Hendrycks & Gimpel 2017,
  arXiv 1610.02136) and the free energy (``energy_score``; Liu et al. 2020, arXiv 2010.03759), with ``auroc``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from helpers.plotting import COLORS
from helpers.validation import finite_array
from helpers.widgets import InteractiveFigure, Memo, float_slider, int_slider

__all__ = [
    "ks_statistic",
    "ks_pvalue",
    "ks_drift",
    "benjamini_hochberg",
    "ks_exact_sf",
    "ks_test_size",
    "cusum_arl",
    "bbse_weights",
    "multiple_testing_threshold",
    "mmd2",
    "median_heuristic",
    "mmd_permutation_test",
    "PermutationTest",
    "page_hinkley_statistic",
    "page_hinkley",
    "cusum_statistic",
    "cusum",
    "first_crossing",
    "msp_score",
    "energy_score",
    "auroc",
    "make_blobs",
    "DetectionCurves",
    "detection_curves",
    "DetectionPaths",
    "detection_paths",
    "change_detection_view",
    "setup_change_detection",
    "draw_change_detection",
    "demo_change_detection",
    "setup_multiple_testing",
    "draw_multiple_testing",
    "MultipleTestingRates",
    "multiple_testing_rates",
    "demo_multiple_testing",
    "simulate_feature_pvalues",
]

CORRECTIONS = ("none", "bonferroni", "fdr")


# ----------------------------------------------------------------------------------------------------------------
# validation helpers


def _as_float_array(name: str, x: object, min_ndim: int = 1) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    if arr.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimension(s), got shape {arr.shape}")
    return finite_array(arr, name)


def _as_2d(name: str, x: object) -> np.ndarray:
    """[n] -> [n, 1]; [n, d] stays; anything else is an error."""
    arr = _as_float_array(name, x)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be [n_samples] or [n_samples, n_features], got shape {arr.shape}")
    return arr


# ----------------------------------------------------------------------------------------------------------------
# Kolmogorov-Smirnov drift (batch)


def ks_statistic(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Two-sample KS statistic D = sup_t |F_a(t) - F_b(t)| along the last axis, vectorised over the others.

    ``a`` is [..., n1] and ``b`` is [..., n2] with the same leading shape. Ties are handled exactly (the
    empirical CDFs are compared only after the last copy of each value), so identical samples give D = 0.
    """
    a = _as_float_array("a", a)
    b = _as_float_array("b", b)
    if a.shape[:-1] != b.shape[:-1]:
        raise ValueError(f"a and b need the same leading shape, got {a.shape[:-1]} and {b.shape[:-1]}")
    n1, n2 = a.shape[-1], b.shape[-1]
    both = np.concatenate([a, b], axis=-1)
    order = np.argsort(both, axis=-1, kind="stable")
    values = np.take_along_axis(both, order, axis=-1)
    from_a = order < n1
    diff = np.cumsum(from_a, axis=-1) / n1 - np.cumsum(~from_a, axis=-1) / n2
    # only positions after the last copy of a value count (the ECDFs are right-continuous)
    group_end = np.ones_like(from_a)
    group_end[..., :-1] = values[..., 1:] != values[..., :-1]
    return np.max(np.where(group_end, np.abs(diff), 0.0), axis=-1)


def ks_pvalue(d: np.ndarray, n1: int, n2: int) -> np.ndarray:
    """Two-sided p-value of a two-sample KS statistic, as ``scipy.stats.ks_2samp(method="asymp")``.

    P(D > d) = kstwo.sf(d, round(n1 n2 / (n1 + n2))): the *exact* finite-n distribution of the one-sample
    Kolmogorov statistic (scipy's ``kstwo``), evaluated at the effective sample size. This is what
    alibi-detect's ``KSDrift`` uses; it is an approximation to the two-sample null, not the two-sample exact
    distribution (``ks_exact_sf``), and not Smirnov's limiting (n -> infinity) distribution either.
    """
    if n1 < 1 or n2 < 1:
        raise ValueError(f"n1 and n2 must be positive, got {n1} and {n2}")
    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = m * n / (m + n)
    d = np.asarray(d, dtype=float)
    # D only takes a few distinct values (multiples of 1/lcm(n1, n2)): evaluate the slow exact sf once each
    unique, inverse = np.unique(d, return_inverse=True)
    p = np.clip(stats.kstwo.sf(unique, np.round(en)), 0.0, 1.0)
    return p[inverse].reshape(d.shape)


def benjamini_hochberg(p_values: np.ndarray, q: float = 0.05) -> np.ndarray:
    """Which hypotheses the Benjamini-Hochberg (1995) step-up procedure rejects at false-discovery rate ``q``.

    Sort the m p-values, find the largest i with p_(i) <= q i / m, reject the i smallest (step-up: a p-value
    above its own line is still rejected when a larger one is below its line). Returns a boolean array in the
    input order. (``multiple_testing_threshold(..., "fdr")`` gives the batch decision, "any rejection".)"""
    p = np.asarray(p_values, dtype=float)
    if p.ndim != 1 or p.size == 0 or np.any((p < 0) | (p > 1)) or not np.all(np.isfinite(p)):
        raise ValueError("p_values must be a non-empty 1-D array of numbers in [0, 1]")
    if not 0 < q < 1:
        raise ValueError(f"q must be in (0, 1), got {q}")
    m = p.size
    order = np.argsort(p, kind="stable")
    below = p[order] <= q * np.arange(1, m + 1) / m
    reject = np.zeros(m, dtype=bool)
    if below.any():
        k = int(np.flatnonzero(below)[-1]) + 1
        reject[order[:k]] = True
    return reject


def ks_exact_sf(d: float, n: int) -> float:
    """Exact two-sample null P(D >= d) for two samples of equal size ``n`` (continuous data), through
    ``scipy.stats.ks_2samp(method="exact")`` on two samples constructed to have D = d (d a multiple of 1/n)."""
    h = int(round(float(d) * n))
    if n < 1 or not 0 <= h <= n or abs(h - float(d) * n) > 1e-9:
        raise ValueError(f"need n >= 1 and d a multiple of 1/n in [0, 1], got d={d}, n={n}")
    if h == 0:
        return 1.0
    x = np.arange(n, dtype=float)
    return float(stats.ks_2samp(x, x + h - 0.5, method="exact").pvalue)


def ks_test_size(n: int, alpha: float = 0.05) -> tuple[float, float]:
    """False-alarm probability of ``ks_pvalue(D) < alpha`` with two samples of size ``n`` and no drift.

    Returns (size, d_star): the exact two-sample null probability of the rejection region D >= d_star, where
    d_star is the smallest attainable D (a multiple of 1/n) whose ``ks_pvalue`` is below ``alpha``. D is
    discrete, so the size differs from ``alpha`` even with an exact p-value."""
    if n < 1 or not 0 < alpha < 1:
        raise ValueError(f"need n >= 1 and 0 < alpha < 1, got {n}, {alpha}")
    grid = np.arange(1, n + 1) / n
    reject = grid[ks_pvalue(grid, n, n) < alpha]
    if reject.size == 0:
        return 0.0, float("nan")
    return ks_exact_sf(reject[0], n), float(reject[0])


def multiple_testing_threshold(p_values: np.ndarray, p_val: float = 0.05,
                               correction: str = "bonferroni") -> tuple[np.ndarray, np.ndarray]:
    """Batch decision from per-feature p-values along the last axis: (is_drift, threshold).

    * ``"bonferroni"``: drift if any p < p_val / K (controls the family-wise error rate at p_val);
    * ``"fdr"``: Benjamini-Hochberg (1995): sort p, drift if some p_(i) < p_val i / K; the threshold is the
      largest such p_val i / K (when none, alibi-detect returns the whole vector of thresholds; we return the
      smallest, p_val / K, which gives the same decision);
    * ``"none"``: drift if any p < p_val (the naive rule; its false-alarm rate grows with K).
    """
    p = np.asarray(p_values, dtype=float)
    if p.ndim < 1 or p.shape[-1] == 0:
        raise ValueError(f"p_values must be a non-empty array, got shape {p.shape}")
    if not 0.0 < p_val < 1.0:
        raise ValueError(f"p_val must be in (0, 1), got {p_val}")
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {CORRECTIONS}, got {correction!r}")
    k = p.shape[-1]
    lead = p.shape[:-1]
    if correction == "none":
        threshold = np.full(lead, p_val)
        return np.any(p < p_val, axis=-1), threshold
    if correction == "bonferroni":
        threshold = np.full(lead, p_val / k)
        return np.any(p < p_val / k, axis=-1), threshold
    steps = p_val * np.arange(1, k + 1) / k
    below = np.sort(p, axis=-1) < steps
    any_below = below.any(axis=-1)
    last = k - 1 - np.argmax(below[..., ::-1], axis=-1)
    threshold = np.where(any_below, steps[last], steps[0])
    return any_below, threshold


def ks_drift(x_ref: np.ndarray, x: np.ndarray, p_val: float = 0.05,
             correction: str = "bonferroni") -> tuple[bool, np.ndarray, float]:
    """Per-feature two-sample KS tests with a multiple-testing correction: (is_drift, p-values, threshold).

    The algorithm of alibi-detect's ``KSDrift`` (default ``alternative="two-sided"``, batch mode): one
    asymptotic KS test per feature (``ks_pvalue``), then Bonferroni (drift if min p < p_val / K) or
    Benjamini-Hochberg FDR (``multiple_testing_threshold``). ``x_ref`` is [n_ref, K] (or [n_ref]), ``x`` is
    [n, K]. Kolmogorov (1933), Smirnov (1948); Rabanser et al. 2019, "Failing loudly", arXiv 1810.11953.
    """
    x_ref = _as_2d("x_ref", x_ref)
    x = _as_2d("x", x)
    if x_ref.shape[1] != x.shape[1]:
        raise ValueError(f"x_ref has {x_ref.shape[1]} features but x has {x.shape[1]}")
    d = ks_statistic(x_ref.T, x.T)
    p = ks_pvalue(d, x_ref.shape[0], x.shape[0])
    drift, threshold = multiple_testing_threshold(p, p_val, correction)
    return bool(drift), p, float(threshold)


# ----------------------------------------------------------------------------------------------------------------
# Maximum mean discrepancy


def _sq_dists(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pairwise squared distances by broadcasting: exact and BLAS-independent (the course's d is small)."""
    return ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)


def _check_sigma(sigma: float) -> float:
    if not np.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"sigma must be a positive number, got {sigma}")
    return float(sigma)


def mmd2(x: np.ndarray, y: np.ndarray, sigma: float, unbiased: bool = False) -> float:
    """Squared maximum mean discrepancy with the Gaussian kernel k(a, b) = exp(-|a - b|^2 / (2 sigma^2)).

    Gretton et al. 2012 (JMLR 13, "A kernel two-sample test"): the biased (V-statistic) estimate
    MMD^2_b = mean K_xx + mean K_yy - 2 mean K_xy, which is >= 0 and exactly 0 for identical samples; with
    ``unbiased=True``, the unbiased MMD^2_u: the diagonals of K_xx and K_yy are left out (the estimator
    alibi-detect's ``mmd2`` uses).
    """
    x = _as_2d("x", x)
    y = _as_2d("y", y)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x has {x.shape[1]} features but y has {y.shape[1]}")
    sigma = _check_sigma(sigma)
    n, m = len(x), len(y)
    if unbiased and (n < 2 or m < 2):
        raise ValueError("the unbiased estimate needs at least 2 samples in x and in y")
    def gram(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.exp(-_sq_dists(a, b) / (2 * sigma**2))

    kxx, kyy, kxy = gram(x, x), gram(y, y), gram(x, y)
    if unbiased:
        return float((kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                     - 2.0 * kxy.mean())
    return float(max(kxx.mean() + kyy.mean() - 2 * kxy.mean(), 0.0))


def median_heuristic(x: np.ndarray, y: np.ndarray) -> float:
    """Kernel width sigma = sqrt(median pairwise squared distance / 2) over the pooled sample (Gretton 2012)."""
    z = np.concatenate([_as_2d("x", x), _as_2d("y", y)])
    d = _sq_dists(z, z)[np.triu_indices(len(z), k=1)]
    med = float(np.median(d)) if d.size else 0.0
    return float(np.sqrt(med / 2.0)) if med > 0 else 1.0


@dataclass(frozen=True)
class PermutationTest:
    """Result of a permutation test: observed statistic, p-value and the permutation null sample."""

    statistic: float
    p_value: float
    null: np.ndarray


def mmd_permutation_test(x: np.ndarray, y: np.ndarray, n_permutations: int = 200, seed: int = 0,
                         sigma: float | None = None) -> PermutationTest:
    """Permutation test of H0: x and y come from one distribution, with the biased MMD^2 as statistic.

    The pooled sample is split at random ``n_permutations`` times (all splits computed at once as quadratic
    forms a^T K a with a = 1/n on one side and -1/m on the other). p = (1 + #{null >= observed}) /
    (1 + n_permutations), which is a valid p-value (Phipson & Smyth 2010; alibi-detect omits the +1).
    ``sigma`` defaults to the median heuristic on the pooled sample.
    """
    x = _as_2d("x", x)
    y = _as_2d("y", y)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x has {x.shape[1]} features but y has {y.shape[1]}")
    if not isinstance(n_permutations, (int, np.integer)) or n_permutations < 1:
        raise ValueError(f"n_permutations must be a positive integer, got {n_permutations!r}")
    sigma = median_heuristic(x, y) if sigma is None else _check_sigma(sigma)
    z = np.concatenate([x, y])
    n, m = len(x), len(y)
    k = np.exp(-_sq_dists(z, z) / (2.0 * sigma**2))
    rng = np.random.default_rng(seed)
    weights = np.concatenate([np.full(n, 1.0 / n), np.full(m, -1.0 / m)])
    perms = rng.permuted(np.tile(weights, (n_permutations + 1, 1)), axis=1)
    perms[0] = weights  # row 0: the observed split
    values = np.maximum(np.sum((perms @ k) * perms, axis=1), 0.0)
    observed, null = float(values[0]), values[1:]
    p = (1.0 + np.sum(null >= observed - 1e-12)) / (1.0 + n_permutations)
    return PermutationTest(statistic=observed, p_value=float(p), null=null)


# ----------------------------------------------------------------------------------------------------------------
# Sequential change detection


def _as_streams(stream: object) -> tuple[np.ndarray, bool]:
    arr = _as_float_array("stream", stream)
    if arr.ndim > 2:
        raise ValueError(f"stream must be [T] or [n_streams, T], got shape {arr.shape}")
    return (arr[None, :], True) if arr.ndim == 1 else (arr, False)


def page_hinkley_statistic(stream: np.ndarray, delta: float = 0.005, alpha: float = 1 - 0.0001,
                           min_instances: int = 30, mode: str = "both") -> np.ndarray:
    """Page-Hinkley test statistic at every step (before any reset), [T] or [n_streams, T].

    With the running mean x̄_t (including x_t), m_t = alpha m_{t-1} + (x_t - x̄_t - delta) and
    M_t = alpha M_{t-1} + (x_t - x̄_t + delta); the statistic is max(m_t - min_s m_s, max_s M_s - M_t) for
    ``mode="both"`` ("up": first term, "down": second), and 0 for the first ``min_instances - 1`` steps.
    Page (1954), Hinkley (1971); the update order and arithmetic of ``river.drift.PageHinkley`` (river 0.26),
    including its start value -1 for max M, so that thresholding gives the same detection index.
    """
    streams, single = _as_streams(stream)
    if delta < 0:
        raise ValueError(f"delta must be >= 0, got {delta}")
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")
    if not isinstance(min_instances, (int, np.integer)) or min_instances < 1:
        raise ValueError(f"min_instances must be a positive integer, got {min_instances!r}")
    if mode not in ("up", "down", "both"):
        raise ValueError(f"mode must be 'up', 'down' or 'both', got {mode!r}")
    r, t_len = streams.shape
    mean = np.zeros(r)
    s_inc, s_dec = np.zeros(r), np.zeros(r)
    min_inc, max_dec = np.full(r, np.inf), np.full(r, -1.0)
    out = np.zeros((r, t_len))
    for t in range(t_len):
        x = streams[:, t]
        mean += (1.0 / (t + 1.0)) * (x - mean)
        dev = x - mean
        s_inc = alpha * s_inc + dev - delta
        s_dec = alpha * s_dec + dev + delta
        np.minimum(min_inc, s_inc, out=min_inc)
        np.maximum(max_dec, s_dec, out=max_dec)
        if t + 1 >= min_instances:
            up, down = s_inc - min_inc, max_dec - s_dec
            out[:, t] = up if mode == "up" else down if mode == "down" else np.maximum(up, down)
    return out[0] if single else out


def first_crossing(statistic: np.ndarray, threshold: float | np.ndarray) -> np.ndarray:
    """Index of the first step where ``statistic > threshold`` along the last axis, -1 where there is none.

    ``threshold`` is a number or an array that broadcasts against the leading axes of ``statistic``.
    """
    s = np.asarray(statistic, dtype=float)
    above = s > np.asarray(threshold, dtype=float)[..., None]
    idx = np.argmax(above, axis=-1)
    return np.where(above.any(axis=-1), idx, -1)


def _alarm_index(stat: np.ndarray, threshold: float) -> int | None | np.ndarray:
    """First index where ``stat`` crosses ``threshold``: None for no alarm on one stream, -1 per stream in 2-D."""
    idx = first_crossing(stat, threshold)
    if stat.ndim == 1:
        return None if idx < 0 else int(idx)
    return idx


def page_hinkley(stream: np.ndarray, delta: float = 0.005, threshold: float = 50.0, alpha: float = 1 - 0.0001,
                 min_instances: int = 30, mode: str = "both") -> int | None | np.ndarray:
    """Index (0-based) of the first Page-Hinkley detection, None if it never fires.

    Same parameters, defaults and detection as ``river.drift.PageHinkley`` (the first ``i`` after whose
    ``update(stream[i])`` ``drift_detected`` is True). For a 2-D input [n_streams, T] returns an int array,
    -1 where there is no detection (vectorised over streams, for measuring false-alarm rates).
    """
    if threshold < 0:
        raise ValueError(f"threshold must be >= 0, got {threshold}")
    stat = page_hinkley_statistic(stream, delta=delta, alpha=alpha, min_instances=min_instances, mode=mode)
    return _alarm_index(stat, threshold)


def cusum_statistic(stream: np.ndarray, mu0: float = 0.0, k: float = 0.5, sigma: float = 1.0,
                    two_sided: bool = True) -> np.ndarray:
    """Page's CUSUM statistic on standardised values z_t = (x_t - mu0) / sigma, [T] or [n_streams, T].

    S+_t = max(0, S+_{t-1} + z_t - k), S-_t = max(0, S-_{t-1} - z_t - k); the statistic is max(S+, S-) when
    ``two_sided`` else S+. ``k`` (the reference value) is usually half the shift one wants to detect, in units
    of sigma. Page (1954), "Continuous inspection schemes", Biometrika 41(1/2):100-115.
    """
    streams, single = _as_streams(stream)
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    sigma = _check_sigma(sigma)
    z = (streams - mu0) / sigma
    s_up, s_down = np.zeros(len(z)), np.zeros(len(z))
    out = np.empty_like(z)
    for t in range(z.shape[1]):
        s_up = np.maximum(0.0, s_up + z[:, t] - k)
        if two_sided:
            s_down = np.maximum(0.0, s_down - z[:, t] - k)
        out[:, t] = np.maximum(s_up, s_down)
    return out[0] if single else out


def cusum(stream: np.ndarray, threshold: float = 5.0, mu0: float = 0.0, k: float = 0.5, sigma: float = 1.0,
          two_sided: bool = True) -> int | None | np.ndarray:
    """Index of the first CUSUM alarm (statistic > threshold, in units of sigma), None if it never fires.

    2-D input [n_streams, T] gives an int array with -1 for no alarm. See ``cusum_statistic``.
    """
    if threshold < 0:
        raise ValueError(f"threshold must be >= 0, got {threshold}")
    stat = cusum_statistic(stream, mu0=mu0, k=k, sigma=sigma, two_sided=two_sided)
    return _alarm_index(stat, threshold)


def cusum_arl(threshold: float, k: float = 0.5, shift: float = 0.0, two_sided: bool = True,
              n_states: int = 400) -> float:
    """Average run length (expected number of observations up to and including the alarm) of CUSUM started
    at 0, on i.i.d. N(shift, 1) values: the Markov-chain approximation of Brook & Evans (1972, Biometrika 59),
    with ``n_states`` states on [0, h]. With shift = 0 this is ARL0, the mean time between false alarms;
    with shift = d it is the delay of a change that happens when the statistic is at 0 (a lower bound on the
    typical delay). Two-sided: 1/ARL = 1/ARL+ + 1/ARL- (Lucas & Crosier 1982; close when k > 0)."""
    if threshold <= 0 or k < 0 or n_states < 10:
        raise ValueError(f"need threshold > 0, k >= 0, n_states >= 10, got {threshold}, {k}, {n_states}")

    def one_sided(mu: float) -> float:
        w = threshold / (n_states - 0.5)  # state i covers [(i - 1/2) w, (i + 1/2) w), state 0 = {0} and below
        centres = np.arange(n_states) * w
        upper = (np.arange(n_states) + 0.5) * w
        # P(next state = j | state i): z = next - current + k, next = max(0, current + x - k)
        cdf = stats.norm.cdf((upper[None, :] - centres[:, None] + k) - mu)
        Q = np.diff(np.concatenate([np.zeros((n_states, 1)), cdf], axis=1), axis=1)
        Q[:, 0] = cdf[:, 0]
        arl = np.linalg.solve(np.eye(n_states) - Q, np.ones(n_states))
        return float(arl[0])

    up = one_sided(shift)
    if not two_sided:
        return up
    down = one_sided(-shift)
    return 1.0 / (1.0 / up + 1.0 / down)


def bbse_weights(y_true_source: np.ndarray, y_pred_source: np.ndarray, y_pred_target: np.ndarray,
                 n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Black-box shift estimation (Lipton, Wang & Smola 2018, arXiv 1802.03916, eq. 3).

    Under label shift (P(x | y) fixed, P(y) changes), the predicted-class frequencies on the target satisfy
    mu_target = C w with C[i, j] = P_source(y_pred = i, y = j) and w_j = q(y = j) / p(y = j). Returns
    (w, q): the importance weights and the estimated target class priors q = w * p_source. The model only
    has to be a fixed black box with an invertible confusion matrix, not a good one."""
    yt, ys, yq = (np.asarray(a).astype(int) for a in (y_true_source, y_pred_source, y_pred_target))
    if yt.shape != ys.shape or yt.ndim != 1 or yq.ndim != 1 or yq.size == 0 or yt.size == 0:
        raise ValueError("labels and predictions must be non-empty 1-D arrays (source pair of one length)")
    if n_classes < 2 or min(yt.min(), ys.min(), yq.min()) < 0 or max(yt.max(), ys.max(), yq.max()) >= n_classes:
        raise ValueError(f"labels must lie in 0..{n_classes - 1}")
    C = np.zeros((n_classes, n_classes))
    np.add.at(C, (ys, yt), 1.0)
    C /= len(yt)
    mu = np.bincount(yq, minlength=n_classes) / len(yq)
    w = np.linalg.solve(C, mu)
    p = np.bincount(yt, minlength=n_classes) / len(yt)
    return w, w * p


# ----------------------------------------------------------------------------------------------------------------
# Out-of-distribution scores


def _logits(logits: object) -> np.ndarray:
    arr = _as_float_array("logits", logits)
    if arr.ndim != 2 or arr.shape[1] < 2:
        raise ValueError(f"logits must be [n_samples, n_classes >= 2], got shape {arr.shape}")
    return arr


def msp_score(logits: np.ndarray) -> np.ndarray:
    """Maximum softmax probability max_c softmax(f(x))_c (Hendrycks & Gimpel 2017, arXiv 1610.02136).

    Higher means "looks in-distribution". In [1/C, 1].
    """
    return special.softmax(_logits(logits), axis=1).max(axis=1)


def energy_score(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Negative free energy -E(x) = T logsumexp(f(x) / T) (Liu et al. 2020, arXiv 2010.03759).

    Higher means "looks in-distribution" (the paper's detector flags low -E). Unlike the MSP it keeps the
    overall scale of the logits, which softmax normalises away.
    """
    if not np.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    return temperature * special.logsumexp(_logits(logits) / temperature, axis=1)


def auroc(scores_in: np.ndarray, scores_out: np.ndarray) -> float:
    """Area under the ROC curve for "in-distribution scores higher": P(s_in > s_out) + P(s_in = s_out) / 2.

    The Mann-Whitney U statistic divided by n_in n_out (computed with midranks, O(n log n)).
    """
    a = _as_float_array("scores_in", scores_in).ravel()
    b = _as_float_array("scores_out", scores_out).ravel()
    ranks = stats.rankdata(np.concatenate([a, b]))
    u = ranks[: len(a)].sum() - len(a) * (len(a) + 1) / 2.0
    return float(u / (len(a) * len(b)))


def make_blobs(n_per_class: int, centers: np.ndarray, scale: float = 1.0, seed: int = 0
               ) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs: ``n_per_class`` points around each row of ``centers`` with std ``scale``; (X, y)."""
    centers = _as_2d("centers", centers)
    if n_per_class < 1:
        raise ValueError(f"n_per_class must be positive, got {n_per_class}")
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    rng = np.random.default_rng(seed)
    x = np.concatenate([c + scale * rng.standard_normal((n_per_class, centers.shape[1])) for c in centers])
    y = np.repeat(np.arange(len(centers)), n_per_class)
    return x, y


# ----------------------------------------------------------------------------------------------------------------
# Detection delay vs false alarms (the demo)


@dataclass(frozen=True)
class DetectionCurves:
    """What the change-detection demo shows for one setting of the sliders."""

    t: np.ndarray                 # time steps of the example stream
    stream: np.ndarray            # the example stream (change at ``change_point``)
    statistic: np.ndarray         # CUSUM or Page-Hinkley statistic of the example stream
    detection: int                # first alarm in the example stream, -1 if none
    thresholds: np.ndarray        # grid of thresholds for the trade-off curve
    false_alarm: np.ndarray       # P(alarm before the change) for each threshold, measured
    delay: np.ndarray             # mean delay of alarms after the change, for each threshold (nan if none);
    #                               delay = post-change observations read up to and including the alarm
    current_false_alarm: float
    current_delay: float
    change_point: int


_DEMO_T, _DEMO_CHANGE, _DEMO_REPS = 400, 200, 200
_DEMO_THRESHOLDS = np.linspace(0.5, 20.0, 40)


def _tradeoff(stat: np.ndarray, thresholds: np.ndarray, change_point: int) -> tuple[np.ndarray, np.ndarray]:
    """From statistic paths [R, T]: P(first alarm < change) and mean delay of the others, per threshold."""
    running = np.maximum.accumulate(stat, axis=1)
    first = np.stack([first_crossing(running, h) for h in thresholds])      # [H, R]
    false_alarm = np.mean((first >= 0) & (first < change_point), axis=1)
    late = first >= change_point
    with np.errstate(invalid="ignore"):
        delay = np.where(late.any(axis=1), np.sum(np.where(late, first - change_point + 1, 0), axis=1)
                         / np.maximum(late.sum(axis=1), 1), np.nan)
    return false_alarm, delay


@dataclass(frozen=True)
class DetectionPaths:
    """CUSUM paths of seeded streams with one mean shift, and the trade-off curve over ``_DEMO_THRESHOLDS``."""

    shift: float
    stream: np.ndarray            # the example stream (the first of the seeded streams)
    statistic: np.ndarray         # CUSUM statistic paths [n_streams, T]
    false_alarm: np.ndarray       # per threshold of ``_DEMO_THRESHOLDS``
    delay: np.ndarray             # per threshold of ``_DEMO_THRESHOLDS``


def detection_paths(shift: float = 1.0, k: float = 0.5, seed: int = 0, n_streams: int = _DEMO_REPS) -> DetectionPaths:
    """CUSUM (Page 1954) on ``n_streams`` seeded streams of ``_DEMO_T`` steps that change from N(0, 1) to
    N(shift, 1) at step ``_DEMO_CHANGE``; before its first alarm a CUSUM path does not depend on the threshold,
    so one pass gives the whole trade-off curve."""
    if not np.isfinite(shift):
        raise ValueError(f"shift must be finite, got {shift}")
    rng = np.random.default_rng(seed)
    streams = rng.standard_normal((n_streams, _DEMO_T))
    streams[:, _DEMO_CHANGE:] += shift
    stat = cusum_statistic(streams, k=k)
    fa, delay = _tradeoff(stat, _DEMO_THRESHOLDS, _DEMO_CHANGE)
    return DetectionPaths(float(shift), streams[0], stat, fa, delay)


def detection_curves(threshold: float = 5.0, shift: float = 1.0, k: float = 0.5, seed: int = 0,
                     n_streams: int = _DEMO_REPS, paths: DetectionPaths | None = None) -> DetectionCurves:
    """Measure CUSUM's false-alarm probability and detection delay on seeded N(0,1) streams with a mean shift
    (``detection_paths``; pass ``paths`` computed for this shift to skip that pass), at ``threshold`` and on the
    grid ``_DEMO_THRESHOLDS``."""
    if threshold < 0:
        raise ValueError(f"threshold must be >= 0, got {threshold}")
    if paths is None:
        paths = detection_paths(shift, k, seed, n_streams)
    elif paths.shift != float(shift):
        raise ValueError(f"paths were computed for shift {paths.shift}, not {shift}")
    cur_fa, cur_delay = _tradeoff(paths.statistic, np.array([threshold]), _DEMO_CHANGE)
    first = first_crossing(paths.statistic[0], threshold)
    return DetectionCurves(np.arange(_DEMO_T), paths.stream, paths.statistic[0], int(first), _DEMO_THRESHOLDS,
                           paths.false_alarm, paths.delay, float(cur_fa[0]), float(cur_delay[0]), _DEMO_CHANGE)


def change_detection_view(paths: Callable[..., DetectionPaths], threshold: float, shift: float) -> DetectionCurves:
    """The change-detection demo's compute: ``detection_curves`` at ``threshold`` with the paths
    ``paths(shift=...)`` (a ``widgets.Memo`` of ``detection_paths``: one CUSUM pass per shift value)."""
    return detection_curves(threshold, shift, paths=paths(shift=float(shift)))


def setup_change_detection(fig) -> dict:
    ax_s, ax_t = fig.axes
    ax_s.set_xlim(0, _DEMO_T)
    ax_s.set_ylim(-4, 22)
    ax_s.set_xlabel("time step")
    ax_s.set_ylabel("value / CUSUM statistic")
    ax_s.axvline(_DEMO_CHANGE, color=COLORS["neutral"], ls=":", lw=1)
    ax_s.text(_DEMO_CHANGE + 3, 21, "change", color=COLORS["neutral"], fontsize=8, va="top")
    ax_t.set_xlim(0, 1)
    ax_t.set_yscale("log")
    ax_t.set_ylim(2, 200)
    ax_t.set_xlabel("P(false alarm in 200 steps before the change)")
    ax_t.set_ylabel("mean detection delay (steps, log)")
    art = {
        "stream": ax_s.plot([], [], color=COLORS["neutral"], lw=0.6, label="stream")[0],
        "stat": ax_s.plot([], [], color=COLORS["true"], lw=1.5, label="CUSUM statistic")[0],
        "thr": ax_s.plot([], [], color=COLORS["bad"], ls="--", lw=1, label="threshold h")[0],
        "alarm": ax_s.plot([], [], "v", color=COLORS["bad"], ms=9)[0],
        "curve": ax_t.plot([], [], color=COLORS["proxy"], lw=1.5, label="thresholds 0.5 to 20")[0],
        "point": ax_t.plot([], [], "o", color=COLORS["bad"], ms=8, label="current h")[0],
        "text": ax_t.text(0.97, 0.95, "", transform=ax_t.transAxes, ha="right", va="top", fontsize=9),
        "title": ax_s.set_title("example stream: alarm at step 000 (shift 0.00)"),
    }
    ax_s.legend(handles=[art["stream"], art["stat"], art["thr"]], loc="center right", fontsize=8)
    ax_t.legend(handles=[art["curve"], art["point"]], loc="center right", fontsize=8)
    return art


def draw_change_detection(art: dict, c: DetectionCurves, **values) -> None:
    art["stream"].set_data(c.t, c.stream)
    art["stat"].set_data(c.t, np.minimum(c.statistic, 21.9))
    h = values["threshold"]
    art["thr"].set_data([0, _DEMO_T], [h, h])
    if c.detection >= 0:
        art["alarm"].set_data([c.detection], [h])
        art["alarm"].set_visible(True)
    else:
        art["alarm"].set_visible(False)
    art["curve"].set_data(c.false_alarm, np.clip(c.delay, 2.1, 190))
    art["point"].set_data([c.current_false_alarm], [np.clip(c.current_delay, 2.1, 190)])
    where = "never" if c.detection < 0 else f"at step {c.detection}"
    art["title"].set_text(f"example stream: alarm {where} (shift {values['shift']:.2f})")
    art["text"].set_text(f"h = {h:.1f}\nfalse alarms {c.current_false_alarm:.2f}\n"
                         f"mean delay {c.current_delay:.1f}")


def demo_change_detection() -> InteractiveFigure:
    """Sliders: CUSUM threshold and the size of the mean shift; left the example stream, right the trade-off."""
    return InteractiveFigure(functools.partial(change_detection_view, Memo(detection_paths)), draw_change_detection,
                             {"threshold": float_slider("threshold h", 0.5, 20.0, 0.5, 5.0),
                              "shift": float_slider("shift (in sd)", 0.25, 2.0, 0.25, 1.0)},
                             setup=setup_change_detection, ncols=2, width=9.0, height=3.6)


# ----------------------------------------------------------------------------------------------------------------
# Multiple testing: false alarms and power against the number of monitored features (the second demo)


@dataclass(frozen=True)
class MultipleTestingRates:
    """Measured batch-level false-alarm rate and power of each correction, for one K and alpha."""

    corrections: tuple[str, ...]
    false_alarm: np.ndarray      # [3], no drift anywhere
    power: np.ndarray            # [3], feature 0 shifted
    naive_theory: float          # 1 - (1 - alpha)^K
    n_features: int
    alpha: float
    reps: int = 0                # Monte Carlo repetitions behind each rate

    @property
    def false_alarm_se(self) -> np.ndarray:
        """Monte Carlo standard error of each false-alarm rate, sqrt(r (1 - r) / reps)."""
        return np.sqrt(self.false_alarm * (1 - self.false_alarm) / max(self.reps, 1))

    @property
    def power_se(self) -> np.ndarray:
        """Monte Carlo standard error of each power estimate."""
        return np.sqrt(self.power * (1 - self.power) / max(self.reps, 1))


def multiple_testing_rates(p_null: np.ndarray, p_alt: np.ndarray, n_features: int,
                           alpha: float) -> MultipleTestingRates:
    """Rates of the corrections in ``CORRECTIONS`` from per-feature p-values [reps, K_max] (first K used)."""
    p_null, p_alt = np.asarray(p_null, dtype=float), np.asarray(p_alt, dtype=float)
    if p_null.ndim != 2 or p_null.shape != p_alt.shape:
        raise ValueError(f"p_null and p_alt must be [reps, K_max] of one shape, got {p_null.shape}, {p_alt.shape}")
    if not 1 <= n_features <= p_null.shape[1]:
        raise ValueError(f"n_features must be in [1, {p_null.shape[1]}], got {n_features}")
    k = int(n_features)
    fa = np.array([multiple_testing_threshold(p_null[:, :k], alpha, c)[0].mean() for c in CORRECTIONS])
    power = np.array([multiple_testing_threshold(p_alt[:, :k], alpha, c)[0].mean() for c in CORRECTIONS])
    return MultipleTestingRates(CORRECTIONS, fa, power, 1 - (1 - alpha) ** k, k, alpha, p_null.shape[0])


def simulate_feature_pvalues(reps: int = 2000, max_features: int = 20, n: int = 60, shift: float = 0.6,
                             seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature KS p-values [reps, max_features] with no drift, and with feature 0 shifted by ``shift``."""
    rng = np.random.default_rng(seed)
    ref = rng.standard_normal((reps, max_features, n))
    new = rng.standard_normal((reps, max_features, n))
    p_null = ks_pvalue(ks_statistic(ref, new), n, n)
    new[:, 0] += shift
    p_alt = ks_pvalue(ks_statistic(ref[:, :1], new[:, :1]), n, n)
    return p_null, np.concatenate([p_alt, p_null[:, 1:]], axis=1)


def setup_multiple_testing(fig) -> dict:
    ax_fa, ax_pw = fig.axes
    x = np.arange(len(CORRECTIONS))
    colors = [COLORS["bad"], COLORS["true"], COLORS["good"]]
    art = {}
    for ax, key, title in [(ax_fa, "fa", "false alarms (no drift)"), (ax_pw, "pw", "power (feature 0 shifted 0.6 sd)")]:
        ax.set_ylim(0, 1)
        ax.set_xlim(-0.6, len(CORRECTIONS) - 0.4)
        ax.set_xticks(x, ["none", "Bonferroni", "BH (FDR)"])
        ax.set_ylabel("fraction of batches with an alarm")
        ax.set_title(title)
        art[key] = list(ax.bar(x, np.zeros(len(x)), color=colors, width=0.6))
        art[key + "_text"] = [ax.text(i, 0.02, "0.000\n± 0.000", ha="center", va="bottom", fontsize=8) for i in x]
    art["alpha"] = ax_fa.plot([-0.6, len(CORRECTIONS) - 0.4], [0.05, 0.05], color=COLORS["dark"], ls="--", lw=1,
                              label="alpha")[0]
    art["theory"] = ax_fa.plot([-0.3, 0.3], [0.4, 0.4], color=COLORS["accent"], lw=2, label="1 - (1 - alpha)^K")[0]
    ax_fa.legend(loc="upper right", fontsize=8)
    return art


def draw_multiple_testing(art: dict, r: MultipleTestingRates, **_values) -> None:
    for key, values, ses in [("fa", r.false_alarm, r.false_alarm_se), ("pw", r.power, r.power_se)]:
        for bar, text, v, se in zip(art[key], art[key + "_text"], values, ses, strict=True):
            bar.set_height(v)
            text.set_text(f"{v:.3f}\n± {se:.3f}")
            text.set_y(min(v + 0.02, 0.93))
    art["alpha"].set_ydata([r.alpha, r.alpha])
    art["theory"].set_ydata([r.naive_theory, r.naive_theory])


def demo_multiple_testing() -> InteractiveFigure:
    """Sliders: number of monitored features K and alpha; bars: measured false alarms and power per correction."""
    p_null, p_alt = simulate_feature_pvalues()
    return InteractiveFigure(functools.partial(multiple_testing_rates, p_null, p_alt), draw_multiple_testing,
                             {"n_features": int_slider("features K", 1, 20, 1, 10),
                              "alpha": float_slider("alpha", 0.01, 0.2, 0.01, 0.05)},
                             setup=setup_multiple_testing, ncols=2, width=9.0, height=3.4)

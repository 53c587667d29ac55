"""Goodhart's law under best-of-n selection: a measured demonstration (notebook 01).

Each candidate response has two latent features, ``quality`` z1 and ``length`` z2 (deviation from the ideal
length), independent standard normals. A reward model (the *proxy*) scores

    U = a * z1 + sqrt(1 - a^2) * z2                      (a = alignment_level = corr(U, z1))

and likes longer answers; people (the *true* objective) value quality and dislike any deviation from the ideal
length:

    V = z1 - kappa * z2^2                                  (kappa = harm of the exploited feature)

Best-of-n selection returns the candidate with the largest U among n draws. Given U = u, z1 and z2 are Gaussian
(z1 | u ~ N(a u, 1 - a^2), z2 | u ~ N(b u, 1 - b^2), b = sqrt(1 - a^2)), so

    E[V | u] = a u - kappa (b^2 u^2 + a^2)
    E[V | best of n] = a E[M_n] - kappa ((1 - a^2) E[M_n^2] + a^2),

with M_n the maximum of n standard normals. E[M_n] grows like sqrt(2 ln n) but E[M_n^2] like 2 ln n, so for
a < 1 the true value rises, peaks and falls as selection pressure grows; for a = 1 it only rises. This is
"regressional" plus "extremal" Goodhart in the taxonomy of Manheim & Garrabrant (2018, arXiv 1803.04585), and
the rise-then-fall of the gold reward in Gao, Schulman & Hilton (2022, arXiv 2210.10760), whose best-of-n fit is
gold(d) = d (alpha - beta d) with d = sqrt(KL(best-of-n || base)); for continuous scores
KL = log n - (n - 1)/n exactly (Beirami et al. 2024, arXiv 2401.01879, show it is an upper bound in general).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from helpers.plotting import COLORS, label_axes
from helpers.stats import best_of_n_kl  # KL(best-of-n || base) = log n - (n - 1)/n, shared with notebook 02
from helpers.widgets import InteractiveFigure, float_slider

__all__ = [
    "sample_candidates",
    "best_of_n",
    "max_normal_moments",
    "best_of_n_kl",
    "expected_values",
    "GoodhartCurves",
    "goodhart_curves",
    "peak_pressure",
    "fit_gao_bon",
    "monte_carlo_best_of_n",
    "setup_goodhart",
    "draw_goodhart",
    "demo_goodhart",
]

_U_GRID = np.linspace(-8.0, 9.0, 1701)


def _check_alignment(alignment_level: float) -> None:
    if not (0.0 <= alignment_level <= 1.0) or not np.isfinite(alignment_level):
        raise ValueError(f"alignment_level must be in [0, 1], got {alignment_level}")


def _check_harm(harm: float) -> None:
    if not (harm >= 0.0) or not np.isfinite(harm):
        raise ValueError(f"harm must be a finite number >= 0, got {harm}")


def sample_candidates(n_samples: int, alignment_level: float, harm: float = 0.25,
                      rng: np.random.Generator | int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n_samples`` candidates; return their (proxy, true) scores, each shape [n_samples].

    Proxy U = a z1 + sqrt(1 - a^2) z2, true V = z1 - harm * z2^2, with z1, z2 ~ N(0, 1) independent.
    """
    _check_alignment(alignment_level)
    _check_harm(harm)
    if int(n_samples) < 1:
        raise ValueError(f"n_samples must be at least 1, got {n_samples}")
    rng = np.random.default_rng(rng)
    z = rng.standard_normal((2, int(n_samples)))
    a, b = alignment_level, np.sqrt(1.0 - alignment_level**2)
    return a * z[0] + b * z[1], z[0] - harm * z[1] ** 2


def best_of_n(proxy: np.ndarray, true: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best-of-n selection: for each row of n candidates, the (proxy, true) score of the proxy's argmax.

    ``proxy`` and ``true`` have shape [batch, n]; returns two arrays of shape [batch].
    """
    proxy, true = np.asarray(proxy, dtype=float), np.asarray(true, dtype=float)
    if proxy.shape != true.shape or proxy.ndim != 2 or proxy.shape[1] < 1:
        raise ValueError(f"proxy and true must both have shape [batch, n], got {proxy.shape} and {true.shape}")
    idx = np.argmax(proxy, axis=1)
    rows = np.arange(proxy.shape[0])
    return proxy[rows, idx], true[rows, idx]


def max_normal_moments(n: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    """E[M_n] and E[M_n^2] for M_n the maximum of n iid standard normals (numerical integration).

    The density of M_n is n phi(u) Phi(u)^(n-1); integrated on a fine grid in log space, so n up to 1e9 is
    accurate to about 1e-6.
    """
    n = np.atleast_1d(np.asarray(n, dtype=float))
    if np.any(n < 1) or not np.all(np.isfinite(n)):
        raise ValueError(f"n must be >= 1, got {n}")
    u = _U_GRID
    log_density = (np.log(n)[:, None] - 0.5 * u**2 - 0.5 * np.log(2 * np.pi)
                   + (n[:, None] - 1) * special.log_ndtr(u)[None, :])
    w = np.exp(log_density)
    w /= np.trapezoid(w, u, axis=1)[:, None]
    return np.trapezoid(w * u, u, axis=1), np.trapezoid(w * u**2, u, axis=1)


def expected_values(n: np.ndarray | int, alignment_level: float, harm: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """Exact E[proxy] and E[true] of the best-of-n candidate (closed form in E[M_n], E[M_n^2])."""
    _check_alignment(alignment_level)
    _check_harm(harm)
    m1, m2 = max_normal_moments(n)
    a = alignment_level
    return m1, a * m1 - harm * ((1 - a**2) * m2 + a**2)


def peak_pressure(log2_n: np.ndarray, true_mean: np.ndarray) -> tuple[int, bool]:
    """Index of the largest true value and whether it is an interior peak (the value falls after it)."""
    true_mean = np.asarray(true_mean, dtype=float)
    if true_mean.ndim != 1 or len(true_mean) != len(log2_n) or len(true_mean) < 2:
        raise ValueError("log2_n and true_mean must be 1-D arrays of the same length >= 2")
    i = int(np.argmax(true_mean))
    return i, bool(i < len(true_mean) - 1 and true_mean[-1] < true_mean[i] - 1e-9)


def fit_gao_bon(d: np.ndarray, gold: np.ndarray) -> tuple[float, float, float]:
    """Least-squares fit of gold(d) - gold(0) = d (alpha - beta d) (Gao et al. 2022, eq. 1); returns
    (alpha, beta, R^2)."""
    d, gold = np.asarray(d, dtype=float), np.asarray(gold, dtype=float)
    if d.shape != gold.shape or d.ndim != 1 or len(d) < 3:
        raise ValueError("d and gold must be 1-D arrays of the same length >= 3")
    y = gold - gold[0]
    X = np.stack([d, -(d**2)], axis=1)
    (alpha, beta), *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ np.array([alpha, beta])
    r2 = 1.0 - float(resid @ resid) / float(((y - y.mean()) ** 2).sum())
    return float(alpha), float(beta), r2


def monte_carlo_best_of_n(n: int, alignment_level: float, harm: float = 0.25, trials: int = 2000,
                          seed: int = 0, select=best_of_n) -> tuple[float, float, float]:
    """Simulate best-of-n ``trials`` times; return (mean proxy, mean true, standard error of the true mean).

    ``select`` is the selection rule (the learner's ``best_of_n`` in the notebook's exercise).
    """
    if int(n) < 1 or int(trials) < 2:
        raise ValueError(f"need n >= 1 and trials >= 2, got n={n}, trials={trials}")
    proxy, true = sample_candidates(int(n) * int(trials), alignment_level, harm, rng=seed)
    p, t = select(proxy.reshape(int(trials), int(n)), true.reshape(int(trials), int(n)))
    return float(np.mean(p)), float(np.mean(t)), float(np.std(t, ddof=1) / np.sqrt(int(trials)))


@dataclass(frozen=True)
class GoodhartCurves:
    """Exact expected proxy and true value of best-of-n along a grid of pressures ``log2_n``."""

    alignment_level: float
    harm: float
    log2_n: np.ndarray
    proxy_mean: np.ndarray
    true_mean: np.ndarray
    sqrt_kl: np.ndarray
    peak_index: int
    has_peak: bool
    pressure: float
    sample_proxy: np.ndarray
    sample_true: np.ndarray


_SAMPLE = np.random.default_rng(0).standard_normal((2, 400))


def goodhart_curves(alignment_level: float, pressure: float = 8.0, harm: float = 0.25,
                    max_pressure: float = 20.0) -> GoodhartCurves:
    """Expected proxy and true value of best-of-n for n = 2^0 ... 2^max_pressure (the demo's compute step).

    ``pressure`` is the log2 n the learner is looking at; a fixed sample of 400 candidates (seed 0) is
    returned for the scatter plot.
    """
    _check_alignment(alignment_level)
    _check_harm(harm)
    if not (0.0 <= pressure <= max_pressure):
        raise ValueError(f"pressure must be in [0, {max_pressure}], got {pressure}")
    log2_n = np.arange(0.0, max_pressure + 0.25, 0.25)
    n = 2.0**log2_n
    proxy_mean, true_mean = expected_values(n, alignment_level, harm)
    peak, has_peak = peak_pressure(log2_n, true_mean)
    a, b = alignment_level, np.sqrt(1 - alignment_level**2)
    return GoodhartCurves(alignment_level, harm, log2_n, proxy_mean, true_mean, np.sqrt(best_of_n_kl(n)),
                          peak, has_peak, pressure, a * _SAMPLE[0] + b * _SAMPLE[1],
                          _SAMPLE[0] - harm * _SAMPLE[1] ** 2)


def setup_goodhart(fig) -> dict:
    """Static parts of the demo figure (limits, labels, legends); returns the artists that change."""
    ax, ax2 = fig.axes
    art = {
        "proxy": ax.plot([], [], color=COLORS["proxy"], lw=2, label="proxy (reward model)")[0],
        "true": ax.plot([], [], color=COLORS["true"], lw=2, label="true value")[0],
        "peak": ax.axvline(0.0, color=COLORS["true"], ls=":", lw=1),
        "peak_text": ax.text(0.0, 0.0, "peak", ha="center", va="bottom", color=COLORS["true"]),
        "here": ax.plot([], [], "o", color=COLORS["dark"], ms=5, label="chosen pressure")[0],
        "title": ax.set_title(" "),
        "rest": ax2.plot([], [], ".", ms=3, color=COLORS["neutral"], label="candidates")[0],
        "top": ax2.plot([], [], ".", ms=5, color=COLORS["bad"], label="top 1/n by proxy")[0],
        "star": ax2.plot([], [], "*", color=COLORS["dark"], ms=12, label="best-of-n (expected)")[0],
        "title2": ax2.set_title(" "),
    }
    ax.set_xlim(0, 20)
    ax.set_ylim(-6, 5.5)
    ax.legend(loc="lower left")
    label_axes(ax, "selection pressure  log2(n)", "expected score (std. units)")
    ax2.set_xlim(-4, 5)
    ax2.set_ylim(-8, 4)
    ax2.legend(loc="lower left")
    label_axes(ax2, "proxy score U", "true value V")
    return art


def draw_goodhart(art: dict, curves: GoodhartCurves, **_values) -> None:
    """Left: proxy and true value against pressure, with the peak. Right: the candidates, and where
    best-of-n at the chosen pressure picks from."""
    c = curves
    art["proxy"].set_data(c.log2_n, c.proxy_mean)
    art["true"].set_data(c.log2_n, c.true_mean)
    x_peak, y_peak = c.log2_n[c.peak_index], c.true_mean[c.peak_index]
    art["peak"].set_xdata([x_peak, x_peak])
    art["peak"].set_visible(c.has_peak)
    art["peak_text"].set_position((x_peak, y_peak + 0.2))
    art["peak_text"].set_visible(c.has_peak)
    j = int(np.argmin(np.abs(c.log2_n - c.pressure)))
    art["here"].set_data([c.log2_n[j]] * 2, [c.proxy_mean[j], c.true_mean[j]])
    art["title"].set_text(f"best-of-n, alignment a = {c.alignment_level:.2f}, harm κ = {c.harm:.2f}")
    threshold = np.sqrt(2.0) * special.erfinv(1.0 - 2.0 ** (1.0 - c.pressure)) if c.pressure > 0 else -np.inf
    top = c.sample_proxy >= threshold
    art["rest"].set_data(c.sample_proxy[~top], c.sample_true[~top])
    art["top"].set_data(c.sample_proxy[top], c.sample_true[top])
    art["star"].set_data([c.proxy_mean[j]], [c.true_mean[j]])
    art["title2"].set_text(f"{len(c.sample_proxy)} candidates; n = 2^{c.pressure:g}")


def demo_goodhart() -> InteractiveFigure:
    """Sliders: alignment level a, selection pressure log2 n, harm kappa of the exploited feature."""
    return InteractiveFigure(
        goodhart_curves, draw_goodhart,
        {"alignment_level": float_slider("alignment level a", 0.0, 1.0, 0.05, 0.7),
         "pressure": float_slider("pressure log2(n)", 0.0, 20.0, 0.5, 8.0),
         "harm": float_slider("harm κ", 0.0, 0.5, 0.05, 0.25)},
        setup=setup_goodhart, ncols=2, width=9.5, height=3.6)

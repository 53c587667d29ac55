"""Ethical decision frameworks (notebook 09): moral uncertainty, hard constraints, and group fairness.

Decision under moral uncertainty. ``scores[t, o]`` is how choiceworthy option ``o`` is according to moral
theory ``t`` (in that theory's own units), ``credences[t]`` the decision maker's credence in theory ``t``.

* ``expected_choiceworthiness``: EC(o) = sum_t c_t s_t(o) (MacAskill, Bykvist & Ord, *Moral Uncertainty*, OUP
  2020), after an optional per-theory ``normalise_scores`` ("range": min-max to [0, 1]; "variance":
  mean 0 and variance 1 across options, the variance voting of Cotton-Barratt, MacAskill & Ord 2020,
  J. Phil. 117(2):61-95).
* Hard constraints: ``forbidden[t, o]`` marks options theory ``t`` rules out whatever the benefits; they are
  filtered *before* scoring (``permissible``), so no trade-off can buy them back.
* ``sensitivity_map``: which option wins at every credence vector of a grid over the simplex of three theories.

Group fairness of a binary classifier (Hardt, Price & Srebro 2016, arXiv 1610.02413):
``demographic_parity_difference`` and ``equalized_odds_difference`` return the same values as
``fairlearn.metrics`` on the same inputs, except that where a group has no positive (or no negative) labels,
its true-positive (false-positive) rate is undefined: fairlearn silently uses 0, we warn and leave that rate
out. ``group_rates`` gives the per-group table; Kleinberg, Mullainathan & Raghavan (2016, arXiv 1609.05807)
and Chouldechova (2017, arXiv 1703.00056) explain why these criteria cannot all hold when base rates differ;
``equalized_odds_postprocess`` is Hardt et al.'s constructive answer for equalised odds alone: randomised group
thresholds on the ROC hulls reach equal TPR and FPR exactly (in expectation).

Auditing a scored classifier across identity groups (Borkan, Dixon, Sorensen, Thain & Vasserman 2019,
arXiv 1903.04561): ``bias_aucs`` gives subgroup AUC, BPSN and BNSP AUC; ``cluster_bootstrap`` percentile
intervals that resample whole clusters (e.g. template families) instead of single texts.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np

from helpers.plotting import COLORS, label_axes
from helpers.stats import cluster_bootstrap
from helpers.validation import finite_matrix
from helpers.widgets import InteractiveFigure, float_slider

__all__ = [
    "normalise_scores",
    "permissible",
    "expected_choiceworthiness",
    "choose",
    "credences_from_sliders",
    "simplex_grid",
    "sensitivity_map",
    "group_rates",
    "demographic_parity_difference",
    "equalized_odds_difference",
    "chouldechova_fpr",
    "synthetic_risk_scores",
    "min_fairness_gap",
    "roc_hull",
    "EqualizedOddsPost",
    "equalized_odds_postprocess",
    "auc",
    "bias_aucs",
    "cluster_bootstrap",
    "bias_audit",
    "IDENTITY_GROUPS",
    "identity_audit_set",
    "SCENARIO_OPTIONS",
    "SCENARIO_THEORIES",
    "SCENARIO_SCORES",
    "SCENARIO_FORBIDDEN",
    "MoralChoice",
    "moral_uncertainty_maps",
    "moral_uncertainty_view",
    "setup_moral_uncertainty",
    "draw_moral_uncertainty",
    "demo_moral_uncertainty",
]

# ------------------------------------------------------------------------------------------ scenario
# An assistant learns, mid-conversation, that a user plans something that may harm a third party.
SCENARIO_OPTIONS = ["help as asked", "help, leave out the risky part", "refuse and explain",
                    "pretend not to know", "secretly alert a third party"]
SCENARIO_THEORIES = ["consequentialist", "deontological", "virtue / care"]
# Each theory in its own units: expected welfare change (people affected), duty score (-10..10), character (0..1).
SCENARIO_SCORES = np.array([
    [-40.0, 10.0, 5.0, 8.0, 60.0],
    [2.0, 4.0, 6.0, -10.0, -8.0],
    [0.2, 0.8, 0.6, 0.1, 0.4],
])
# Deontology forbids deception and covert disclosure behind the user's back, whatever they achieve.
SCENARIO_FORBIDDEN = np.array([
    [False, False, False, False, False],
    [False, False, False, True, True],
    [False, False, False, False, False],
])


# --------------------------------------------------------------------------------- moral uncertainty
def _scores(scores: np.ndarray) -> np.ndarray:
    return finite_matrix(scores, "scores", "n_theories", "n_options")


def _credences(credences: np.ndarray, n_theories: int) -> np.ndarray:
    c = np.asarray(credences, dtype=float)
    if c.shape != (n_theories,) or not np.all(np.isfinite(c)) or np.any(c < 0):
        raise ValueError(f"credences must be {n_theories} finite non-negative numbers, got {credences}")
    if not np.isclose(c.sum(), 1.0, atol=1e-9):
        raise ValueError(f"credences must sum to 1, got sum {c.sum():.6g}")
    return c


def normalise_scores(scores: np.ndarray, method: str = "none") -> np.ndarray:
    """Rescale each theory's row: "none", "range" ((s - min) / (max - min)) or "variance" ((s - mean) / std).

    A theory that ranks all options equally (zero range/variance) gets a row of zeros. Both "range" and
    "variance" make EC invariant to a positive affine change of any one theory's units; "none" does not.
    """
    s = _scores(scores)
    if method == "none":
        return s.copy()
    if method == "range":
        lo, spread = s.min(axis=1, keepdims=True), np.ptp(s, axis=1, keepdims=True)
        return np.divide(s - lo, spread, out=np.zeros_like(s), where=spread > 0)
    if method == "variance":
        mu, sd = s.mean(axis=1, keepdims=True), s.std(axis=1, keepdims=True)
        return np.divide(s - mu, sd, out=np.zeros_like(s), where=sd > 0)
    raise ValueError(f"method must be 'none', 'range' or 'variance', got {method!r}")


def permissible(forbidden: np.ndarray | None, credences: np.ndarray, n_options: int,
                min_credence: float = 0.0) -> np.ndarray:
    """Boolean mask of options no theory with credence > ``min_credence`` forbids."""
    if forbidden is None:
        return np.ones(n_options, dtype=bool)
    f = np.asarray(forbidden, dtype=bool)
    c = np.asarray(credences, dtype=float)
    if f.shape != (c.shape[0], n_options):
        raise ValueError(f"forbidden must have shape [n_theories, n_options] = {(c.shape[0], n_options)}, got {f.shape}")
    return ~np.any(f[c > min_credence], axis=0)


def expected_choiceworthiness(scores: np.ndarray, credences: np.ndarray, forbidden: np.ndarray | None = None,
                              normalisation: str = "none") -> np.ndarray:
    """EC(o) = sum_t c_t s_t(o) after normalisation; options a theory with positive credence forbids get -inf.

    MacAskill, Bykvist & Ord (2020), *Moral Uncertainty*, the maximise-expected-choiceworthiness rule.
    """
    s = normalise_scores(scores, normalisation)
    c = _credences(credences, s.shape[0])
    ec = c @ s
    return np.where(permissible(forbidden, c, s.shape[1]), ec, -np.inf)


def choose(scores: np.ndarray, credences: np.ndarray, forbidden: np.ndarray | None = None,
           normalisation: str = "none") -> list[int]:
    """All options with the highest expected choiceworthiness (``[]`` if every option is forbidden)."""
    ec = expected_choiceworthiness(scores, credences, forbidden, normalisation)
    if not np.any(np.isfinite(ec)):
        return []
    best = ec[np.isfinite(ec)].max()
    return [int(i) for i in np.flatnonzero(ec >= best - 1e-9 * max(1.0, abs(best)))]


def credences_from_sliders(first: float, share_second: float) -> np.ndarray:
    """Three credences from two sliders: c1 = first, the rest split share_second : (1 - share_second)."""
    if not (0.0 <= first <= 1.0 and 0.0 <= share_second <= 1.0):
        raise ValueError(f"first and share_second must be in [0, 1], got {first}, {share_second}")
    rest = 1.0 - first
    return np.array([first, rest * share_second, rest * (1.0 - share_second)])


def simplex_grid(n: int = 101) -> tuple[np.ndarray, np.ndarray]:
    """Credence grid for three theories: c1 along x, c2 along y (both in [0, 1]), c3 = 1 - c1 - c2.

    Returns (credences [n, n, 3], inside [n, n]); points with c1 + c2 > 1 are outside the simplex."""
    if n < 2:
        raise ValueError(f"n must be at least 2, got {n}")
    g = np.linspace(0.0, 1.0, n)
    c1, c2 = np.meshgrid(g, g)  # rows: c2, columns: c1
    c3 = 1.0 - c1 - c2
    inside = c3 >= -1e-12
    return np.stack([c1, c2, np.clip(c3, 0.0, None)], axis=-1), inside


def sensitivity_map(scores: np.ndarray, forbidden: np.ndarray | None = None, normalisation: str = "none",
                    n: int = 101) -> np.ndarray:
    """Winning option (first if tied) at every point of ``simplex_grid(n)``; -1 outside the simplex or when
    every option is forbidden. Hard constraints apply wherever the forbidding theory has positive credence."""
    s = normalise_scores(scores, normalisation)
    if s.shape[0] != 3:
        raise ValueError(f"sensitivity_map needs exactly three theories, got {s.shape[0]}")
    cred, inside = simplex_grid(n)
    ec = cred @ s  # [n, n, options]
    if forbidden is not None:
        f = np.asarray(forbidden, dtype=bool)
        if f.shape != s.shape:
            raise ValueError(f"forbidden must have shape {s.shape}, got {f.shape}")
        blocked = np.einsum("ijt,to->ijo", (cred > 0).astype(float), f.astype(float)) > 0
        ec = np.where(blocked, -np.inf, ec)
    winner = np.argmax(ec, axis=-1)
    winner[~np.isfinite(ec.max(axis=-1))] = -1
    winner[~inside] = -1
    return winner


# ---------------------------------------------------------------------------------------- fairness
def _fairness_inputs(y_true, y_pred, sensitive_features, sample_weight):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    groups = np.asarray(sensitive_features)
    if y_true.ndim != 1 or y_pred.shape != y_true.shape or y_true.size == 0:
        raise ValueError(f"y_true and y_pred must be 1-D arrays of the same non-zero length, got shapes "
                         f"{y_true.shape} and {y_pred.shape}")
    if groups.shape[0] != y_true.shape[0] or groups.ndim not in (1, 2):
        raise ValueError(f"sensitive_features must have one row per sample ({y_true.shape[0]}), got shape {groups.shape}")
    for name, arr in (("y_true", y_true), ("y_pred", y_pred)):
        if not np.all(np.isin(arr, [0, 1])):
            raise ValueError(f"{name} must hold binary labels 0/1")
    w = np.ones(y_true.shape[0]) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    if w.shape != y_true.shape or np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError("sample_weight must be non-negative, finite, one per sample")
    if groups.ndim == 2:  # intersectional groups, as fairlearn does with several sensitive features
        groups = np.array(["|".join(map(str, row)) for row in groups])
    return y_true.astype(int), y_pred.astype(int), groups, w


@dataclass(frozen=True)
class GroupRates:
    """Per-group rates; an undefined rate (no positives / no negatives in the group) is NaN."""

    groups: list
    selection_rate: np.ndarray
    true_positive_rate: np.ndarray
    false_positive_rate: np.ndarray
    base_rate: np.ndarray
    positive_predictive_value: np.ndarray
    overall: dict


def _rates(y, p, w) -> tuple[float, float, float, float, float]:
    pos, neg, sel = y == 1, y == 0, p == 1
    tot = w.sum()
    sr = float((w * sel).sum() / tot) if tot > 0 else float("nan")
    tpr = float((w * (pos & sel)).sum() / (w * pos).sum()) if (w * pos).sum() > 0 else float("nan")
    fpr = float((w * (neg & sel)).sum() / (w * neg).sum()) if (w * neg).sum() > 0 else float("nan")
    br = float((w * pos).sum() / tot) if tot > 0 else float("nan")
    ppv = float((w * (pos & sel)).sum() / (w * sel).sum()) if (w * sel).sum() > 0 else float("nan")
    return sr, tpr, fpr, br, ppv


def group_rates(y_true, y_pred, sensitive_features, sample_weight=None) -> GroupRates:
    """Selection rate, TPR, FPR, base rate and PPV of every group (sorted group labels) and overall."""
    y, p, g, w = _fairness_inputs(y_true, y_pred, sensitive_features, sample_weight)
    labels = sorted(np.unique(g).tolist())
    table = np.array([_rates(y[g == lab], p[g == lab], w[g == lab]) for lab in labels])
    sr, tpr, fpr, br, ppv = _rates(y, p, w)
    return GroupRates(labels, table[:, 0], table[:, 1], table[:, 2], table[:, 3], table[:, 4],
                      {"selection_rate": sr, "true_positive_rate": tpr, "false_positive_rate": fpr,
                       "base_rate": br, "positive_predictive_value": ppv})


def _difference(values: np.ndarray, overall: float, method: str) -> float:
    v = values[np.isfinite(values)]
    if v.size == 0:
        return float("nan")
    if method == "between_groups":
        return float(v.max() - v.min())
    if method == "to_overall":
        return float(np.max(np.abs(v - overall)))
    raise ValueError(f"method must be 'between_groups' or 'to_overall', got {method!r}")


def demographic_parity_difference(y_true, y_pred, sensitive_features, method: str = "between_groups",
                                  sample_weight=None) -> float:
    """max - min over groups of the selection rate P(y_pred = 1 | group) (``fairlearn.metrics`` equivalent).

    0 means demographic parity (Calders & Verwer 2010; Dwork et al. 2012, arXiv 1104.3913)."""
    rates = group_rates(y_true, y_pred, sensitive_features, sample_weight)
    return _difference(rates.selection_rate, rates.overall["selection_rate"], method)


def equalized_odds_difference(y_true, y_pred, sensitive_features, method: str = "between_groups",
                              sample_weight=None, agg: str = "worst_case") -> float:
    """Larger (``agg="worst_case"``) or mean (``agg="mean"``) of the TPR difference and the FPR difference
    between groups (Hardt, Price & Srebro 2016, arXiv 1610.02413; ``fairlearn.metrics`` equivalent).

    A group without positive labels has no TPR, one without negatives no FPR: we warn (``UserWarning``) and
    leave that group out of that difference, where fairlearn silently counts the rate as 0."""
    if agg not in ("worst_case", "mean"):
        raise ValueError(f"agg must be 'worst_case' or 'mean', got {agg!r}")
    rates = group_rates(y_true, y_pred, sensitive_features, sample_weight)
    for name, values in (("positive", rates.true_positive_rate), ("negative", rates.false_positive_rate)):
        missing = [rates.groups[i] for i in np.flatnonzero(~np.isfinite(values))]
        if missing:
            kind = "true" if name == "positive" else "false"
            warnings.warn(f"group(s) {missing} have no {name} labels: their {kind}-positive rate is undefined and "
                          f"left out (fairlearn would count it as 0)", UserWarning, stacklevel=2)
    tpr_d = _difference(rates.true_positive_rate, rates.overall["true_positive_rate"], method)
    fpr_d = _difference(rates.false_positive_rate, rates.overall["false_positive_rate"], method)
    both = np.array([tpr_d, fpr_d])
    if np.all(np.isnan(both)):
        return float("nan")
    return float(np.nanmax(both) if agg == "worst_case" else np.nanmean(both))


def chouldechova_fpr(base_rate: float, ppv: float, tpr: float) -> float:
    """FPR implied by base rate p, PPV and TPR: FPR = p / (1 - p) * (1 - PPV) / PPV * TPR (Chouldechova 2017,
    arXiv 1703.00056). Equal PPV and TPR with unequal p force unequal FPR."""
    if not (0 < base_rate < 1 and 0 < ppv <= 1 and 0 <= tpr <= 1):
        raise ValueError(f"need 0 < base_rate < 1, 0 < ppv <= 1, 0 <= tpr <= 1; got {base_rate}, {ppv}, {tpr}")
    return base_rate / (1 - base_rate) * (1 - ppv) / ppv * tpr


def synthetic_risk_scores(n_per_group: int = 5000, base_rates: tuple[float, float] = (0.3, 0.5),
                          concentration: float = 4.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A calibrated risk score for two groups with different base rates.

    Each person has a true risk q ~ Beta(k p_g, k (1 - p_g)) (mean p_g) and outcome y ~ Bernoulli(q); the
    score *is* q, so P(y = 1 | score = s, group) = s in every group (calibration within groups). Returns
    (score, y, group) with group in {0, 1}.
    """
    if n_per_group < 1 or concentration <= 0:
        raise ValueError(f"need n_per_group >= 1 and concentration > 0, got {n_per_group}, {concentration}")
    if len(base_rates) != 2 or not all(0 < b < 1 for b in base_rates):
        raise ValueError(f"base_rates must be two numbers in (0, 1), got {base_rates}")
    rng = np.random.default_rng(seed)
    scores, ys, gs = [], [], []
    for g, p in enumerate(base_rates):
        q = rng.beta(concentration * p, concentration * (1 - p), size=n_per_group)
        scores.append(q)
        ys.append((rng.uniform(size=n_per_group) < q).astype(int))
        gs.append(np.full(n_per_group, g))
    return np.concatenate(scores), np.concatenate(ys), np.concatenate(gs)


def min_fairness_gap(score: np.ndarray, y_true: np.ndarray, group: np.ndarray,
                     thresholds: np.ndarray | None = None, min_tpr: float = 0.5) -> tuple[float, float, float]:
    """Search group-specific thresholds (t0 for group 0, t1 for group 1) for the smallest
    max(|TPR gap|, |FPR gap|, |PPV gap|) among classifiers with TPR >= ``min_tpr`` in both groups.

    Returns (gap, t0, t1). With calibrated scores and different base rates the gap stays well above 0
    (Kleinberg et al. 2016, arXiv 1609.05807; Chouldechova 2017, arXiv 1703.00056).
    """
    score, y, g = np.asarray(score, dtype=float), np.asarray(y_true), np.asarray(group)
    if not (score.shape == y.shape == g.shape) or score.ndim != 1:
        raise ValueError("score, y_true and group must be 1-D arrays of the same length")
    if set(np.unique(g).tolist()) != {0, 1}:
        raise ValueError("group must hold the two groups 0 and 1")
    ts = np.linspace(0.05, 0.95, 91) if thresholds is None else np.asarray(thresholds, dtype=float)
    rates = []
    for k in (0, 1):
        sk, yk = score[g == k], y[g == k]
        if (yk == 1).sum() == 0 or (yk == 0).sum() == 0:
            raise ValueError(f"group {k} needs both positive and negative labels")
        sel = sk[None, :] > ts[:, None]
        tpr = (sel & (yk == 1)).sum(1) / (yk == 1).sum()
        fpr = (sel & (yk == 0)).sum(1) / (yk == 0).sum()
        ppv = np.divide((sel & (yk == 1)).sum(1), sel.sum(1), out=np.zeros(len(ts)), where=sel.sum(1) > 0)
        rates.append((tpr, fpr, ppv))
    gap = np.maximum.reduce([np.abs(rates[0][i][:, None] - rates[1][i][None, :]) for i in range(3)])
    ok = (rates[0][0][:, None] >= min_tpr) & (rates[1][0][None, :] >= min_tpr)
    if not ok.any():
        raise ValueError(f"no thresholds reach TPR >= {min_tpr} in both groups")
    gap = np.where(ok, gap, np.inf)
    i, j = np.unravel_index(np.argmin(gap), gap.shape)
    return float(gap[i, j]), float(ts[i]), float(ts[j])


def roc_hull(score: np.ndarray, y_true: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Upper concave hull of the empirical ROC curve of ``flag if score >= t``.

    Returns (fpr, tpr, thresholds) of the hull vertices, FPR strictly increasing from 0 (the best classifier
    with no false positives; threshold +inf = flag nothing if none catches a positive) to (1, 1) (threshold =
    the smallest score). Every point on the hull is reached by randomising between the two
    threshold classifiers at its ends (Hardt, Price & Srebro 2016, Section 4)."""
    score, y = np.asarray(score, dtype=float), np.asarray(y_true).astype(int)
    if score.ndim != 1 or score.shape != y.shape or (y == 1).sum() == 0 or (y == 0).sum() == 0:
        raise ValueError("score and y_true must be 1-D of one length, with positive and negative labels")
    ts = np.r_[np.inf, np.unique(score)[::-1]]
    pos, neg = np.sort(score[y == 1]), np.sort(score[y == 0])
    tpr = 1 - np.searchsorted(pos, ts, side="left") / len(pos)  # fraction of positives with score >= t
    fpr = 1 - np.searchsorted(neg, ts, side="left") / len(neg)
    hull: list[int] = []
    for i in range(len(ts)):  # Andrew's monotone chain, upper hull (points already sorted by fpr, then tpr)
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            cross = (fpr[b] - fpr[a]) * (tpr[i] - tpr[a]) - (tpr[b] - tpr[a]) * (fpr[i] - fpr[a])
            if cross >= 0:
                hull.pop()
            else:
                break
        hull.append(i)
    h = np.array(hull)
    keep = np.r_[fpr[h][1:] != fpr[h][:-1], True]  # at equal FPR keep only the highest TPR (a vertical edge)
    h = h[keep]
    return fpr[h], tpr[h], ts[h]


def _hull_flag_probability(score: np.ndarray, fpr_h: np.ndarray, tpr_h: np.ndarray, ts_h: np.ndarray,
                           target_fpr: float) -> tuple[np.ndarray, float]:
    """Per-example flag probability of the hull point at ``target_fpr``, and its TPR."""
    j = int(np.searchsorted(fpr_h, target_fpr, side="left"))
    j = min(max(j, 1), len(fpr_h) - 1)
    lo, hi = j - 1, j
    mu = 0.0 if fpr_h[hi] == fpr_h[lo] else (target_fpr - fpr_h[lo]) / (fpr_h[hi] - fpr_h[lo])
    prob = (1 - mu) * (score >= ts_h[lo]) + mu * (score >= ts_h[hi])
    return prob, float((1 - mu) * tpr_h[lo] + mu * tpr_h[hi])


@dataclass(frozen=True)
class EqualizedOddsPost:
    """Hardt et al.'s post-processed classifier: flag probability per example and its expected rates."""

    flag_probability: np.ndarray
    fpr: np.ndarray          # expected FPR per group (groups 0, 1, ...)
    tpr: np.ndarray          # expected TPR per group
    target: tuple[float, float]


def equalized_odds_postprocess(score: np.ndarray, y_true: np.ndarray, group: np.ndarray,
                               n_grid: int = 201) -> EqualizedOddsPost:
    """Equalised odds by randomised group thresholds (Hardt, Price & Srebro 2016, arXiv 1610.02413, Sec. 4).

    Each group's achievable (FPR, TPR) set is the region between its ROC hull and the diagonal. The common
    target (f, t) maximises t - f over a grid of f, with t = min over groups of hull_g(f); each group reaches
    it by mixing the hull classifier at f with a coin that flags with probability f. Expected rates are equal
    across groups exactly (up to rounding), unlike any pair of deterministic thresholds."""
    score, y, g = np.asarray(score, dtype=float), np.asarray(y_true).astype(int), np.asarray(group)
    if not (score.shape == y.shape == g.shape) or score.ndim != 1:
        raise ValueError("score, y_true and group must be 1-D arrays of the same length")
    labels = sorted(np.unique(g).tolist())
    hulls = [roc_hull(score[g == lab], y[g == lab]) for lab in labels]
    fs = np.linspace(0.0, 1.0, int(n_grid))
    t_common = np.min([np.interp(fs, h[0], h[1]) for h in hulls], axis=0)
    k = int(np.argmax(t_common - fs))
    f, t = float(fs[k]), float(t_common[k])
    prob = np.zeros(len(score))
    for lab, (fh, th, tsh) in zip(labels, hulls, strict=True):
        m = g == lab
        p_hull, t_hull = _hull_flag_probability(score[m], fh, th, tsh, f)
        lam = 1.0 if t_hull - f <= 0 else (t - f) / (t_hull - f)
        prob[m] = lam * p_hull + (1 - lam) * f
    fpr = np.array([prob[(g == lab) & (y == 0)].mean() for lab in labels])
    tpr = np.array([prob[(g == lab) & (y == 1)].mean() for lab in labels])
    return EqualizedOddsPost(prob, fpr, tpr, (f, t))


def auc(scores_pos: np.ndarray, scores_neg: np.ndarray) -> float:
    """P(score of a random positive > score of a random negative), ties counting 1/2 (Mann-Whitney)."""
    a, b = np.asarray(scores_pos, dtype=float), np.asarray(scores_neg, dtype=float)
    if a.size == 0 or b.size == 0:
        return float("nan")
    both = np.r_[a, b]
    order = np.argsort(both, kind="stable")
    ranks = np.empty(len(both))
    sorted_vals = both[order]
    _, first, counts = np.unique(sorted_vals, return_index=True, return_counts=True)
    ranks[order] = np.repeat(first + (counts + 1) / 2.0, counts)  # mid-ranks, 1-based
    return float((ranks[: a.size].sum() - a.size * (a.size + 1) / 2) / (a.size * b.size))


def bias_aucs(score: np.ndarray, y_true: np.ndarray, in_group: np.ndarray) -> dict[str, float]:
    """Borkan et al. (2019, arXiv 1903.04561) bias AUCs of a toxicity score for one identity subgroup.

    * subgroup AUC: positives vs negatives *within* the subgroup;
    * BPSN (background positive, subgroup negative): background positives vs subgroup negatives; low means
      the subgroup's innocent texts score like real harm elsewhere (false positives for the group);
    * BNSP (background negative, subgroup positive): subgroup positives vs background negatives; low means
      harm against the subgroup scores like innocent text (false negatives).
    A value is NaN when one of its two sets is empty."""
    s, y, gm = np.asarray(score, dtype=float), np.asarray(y_true).astype(int), np.asarray(in_group, dtype=bool)
    if not (s.shape == y.shape == gm.shape) or s.ndim != 1:
        raise ValueError("score, y_true and in_group must be 1-D arrays of the same length")
    pos, neg = y == 1, y == 0
    return {"subgroup_auc": auc(s[gm & pos], s[gm & neg]), "bpsn_auc": auc(s[~gm & pos], s[gm & neg]),
            "bnsp_auc": auc(s[gm & pos], s[~gm & neg])}


def bias_audit(score: np.ndarray, y_true: np.ndarray, in_group: np.ndarray, clusters: np.ndarray,
               threshold: float = 0.5, n_boot: int = 2000, seed: int = 0,
               level: float = 0.95) -> dict[str, tuple[float, float, float]]:
    """False-positive rate at ``threshold`` and the three bias AUCs of ``bias_aucs`` for one subgroup, each as
    (estimate, low, high) with a percentile cluster bootstrap (whole clusters resampled, the same draws for all
    four). Vectorised: each AUC is a weighted sum of per-cluster-pair comparison counts, so ``n_boot`` draws
    cost one matrix product."""
    s, y = np.asarray(score, dtype=float), np.asarray(y_true).astype(int)
    gm, cl = np.asarray(in_group, dtype=bool), np.asarray(clusters)
    if not (s.shape == y.shape == gm.shape == cl.shape) or s.ndim != 1:
        raise ValueError("score, y_true, in_group and clusters must be 1-D arrays of the same length")
    if n_boot < 1 or not (0 < level < 1):
        raise ValueError(f"need n_boot >= 1 and 0 < level < 1, got {n_boot}, {level}")
    _, idx = np.unique(cl, return_inverse=True)
    k = idx.max() + 1
    rng = np.random.default_rng(seed)
    W = np.stack([np.bincount(rng.integers(0, k, k), minlength=k) for _ in range(int(n_boot))]).astype(float)

    def onehot(mask: np.ndarray) -> np.ndarray:
        A = np.zeros((mask.sum(), k))
        A[np.arange(mask.sum()), idx[mask]] = 1.0
        return A

    def auc_parts(pos: np.ndarray, neg: np.ndarray):
        if not pos.any() or not neg.any():
            return None
        G = (s[pos][:, None] > s[neg][None, :]) + 0.5 * (s[pos][:, None] == s[neg][None, :])
        Ap, An = onehot(pos), onehot(neg)
        return Ap.T @ G @ An, Ap.sum(0), An.sum(0)

    out = {}
    sub_neg = gm & (y == 0)
    flagged = np.bincount(idx[sub_neg], weights=(s[sub_neg] >= threshold).astype(float), minlength=k)
    total = np.bincount(idx[sub_neg], minlength=k).astype(float)
    parts = {"fpr": (flagged, total)}
    pos, neg = y == 1, y == 0
    for name, (p_mask, n_mask) in {"subgroup_auc": (gm & pos, gm & neg), "bpsn_auc": (~gm & pos, gm & neg),
                                   "bnsp_auc": (gm & pos, ~gm & neg)}.items():
        parts[name] = auc_parts(p_mask, n_mask)
    ones = np.ones(k)
    for name, part in parts.items():
        if part is None or (name == "fpr" and part[1].sum() == 0):
            out[name] = (float("nan"), float("nan"), float("nan"))
            continue
        if name == "fpr":
            num, den = W @ part[0], W @ part[1]
            point = part[0].sum() / part[1].sum()
        else:
            C, npos, nneg = part
            num, den = np.einsum("bi,ij,bj->b", W, C, W), (W @ npos) * (W @ nneg)
            point = (ones @ C @ ones) / (npos.sum() * nneg.sum())
        ok = den > 0
        lo, hi = np.quantile(num[ok] / den[ok], [(1 - level) / 2, (1 + level) / 2])
        out[name] = (float(point), float(lo), float(hi))
    return out


# Identity groups of the course's moderation data (notebook 11), and an audit set written for notebook 09 in
# the manner of Dixon et al. (2018) and Borkan et al. (2019): the same sentence frames filled with every group,
# so that differences between groups cannot come from the frames. The frames are new (not in notebook 11's
# templates); hostile frames are classroom-safe (no slurs, no threats of violence).
IDENTITY_GROUPS: tuple[str, ...] = (
    "immigrants", "refugees", "foreigners", "disabled people", "women", "old people", "poor people",
    "gay people", "people of other religions", "people with accents", "migrants", "trans people")
_AUDIT_BENIGN = (
    "I am one of the {g} in my town", "my manager hired two {g} last month", "{g} are welcome at our meetup",
    "a podcast interview with {g} about their work", "the library started a book club for {g}",
    "we asked {g} what they think about the new park", "a study of how {g} use public transport",
    "our team includes {g} and everyone gets along", "{g} spoke at the council meeting yesterday",
    "the charity helps {g} find housing", "is there a support group for {g} near me",
    "my cousin wrote a song about {g}")
_AUDIT_HOSTILE = (
    "{g} should not be allowed in our town", "I can't stand {g}, they should all leave", "{g} are worthless",
    "nobody should ever hire {g}", "{g} are a danger to everyone", "keep {g} away from our children",
    "{g} don't belong here and never will", "we should make life hard for {g} until they go",
    "{g} are the reason everything is broken", "throw {g} out of the country", "{g} should have no rights at all",
    "there is no place for {g} in this society")
_AUDIT_STYLES = ("{t}", "honestly, {t}", "{t}.")


def identity_audit_set() -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """(texts, is_hostile, group index, frame index): every frame of ``_AUDIT_BENIGN`` and ``_AUDIT_HOSTILE`` with
    every group of ``IDENTITY_GROUPS`` in three neutral styles: 36 benign and 36 hostile texts per group, from 12
    frames each. Frames are the clusters for ``cluster_bootstrap`` (texts of one frame are near-duplicates)."""
    texts, hostile, group, frame = [], [], [], []
    for label, frames in ((0, _AUDIT_BENIGN), (1, _AUDIT_HOSTILE)):
        for f, template in enumerate(frames):
            for gi, g in enumerate(IDENTITY_GROUPS):
                for style in _AUDIT_STYLES:
                    texts.append(style.format(t=template.format(g=g)))
                    hostile.append(label)
                    group.append(gi)
                    frame.append(f + label * len(_AUDIT_BENIGN))
    return texts, np.array(hostile), np.array(group), np.array(frame)


# --------------------------------------------------------------------------------------------- demo
_OPTION_COLORS = [COLORS["proxy"], COLORS["good"], COLORS["true"], COLORS["neutral"], COLORS["bad"]]


@dataclass(frozen=True)
class MoralChoice:
    credences: np.ndarray
    ec: np.ndarray
    winner: int
    winner_map: np.ndarray


def moral_uncertainty_maps(n: int = 61) -> dict[tuple[str, bool], np.ndarray]:
    """``sensitivity_map`` of the scenario for every (normalisation, constrained) setting of the demo."""
    return {(norm, constrained): sensitivity_map(SCENARIO_SCORES, SCENARIO_FORBIDDEN if constrained else None,
                                                 norm, n=n)
            for norm in ("none", "range", "variance") for constrained in (False, True)}


def moral_uncertainty_view(maps: dict[tuple[str, bool], np.ndarray], consequentialist: float,
                           deontology_share: float, normalisation: str, constraints: bool) -> MoralChoice:
    """The demo's compute: credences from the sliders, expected choiceworthiness of each option, the winner, and
    the precomputed winner map of this (normalisation, constraints) setting."""
    c = credences_from_sliders(consequentialist, deontology_share)
    ec = expected_choiceworthiness(SCENARIO_SCORES, c, SCENARIO_FORBIDDEN if constraints else None, normalisation)
    return MoralChoice(c, ec, int(np.argmax(ec)), maps[(normalisation, bool(constraints))])


def setup_moral_uncertainty(fig) -> dict:
    """Static parts: the winner map (left) and the expected-choiceworthiness bars (right)."""
    ax_map, ax_bar = fig.axes
    from matplotlib.colors import ListedColormap

    cmap = ListedColormap(["white"] + _OPTION_COLORS)
    im = ax_map.imshow(np.zeros((61, 61)), origin="lower", extent=(0, 1, 0, 1), cmap=cmap, vmin=-1.5,
                       vmax=4.5, interpolation="nearest", aspect="equal")
    label_axes(ax_map, "credence: consequentialist", "credence: deontological")
    ax_map.set_title("winner at each credence (rest: virtue)", fontsize=10)
    (dot,) = ax_map.plot([], [], "o", ms=9, mfc="white", mec="black", mew=2)
    bars = ax_bar.barh(np.arange(5), np.zeros(5), color=_OPTION_COLORS)
    ax_bar.set_yticks(np.arange(5), SCENARIO_OPTIONS, fontsize=8)
    ax_bar.invert_yaxis()
    ax_bar.set_xlim(-1.6, 1.6)
    ax_bar.axvline(0, color=COLORS["dark"], lw=0.8)
    ax_bar.set_xlabel("expected choiceworthiness (scaled to max |EC| = 1)")
    text = ax_bar.text(0.0, -0.7, "winner: placeholder text for layout", ha="center", fontsize=9)
    return {"im": im, "dot": dot, "bars": list(bars), "text": text}


def draw_moral_uncertainty(art: dict, res: MoralChoice, **_values) -> None:
    """Update the map, the credence dot, the bars (hatched where an option is forbidden) and the caption."""
    art["im"].set_data(res.winner_map)
    art["dot"].set_data([res.credences[0]], [res.credences[1]])
    finite = np.isfinite(res.ec)
    scale = np.max(np.abs(res.ec[finite])) if finite.any() else 1.0
    for i, bar in enumerate(art["bars"]):
        bar.set_width(res.ec[i] / scale if finite[i] and scale > 0 else 0.0)
        bar.set_hatch(None if finite[i] else "//")
        bar.set_alpha(1.0 if finite[i] else 0.3)
    c = res.credences
    art["text"].set_text(f"credences {c[0]:.2f} / {c[1]:.2f} / {c[2]:.2f}: {SCENARIO_OPTIONS[res.winner]}")


def demo_moral_uncertainty() -> InteractiveFigure:
    """Sliders: credence in consequentialism, the share of the rest for deontology; normalisation; constraints."""
    return InteractiveFigure(
        functools.partial(moral_uncertainty_view, moral_uncertainty_maps()), draw_moral_uncertainty,
        {"consequentialist": float_slider("credence: consequentialist", 0.0, 1.0, 0.05, 0.4),
         "deontology_share": float_slider("deontology's share of the rest", 0.0, 1.0, 0.05, 0.5),
         "normalisation": widgets.Dropdown(options=["none", "range", "variance"], value="none",
                                           description="normalisation"),
         "constraints": widgets.Checkbox(value=False, description="hard constraints")},
        setup=setup_moral_uncertainty, ncols=2, width=10.0, height=4.0)

"""Content moderation: a keyword baseline, a learned moderator, normalisation, and how to measure them (notebook 11).

Submodules: ``text`` (``normalize`` and the obfuscations it undoes), ``data`` (the shipped, template-built data
set; see ``DATASHEET.md``), ``model`` (``keyword_baseline``, ``train_moderator``, ``load_moderator``). This
module re-exports them and adds the evaluation: precision/recall/F1, the precision-recall curve and average
precision (as in scikit-learn), Wilson intervals, the robustness table and the threshold demo.

The taxonomy is a reduced version of Llama Guard's (Inan et al., 2023, arXiv 2312.06674).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import numpy as np

from helpers.moderation.data import CATEGORIES, LABELS, Dataset, build_dataset, load_dataset
from helpers.moderation.model import (
    KEYWORDS,
    KeywordModerator,
    LearnedModerator,
    keyword_baseline,
    load_moderator,
    save_moderator,
    train_moderator,
    validate_texts,
)
from helpers.moderation.text import (
    OBFUSCATIONS,
    collapse_spaced_letters,
    fold_confusables,
    fold_leetspeak,
    normalize,
    obfuscate,
    remove_invisible,
    squeeze_repeats,
)
from helpers.plotting import COLORS, label_axes
from helpers.widgets import InteractiveFigure, float_slider

__all__ = [
    "CATEGORIES", "LABELS", "KEYWORDS", "OBFUSCATIONS", "Dataset", "KeywordModerator", "LearnedModerator",
    "build_dataset", "load_dataset", "keyword_baseline", "train_moderator", "load_moderator", "save_moderator",
    "normalize", "remove_invisible", "fold_confusables", "fold_leetspeak", "collapse_spaced_letters",
    "squeeze_repeats", "obfuscate", "validate_texts",
    "precision_recall_f1", "confusion_counts", "pr_curve", "average_precision", "wilson_interval",
    "robustness_table", "ThresholdView", "threshold_view", "setup_threshold", "draw_threshold", "demo_threshold",
]


def _binary(y: Any, name: str) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.dtype != bool and not np.isin(arr, [0, 1]).all():
        raise ValueError(f"{name} must hold booleans or 0/1")
    return arr.astype(bool)


def confusion_counts(y_true: Any, y_pred: Any) -> np.ndarray:
    """The 2 × 2 confusion matrix [[TN, FP], [FN, TP]] (rows: truth safe/unsafe; columns: predicted)."""
    t, p = _binary(y_true, "y_true"), _binary(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred must have the same shape, got {t.shape} and {p.shape}")
    return np.array([[np.sum(~t & ~p), np.sum(~t & p)], [np.sum(t & ~p), np.sum(t & p)]])


def precision_recall_f1(y_true: Any, y_pred: Any) -> tuple[float, float, float]:
    """Precision TP/(TP+FP), recall TP/(TP+FN) and F1 = 2PR/(P+R); 0.0 where a denominator is 0.

    Same conventions as ``sklearn.metrics.precision_recall_fscore_support(..., zero_division=0)``.
    """
    (_, fp), (fn, tp) = confusion_counts(y_true, y_pred)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return float(precision), float(recall), float(f1)


def pr_curve(y_true: Any, scores: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision and recall of "flag if score ≥ t" at every distinct score t (descending thresholds).

    Returns ``(precision, recall, thresholds)``, each of length (number of distinct scores).
    """
    t = _binary(y_true, "y_true")
    s = np.asarray(scores, dtype=float)
    if s.shape != t.shape:
        raise ValueError(f"scores must have the same shape as y_true, got {s.shape} and {t.shape}")
    if not t.any():
        raise ValueError("y_true has no positive example: recall is undefined")
    order = np.argsort(-s, kind="stable")
    s_sorted, t_sorted = s[order], t[order]
    tp = np.cumsum(t_sorted)
    fp = np.cumsum(~t_sorted)
    last = np.r_[np.nonzero(np.diff(s_sorted))[0], len(s) - 1]  # last index of each distinct score
    tp, fp = tp[last], fp[last]
    return tp / (tp + fp), tp / t.sum(), s_sorted[last]


def average_precision(y_true: Any, scores: Any) -> float:
    """AP = sum_n (R_n - R_{n-1}) P_n over descending thresholds (``sklearn.metrics.average_precision_score``)."""
    precision, recall, _ = pr_curve(y_true, scores)
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a proportion k/n (Wilson, 1927; Brown, Cai & DasGupta, 2001)."""
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


def robustness_table(moderators: Mapping[str, Any], unsafe_texts: Sequence[str], benign_texts: Sequence[str],
                     kinds: Sequence[str] = OBFUSCATIONS, rate: float = 1.0,
                     seed: int = 0) -> dict[str, dict[str, tuple[float, float]]]:
    """For each obfuscation kind (plus "clean"), each moderator's (recall on unsafe, flag rate on benign).

    Text i is obfuscated with ``obfuscate(text, kind, rate=rate, seed=seed + i)``. Returns
    ``{kind: {moderator name: (recall, false-positive rate)}}``.
    """
    unsafe = validate_texts(unsafe_texts, "unsafe_texts")
    benign = validate_texts(benign_texts, "benign_texts")
    if not unsafe or not benign:
        raise ValueError("unsafe_texts and benign_texts must both be non-empty")
    if not moderators:
        raise ValueError("moderators must name at least one moderator")
    table: dict[str, dict[str, tuple[float, float]]] = {}
    for kind in ("clean", *kinds):
        if kind == "clean":
            u, b = unsafe, benign
        else:
            u = [obfuscate(t, kind, rate=rate, seed=seed + i) for i, t in enumerate(unsafe)]
            b = [obfuscate(t, kind, rate=rate, seed=seed + i) for i, t in enumerate(benign)]
        table[kind] = {name: (float(m.predict(u).mean()), float(m.predict(b).mean()))
                       for name, m in moderators.items()}
    return table


# ----------------------------------------------------------------------------------------------------------
# Interactive demo: moving the threshold along the precision-recall curve

@dataclass(frozen=True)
class ThresholdView:
    """What the threshold demo shows: the confusion matrix and P/R/F1 at one threshold for one moderator."""

    moderator: str
    threshold: float
    confusion: np.ndarray
    precision: float
    recall: float
    f1: float


def threshold_view(y_true: np.ndarray, scores: Mapping[str, np.ndarray], moderator: str,
                   threshold: float) -> ThresholdView:
    """Confusion matrix and precision/recall/F1 of ``scores[moderator] >= threshold`` (the demo's compute)."""
    if moderator not in scores:
        raise ValueError(f"moderator must be one of {sorted(scores)}, got {moderator!r}")
    if not (0.0 <= threshold <= 1.0):
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    pred = scores[moderator] >= threshold
    p, r, f = precision_recall_f1(y_true, pred)
    return ThresholdView(moderator, float(threshold), confusion_counts(y_true, pred), p, r, f)


def setup_threshold(fig: Any, y_true: np.ndarray, scores: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Static parts: both PR curves (left) and an empty confusion matrix (right)."""
    ax_pr, ax_cm = fig.axes
    colors = {"learned": COLORS["proxy"], "keyword": COLORS["neutral"]}
    for name, s in scores.items():
        precision, recall, _ = pr_curve(y_true, s)
        ax_pr.plot(recall, precision, "-o" if len(recall) < 10 else "-", color=colors.get(name, COLORS["dark"]),
                   ms=4, label=f"{name} (AP {average_precision(y_true, s):.2f})")
    ax_pr.set_xlim(0, 1.02)
    ax_pr.set_ylim(0.3, 1.02)
    label_axes(ax_pr, "recall", "precision", "held-out test split")
    ax_pr.legend(loc="lower left")
    point, = ax_pr.plot([], [], "o", ms=11, mfc="none", mew=2.5, color=COLORS["bad"])
    info = ax_pr.text(0.55, 0.3, "", transform=ax_pr.transAxes, ha="center", va="center", fontsize=9)
    im = ax_cm.imshow(np.zeros((2, 2)), cmap="Blues", vmin=0, vmax=1)
    ax_cm.set_xticks([0, 1], ["passed", "flagged"])
    ax_cm.set_yticks([0, 1], ["benign", "unsafe"])
    ax_cm.grid(False)
    label_axes(ax_cm, "moderator says", "truth")
    cells = [[ax_cm.text(j, i, "", ha="center", va="center", fontsize=12) for j in range(2)] for i in range(2)]
    title = ax_cm.set_title("")
    return {"point": point, "info": info, "im": im, "cells": cells, "title": title}


def draw_threshold(artists: dict[str, Any], view: ThresholdView, **_: Any) -> None:
    """Move the operating point and refill the confusion matrix."""
    artists["point"].set_data([view.recall], [view.precision])
    artists["info"].set_text(f"P = {view.precision:.2f}  R = {view.recall:.2f}  F1 = {view.f1:.2f}")
    cm = view.confusion
    rates = cm / cm.sum(axis=1, keepdims=True)
    artists["im"].set_data(rates)
    names = [["true negatives", "false positives"], ["false negatives", "true positives"]]
    for i in range(2):
        for j in range(2):
            artists["cells"][i][j].set_text(f"{cm[i, j]}\n{names[i][j]}")
            artists["cells"][i][j].set_color("white" if rates[i, j] > 0.6 else COLORS["dark"])
    artists["title"].set_text(f"{view.moderator} moderator, threshold {view.threshold:.2f}")


def demo_threshold() -> InteractiveFigure:
    """Threshold slider and moderator choice: the operating point on the PR curve and the confusion matrix."""
    test = load_dataset().split("test")
    texts = list(test.texts)
    y = test.unsafe
    scores = {"learned": load_moderator().predict_proba(texts), "keyword": keyword_baseline().predict_proba(texts)}
    controls = {
        "moderator": widgets.Dropdown(options=["learned", "keyword"], value="learned", description="moderator"),
        "threshold": float_slider("threshold", 0.05, 0.95, 0.05, 0.5),
    }
    return InteractiveFigure(
        lambda moderator, threshold: threshold_view(y, scores, moderator, threshold),
        draw_threshold,
        controls,
        setup=lambda fig: setup_threshold(fig, y, scores),
        ncols=2,
        width=9.0,
        height=3.8,
        caption="Circle: the operating point at this threshold. Matrix shading: share of each true class.",
    )

"""Measuring a moderator (notebook 11): the confusion matrix, precision/recall/F1, the precision-recall curve
and average precision (the same conventions as scikit-learn), and the robustness table under obfuscation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from helpers.moderation.text import OBFUSCATIONS, obfuscate
from helpers.validation import text_list

__all__ = ["confusion_counts", "precision_recall_f1", "pr_curve", "average_precision", "robustness_table"]


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


def robustness_table(moderators: Mapping[str, Any], unsafe_texts: Sequence[str], benign_texts: Sequence[str],
                     kinds: Sequence[str] = OBFUSCATIONS, rate: float = 1.0,
                     seed: int = 0) -> dict[str, dict[str, tuple[float, float]]]:
    """For each obfuscation kind (plus "clean"), each moderator's (recall on unsafe, flag rate on benign).

    Text i is obfuscated with ``obfuscate(text, kind, rate=rate, seed=seed + i)``. Returns
    ``{kind: {moderator name: (recall, false-positive rate)}}``.
    """
    unsafe = text_list(unsafe_texts, "unsafe_texts")
    benign = text_list(benign_texts, "benign_texts")
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

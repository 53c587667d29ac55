"""The threshold demo of notebook 11: one moderator's precision, recall and flag rate as the threshold moves."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import numpy as np

from helpers.moderation.data import load_dataset
from helpers.moderation.evaluation import average_precision, confusion_counts, pr_curve, precision_recall_f1
from helpers.moderation.model import keyword_baseline, load_moderator
from helpers.plotting import COLORS, label_axes
from helpers.widgets import InteractiveFigure, float_slider

__all__ = ["ThresholdView", "threshold_view", "setup_threshold", "draw_threshold", "demo_threshold"]


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
        functools.partial(threshold_view, y, scores),
        draw_threshold,
        controls,
        setup=functools.partial(setup_threshold, y_true=y, scores=scores),
        ncols=2,
        width=9.0,
        height=3.8,
        caption="Circle: the operating point at this threshold. Matrix shading: share of each true class.",
    )

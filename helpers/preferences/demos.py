"""The three interactive demos of notebook 02 (section 2: reward learning; section 4: over-optimisation on
the synthetic response space; section 5: over-optimisation on TinyChat's answers). Each is a module-level
``setup_x`` / ``draw_x`` / ``demo_x`` over a tested compute function of the sibling modules."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from helpers.plotting import COLORS, label_axes
from helpers.preferences.best_of_n import KINDS, BestOfNRun, OveroptimisationResult, overoptimisation
from helpers.preferences.reward_model import RewardLearningCurves, reward_learning_curves
from helpers.preferences.tinychat import (
    ChatOveroptimisation,
    SampledAnswers,
    chat_overoptimisation,
    sample_answers,
)
from helpers.widgets import InteractiveFigure, Memo, float_slider, int_slider

__all__ = [
    "setup_reward_learning", "draw_reward_learning", "reward_learning_view", "demo_reward_learning",
    "setup_overoptimisation", "draw_overoptimisation", "demo_overoptimisation", "setup_chat_overoptimisation",
    "draw_chat_overoptimisation", "chat_overoptimisation_view", "demo_chat_overoptimisation",
]


# ------------------------------------------------------------------------------ section 2: reward learning

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


def reward_learning_view(grids: Any, n_comparisons: int, noise: float) -> RewardLearningCurves:
    """Section 2's curves at ``n_comparisons``; ``grids(noise=...)`` returns a ``reward_learning_curves`` result
    for that noise whose grid curves are reused (a ``Memo``, so the grid is fitted once per noise value)."""
    return reward_learning_curves(n_comparisons, noise, grid=grids(noise=float(noise)))


def demo_reward_learning() -> InteractiveFigure:
    """Sliders: number of comparisons, annotator noise (Bradley-Terry temperature). Grid curves are kept per
    noise value, so a move of the comparisons slider fits one model only."""
    grids = Memo(functools.partial(reward_learning_curves, 10))
    return InteractiveFigure(
        functools.partial(reward_learning_view, grids), draw_reward_learning,
        {"n_comparisons": int_slider("comparisons", 10, 2000, 10, 200),
         "noise": float_slider("annotator noise", 0.0, 3.0, 0.25, 1.0)},
        setup=setup_reward_learning, ncols=2, width=9.5, height=3.6)


# ------------------------------------------------------------- section 4: synthetic response space

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
    Results are kept per slider setting (``Memo``)."""
    return InteractiveFigure(
        Memo(overoptimisation), draw_overoptimisation,
        {"explore": float_slider("exploration in data collection", 0.0, 0.6, 0.1, 0.0),
         "trigger_looks_harmful": float_slider("trigger prompts look harmful", 0.1, 0.85, 0.05, 0.75)},
        setup=setup_overoptimisation, ncols=2, width=9.5, height=3.6)


# ------------------------------------------------------------------- section 5: TinyChat's answers

def setup_chat_overoptimisation(fig) -> dict:
    """Section 5's static parts: section 4's layout with a shorter d axis and the legend at the upper left."""
    return setup_overoptimisation(fig, d_max=2.5, legend_loc="upper left")


def chat_overoptimisation_view(train: SampledAnswers, test: SampledAnswers, n_pairs: int, explore: float,
                               draw: int) -> ChatOveroptimisation:
    """Section 5's compute: ``chat_overoptimisation`` with annotation draw ``draw`` as its seed."""
    return chat_overoptimisation(train, test, int(n_pairs), float(explore), seed=int(draw))


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
    return InteractiveFigure(
        Memo(functools.partial(chat_overoptimisation_view, train, test)), draw_chat_overoptimisation,
        {"n_pairs": int_slider("comparisons", 100, 1000, 100, 300),
         "explore": float_slider("exploration in data collection", 0.0, 0.6, 0.1, 0.0),
         "draw": int_slider("annotation draw", 0, 19, 1, int(draw))},
        setup=setup_chat_overoptimisation, ncols=2, width=9.5, height=3.6)

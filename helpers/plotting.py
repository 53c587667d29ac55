"""One figure style for the whole course: colours, sizes, labelled axes.

Use ``course_style()`` once in a notebook's setup cell; use the named colours so that, say, "proxy" is the
same orange in every notebook.
"""

from __future__ import annotations

from typing import Any

import matplotlib as mpl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["COLORS", "course_style", "new_figure", "label_axes"]

# Colour-blind-safe (Okabe-Ito) palette with course-wide meanings.
COLORS: dict[str, str] = {
    "true": "#0072B2",      # the true / gold objective, the expert, the safe option
    "proxy": "#E69F00",     # the proxy / learned objective
    "bad": "#D55E00",       # harm, cost, violations, attacks
    "good": "#009E73",      # benign, accepted, within budget
    "neutral": "#999999",   # references, baselines
    "accent": "#CC79A7",
    "dark": "#222222",
}

_RC: dict[str, Any] = {
    "figure.figsize": (8.0, 3.6),
    "figure.dpi": 90,
    "savefig.dpi": 90,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "font.size": 10,
    "axes.prop_cycle": mpl.cycler(color=[COLORS[k] for k in ("true", "proxy", "good", "bad", "accent", "neutral")]),
    "image.cmap": "viridis",
}


def course_style() -> None:
    """Apply the course's matplotlib style (call once per notebook)."""
    mpl.rcParams.update(_RC)


def new_figure(ncols: int = 1, nrows: int = 1, width: float = 8.0, height: float = 3.6) -> tuple[Figure, Any]:
    """A figure that is not registered with pyplot (so it never auto-displays), with its axes.

    Widgets draw into it and render it to PNG themselves; plain cells can ``display(fig)``.
    """
    if ncols < 1 or nrows < 1:
        raise ValueError(f"ncols and nrows must be at least 1, got {ncols} and {nrows}")
    with mpl.rc_context(_RC):
        fig = Figure(figsize=(width, height), dpi=_RC["figure.dpi"], layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(nrows, ncols, squeeze=True)
    return fig, axes


def label_axes(ax: Any, xlabel: str, ylabel: str, title: str | None = None) -> None:
    """Label both axes (with units where there are any) and optionally the title."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)

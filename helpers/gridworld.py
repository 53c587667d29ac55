"""A small gridworld MDP shared by notebooks 03 (inverse RL) and 04 (constrained optimisation).

Layout: a tuple of equal-length strings, one character per cell::

    '.' floor    'S' start (floor where episodes begin)    'G' goal    'L' lava    'W' water    '#' wall

States are the non-wall cells in row-major order. Actions are ``0 up, 1 right, 2 down, 3 left``. With slip
probability ``p`` the intended move happens with probability ``1 - p`` and each of the three other moves with
``p / 3``; a move into a wall or off the grid leaves the agent where it is (standard gridworld dynamics, e.g.
Sutton & Barto 2018, example 3.5).

Goal cells are **absorbing** by default (``goal_absorbing=True``): every action keeps the agent in the goal, so a
state reward on the goal is collected at every remaining step (finite horizon) or forever (discounted). Pass
``goal_absorbing=False`` to make goals ordinary cells. Lava and water are ordinary cells: what they mean is up to
the reward or cost a notebook puts on their features.

Features are one-hot cell types, ``feature_names = ("floor", "goal", "lava", "water")`` (a start cell is floor),
so a state reward linear in the features, ``r = features @ theta``, is one weight per cell type.

The initial-state distribution is uniform over the 'S' cells, or over the '.' cells if the layout has no 'S'.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "ACTIONS",
    "ACTION_NAMES",
    "CELL_TYPES",
    "GridWorld",
    "make_gridworld",
    "draw_grid",
    "policy_arrows",
]

ACTION_NAMES: tuple[str, ...] = ("up", "right", "down", "left")
# (d_row, d_col) of each action, in the order of ACTION_NAMES.
ACTIONS: tuple[tuple[int, int], ...] = ((-1, 0), (0, 1), (1, 0), (0, -1))
CELL_TYPES: tuple[str, ...] = ("floor", "goal", "lava", "water")
_CHAR_TYPE = {".": "floor", "S": "floor", "G": "goal", "L": "lava", "W": "water"}
_ALLOWED = set(_CHAR_TYPE) | {"#"}


@dataclass(frozen=True)
class GridWorld:
    """A gridworld MDP: transitions ``P`` [S, A, S], cell features [S, K], initial distribution [S]."""

    layout: tuple[str, ...]
    P: np.ndarray
    features: np.ndarray
    feature_names: tuple[str, ...]
    init_dist: np.ndarray
    shape: tuple[int, int]
    cells: tuple[tuple[int, int], ...]  # (row, col) of each state, row-major over non-wall cells

    @property
    def n_states(self) -> int:
        return int(self.P.shape[0])

    @property
    def n_actions(self) -> int:
        return int(self.P.shape[1])

    def state(self, row: int, col: int) -> int:
        """Index of the state at (row, col); ``ValueError`` for a wall or a cell outside the grid."""
        rows, cols = self.shape
        if not (0 <= row < rows and 0 <= col < cols):
            raise ValueError(f"(row, col) = ({row}, {col}) is outside the {rows}x{cols} grid")
        if self.layout[row][col] == "#":
            raise ValueError(f"(row, col) = ({row}, {col}) is a wall, not a state")
        return self.cells.index((row, col))

    def cell(self, s: int) -> tuple[int, int]:
        """(row, col) of state ``s``."""
        if not (0 <= int(s) < self.n_states):
            raise ValueError(f"state s must be in [0, {self.n_states}), got {s}")
        return self.cells[int(s)]

    def cells_of(self, char: str) -> list[int]:
        """The states whose layout character is ``char`` (e.g. ``'G'``), in state order."""
        return [s for s, (r, c) in enumerate(self.cells) if self.layout[r][c] == char]

    def to_grid(self, values: np.ndarray) -> np.ndarray:
        """Per-state ``values`` [S] as a [rows, cols] float array, walls NaN."""
        values = np.asarray(values, dtype=float)
        if values.shape != (self.n_states,):
            raise ValueError(f"values must have shape ({self.n_states},), got {values.shape}")
        grid = np.full(self.shape, np.nan)
        rr, cc = np.array(self.cells).T
        grid[rr, cc] = values
        return grid


def _validate_layout(layout: Sequence[str]) -> tuple[str, ...]:
    if isinstance(layout, str) or len(layout) == 0:
        raise ValueError("layout must be a non-empty sequence of row strings, e.g. ('S..', '.#G')")
    rows = tuple(str(r) for r in layout)
    if len({len(r) for r in rows}) != 1 or len(rows[0]) == 0:
        raise ValueError(f"layout rows must be non-empty and of equal length, got lengths {[len(r) for r in rows]}")
    bad = sorted({ch for r in rows for ch in r} - _ALLOWED)
    if bad:
        raise ValueError(f"layout has unknown characters {bad}; allowed: . S G L W #")
    if all(ch == "#" for r in rows for ch in r):
        raise ValueError("layout has no non-wall cell")
    if not any(ch in ".S" for r in rows for ch in r):
        raise ValueError("layout needs at least one start ('S') or floor ('.') cell for the initial distribution")
    return rows


def make_gridworld(layout: Sequence[str], slip: float = 0.0, *, goal_absorbing: bool = True) -> GridWorld:
    """Build the gridworld MDP of ``layout`` (see the module docstring for the conventions).

    ``slip`` in [0, 1): probability of a uniformly random *other* move (p/3 each).
    """
    rows = _validate_layout(layout)
    if not (0.0 <= float(slip) < 1.0):
        raise ValueError(f"slip must be in [0, 1), got {slip}")
    n_rows, n_cols = len(rows), len(rows[0])
    cells = tuple((r, c) for r in range(n_rows) for c in range(n_cols) if rows[r][c] != "#")
    index = {rc: s for s, rc in enumerate(cells)}
    n_s, n_a = len(cells), len(ACTIONS)

    # Deterministic successor of each (state, move).
    nxt = np.empty((n_s, n_a), dtype=int)
    for s, (r, c) in enumerate(cells):
        for a, (dr, dc) in enumerate(ACTIONS):
            r2, c2 = r + dr, c + dc
            inside = 0 <= r2 < n_rows and 0 <= c2 < n_cols and rows[r2][c2] != "#"
            nxt[s, a] = index[(r2, c2)] if inside else s

    # Intended move with prob 1 - slip, each other move with slip / 3.
    move_prob = np.full((n_a, n_a), float(slip) / (n_a - 1))
    np.fill_diagonal(move_prob, 1.0 - float(slip))
    P = np.zeros((n_s, n_a, n_s))
    for s in range(n_s):
        for a in range(n_a):
            for m in range(n_a):
                P[s, a, nxt[s, m]] += move_prob[a, m]
    if goal_absorbing:
        for s, (r, c) in enumerate(cells):
            if rows[r][c] == "G":
                P[s] = 0.0
                P[s, :, s] = 1.0

    features = np.zeros((n_s, len(CELL_TYPES)))
    for s, (r, c) in enumerate(cells):
        features[s, CELL_TYPES.index(_CHAR_TYPE[rows[r][c]])] = 1.0

    starts = [s for s, (r, c) in enumerate(cells) if rows[r][c] == "S"]
    if not starts:
        starts = [s for s, (r, c) in enumerate(cells) if rows[r][c] == "."]
    init = np.zeros(n_s)
    init[starts] = 1.0 / len(starts)

    for arr in (P, features, init):
        arr.setflags(write=False)
    return GridWorld(layout=rows, P=P, features=features, feature_names=CELL_TYPES, init_dist=init,
                     shape=(n_rows, n_cols), cells=cells)


_MARKERS = ("S", "G", "L", "W")


def draw_grid(ax: Any, world: GridWorld, values: np.ndarray | None = None, policy: np.ndarray | None = None,
              title: str | None = None, cmap: str = "viridis", vmin: float | None = None,
              vmax: float | None = None, markers: bool = True) -> dict[str, Any]:
    """Draw ``world`` on ``ax``: a heatmap of per-state ``values`` [S] (walls dark grey), arrows for ``policy``
    ([S, A] probabilities: arrow = expected move, length ~ how decided; or [S] action indices) and letters on
    the start, goal, lava and water cells.

    Returns the artists a fast interactive demo updates: ``{"image", "arrows", "title", "markers"}``
    (``arrows`` is None without a policy; ``markers`` is the list of cell letters, which a demo must animate too
    so that they are drawn on top of an animated image). Update them with ``image.set_data(world.to_grid(v))`` and
    ``arrows.set_UVC(*policy_arrows(world, pi)[2:])``.
    """
    import matplotlib as mpl
    from matplotlib import patheffects

    rows, cols = world.shape
    grid = world.to_grid(np.zeros(world.n_states) if values is None else values)
    cm = mpl.colormaps[cmap].with_extremes(bad="#333333")
    image = ax.imshow(grid, cmap=cm, vmin=vmin, vmax=vmax, origin="upper", interpolation="nearest")
    if values is None:
        image.set_alpha(0.15)
    ax.set_xticks(np.arange(-0.5, cols, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, rows, 1), minor=True)
    ax.grid(which="minor", color="white", linewidth=0.6)
    ax.grid(which="major", visible=False)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_xlim(-0.5, cols - 0.5)
    ax.set_ylim(rows - 0.5, -0.5)
    texts = []
    if markers:
        for r, line in enumerate(world.layout):
            for c, ch in enumerate(line):
                if ch in _MARKERS:
                    texts.append(ax.text(c - 0.3, r - 0.25, ch, ha="center", va="center", fontsize=8, color="black",
                            fontweight="bold", path_effects=[patheffects.withStroke(linewidth=2, foreground="white")]))
    arrows = None
    if policy is not None:
        x, y, u, v = policy_arrows(world, policy)
        arrows = ax.quiver(x, y, u, v, angles="xy", scale_units="xy", scale=1.8, color="white", width=0.009,
                           headwidth=3.0, headlength=3.5, headaxislength=3.0, pivot="middle", edgecolor="black",
                           linewidth=0.5)
    title_artist = ax.set_title(title or "")
    return {"image": image, "arrows": arrows, "title": title_artist, "markers": texts}


def policy_arrows(world: GridWorld, policy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Arrow positions and components (x, y, u, v) for ``policy``: [S, A] probabilities or [S] actions.

    The arrow is the expected intended move sum_a pi(a|s) (d_col_a, d_row_a) (image y axis points down).
    """
    policy = np.asarray(policy)
    n_s, n_a = world.n_states, len(ACTIONS)
    if policy.shape == (n_s,):
        if not np.issubdtype(policy.dtype, np.integer) or policy.min() < 0 or policy.max() >= n_a:
            raise ValueError(f"policy of shape ({n_s},) must hold action indices in [0, {n_a})")
        policy = np.eye(n_a)[policy]
    if policy.shape != (n_s, n_a):
        raise ValueError(f"policy must have shape ({n_s}, {n_a}) or ({n_s},), got {policy.shape}")
    moves = np.array(ACTIONS, dtype=float)  # (d_row, d_col)
    d = policy @ moves
    rr, cc = np.array(world.cells, dtype=float).T
    # quiver with angles="xy" draws from (x, y) to (x + u, y + v) in data coordinates; rows grow downwards.
    return cc, rr, d[:, 1], d[:, 0]

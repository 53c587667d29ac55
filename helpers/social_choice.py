"""Social choice for multi-stakeholder alignment (notebook 07).

Ordinal aggregation: a *profile* is an integer array ``[n_voters, n_candidates]`` whose rows are rankings,
best first (row ``[2, 0, 1]`` means candidate 2 > 0 > 1). Candidates are ``0 .. n_candidates - 1``. Every
voting rule returns the **list of all tied winners**, sorted (no tie-breaking), which is what the
``pref_voting`` package returns for the same profile (checked in ``tests/test_social_choice.py``).

* ``plurality``: most first places.  * ``borda``: candidate in position k of m gets m - 1 - k points.
* ``copeland``: pairwise wins minus pairwise losses.  * ``maximin`` (Simpson-Kramer): the candidate whose worst
  pairwise support is largest.  * ``condorcet_winner``: the candidate that beats every other one by a strict
  majority, or ``None`` (Condorcet 1785).
* ``schulze`` (beat path, Schulze 2011) and ``split_cycle`` (Holliday & Pacuit 2023): Condorcet methods that are
  *independent of clones* (Tideman 1987): adding a near-copy of a candidate does not change who wins.
* ``maximal_lottery``: the probabilistic rule of Fishburn (1984) that Nash learning from human feedback
  (Munos et al. 2023, arXiv 2312.00886) targets: a lottery over candidates no other lottery beats in expectation.

Cardinal aggregation over utilities ``[n_stakeholders, n_options]``: ``utilitarian`` (weighted sum, Harsanyi
1955), ``egalitarian`` (maximin, Rawls 1971), ``nash_bargaining`` (product of gains over the disagreement point,
Nash 1950), ``leximin`` (the egalitarian rule with ties broken by the next-worst-off, which keeps it
Pareto-optimal) and ``pareto_optimal``.

The bridge to reward modelling: ``bradley_terry_fit`` fits a Bradley-Terry model to pooled pairwise votes.
With every pair compared equally often its ranking is the Borda ranking (Siththaranjan, Laidlaw &
Hadfield-Menell 2023, "Distributional Preference Learning", arXiv 2312.08358), so RLHF's reward model is a
voting rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from helpers.plotting import COLORS, label_axes
from helpers.validation import finite_matrix
from helpers.widgets import InteractiveFigure, float_slider

__all__ = [
    "validate_profile",
    "profile_from_blocks",
    "majority_matrix",
    "plurality_scores",
    "borda_scores",
    "copeland_scores",
    "maximin_scores",
    "plurality",
    "borda",
    "copeland",
    "maximin",
    "condorcet_winner",
    "bury",
    "margin_matrix",
    "strongest_paths",
    "schulze",
    "split_cycle",
    "maximal_lottery",
    "utilitarian",
    "egalitarian",
    "leximin",
    "nash_bargaining",
    "pareto_optimal",
    "sample_pairwise_wins",
    "bradley_terry_fit",
    "frontier_options",
    "bargaining_picks",
    "BargainingPicks",
    "demo_bargaining",
]


# ----------------------------------------------------------------------------------------------- profiles
def validate_profile(profile: np.ndarray) -> np.ndarray:
    """Return ``profile`` as an int array ``[n_voters, n_candidates]``; each row must be a permutation."""
    arr = np.asarray(profile)
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 2:
        raise ValueError(f"profile must have shape [n_voters >= 1, n_candidates >= 2], got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError("profile must hold integer candidate indices")
        arr = arr.astype(int)
    m = arr.shape[1]
    if not np.all(np.sort(arr, axis=1) == np.arange(m)):
        raise ValueError(f"profile: every row must be a ranking, i.e. a permutation of 0..{m - 1}")
    return arr.astype(int)


def profile_from_blocks(rankings: list[list[int]] | np.ndarray, counts: list[int] | np.ndarray) -> np.ndarray:
    """Expand blocks of identical voters: ranking ``rankings[b]`` repeated ``counts[b]`` times."""
    rankings = validate_profile(rankings)
    counts = np.asarray(counts)
    if counts.shape != (rankings.shape[0],) or np.any(counts < 0) or counts.sum() < 1:
        raise ValueError(f"counts must be {rankings.shape[0]} non-negative integers with a positive sum, got {counts}")
    return np.repeat(rankings, counts.astype(int), axis=0)


def _positions(profile: np.ndarray) -> np.ndarray:
    """pos[v, c] = position (0 = best) of candidate c in voter v's ranking."""
    n, m = profile.shape
    pos = np.empty_like(profile)
    pos[np.arange(n)[:, None], profile] = np.arange(m)
    return pos


def majority_matrix(profile: np.ndarray) -> np.ndarray:
    """``M[a, b]`` = number of voters who rank a above b (zero diagonal); a beats b when M[a, b] > M[b, a]."""
    pos = _positions(validate_profile(profile))
    return (pos[:, :, None] < pos[:, None, :]).sum(axis=0)


def _winners(scores: np.ndarray) -> list[int]:
    scores = np.asarray(scores, dtype=float)
    best = scores.max()
    tol = 1e-9 * max(1.0, abs(best))
    return [int(i) for i in np.flatnonzero(scores >= best - tol)]


def plurality_scores(profile: np.ndarray) -> np.ndarray:
    """Number of first places of each candidate."""
    profile = validate_profile(profile)
    return np.bincount(profile[:, 0], minlength=profile.shape[1])


def borda_scores(profile: np.ndarray) -> np.ndarray:
    """Borda (1781) score: sum over voters of (m - 1 - position); equals the row sums of ``majority_matrix``."""
    profile = validate_profile(profile)
    m = profile.shape[1]
    return (m - 1 - _positions(profile)).sum(axis=0)


def copeland_scores(profile: np.ndarray) -> np.ndarray:
    """Copeland score: pairwise majority wins minus pairwise losses (ties count 0)."""
    M = majority_matrix(profile)
    return np.sign(M - M.T).sum(axis=1)


def maximin_scores(profile: np.ndarray) -> np.ndarray:
    """Simpson-Kramer score: the smallest number of voters preferring the candidate to some rival."""
    M = majority_matrix(profile).astype(float)
    np.fill_diagonal(M, np.inf)
    return M.min(axis=1).astype(int)


def plurality(profile: np.ndarray) -> list[int]:
    """All candidates with the most first places."""
    return _winners(plurality_scores(profile))


def borda(profile: np.ndarray) -> list[int]:
    """All candidates with the highest Borda score."""
    return _winners(borda_scores(profile))


def copeland(profile: np.ndarray) -> list[int]:
    """All candidates with the highest Copeland score (wins - losses)."""
    return _winners(copeland_scores(profile))


def maximin(profile: np.ndarray) -> list[int]:
    """All candidates whose worst pairwise support is largest (Simpson-Kramer; pref_voting's ``minimax``)."""
    return _winners(maximin_scores(profile))


def condorcet_winner(profile: np.ndarray) -> int | None:
    """The candidate preferred to every other candidate by a strict majority, or ``None`` if there is none."""
    M = majority_matrix(profile)
    beats = M > M.T
    for c in range(M.shape[0]):
        if beats[c].sum() == M.shape[0] - 1:
            return c
    return None


def bury(ranking: np.ndarray, rival: int) -> np.ndarray:
    """The insincere ballot that moves ``rival`` to the last place, the others in their sincere order: the
    classic manipulation of the Borda count (Gibbard 1973; Satterthwaite 1975)."""
    r = validate_profile(np.asarray(ranking)[None, :])[0]
    if not 0 <= int(rival) < len(r):
        raise ValueError(f"rival must be a candidate 0..{len(r) - 1}, got {rival}")
    return np.append(r[r != rival], int(rival))


def margin_matrix(profile: np.ndarray) -> np.ndarray:
    """``margin[a, b] = M[a, b] - M[b, a]``: how many more voters rank a above b than b above a."""
    M = majority_matrix(profile)
    return M - M.T


def strongest_paths(margins: np.ndarray) -> np.ndarray:
    """Widest-path strengths ``P[a, b]``: over all paths a -> ... -> b of positive-margin edges, the largest
    smallest margin on the path (0 when there is no such path). Floyd-Warshall, Schulze (2011) eq. (2.2.1)."""
    P = np.where(margins > 0, margins, 0).astype(int)
    m = P.shape[0]
    for k in range(m):
        P = np.maximum(P, np.minimum(P[:, k][:, None], P[k, :][None, :]))
    np.fill_diagonal(P, 0)
    return P


def schulze(profile: np.ndarray) -> list[int]:
    """Schulze's beat-path winners: a wins if P[a, b] >= P[b, a] for every b (Schulze 2011, Soc. Choice Welf.
    36:267-303; pref_voting's ``beat_path``). Condorcet-consistent and independent of clones."""
    P = strongest_paths(margin_matrix(profile))
    return [int(a) for a in range(P.shape[0]) if np.all(P[a] >= P[:, a])]


def split_cycle(profile: np.ndarray) -> list[int]:
    """Split Cycle winners (Holliday & Pacuit 2023, arXiv 2004.02350): a defeats b when its margin over b
    exceeds the weakest margin of every majority cycle through a -> b, i.e. margin[a, b] > P[b, a]; the
    winners are the undefeated candidates. Condorcet-consistent and independent of clones."""
    margins = margin_matrix(profile)
    P = strongest_paths(margins)
    defeats = (margins > 0) & (margins > P.T)
    return [int(b) for b in range(margins.shape[0]) if not defeats[:, b].any()]


def maximal_lottery(profile: np.ndarray) -> np.ndarray:
    """A maximal lottery (Fishburn 1984): probabilities p over candidates with p^T margin >= 0 in every column,
    i.e. an optimal strategy of the symmetric zero-sum game whose payoff is the margin matrix. Unique when the
    number of voters is odd (Laffond et al. 1997). The target policy of Nash learning from human feedback
    (Munos et al. 2023, arXiv 2312.00886) in the tabular case. Solved as a linear programme."""
    from scipy.optimize import linprog

    margins = margin_matrix(profile).astype(float)
    m = margins.shape[0]
    # variables (p_1..p_m, v): maximise v subject to margins^T p >= v, sum p = 1, p >= 0; the game value is 0
    res = linprog(np.r_[np.zeros(m), -1.0], A_ub=np.c_[-margins.T, np.ones(m)], b_ub=np.zeros(m),
                  A_eq=np.r_[np.ones(m), 0.0][None, :], b_eq=[1.0], bounds=[(0, None)] * m + [(None, None)],
                  method="highs")
    p = np.clip(res.x[:m], 0.0, None)
    return p / p.sum()


# ---------------------------------------------------------------------------------------------- cardinal
def _utilities(utilities: np.ndarray) -> np.ndarray:
    return finite_matrix(utilities, "utilities", "n_stakeholders", "n_options")


def _weights(weights: np.ndarray | None, k: int) -> np.ndarray:
    if weights is None:
        return np.ones(k)
    w = np.asarray(weights, dtype=float)
    if w.shape != (k,) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(f"weights must be {k} finite non-negative numbers with a positive sum, got {weights}")
    return w


def utilitarian(utilities: np.ndarray, weights: np.ndarray | None = None) -> list[int]:
    """Options maximising the weighted sum of utilities, sum_i w_i u_i(x) (Harsanyi 1955)."""
    u = _utilities(utilities)
    return _winners(_weights(weights, u.shape[0]) @ u)


def egalitarian(utilities: np.ndarray) -> list[int]:
    """Options maximising the worst-off stakeholder's utility, min_i u_i(x) (Rawls' maximin)."""
    return _winners(_utilities(utilities).min(axis=0))


def nash_bargaining(utilities: np.ndarray, disagreement: np.ndarray, weights: np.ndarray | None = None) -> list[int]:
    """Options maximising the Nash product prod_i (u_i(x) - d_i)^{w_i} over options better than d for everyone.

    Nash (1950), "The bargaining problem"; with weights it is the asymmetric Nash solution. The choice does not
    change when one stakeholder's utilities are rescaled u_i -> a u_i + b (a > 0) together with d_i. Returns
    ``[]`` when no option gives every stakeholder strictly more than the disagreement point.
    """
    u = _utilities(utilities)
    d = np.asarray(disagreement, dtype=float)
    if d.shape != (u.shape[0],) or not np.all(np.isfinite(d)):
        raise ValueError(f"disagreement must hold {u.shape[0]} finite numbers (one per stakeholder), got {disagreement}")
    w = _weights(weights, u.shape[0])
    gains = u - d[:, None]
    feasible = np.all(gains > 0, axis=0)
    if not feasible.any():
        return []
    log_product = np.full(u.shape[1], -np.inf)
    log_product[feasible] = w @ np.log(gains[:, feasible])
    best = log_product.max()
    return [int(i) for i in np.flatnonzero(log_product >= best - 1e-9 * max(1.0, abs(best)))]


def leximin(utilities: np.ndarray) -> list[int]:
    """Options whose utilities, sorted from worst-off up, are lexicographically largest (Sen 1970): the
    egalitarian rule with its ties broken by the second-worst-off, and so on. Unlike plain maximin it never
    returns a Pareto-dominated option."""
    u = np.sort(_utilities(utilities), axis=0)  # row 0 = worst-off utility of each option
    candidates = np.arange(u.shape[1])
    for row in u:
        best = row[candidates].max()
        candidates = candidates[row[candidates] >= best - 1e-9 * max(1.0, abs(best))]
    return [int(i) for i in candidates]


def pareto_optimal(utilities: np.ndarray) -> list[int]:
    """Options no other option Pareto-dominates (at least as good for all, strictly better for someone)."""
    u = _utilities(utilities)
    ge = np.all(u[:, :, None] >= u[:, None, :], axis=0)  # ge[j, i]: j at least as good as i for everyone
    gt = np.any(u[:, :, None] > u[:, None, :], axis=0)
    dominated = np.any(ge & gt, axis=0)
    return [int(i) for i in np.flatnonzero(~dominated)]


# ----------------------------------------------------------------------------- Bradley-Terry bridge
def sample_pairwise_wins(profile: np.ndarray, n_comparisons: int, seed: int | np.random.Generator = 0) -> np.ndarray:
    """Simulate RLHF annotation: ``n_comparisons`` times draw a random voter and a random pair of candidates,
    and record the voter's preference. Returns ``W[a, b]`` = how often a was preferred to b."""
    profile = validate_profile(profile)
    if int(n_comparisons) < 1:
        raise ValueError(f"n_comparisons must be at least 1, got {n_comparisons}")
    rng = np.random.default_rng(seed)
    n, m = profile.shape
    pos = _positions(profile)
    voters = rng.integers(0, n, size=int(n_comparisons))
    a = rng.integers(0, m, size=int(n_comparisons))
    b = (a + rng.integers(1, m, size=int(n_comparisons))) % m  # a uniformly random other candidate
    a_wins = pos[voters, a] < pos[voters, b]
    W = np.zeros((m, m), dtype=int)
    np.add.at(W, (np.where(a_wins, a, b), np.where(a_wins, b, a)), 1)
    return W


def bradley_terry_fit(wins: np.ndarray, l2: float = 1e-6, max_iter: int = 100, tol: float = 1e-10) -> np.ndarray:
    """Maximum-likelihood Bradley-Terry rewards r from a win matrix ``wins[a, b]`` (a preferred to b).

    Maximises sum_{a,b} W_ab log sigma(r_a - r_b) - (l2 / 2) ||r||^2 by Newton's method (Bradley & Terry 1952;
    the RLHF reward-model loss of Ouyang et al. 2022, arXiv 2203.02155, with one parameter per option).
    The small ``l2`` keeps r finite when an option never loses. Returns r centred to mean 0.
    """
    W = np.asarray(wins, dtype=float)
    if W.ndim != 2 or W.shape[0] != W.shape[1] or W.shape[0] < 2:
        raise ValueError(f"wins must be a square matrix [m, m] with m >= 2, got shape {W.shape}")
    if not np.all(np.isfinite(W)) or np.any(W < 0):
        raise ValueError("wins must hold finite non-negative counts")
    if not l2 > 0:
        raise ValueError(f"l2 must be > 0, got {l2}")
    W = W.copy()
    np.fill_diagonal(W, 0.0)
    N = W + W.T
    r = np.zeros(W.shape[0])
    for _ in range(int(max_iter)):
        p = 1.0 / (1.0 + np.exp(-(r[:, None] - r[None, :])))  # p[a, b] = P(a beats b)
        grad = (W - N * p).sum(axis=1) - l2 * r
        c = N * p * (1.0 - p)
        hess = c - np.diag(c.sum(axis=1)) - l2 * np.eye(len(r))
        step = np.linalg.solve(hess, -grad)
        r = r + step
        if np.max(np.abs(step)) < tol:
            break
    return r - r.mean()


# ------------------------------------------------------------------------------- frontier and demo
def frontier_options(n_frontier: int = 41, n_interior: int = 40, seed: int = 0) -> np.ndarray:
    """Utilities [2, n] of model behaviours for two stakeholders (users, society), in [0, 1].

    A permissiveness knob t in [0, 1] traces a concave Pareto frontier, u_users = 1 - (1 - t)^2 and
    u_society = 1 - t^2; ``n_interior`` seeded dominated options lie below it.
    """
    if n_frontier < 2 or n_interior < 0:
        raise ValueError(f"need n_frontier >= 2 and n_interior >= 0, got {n_frontier}, {n_interior}")
    t = np.linspace(0.0, 1.0, n_frontier)
    front = np.stack([1 - (1 - t) ** 2, 1 - t**2])
    rng = np.random.default_rng(seed)
    ti = rng.uniform(0, 1, n_interior)
    shrink = rng.uniform(0.3, 0.9, n_interior)
    inner = np.stack([1 - (1 - ti) ** 2, 1 - ti**2]) * shrink
    return np.concatenate([front, inner], axis=1)


@dataclass(frozen=True)
class BargainingPicks:
    """Indices of the options each rule picks, and the utilities they were computed from."""

    utilities: np.ndarray
    utilitarian: int
    egalitarian: int
    nash: int
    weight_users: float
    society_scale: float


_FRONTIER = frontier_options()


def bargaining_picks(weight_users: float = 0.5, society_scale: float = 1.0,
                     utilities: np.ndarray | None = None) -> BargainingPicks:
    """Picks of weighted utilitarian (weights w, 1 - w), egalitarian and Nash (d = 0) after society's utility
    is multiplied by ``society_scale`` (a change of units); first winner when tied."""
    if not (0.0 <= weight_users <= 1.0):
        raise ValueError(f"weight_users must be in [0, 1], got {weight_users}")
    if not (society_scale > 0 and np.isfinite(society_scale)):
        raise ValueError(f"society_scale must be a positive number, got {society_scale}")
    u = _FRONTIER if utilities is None else _utilities(utilities)
    if u.shape[0] != 2:
        raise ValueError("bargaining_picks needs utilities of exactly two stakeholders")
    scaled = u * np.array([1.0, society_scale])[:, None]
    w = np.array([weight_users, 1.0 - weight_users])
    util = utilitarian(scaled, w)[0] if w.sum() > 0 else 0
    nash = nash_bargaining(scaled, np.zeros(2))[0]
    return BargainingPicks(u, util, egalitarian(scaled)[0], nash, float(weight_users), float(society_scale))


def setup_bargaining(fig) -> dict:
    ax = fig.axes[0]
    u = _FRONTIER
    pareto = pareto_optimal(u)
    other = np.setdiff1d(np.arange(u.shape[1]), pareto)
    ax.scatter(u[0, other], u[1, other], s=14, color=COLORS["neutral"], label="dominated behaviours")
    ax.plot(u[0, pareto], u[1, pareto], ".-", color=COLORS["dark"], lw=1, ms=4, label="Pareto frontier")
    ax.set_xlim(-0.02, 1.25)
    ax.set_ylim(-0.02, 1.1)
    ax.set_aspect("equal")
    label_axes(ax, "users' utility", "society's utility (original units)")
    (iso,) = ax.plot([], [], "--", color=COLORS["proxy"], lw=1)
    (pu,) = ax.plot([], [], "o", ms=11, mfc="none", mew=2, color=COLORS["proxy"], label="utilitarian")
    (pe,) = ax.plot([], [], "s", ms=9, mfc="none", mew=2, color=COLORS["true"], label="egalitarian")
    (pn,) = ax.plot([], [], "*", ms=13, color=COLORS["bad"], label="Nash bargaining")
    ax.legend(loc="upper right", fontsize=8)
    title = ax.set_title("weight on users 0.00, society's units × 0.00")  # placeholder: reserves layout space
    return {"iso": iso, "util": pu, "egal": pe, "nash": pn, "title": title}


def draw_bargaining(art: dict, picks: BargainingPicks, **_values) -> None:
    u = picks.utilities
    for key, idx in (("util", picks.utilitarian), ("egal", picks.egalitarian), ("nash", picks.nash)):
        art[key].set_data([u[0, idx]], [u[1, idx]])
    # iso-welfare line through the utilitarian pick: w x + (1 - w) s y = const, drawn in original units
    w, s = picks.weight_users, picks.society_scale
    x0, y0 = u[0, picks.utilitarian], u[1, picks.utilitarian]
    xs = np.linspace(-0.02, 1.25, 2)
    if (1 - w) * s > 1e-9:
        art["iso"].set_data(xs, y0 - w / ((1 - w) * s) * (xs - x0))
    else:
        art["iso"].set_data([x0, x0], [-0.02, 1.1])
    art["title"].set_text(f"weight on users {w:.2f}, society's units × {s:.2f}")


def demo_bargaining() -> InteractiveFigure:
    """Sliders: the utilitarian weight on users, and a change of units of society's utility."""
    return InteractiveFigure(
        bargaining_picks, draw_bargaining,
        {"weight_users": float_slider("weight on users", 0.0, 1.0, 0.05, 0.5),
         "society_scale": float_slider("society's units ×", 0.25, 4.0, 0.25, 1.0)},
        setup=setup_bargaining, ncols=1, width=6.5, height=4.6)

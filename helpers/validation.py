"""Input checks shared by every topic module: the public-boundary ``ValueError``s of the course conventions.

Each check returns the checked value (as a float array where it is numeric) and raises a ``ValueError`` that
names the argument and says what is expected. One wording per check, so a message means the same thing in
every notebook:

* ``finite_array`` / ``finite_vector`` / ``finite_matrix``: numeric, of the right shape, no nan or inf;
* ``probability_vector`` / ``probability_rows``: non-negative entries summing to 1 (over the last axis);
* ``discount``: a discount factor, with ``allow_one`` saying whether 1 (no discounting) is allowed;
* ``transitions``: an MDP transition tensor P[s, a, s'];
* ``positive_int``: a whole number of at least ``minimum``;
* ``text_list``: a list of strings (not a single string).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = [
    "finite_array", "finite_vector", "finite_matrix", "probability_vector", "probability_rows", "discount",
    "positive_int", "text_list", "transitions",
]


def finite_array(x: Any, name: str, ndim: int | None = None) -> np.ndarray:
    """``x`` as a non-empty float array of only finite entries (and ``ndim`` dimensions when given)."""
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got {type(x).__name__}") from exc
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (it contains nan or inf)")
    return arr


def finite_vector(x: Any, name: str, n: int) -> np.ndarray:
    """``x`` as a float array of shape (``n``,) with only finite entries."""
    arr = np.asarray(x, dtype=float)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {arr.shape}")
    return finite_array(arr, name)


def finite_matrix(x: object, name: str, rows: str, cols: str) -> np.ndarray:
    """``x`` as a float array of shape [``rows``, ``cols``] with at least one of each and only finite entries;
    else a ``ValueError`` naming ``name`` and the expected shape."""
    a = np.asarray(x, dtype=float)
    if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"{name} must have shape [{rows}, {cols}], got shape {a.shape}")
    return finite_array(a, name)


def probability_vector(x: Any, name: str, n: int | None = None, atol: float = 1e-8) -> np.ndarray:
    """``x`` as a float array of shape (``n``,) (any length >= 1 when ``n`` is None): a probability
    distribution, i.e. finite, entries >= -``atol`` and summing to 1 as ``np.isclose(sum, 1, atol=atol)`` judges."""
    arr = finite_array(x, name, ndim=1) if n is None else finite_vector(x, name, n)
    if np.any(arr < -atol) or not np.isclose(arr.sum(), 1.0, atol=atol):
        raise ValueError(f"{name} must be a probability distribution (non-negative, summing to 1), "
                         f"got sum {arr.sum():.6g}")
    return arr


def probability_rows(x: Any, name: str, shape: tuple[int | None, ...], atol: float = 1e-8) -> np.ndarray:
    """``x`` as a float array of ``shape`` (``None`` matches any size >= 1) whose every slice along the last
    axis is a probability distribution (finite, entries >= -``atol``, summing to 1 within ``atol``)."""
    arr = np.asarray(x, dtype=float)
    if arr.ndim != len(shape) or any(want is not None and got != want for got, want in zip(arr.shape, shape, strict=True)):
        want = "[" + ", ".join("any" if s is None else str(s) for s in shape) + "]"
        raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    arr = finite_array(arr, name)
    if np.any(arr < -atol) or not np.allclose(arr.sum(axis=-1), 1.0, atol=atol):
        raise ValueError(f"{name} must hold probability distributions over its last axis (non-negative, "
                         "summing to 1)")
    return arr


def discount(x: Any, *, allow_one: bool) -> float:
    """A discount factor gamma as a float. ``allow_one=True``: gamma in (0, 1], for a finite horizon, where an
    undiscounted sum (gamma = 1) is finite; ``allow_one=False``: gamma in [0, 1), for an infinite horizon,
    where the discounted sum needs gamma < 1 to converge."""
    try:
        g = float(x)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"discount must be a number, got {x!r}") from exc
    if allow_one and not 0.0 < g <= 1.0:
        raise ValueError(f"discount must be in (0, 1] (a finite horizon), got {x}")
    if not allow_one and not 0.0 <= g < 1.0:
        raise ValueError(f"discount must be in [0, 1) (an infinite-horizon discounted problem), got {x}")
    return g


def positive_int(x: Any, name: str, minimum: int = 1) -> int:
    """``x`` as an int, which must be a whole number (not a bool) of at least ``minimum``."""
    if isinstance(x, bool) or not isinstance(x, (int, np.integer, float, np.floating)) or int(x) != x:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {x!r}")
    if int(x) < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {x}")
    return int(x)


def text_list(texts: Iterable[Any], name: str = "texts") -> list[str]:
    """Return ``texts`` as a list of str; raise ``ValueError`` naming the position of a non-string item."""
    if isinstance(texts, str):
        raise ValueError(f"{name} must be a sequence of strings, not a single str (wrap it in a list)")
    try:
        items = list(texts)
    except TypeError as exc:
        raise ValueError(f"{name} must be a sequence of strings, got {type(texts).__name__}") from exc
    for i, t in enumerate(items):
        if not isinstance(t, str):
            raise ValueError(f"{name}[{i}] must be a str, got {type(t).__name__}")
    return items


def transitions(P: Any, atol: float = 1e-8) -> np.ndarray:
    """``P`` as a float array after checking it is an MDP transition tensor: shape [S, A, S] with S, A >= 1,
    finite, entries >= -``atol``, every row P[s, a, :] summing to 1 within ``atol``."""
    P = np.asarray(P, dtype=float)
    if P.ndim != 3 or P.shape[0] != P.shape[2] or P.shape[0] == 0 or P.shape[1] == 0:
        raise ValueError(f"P must have shape [S, A, S], got {P.shape}")
    if not np.all(np.isfinite(P)) or np.any(P < -atol):
        raise ValueError("P must hold finite, non-negative probabilities")
    sums = P.sum(axis=2)
    if not np.allclose(sums, 1.0, atol=atol, rtol=0.0):
        s, a = np.unravel_index(np.argmax(np.abs(sums - 1.0)), sums.shape)
        raise ValueError(f"rows of P must sum to 1: P[{s}, {a}, :] sums to {sums[s, a]:.6g}")
    return P

"""Input checks shared by topic modules (the public-boundary ``ValueError``s of the course conventions)."""

from __future__ import annotations

import numpy as np

__all__ = ["finite_matrix"]


def finite_matrix(x: object, name: str, rows: str, cols: str) -> np.ndarray:
    """``x`` as a float array of shape [``rows``, ``cols``] with at least one of each and only finite entries;
    else a ``ValueError`` naming ``name`` and the expected shape."""
    a = np.asarray(x, dtype=float)
    if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"{name} must have shape [{rows}, {cols}], got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite")
    return a

"""Shared input checks."""

import numpy as np
import pytest

from helpers.validation import finite_matrix


def test_finite_matrix():
    a = finite_matrix([[1, 2], [3, 4]], "scores", "n_theories", "n_options")
    assert a.dtype == float and a.shape == (2, 2)
    with pytest.raises(ValueError, match=r"scores must have shape \[n_theories, n_options\], got shape \(3,\)"):
        finite_matrix([1, 2, 3], "scores", "n_theories", "n_options")
    with pytest.raises(ValueError, match=r"got shape \(0, 2\)"):
        finite_matrix(np.zeros((0, 2)), "u", "a", "b")
    with pytest.raises(ValueError, match="utilities must be finite"):
        finite_matrix([[1.0, np.nan]], "utilities", "n_stakeholders", "n_options")

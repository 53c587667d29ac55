"""Tests for helpers.stats.reliability_table: equality with scikit-learn's calibration_curve, closed forms, inputs."""

import numpy as np
import pytest
from sklearn.calibration import calibration_curve

from helpers import stats


@pytest.mark.parametrize("n_bins", [1, 5, 10])
def test_reliability_table_matches_sklearn_calibration_curve(n_bins):
    rng = np.random.default_rng(0)
    prob = np.concatenate([rng.random(500), [0.0, 0.1, 0.5, 1.0]])   # edges included
    outcome = (rng.random(len(prob)) < prob**2).astype(float)
    table = stats.reliability_table(prob, outcome, n_bins=n_bins)
    frequency, mean_predicted = calibration_curve(outcome, prob, n_bins=n_bins, strategy="uniform")
    np.testing.assert_allclose(table["frequency"], frequency, atol=1e-12)
    np.testing.assert_allclose(table["mean_predicted"], mean_predicted, atol=1e-12)
    assert table["count"].sum() == len(prob)


def test_ece_closed_forms():
    # perfectly calibrated in every bin: ECE 0
    assert stats.reliability_table(np.array([0.25, 0.25, 0.25, 0.25]), np.array([1, 0, 0, 0]))["ece"] == 0.0
    # always 0.9, never right: ECE 0.9
    assert stats.reliability_table(np.full(4, 0.9), np.zeros(4))["ece"] == pytest.approx(0.9)
    # two bins, off by 0.2 (2 of 5 predictions) and by 0.3 (3 of 5)
    t = stats.reliability_table(np.array([0.3, 0.3, 0.7, 0.7, 0.7]), np.array([1, 0, 1, 1, 1]), n_bins=2)
    assert t["ece"] == pytest.approx(0.4 * 0.2 + 0.6 * 0.3)


def test_reliability_table_bad_inputs():
    with pytest.raises(ValueError, match="same positive length"):
        stats.reliability_table(np.array([0.5]), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="probabilities"):
        stats.reliability_table(np.array([1.5]), np.array([1.0]))
    with pytest.raises(ValueError, match="0s and 1s"):
        stats.reliability_table(np.array([0.5]), np.array([0.5]))
    with pytest.raises(ValueError, match="n_bins"):
        stats.reliability_table(np.array([0.5]), np.array([1.0]), n_bins=0)

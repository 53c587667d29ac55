import numpy as np
import pytest

from helpers import goodhart


def test_max_normal_moments_closed_forms():
    m1, m2 = goodhart.max_normal_moments([1, 2, 3])
    # E[M_1] = 0, E[M_1^2] = 1; E[M_2] = 1/sqrt(pi), E[M_2^2] = 1; E[M_3] = 3 / (2 sqrt(pi))
    np.testing.assert_allclose(m1, [0.0, 1 / np.sqrt(np.pi), 1.5 / np.sqrt(np.pi)], atol=1e-6)
    np.testing.assert_allclose(m2[:2], [1.0, 1.0], atol=1e-6)


def test_max_normal_moments_large_n_against_simulation():
    rng = np.random.default_rng(0)
    sims = rng.standard_normal((4000, 1000)).max(axis=1)
    m1, m2 = goodhart.max_normal_moments(1000)
    assert abs(m1[0] - sims.mean()) < 4 * sims.std() / np.sqrt(4000)
    assert abs(m2[0] - (sims**2).mean()) < 0.05


def test_best_of_n_kl_formula():
    np.testing.assert_allclose(goodhart.best_of_n_kl([1, 2, 10]), [0.0, np.log(2) - 0.5, np.log(10) - 0.9])


def test_best_of_n_selection_and_validation():
    p, t = goodhart.best_of_n(np.array([[0.0, 2.0, 1.0], [5.0, 1.0, 0.0]]), np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    assert p.tolist() == [2.0, 5.0] and t.tolist() == [2.0, 4.0]
    with pytest.raises(ValueError):
        goodhart.best_of_n(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError):
        goodhart.best_of_n(np.zeros(3), np.zeros(3))


def test_expected_values_match_monte_carlo():
    for n, a in [(1, 0.7), (16, 0.6), (256, 0.3)]:
        p, t, se = goodhart.monte_carlo_best_of_n(n, a, 0.25, trials=3000, seed=n)
        ep, et = goodhart.expected_values(n, a, 0.25)
        assert abs(t - et[0]) < 4 * se and abs(p - ep[0]) < 0.08


def test_goodhart_claims():
    # the true value falls beyond some pressure for a < 1 (and harm > 0), never for a = 1
    for a in [0.0, 0.3, 0.6, 0.75]:
        assert goodhart.goodhart_curves(a).has_peak
    perfect = goodhart.goodhart_curves(1.0)
    assert not perfect.has_peak and np.all(np.diff(perfect.true_mean) > 0)
    # no harm: no peak, only regression to the mean
    assert not goodhart.goodhart_curves(0.5, harm=0.0).has_peak
    # the proxy always rises
    assert np.all(np.diff(goodhart.goodhart_curves(0.3).proxy_mean) > 0)


def test_gao_fit_recovers_exact_quadratic():
    d = np.linspace(0, 3, 30)
    alpha, beta, r2 = goodhart.fit_gao_bon(d, 2.0 + d * (1.5 - 0.4 * d))
    assert abs(alpha - 1.5) < 1e-9 and abs(beta - 0.4) < 1e-9 and r2 > 1 - 1e-12


@pytest.mark.parametrize("bad", [{"alignment_level": -0.1}, {"alignment_level": 1.5}, {"harm": -1.0},
                                 {"alignment_level": float("nan")}])
def test_bad_inputs(bad):
    kwargs = {"alignment_level": 0.5, "harm": 0.25} | bad
    with pytest.raises(ValueError):
        goodhart.expected_values(4, **kwargs)
    with pytest.raises(ValueError):
        goodhart.sample_candidates(10, **kwargs)


def test_pressure_out_of_range():
    with pytest.raises(ValueError):
        goodhart.goodhart_curves(0.5, pressure=25.0)
    with pytest.raises(ValueError):
        goodhart.max_normal_moments(0)

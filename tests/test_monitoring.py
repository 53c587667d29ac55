"""Tests for helpers.monitoring: closed forms, hand-checkable cases, bad inputs, and reference libraries.

Reference values were computed in scratch venvs (not dependencies of the course) on the same seeded data:
* alibi-detect 0.13.0 (numpy 1.26.4, scipy from its venv): ``KSDrift(x_ref, p_val=0.05, correction=c)
  .predict(x)["data"]`` -> is_drift, p_val (float32), threshold (for "fdr" with no detection alibi returns the
  whole vector of thresholds; we list its first entry, which is what ``ks_drift`` returns);
* alibi-detect 0.13.0 with torch 2.13.0: ``alibi_detect.utils.pytorch.distance.mmd2(x, y, GaussianRBF(sigma))``;
* river 0.26.1: ``drift.PageHinkley(**params)``, ``update`` value by value, index of the first
  ``drift_detected``.
"""

import numpy as np
import pytest
from scipy.stats import ks_2samp
from sklearn.metrics import roc_auc_score

from helpers import monitoring as mo


def _alibi_cases():
    """The seeded datasets the alibi-detect KSDrift reference values were computed on."""
    out = []
    rng = np.random.default_rng(100)
    out.append(("no-drift", rng.normal(size=(200, 4)), rng.normal(size=(150, 4))))
    rng = np.random.default_rng(101)
    x_ref = rng.normal(size=(300, 5))
    x = rng.normal(size=(100, 5))
    x[:, 2] += 0.4
    out.append(("one-shift", x_ref, x))
    rng = np.random.default_rng(102)
    out.append(("ties", rng.integers(0, 5, size=(80, 3)).astype(float),
                rng.integers(0, 6, size=(60, 3)).astype(float)))
    rng = np.random.default_rng(103)
    x_ref = rng.normal(size=(120, 6))
    x = rng.normal(size=(120, 6))
    x[:, :3] *= 1.5
    out.append(("scale", x_ref, x))
    rng = np.random.default_rng(104)
    x_ref = rng.normal(size=(50, 8))
    x = rng.normal(size=(40, 8))
    x[:, 0] += 0.55
    x[:, 5] += 0.45
    out.append(("borderline", x_ref, x))
    rng = np.random.default_rng(105)
    x_ref = rng.normal(size=(250, 3))
    x = rng.normal(size=(90, 3))
    x[:, 1] += 0.8
    out.append(("strong", x_ref, x))
    rng = np.random.default_rng(106)
    out.append(("one-feature", rng.normal(size=(70,)), rng.normal(0.3, 1.0, size=(70,))))
    return {name: (a, b) for name, a, b in out}


# (dataset, correction, is_drift, p-values, threshold) from alibi-detect 0.13.0 KSDrift, see the module docstring
ALIBI_KSDRIFT = [
    ('no-drift', 'bonferroni', 0, [0.7666876912117004, 0.8789923787117004, 0.7161002159118652, 0.43913885951042175], 0.0125),
    ('no-drift', 'fdr', 0, [0.7666876912117004, 0.8789923787117004, 0.7161002159118652, 0.43913885951042175], 0.0125),
    ('one-shift', 'bonferroni', 0, [0.7871859669685364, 0.4566591680049896, 0.016144445165991783, 0.5954828858375549, 0.8705694675445557], 0.01),
    ('one-shift', 'fdr', 0, [0.7871859669685364, 0.4566591680049896, 0.016144445165991783, 0.5954828858375549, 0.8705694675445557], 0.01),
    ('ties', 'bonferroni', 0, [0.11439692974090576, 0.9565531015396118, 0.6593130826950073], 0.016666666666666666),
    ('ties', 'fdr', 0, [0.11439692974090576, 0.9565531015396118, 0.6593130826950073], 0.016666666666666666),
    ('scale', 'bonferroni', 0, [0.04455601051449776, 0.009210885502398014, 0.009210885502398014, 0.8632875084877014, 0.8632875084877014, 0.3596470057964325], 0.008333333333333333),
    ('scale', 'fdr', 1, [0.04455601051449776, 0.009210885502398014, 0.009210885502398014, 0.8632875084877014, 0.8632875084877014, 0.3596470057964325], 0.016666666666666666),
    ('borderline', 'bonferroni', 0, [0.010537811554968357, 0.7688500881195068, 0.947705090045929, 0.04485516995191574, 0.4955892264842987, 0.3908071517944336, 0.3908071517944336, 0.45919787883758545], 0.00625),
    ('borderline', 'fdr', 0, [0.010537811554968357, 0.7688500881195068, 0.947705090045929, 0.04485516995191574, 0.4955892264842987, 0.3908071517944336, 0.3908071517944336, 0.45919787883758545], 0.00625),
    ('strong', 'bonferroni', 1, [0.6048892736434937, 2.625290429492111e-09, 0.5807285904884338], 0.016666666666666666),
    ('strong', 'fdr', 1, [0.6048892736434937, 2.625290429492111e-09, 0.5807285904884338], 0.016666666666666666),
    ('one-feature', 'bonferroni', 1, [0.04336235299706459], 0.05),
    ('one-feature', 'fdr', 1, [0.04336235299706459], 0.05),
]


@pytest.mark.parametrize(("name", "correction", "is_drift", "p_values", "threshold"), ALIBI_KSDRIFT,
                         ids=[f"{c[0]}-{c[1]}" for c in ALIBI_KSDRIFT])
def test_ks_drift_matches_alibi_detect(name, correction, is_drift, p_values, threshold):
    x_ref, x = _alibi_cases()[name]
    drift, p, thr = mo.ks_drift(x_ref, x, p_val=0.05, correction=correction)
    assert drift == bool(is_drift)
    # alibi stores p-values as float32: agreement to float32 precision
    np.testing.assert_allclose(p, p_values, rtol=2e-7, atol=1e-12)
    assert thr == pytest.approx(threshold, rel=1e-12)


def test_ks_matches_scipy_asymp_including_ties():
    rng = np.random.default_rng(1)
    for n1, n2 in [(50, 50), (100, 37), (10, 300)]:
        a = rng.normal(size=(4, n1))
        b = rng.normal(0.3, 1.0, size=(4, n2))
        b[0, :5] = a[0, :5]
        a[3] = np.round(a[3])
        b[3] = np.round(b[3])
        d = mo.ks_statistic(a, b)
        p = mo.ks_pvalue(d, n1, n2)
        for f in range(4):
            ref = ks_2samp(a[f], b[f], method="asymp")
            assert d[f] == pytest.approx(ref.statistic, abs=1e-12)
            assert p[f] == pytest.approx(ref.pvalue, abs=1e-12)


def test_ks_identical_samples_p_is_one():
    x = np.random.default_rng(0).normal(size=(40, 3))
    drift, p, _ = mo.ks_drift(x, x)
    assert not drift
    np.testing.assert_array_equal(p, np.ones(3))
    assert mo.ks_statistic(np.array([1.0, 1.0, 2.0]), np.array([2.0, 1.0, 1.0])) == 0.0


def test_ks_statistic_hand_case():
    # ECDFs of {1,2,3} and {4,5,6} differ by 1 at t = 3; of {1,2,3,4} vs {3,4}: max gap 0.5 at t = 2
    assert mo.ks_statistic(np.array([1.0, 2, 3]), np.array([4.0, 5, 6])) == 1.0
    assert mo.ks_statistic(np.array([1.0, 2, 3, 4]), np.array([3.0, 4])) == 0.5


def test_multiple_testing_rules():
    p = np.array([0.001, 0.02, 0.03, 0.5])
    assert mo.multiple_testing_threshold(p, 0.05, "bonferroni")[0]          # 0.001 < 0.0125
    drift, thr = mo.multiple_testing_threshold(p, 0.05, "fdr")              # steps 0.0125 0.025 0.0375 0.05
    assert drift and thr == pytest.approx(0.0375)                           # largest i with p_(i) < 0.05 i / 4
    drift, thr = mo.multiple_testing_threshold(np.array([0.03, 0.04]), 0.05, "bonferroni")
    assert not drift and thr == 0.025
    assert mo.multiple_testing_threshold(np.array([0.03, 0.04]), 0.05, "none")[0]
    batch, _ = mo.multiple_testing_threshold(np.array([[0.001, 0.9], [0.2, 0.9]]), 0.05, "fdr")
    np.testing.assert_array_equal(batch, [True, False])


def test_false_alarm_rates_measured():
    rng = np.random.default_rng(0)
    reps, k, n = 400, 10, 60
    p = mo.ks_pvalue(mo.ks_statistic(rng.normal(size=(reps, k, n)), rng.normal(size=(reps, k, n))), n, n)
    naive = mo.multiple_testing_threshold(p, 0.05, "none")[0].mean()
    bonf = mo.multiple_testing_threshold(p, 0.05, "bonferroni")[0].mean()
    assert abs(naive - (1 - 0.95**10)) < 0.08
    assert bonf < 0.05 + 3 * np.sqrt(0.05 * 0.95 / reps)


# alibi-detect 0.13.0 + torch 2.13.0: mmd2(x, y, GaussianRBF(sigma)) on rng(200) data (see module docstring)
ALIBI_MMD2 = {0.5: -0.0006701812863351558, 1.0: 0.021427127370714283, 2.0: 0.020757053448464236}


def test_mmd2_unbiased_matches_alibi_detect():
    rng = np.random.default_rng(200)
    x = rng.normal(size=(30, 3))
    y = rng.normal(0.5, 1.0, size=(40, 3))
    for sigma, expected in ALIBI_MMD2.items():
        assert mo.mmd2(x, y, sigma, unbiased=True) == pytest.approx(expected, rel=1e-10, abs=1e-14)


def test_mmd2_closed_forms():
    x = np.random.default_rng(0).normal(size=(25, 2))
    assert mo.mmd2(x, x, 1.0) == 0.0
    # one point each at distance 1, sigma 1: 1 + 1 - 2 exp(-1/2)
    assert mo.mmd2(np.zeros((1, 1)), np.ones((1, 1)), 1.0) == pytest.approx(2 - 2 * np.exp(-0.5))
    # brute force double loop
    y = np.random.default_rng(1).normal(size=(7, 2))
    k = lambda a, b: np.exp(-np.sum((a - b) ** 2) / (2 * 0.7**2))  # noqa: E731
    brute = (np.mean([[k(a, b) for b in x] for a in x]) + np.mean([[k(a, b) for b in y] for a in y])
             - 2 * np.mean([[k(a, b) for b in y] for a in x]))
    assert mo.mmd2(x, y, 0.7) == pytest.approx(brute, rel=1e-10)


def test_mmd_permutation_test_properties():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(60, 2)), rng.normal(1.0, 1.0, size=(60, 2))
    res = mo.mmd_permutation_test(x, y, n_permutations=99, seed=0)
    assert res.p_value == pytest.approx(0.01)              # (1 + 0) / (1 + 99): nothing beats the real split
    assert res.null.shape == (99,) and res.statistic == pytest.approx(mo.mmd2(x, y, mo.median_heuristic(x, y)))
    same = mo.mmd_permutation_test(x, x, n_permutations=50, seed=0)
    assert same.p_value == 1.0
    again = mo.mmd_permutation_test(x, y, n_permutations=99, seed=0)
    np.testing.assert_array_equal(res.null, again.null)
    # false-alarm rate near alpha with no drift (seeded repetitions)
    ps = np.array([mo.mmd_permutation_test(rng.normal(size=(30, 2)), rng.normal(size=(30, 2)),
                                           n_permutations=39, seed=i).p_value for i in range(120)])
    assert np.mean(ps <= 0.05) < 0.05 + 3 * np.sqrt(0.05 * 0.95 / 120)


# river 0.26.1 drift.PageHinkley(**params), first index with drift_detected (see module docstring)
def _river_streams():
    out = []
    rng = np.random.default_rng(10)
    out.append((np.r_[rng.normal(0, 1, 300), rng.normal(1.0, 1, 300)], {}, 325))
    rng = np.random.default_rng(11)
    out.append((np.r_[rng.normal(5, 1, 200), rng.normal(3.5, 1, 200)], dict(threshold=20.0, delta=0.05), 211))
    rng = np.random.default_rng(12)
    out.append((np.r_[rng.normal(0, 2, 250), rng.normal(-3, 2, 250), rng.normal(3, 2, 250)],
                dict(threshold=30.0, mode="up", min_instances=10), 505))
    rng = np.random.default_rng(13)
    out.append((rng.normal(0, 1, 1000), dict(threshold=8.0, delta=0.01, alpha=0.999), 68))
    out.append((np.full(500, 2.5), dict(threshold=0.0, delta=0.0), None))
    return out


# river 0.26.1, PageHinkley(threshold=15.0, delta=0.02, min_instances=20) on the first 40 of 200 seeded streams
# (all 200 agreed when this was generated)
RIVER_MANY = [100, 200, 87, 104, 147, 166, 146, 49, 166, 63, 130, 30, 224, 53, 83, 77, 217, 135, 99, 94, 95, 304,
              247, 96, 79, 82, 105, 40, 76, 287, 57, 267, 179, 107, 183, 313, 176, 134, 65, 298]


def test_page_hinkley_matches_river():
    for stream, params, expected in _river_streams():
        assert mo.page_hinkley(stream, **params) == expected, params
    rng = np.random.default_rng(2026)
    x = rng.normal(0, 1, (200, 600))
    x[:, 300:] += rng.uniform(-1, 1, (200, 1))
    got = mo.page_hinkley(x[:40], threshold=15.0, delta=0.02, min_instances=20)
    np.testing.assert_array_equal(got, RIVER_MANY)


def test_page_hinkley_constant_stream_never_fires():
    for value in [0.0, 3.7, -1e6]:
        assert mo.page_hinkley(np.full(2000, value), threshold=1e-9) is None
    stat = mo.page_hinkley_statistic(np.full(100, 1.0), delta=0.0)
    np.testing.assert_allclose(stat, 0.0)


def test_page_hinkley_statistic_zero_before_min_instances():
    stat = mo.page_hinkley_statistic(np.arange(50.0), min_instances=10)
    assert np.all(stat[:9] == 0) and stat[9] > 0


def test_cusum_closed_forms():
    step = np.r_[np.zeros(100), np.full(20, 1.5)]
    # S grows by d - k = 1 per step after the change: exceeds h = 5 at the 6th post-change step (index 105)
    assert mo.cusum(step, threshold=5.0, k=0.5) == 105
    np.testing.assert_allclose(mo.cusum_statistic(step, k=0.5)[100:106], [1, 2, 3, 4, 5, 6])
    assert mo.cusum(np.zeros(1000), threshold=0.0, k=0.0) is None
    assert mo.cusum(np.r_[np.zeros(10), -np.full(10, 2.0)], threshold=4.0, k=0.5) == 12   # downward side
    assert mo.cusum(np.r_[np.zeros(10), -np.full(10, 2.0)], threshold=4.0, k=0.5, two_sided=False) is None
    # standardisation: mu0 and sigma
    assert mo.cusum(10 + 2 * step, threshold=5.0, mu0=10.0, sigma=2.0, k=0.5) == 105


def test_batched_detection_equals_single_stream():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(5, 300))
    x[:, 150:] += 1.0
    batch = mo.cusum(x, threshold=4.0)
    assert batch.tolist() == [mo.cusum(row, threshold=4.0) for row in x]
    assert mo.first_crossing(np.array([[0.0, 1.0], [0.0, 0.0]]), 0.5).tolist() == [1, -1]


def test_ood_scores_and_auroc():
    logits = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1000.0, 0.0, -1000.0]])
    np.testing.assert_allclose(mo.msp_score(logits), [np.exp(2) / (np.exp(2) + 2), 1 / 3, 1.0])
    np.testing.assert_allclose(mo.energy_score(logits), [np.log(np.exp(2) + 2), np.log(3), 1000.0])
    # temperature T: T logsumexp(f / T) -> max f as T -> 0
    assert mo.energy_score(logits[:1], temperature=1e-3)[0] == pytest.approx(2.0, abs=1e-2)
    # MSP ignores a constant added to all logits; energy shifts by it
    assert mo.msp_score(logits + 5)[0] == pytest.approx(mo.msp_score(logits)[0])
    assert mo.energy_score(logits + 5)[0] == pytest.approx(mo.energy_score(logits)[0] + 5)
    rng = np.random.default_rng(0)
    a, b = rng.normal(1, 1, 200), rng.normal(0, 1, 150)
    b[:10] = a[:10]   # ties
    y = np.r_[np.ones(200), np.zeros(150)]
    assert mo.auroc(a, b) == pytest.approx(roc_auc_score(y, np.r_[a, b]), abs=1e-12)
    assert mo.auroc([1.0, 2.0], [0.0]) == 1.0 and mo.auroc([0.0], [0.0]) == 0.5


def test_make_blobs():
    x, y = mo.make_blobs(10, np.array([[0.0, 0.0], [5.0, 5.0]]), scale=0.1, seed=1)
    assert x.shape == (20, 2) and y.tolist() == [0] * 10 + [1] * 10
    np.testing.assert_allclose(x[y == 1].mean(0), [5, 5], atol=0.1)


def test_detection_curves_tradeoff():
    c = mo.detection_curves(threshold=5.0, shift=1.0, n_streams=100)
    assert np.all(np.diff(c.false_alarm) <= 0)              # higher threshold, fewer false alarms
    finite = ~np.isnan(c.delay)
    assert np.all(np.diff(c.delay[finite]) >= -1.0)         # ... and (up to noise) longer delays
    assert 0 <= c.current_false_alarm <= 1


def test_multiple_testing_rates():
    p_null, p_alt = mo.simulate_feature_pvalues(reps=200, max_features=6, n=40, seed=1)
    assert p_null.shape == p_alt.shape == (200, 6)
    np.testing.assert_array_equal(p_null[:, 1:], p_alt[:, 1:])          # only feature 0 drifts
    assert np.median(p_alt[:, 0]) < np.median(p_null[:, 0])
    one = mo.multiple_testing_rates(p_null, p_alt, 1, 0.05)
    assert np.all(one.false_alarm == one.false_alarm[0])                 # K = 1: all rules coincide
    six = mo.multiple_testing_rates(p_null, p_alt, 6, 0.05)
    assert six.corrections == ("none", "bonferroni", "fdr")
    assert six.false_alarm[0] >= six.false_alarm[2] >= six.false_alarm[1]   # BH is never stricter than Bonferroni
    assert six.naive_theory == pytest.approx(1 - 0.95**6)
    with pytest.raises(ValueError, match="n_features"):
        mo.multiple_testing_rates(p_null, p_alt, 7, 0.05)
    with pytest.raises(ValueError, match="p_null"):
        mo.multiple_testing_rates(p_null, p_alt[:, :3], 2, 0.05)


@pytest.mark.parametrize(("fn", "kwargs", "match"), [
    (mo.ks_drift, dict(x_ref=np.zeros((5, 2)), x=np.zeros((5, 3))), "features"),
    (mo.ks_drift, dict(x_ref=np.zeros((5, 2)), x=np.zeros((5, 2)), correction="holm"), "correction"),
    (mo.ks_drift, dict(x_ref=np.zeros((5, 2)), x=np.zeros((5, 2)), p_val=1.5), "p_val"),
    (mo.ks_drift, dict(x_ref=np.array([[np.nan]]), x=np.zeros((5, 1))), "x_ref"),
    (mo.ks_drift, dict(x_ref=np.zeros((0, 2)), x=np.zeros((5, 2))), "x_ref"),
    (mo.mmd2, dict(x=np.zeros((3, 2)), y=np.zeros((3, 2)), sigma=0.0), "sigma"),
    (mo.mmd2, dict(x=np.zeros((1, 2)), y=np.zeros((3, 2)), sigma=1.0, unbiased=True), "unbiased"),
    (mo.mmd_permutation_test, dict(x=np.zeros((3, 2)), y=np.zeros((3, 2)), n_permutations=0), "n_permutations"),
    (mo.page_hinkley, dict(stream=np.zeros(10), mode="sideways"), "mode"),
    (mo.page_hinkley, dict(stream=np.zeros(10), alpha=0.0), "alpha"),
    (mo.page_hinkley, dict(stream=np.zeros(10), min_instances=0), "min_instances"),
    (mo.page_hinkley, dict(stream=np.zeros((2, 2, 2))), "stream"),
    (mo.cusum, dict(stream=np.zeros(10), k=-1.0), "k"),
    (mo.cusum, dict(stream=np.zeros(10), threshold=-1.0), "threshold"),
    (mo.msp_score, dict(logits=np.zeros(3)), "logits"),
    (mo.energy_score, dict(logits=np.zeros((2, 3)), temperature=0.0), "temperature"),
    (mo.auroc, dict(scores_in=[], scores_out=[1.0]), "scores_in"),
])
def test_bad_inputs(fn, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fn(**kwargs)


# ------------------------------------------------ BH, exact KS size, CUSUM run lengths, black-box shift estimation
def test_benjamini_hochberg_matches_scipy():
    from scipy.stats import false_discovery_control

    rng = np.random.default_rng(0)
    for _ in range(200):
        p = np.concatenate([rng.uniform(size=int(rng.integers(1, 15))), rng.uniform(0, 0.01, int(rng.integers(0, 5)))])
        q = float(rng.uniform(0.01, 0.3))
        assert np.array_equal(mo.benjamini_hochberg(p, q), false_discovery_control(p) <= q)
    # step-up, not step-down: 0.03 is above its line (0.025) and still rejected
    assert mo.benjamini_hochberg(np.array([0.9, 0.036, 0.01, 0.03]), 0.05).tolist() == [False, True, True, True]
    # the batch decision agrees with multiple_testing_threshold's "fdr" on continuous p-values
    p = rng.uniform(size=(500, 8)) ** 2
    assert np.array_equal(np.array([mo.benjamini_hochberg(r, 0.05).any() for r in p]),
                          mo.multiple_testing_threshold(p, 0.05, "fdr")[0])
    with pytest.raises(ValueError):
        mo.benjamini_hochberg(np.array([0.5, 1.5]))


def test_ks_exact_size():
    from scipy import stats

    x = np.random.default_rng(1).normal(size=30)
    y = np.random.default_rng(2).normal(size=30)
    d = stats.ks_2samp(x, y).statistic
    assert abs(mo.ks_exact_sf(d, 30) - stats.ks_2samp(x, y, method="exact").pvalue) < 1e-12
    size, d_star = mo.ks_test_size(100, 0.05)
    assert d_star == 0.19 and abs(size - 0.0539) < 1e-3  # the approximate p-value is slightly liberal here
    assert mo.ks_pvalue(np.array([0.19]), 100, 100)[0] < 0.05 < mo.ks_pvalue(np.array([0.18]), 100, 100)[0]


def test_cusum_arl_known_values_and_simulation():
    # one-sided h = 5, k = 0.5: ARL0 about 930 and ARL1 (1-sd shift) about 10.4 (Brook & Evans; Siegmund)
    assert abs(mo.cusum_arl(5.0, 0.5, two_sided=False) - 930) < 10
    assert abs(mo.cusum_arl(5.0, 0.5, shift=1.0, two_sided=False) - 10.4) < 0.1
    # simulation: run length of a two-sided CUSUM started at 0 after a 1-sd shift (delay convention: alarm included)
    rng = np.random.default_rng(3)
    x = rng.normal(1.0, 1.0, (4000, 80))
    first = mo.first_crossing(mo.cusum_statistic(x, k=0.5), 4.0)
    assert np.all(first >= 0)
    mean, se = (first + 1).mean(), (first + 1).std() / np.sqrt(len(first))
    assert abs(mean - mo.cusum_arl(4.0, 0.5, shift=1.0)) < 3 * se + 0.1
    with pytest.raises(ValueError):
        mo.cusum_arl(0.0)


def test_detection_delay_convention():
    c = mo.detection_curves(5.0, 1.0, n_streams=50)
    first = np.array([mo.first_crossing(s, 5.0) for s in [c.stream]])
    assert c.change_point == 200 and first.shape == (1,)
    step = np.concatenate([np.zeros(100), np.full(20, 1.5)])
    alarm = mo.cusum(step, threshold=5.0, k=0.5, two_sided=False)
    assert alarm - 100 + 1 == 6  # the 6th post-change observation raises the alarm: delay 6


def test_bbse_recovers_label_shift():
    rng = np.random.default_rng(4)
    y_src = rng.integers(0, 3, 20000)
    noisy = np.where(rng.uniform(size=20000) < 0.8, y_src, rng.integers(0, 3, 20000))  # a mediocre black box
    q_true = np.array([0.6, 0.3, 0.1])
    y_tgt = rng.choice(3, size=20000, p=q_true)
    pred_tgt = np.where(rng.uniform(size=20000) < 0.8, y_tgt, rng.integers(0, 3, 20000))
    w, q = mo.bbse_weights(y_src, noisy, pred_tgt, 3)
    assert np.max(np.abs(q - q_true)) < 0.02
    with pytest.raises(ValueError):
        mo.bbse_weights(y_src, noisy, pred_tgt, 2)


def test_change_detection_view_reuses_paths_and_matches_a_fresh_run():
    """The demo's compute (paths kept per shift in a Memo) equals detection_curves computed from scratch."""
    from helpers.widgets import Memo

    paths = Memo(mo.detection_paths)
    view = mo.change_detection_view(paths, threshold=6.5, shift=1.0)
    fresh = mo.detection_curves(threshold=6.5, shift=1.0)
    assert view.current_false_alarm == fresh.current_false_alarm and view.current_delay == fresh.current_delay
    np.testing.assert_array_equal(view.false_alarm, fresh.false_alarm)
    mo.change_detection_view(paths, threshold=2.0, shift=1.0)
    assert len(paths.results) == 1, "a threshold move must not recompute the CUSUM paths"
    with pytest.raises(ValueError):
        mo.detection_curves(5.0, shift=0.5, paths=paths(shift=1.0))

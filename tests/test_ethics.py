"""Tests for helpers.ethics: moral uncertainty (closed forms, invariances, constraints) and fairness metrics
equal to fairlearn.metrics."""

import warnings

import numpy as np
import pytest

from helpers import ethics

# Reference values from fairlearn 0.15.0 (scratch venv /tmp/ref-social, `pip install fairlearn`), produced with
# fairlearn.metrics.demographic_parity_difference / equalized_odds_difference on the inputs below (drawn with
# numpy default_rng(9); every group has both labels). Columns of the last list: DPD between_groups,
# EOD between_groups worst_case, EOD between_groups mean, DPD to_overall, EOD to_overall worst_case,
# EOD to_overall mean. Row: y_true, y_pred, group letters, sample_weight (None = unweighted), values.
FAIRLEARN = [
    ('111101010010010011', '011001110010010000', 'caaaacabacbbcbacbb', None, [0.3, 0.25, 0.20833333333333331, 0.18888888888888888, 0.125, 0.11249999999999999]),
    ('1100110111011001111011010101', '0100110010011011101010010101', 'cccaccabcbacabbcabbbcbbaccba', None, [0.5272727272727273, 0.8, 0.5, 0.3, 0.5222222222222221, 0.31111111111111106]),
    ('0011110010110000000011100110101101', '0010001001100000010111110011101100', 'cbaabbbacbcaaacccbacbbaabbabbbbaba', [0.59, 0.86, 1.55, 1.62, 0.62, 1.96, 0.69, 2.0, 1.44, 1.21, 1.71, 1.71, 0.65, 0.77, 1.91, 1.89, 1.76, 0.5, 1.31, 0.92, 1.35, 0.67, 1.64, 0.66, 0.91, 0.84, 1.83, 1.01, 0.88, 0.99, 1.14, 1.3, 1.47, 1.08], [0.2360389315846087, 0.32388609894219467, 0.1856669675280097, 0.15434098482043695, 0.19807637206636974, 0.11106295543751815]),
    ('11010000010111010000101010100', '10001011011010110000111110101', 'ccabbacdabbbabbdccbdcabbcbabc', None, [0.16666666666666663, 0.6, 0.4607142857142857, 0.11494252873563215, 0.33333333333333337, 0.2769607843137255]),
    ('000010010000000010001001000110000000', '000110000100000110001100010000000100', 'dbbccacdddaadaaaaaabcaadcacabcddacdb', None, [0.5, 1.0, 0.6666666666666666, 0.25, 0.5714285714285714, 0.38916256157635465]),
    ('001000000110000100011100000', '000011010001010010001000100', 'ddaccdadbcdcbddbdddcddcbcbb', [0.77, 0.99, 0.84, 0.92, 0.58, 1.41, 1.01, 1.9, 0.91, 0.87, 1.21, 0.52, 1.01, 0.74, 0.62, 0.59, 0.95, 0.61, 1.02, 1.73, 0.78, 0.71, 1.1, 1.26, 1.73, 1.25, 1.85], [0.4935952177625962, 0.5835051546391753, 0.4361970217640321, 0.30882352941176466, 0.37021276595744684, 0.27160134748260323]),
    ('1000111011110000110', '1110111001110000010', 'aabbbbbabbbaaaaaaab', None, [0.2666666666666666, 0.16666666666666666, 0.125, 0.14035087719298245, 0.1111111111111111, 0.08055555555555557]),
    ('110110111001001101111111011', '010010010110101001101110001', 'bbbbababbabbbababaabbabbbba', None, [0.27777777777777773, 0.2976190476190476, 0.23214285714285715, 0.18518518518518517, 0.18796992481203012, 0.15648496240601506]),
    ('1110010100001000000000011010010', '0011110000100000000000000000010', 'acbcbabbddbcdbbcaacbcacdadbdbbc', [1.7, 1.21, 0.74, 1.42, 1.64, 1.98, 0.55, 1.96, 1.04, 0.66, 1.33, 1.31, 0.97, 1.79, 1.09, 1.25, 0.69, 1.92, 1.52, 0.83, 1.94, 1.36, 0.87, 0.83, 1.89, 0.79, 1.85, 1.85, 1.03, 1.33, 1.59], [0.3564356435643565, 0.3595641646489104, 0.35751996383253415, 0.2062057170779379, 0.28008298755186717, 0.23689951112116703]),
    ('0100110001000110001111000100001100011', '0011101011001010010000000000010101010', 'baccaaabacbcbbcacacbcbacbabbbabaaabca', None, [0.4230769230769231, 0.6, 0.5569444444444445, 0.27442827442827444, 0.3333333333333333, 0.29734848484848486]),
    ('101110100010000011100011000101', '010010001011000011001000001011', 'cacbddcbcbbddddbdccccacabcadbb', None, [0.2, 0.6666666666666666, 0.5666666666666667, 0.13333333333333336, 0.38461538461538464, 0.3491704374057315]),
    ('11001111101111110110111', '10011111000011110010101', 'babaaabababbaaaaabbabab', [0.59, 1.2, 1.19, 0.66, 1.04, 1.37, 1.99, 1.29, 1.39, 1.49, 0.7, 1.5, 1.13, 0.66, 1.12, 1.57, 0.78, 1.34, 0.93, 1.86, 0.85, 1.6, 1.85], [0.05690838652342756, 0.1875402641656283, 0.16266366026653023, 0.03193755357560313, 0.11036789297658862, 0.10240814501463022]),
]
# fairlearn 0.15.0 on two sensitive features (intersectional groups): y_true, y_pred, s1, s2, DPD, EOD.
TWO_FEATURES = (
    '100001110000100011000011001101111001111010011000011100010001', '100011111011000101100111010110110100111010000110110011000110', '100101011100011011111111110110100000101100000001111100111110', '011001011101011000101011110010110001101001000010000001011111', 0.22142857142857147, 0.5416666666666667,
)


def _bits(text):
    return np.array([int(c) for c in text])


@pytest.mark.parametrize("row", FAIRLEARN, ids=[f"case{i}" for i in range(len(FAIRLEARN))])
def test_fairness_metrics_match_fairlearn(row):
    y, p, g, w, expected = row
    y, p, g = _bits(y), _bits(p), np.array(list(g))
    w = None if w is None else np.array(w)
    got = []
    for method in ("between_groups", "to_overall"):
        got.append(ethics.demographic_parity_difference(y, p, g, method=method, sample_weight=w))
        for agg in ("worst_case", "mean"):
            got.append(ethics.equalized_odds_difference(y, p, g, method=method, sample_weight=w, agg=agg))
    assert np.allclose(got, expected, rtol=0, atol=1e-12)


def test_two_sensitive_features_match_fairlearn():
    y, p, s1, s2, dpd, eod = TWO_FEATURES
    sf = np.stack([_bits(s1), _bits(s2)], axis=1)
    assert ethics.demographic_parity_difference(_bits(y), _bits(p), sf) == pytest.approx(dpd, abs=1e-12)
    assert ethics.equalized_odds_difference(_bits(y), _bits(p), sf) == pytest.approx(eod, abs=1e-12)


def test_group_without_positives_warns_instead_of_using_zero():
    y = np.array([0, 0, 1, 1, 0, 0, 0, 0])
    p = np.array([0, 1, 1, 0, 1, 0, 0, 1])
    g = np.array(["a"] * 4 + ["b"] * 4)
    # fairlearn 0.15.0 returns 0.5 here: it takes group b's undefined TPR as 0 (TPR gap 0.5 - 0)
    with pytest.warns(UserWarning, match=r"\['b'\] have no positive labels"):
        eod = ethics.equalized_odds_difference(y, p, g)
    assert eod == 0.0  # FPRs are 0.5 and 0.5; group b's TPR is left out
    rates = ethics.group_rates(y, p, g)
    assert np.isnan(rates.true_positive_rate[1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ethics.demographic_parity_difference(y, p, g) == 0.0  # selection rates 0.5, 0.5: no warning


def test_group_without_negatives_warns():
    y = np.array([1, 1, 1, 0, 1, 0])
    p = np.array([1, 0, 1, 0, 1, 1])
    g = np.array([0, 0, 0, 1, 1, 1])
    with pytest.warns(UserWarning, match="no negative labels"):
        ethics.equalized_odds_difference(y, p, g)


def test_hand_checked_rates():
    y = np.array([1, 1, 0, 0, 1, 0, 0, 0])
    p = np.array([1, 0, 1, 0, 1, 1, 1, 0])
    g = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    r = ethics.group_rates(y, p, g)
    assert r.selection_rate.tolist() == [0.5, 0.75]
    assert r.true_positive_rate.tolist() == [0.5, 1.0]
    assert r.false_positive_rate.tolist() == pytest.approx([0.5, 2 / 3])
    assert r.base_rate.tolist() == [0.5, 0.25]
    assert ethics.demographic_parity_difference(y, p, g) == pytest.approx(0.25)
    assert ethics.equalized_odds_difference(y, p, g) == pytest.approx(0.5)
    assert ethics.equalized_odds_difference(y, p, g, agg="mean") == pytest.approx((0.5 + 1 / 6) / 2)


def test_perfect_classifier_is_fair_by_equalized_odds_not_parity():
    y = np.array([1, 0, 0, 0, 1, 1, 1, 0])
    g = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    assert ethics.equalized_odds_difference(y, y, g) == 0.0
    assert ethics.demographic_parity_difference(y, y, g) == 0.5  # base rates 0.25 vs 0.75


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"y_true": np.array([0, 2]), "y_pred": np.array([0, 1]), "sensitive_features": np.array([0, 1])}, "y_true"),
    ({"y_true": np.array([0, 1]), "y_pred": np.array([0, 1, 1]), "sensitive_features": np.array([0, 1])}, "y_pred"),
    ({"y_true": np.array([0, 1]), "y_pred": np.array([0, 1]), "sensitive_features": np.array([0])}, "sensitive"),
    ({"y_true": np.array([0, 1]), "y_pred": np.array([0, 1]), "sensitive_features": np.array([0, 1]),
      "method": "ratio"}, "method"),
])
def test_fairness_bad_inputs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ethics.demographic_parity_difference(**kwargs)


def test_chouldechova_identity_holds_on_counts():
    score, y, g = ethics.synthetic_risk_scores(2000, seed=1)
    p = (score > 0.5).astype(int)
    r = ethics.group_rates(y, p, g)
    for i in range(2):
        implied = ethics.chouldechova_fpr(r.base_rate[i], r.positive_predictive_value[i], r.true_positive_rate[i])
        assert implied == pytest.approx(r.false_positive_rate[i], rel=1e-12)
    with pytest.raises(ValueError):
        ethics.chouldechova_fpr(1.0, 0.5, 0.5)


def test_synthetic_scores_are_calibrated_with_different_base_rates():
    score, y, g = ethics.synthetic_risk_scores(20000, base_rates=(0.3, 0.5), seed=0)
    for grp, base in ((0, 0.3), (1, 0.5)):
        assert abs(y[g == grp].mean() - base) < 0.015
        in_bin = (g == grp) & (score > 0.4) & (score < 0.5)
        assert abs(y[in_bin].mean() - score[in_bin].mean()) < 0.03
    with pytest.raises(ValueError, match="base_rates"):
        ethics.synthetic_risk_scores(10, base_rates=(0.0, 0.5))


# ------------------------------------------------------------------------------------- moral uncertainty
def test_expected_choiceworthiness_closed_form():
    s = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.6]])
    assert ethics.expected_choiceworthiness(s, np.array([0.5, 0.5])).tolist() == [0.5, 0.5, 0.55]
    assert ethics.choose(s, np.array([0.5, 0.5])) == [2]
    assert ethics.choose(s, np.array([1.0, 0.0])) == [0]
    assert ethics.choose(np.array([[1.0, 1.0]]), np.array([1.0])) == [0, 1]  # ties: all returned


def test_hard_constraints_filter_before_scoring():
    s = ethics.SCENARIO_SCORES
    c = np.array([0.4, 0.3, 0.3])
    assert ethics.choose(s, c) == [4]  # the consequentialist's favourite wins the raw weighted sum
    ec = ethics.expected_choiceworthiness(s, c, ethics.SCENARIO_FORBIDDEN)
    assert np.isneginf(ec[3]) and np.isneginf(ec[4])
    assert ethics.choose(s, c, ethics.SCENARIO_FORBIDDEN) == [1]
    # a theory with zero credence forbids nothing
    assert ethics.choose(s, np.array([1.0, 0.0, 0.0]), ethics.SCENARIO_FORBIDDEN) == [4]
    everything = np.ones_like(ethics.SCENARIO_FORBIDDEN)
    assert ethics.choose(s, c, everything) == []


def test_normalisation_makes_choice_invariant_to_units():
    rng = np.random.default_rng(0)
    flips_raw = 0
    for _ in range(100):
        s = rng.normal(size=(3, 5))
        c = rng.dirichlet(np.ones(3))
        rescaled = s * np.array([[50.0], [1.0], [1.0]]) + np.array([[3.0], [0.0], [-1.0]])
        for norm in ("range", "variance"):
            assert ethics.choose(rescaled, c, normalisation=norm) == ethics.choose(s, c, normalisation=norm)
        flips_raw += ethics.choose(rescaled, c) != ethics.choose(s, c)
    assert flips_raw > 10


def test_normalise_scores_values():
    s = np.array([[1.0, 3.0, 5.0], [2.0, 2.0, 2.0]])
    assert ethics.normalise_scores(s, "range").tolist() == [[0.0, 0.5, 1.0], [0.0, 0.0, 0.0]]
    v = ethics.normalise_scores(s, "variance")
    assert np.allclose(v[0].mean(), 0) and np.allclose(v[0].std(), 1) and np.all(v[1] == 0)
    with pytest.raises(ValueError, match="method"):
        ethics.normalise_scores(s, "softmax")


def test_moral_uncertainty_bad_inputs():
    s = np.ones((2, 3))
    with pytest.raises(ValueError, match="sum to 1"):
        ethics.expected_choiceworthiness(s, np.array([0.5, 0.6]))
    with pytest.raises(ValueError, match="credences"):
        ethics.expected_choiceworthiness(s, np.array([1.0]))
    with pytest.raises(ValueError, match="scores"):
        ethics.expected_choiceworthiness(np.ones(3), np.array([1.0]))
    with pytest.raises(ValueError, match="forbidden"):
        ethics.expected_choiceworthiness(s, np.array([0.5, 0.5]), np.zeros((3, 3), dtype=bool))
    with pytest.raises(ValueError, match="first"):
        ethics.credences_from_sliders(1.5, 0.5)


def test_sensitivity_map_agrees_with_choose():
    wmap = ethics.sensitivity_map(ethics.SCENARIO_SCORES, ethics.SCENARIO_FORBIDDEN, "range", n=21)
    cred, inside = ethics.simplex_grid(21)
    assert np.all(wmap[~inside] == -1)
    rng = np.random.default_rng(2)
    for _ in range(40):
        i, j = rng.integers(0, 21, 2)
        if not inside[i, j]:
            continue
        c = cred[i, j] / cred[i, j].sum()
        chosen = ethics.choose(ethics.SCENARIO_SCORES, c, ethics.SCENARIO_FORBIDDEN, "range")
        assert wmap[i, j] == (chosen[0] if chosen else -1)
    assert ethics.credences_from_sliders(0.4, 0.5).tolist() == pytest.approx([0.4, 0.3, 0.3])


def test_min_fairness_gap_depends_on_base_rates():
    s, y, g = ethics.synthetic_risk_scores(5000, (0.3, 0.5), seed=0)
    gap, t0, t1 = ethics.min_fairness_gap(s, y, g)
    assert gap > 0.1 and t0 < t1
    s, y, g = ethics.synthetic_risk_scores(5000, (0.4, 0.4), seed=0)
    assert ethics.min_fairness_gap(s, y, g)[0] < 0.02
    with pytest.raises(ValueError, match="TPR"):
        ethics.min_fairness_gap(s, y, g, min_tpr=1.01)


# ------------------------------------------------------------- Hardt et al. post-processing, bias AUCs, audit
def test_roc_hull_is_concave_and_spans_the_square():
    s, y, _ = ethics.synthetic_risk_scores(500, seed=1)
    fpr, tpr, ts = ethics.roc_hull(s, y)
    assert (fpr[0], fpr[-1], tpr[-1]) == (0.0, 1.0, 1.0) and tpr[0] > 0
    slopes = np.diff(tpr) / np.diff(fpr)
    assert np.all(np.diff(fpr) > 0) and np.all(np.diff(slopes) <= 1e-12)


def test_equalized_odds_postprocess_is_exact():
    for base_rates in [(0.3, 0.5), (0.2, 0.6)]:
        s, y, g = ethics.synthetic_risk_scores(3000, base_rates=base_rates, seed=2)
        post = ethics.equalized_odds_postprocess(s, y, g)
        assert np.ptp(post.tpr) < 1e-12 and np.ptp(post.fpr) < 1e-12
        assert np.all((post.flag_probability >= 0) & (post.flag_probability <= 1))
        f, t = post.target
        assert abs(post.fpr[0] - f) < 1e-12 and abs(post.tpr[0] - t) < 1e-12 and t > f


def test_auc_and_bias_aucs_match_sklearn():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    s = np.round(rng.uniform(size=300), 1)  # many ties
    y = rng.integers(0, 2, 300)
    gm = rng.uniform(size=300) < 0.3
    assert abs(ethics.auc(s[y == 1], s[y == 0]) - roc_auc_score(y, s)) < 1e-12
    b = ethics.bias_aucs(s, y, gm)
    assert abs(b["subgroup_auc"] - roc_auc_score(y[gm], s[gm])) < 1e-12
    bpsn = (gm & (y == 0)) | (~gm & (y == 1))
    bnsp = (gm & (y == 1)) | (~gm & (y == 0))
    assert abs(b["bpsn_auc"] - roc_auc_score(y[bpsn], s[bpsn])) < 1e-12
    assert abs(b["bnsp_auc"] - roc_auc_score(y[bnsp], s[bnsp])) < 1e-12
    assert np.isnan(ethics.auc(np.array([]), np.array([0.5])))


def test_bias_audit_points_and_intervals():
    texts, hostile, group, frame = ethics.identity_audit_set()
    assert len(texts) == 12 * 2 * 12 * 3 and len(set(texts)) == len(texts)
    rng = np.random.default_rng(4)
    s = np.clip(0.6 * hostile + 0.1 * (group == 0) + rng.normal(0, 0.2, len(texts)), 0, 1)
    r = ethics.bias_audit(s, hostile, group == 0, frame, n_boot=500, seed=0)
    b = ethics.bias_aucs(s, hostile, group == 0)
    for key in b:
        assert abs(r[key][0] - b[key]) < 1e-12 and r[key][1] <= r[key][0] <= r[key][2]
    fpr = np.mean(s[(group == 0) & (hostile == 0)] >= 0.5)
    assert abs(r["fpr"][0] - fpr) < 1e-12
    # the vectorised cluster bootstrap agrees with the generic one (different draws: compare widths loosely)
    slow = ethics.cluster_bootstrap(lambda i: ethics.bias_aucs(s[i], hostile[i], (group == 0)[i])["bpsn_auc"],
                                    len(s), frame, n_boot=500, seed=1)
    assert abs((slow[2] - slow[1]) - (r["bpsn_auc"][2] - r["bpsn_auc"][1])) < 0.05


def test_cluster_bootstrap_is_wider_than_iid_for_duplicated_data():
    x = np.repeat(np.random.default_rng(5).normal(size=20), 10)  # 20 clusters of 10 identical values
    clusters = np.repeat(np.arange(20), 10)
    _, lo_c, hi_c = ethics.cluster_bootstrap(lambda i: x[i].mean(), len(x), clusters, n_boot=1000)
    _, lo_i, hi_i = ethics.cluster_bootstrap(lambda i: x[i].mean(), len(x), None, n_boot=1000)
    assert (hi_c - lo_c) > 2 * (hi_i - lo_i)
    with pytest.raises(ValueError):
        ethics.cluster_bootstrap(lambda i: 0.0, 5, np.arange(4))


def test_moral_uncertainty_view_picks_the_argmax_and_its_map():
    maps = ethics.moral_uncertainty_maps(n=11)
    res = ethics.moral_uncertainty_view(maps, 1.0, 0.5, "none", False)
    np.testing.assert_allclose(res.credences, [1.0, 0.0, 0.0])
    assert res.winner == int(np.argmax(ethics.SCENARIO_SCORES[0]))  # all credence on the consequentialist row
    assert res.winner_map is maps[("none", False)]
    constrained = ethics.moral_uncertainty_view(maps, 0.4, 0.5, "range", True)
    c = ethics.credences_from_sliders(0.4, 0.5)
    ec = ethics.expected_choiceworthiness(ethics.SCENARIO_SCORES, c, ethics.SCENARIO_FORBIDDEN, "range")
    np.testing.assert_array_equal(constrained.ec, ec)
    assert constrained.winner == int(np.argmax(ec)) and constrained.winner_map is maps[("range", True)]

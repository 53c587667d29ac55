"""Tests for helpers.social_choice: closed forms, properties, bad inputs, and agreement with pref_voting."""

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from helpers import social_choice as sc

# Reference winners from pref_voting 1.18.2 (scratch venv /tmp/ref-social, `pip install pref_voting`), produced by
# Profile(rankings) and pref_voting.scoring_methods.plurality / borda, c1_methods.copeland,
# margin_based_methods.minimax (= maximin for complete rankings) and Profile.condorcet_winner(). The profiles were
# drawn with numpy default_rng(2024) (1-3 distinct rankings, 1-9 voters, 3-5 candidates, so ties and cycles are
# common); the last two are notebook 07's profiles. Each profile: space-separated rankings, best first.
# Columns: profile, plurality, borda, copeland, minimax, condorcet winner.
PREF_VOTING = [
    ('210 210 210 210 210 210 210', [2], [2], [2], [2], 2),
    ('012 120 210 012 012 210 210 120 210', [2], [1], [1], [1], 1),
    ('23401', [2], [2], [2], [2], 2),
    ('0312 0312 0312 0312', [0], [0], [0], [0], 0),
    ('13024 13402 20314', [1], [1], [1], [1], 1),
    ('31204 31204 31204', [3], [3], [3], [3], 3),
    ('120 120 120 120 120 120', [1], [1], [1], [1], 1),
    ('12403 23104 12403 10234 12403', [1], [1], [1], [1], 1),
    ('120 012 012 120 012 012', [0], [0, 1], [0], [0], 0),
    ('2031 2031 0132 2031 0132', [2], [0], [2], [2], 2),
    ('120', [1], [1], [1], [1], 1),
    ('012', [0], [0], [0], [0], 0),
    ('2310', [2], [2], [2], [2], 2),
    ('13042 13042 34102 41032 34102 13042', [1], [1], [1], [1], None),
    ('0123 1032 1032', [1], [1], [1], [1], 1),
    ('10432 10432 10432', [1], [1], [1], [1], 1),
    ('2013 2013 2013 2013 2013 2013', [2], [2], [2], [2], 2),
    ('012 012 012 012', [0], [0], [0], [0], 0),
    ('0321 0321 0321 0321 0321', [0], [0], [0], [0], 0),
    ('021 021 021 012', [0], [0], [0], [0], 0),
    ('04231 04231 04231 41320 41320 04231', [0], [4], [0], [0], 0),
    ('210 012 210 210 012 012', [0, 2], [0, 1, 2], [0, 1, 2], [0, 1, 2], None),
    ('1230', [1], [1], [1], [1], 1),
    ('2310 2310 2310 2310', [2], [2], [2], [2], 2),
    ('24301 24301 10342', [2], [2], [2], [2], 2),
    ('32104 32104 32104 32104 32104 32104', [3], [3], [3], [3], 3),
    ('210 210 210 210 210 012', [2], [2], [2], [2], 2),
    ('021 210 210 012 021 210 210 210 021', [2], [2], [2], [2], 2),
    ('20413', [2], [2], [2], [2], 2),
    ('210 210', [2], [2], [2], [2], 2),
    ('01324', [0], [0], [0], [0], 0),
    ('42013 13024 03412 03412 03412 42013 42013 03412 13024', [0], [0], [0], [0], 0),
    ('0321 0321 2301 0321 0321 0321 0321 0321', [0], [0], [0], [0], 0),
    ('021 012', [0], [0], [0], [0], 0),
    ('2310 1203 1203 1203 2310 1203 2310 1203', [1], [2], [1], [1], 1),
    ('2301 2301', [2], [2], [2], [2], 2),
    ('3021 1203 1203 1203 1203 1203 3021 3201 3021', [1], [1, 2], [1], [1], 1),
    ('2031 2031 2031 2031 2031 2031 2031', [2], [2], [2], [2], 2),
    ('3102 3102 3102 3102 3102 3102 3102 3102', [3], [3], [3], [3], 3),
    ('41302 41302 41302 41302 41302 41302 41302 41302 41302', [4], [4], [4], [4], 4),
    ('0123 0123 0123 0123 0123 1230 1230 2310 2310 2310 2310', [0], [2], [1], [1], 1),
    ('012 120 201', [0, 1, 2], [0, 1, 2], [0, 1, 2], [0, 1, 2], None),
]


def _parse(text):
    return np.array([[int(c) for c in ranking] for ranking in text.split()])


@pytest.mark.parametrize("row", PREF_VOTING, ids=[f"profile{i}" for i in range(len(PREF_VOTING))])
def test_winners_match_pref_voting(row):
    text, plur, bord, cope, mini, cw = row
    profile = _parse(text)
    assert sc.plurality(profile) == plur
    assert sc.borda(profile) == bord
    assert sc.copeland(profile) == cope
    assert sc.maximin(profile) == mini
    assert sc.condorcet_winner(profile) == cw


def test_reference_set_has_ties_and_cycles():
    assert any(len(r[2]) > 1 for r in PREF_VOTING)  # Borda ties are returned in full
    assert any(r[5] is None for r in PREF_VOTING)


def test_three_candidate_cycle_has_no_condorcet_winner():
    cycle = np.array([[0, 1, 2], [1, 2, 0], [2, 0, 1]])
    assert sc.condorcet_winner(cycle) is None
    M = sc.majority_matrix(cycle)
    assert M.tolist() == [[0, 2, 1], [1, 0, 2], [2, 1, 0]]
    # every rule ties all three: perfect symmetry
    for rule in (sc.plurality, sc.borda, sc.copeland, sc.maximin):
        assert rule(cycle) == [0, 1, 2]


def test_hand_checked_scores():
    profile = sc.profile_from_blocks([[0, 1, 2, 3], [1, 2, 3, 0], [2, 3, 1, 0]], [5, 2, 4])
    assert profile.shape == (11, 4)
    assert sc.plurality_scores(profile).tolist() == [5, 2, 4, 0]
    assert sc.borda_scores(profile).tolist() == [15, 20, 21, 10]
    assert sc.copeland_scores(profile).tolist() == [-3, 3, 1, -1]  # 0 loses to every rival (R beats it 6-5)
    assert sc.maximin_scores(profile).tolist() == [5, 6, 4, 0]
    assert (sc.plurality(profile), sc.borda(profile), sc.condorcet_winner(profile)) == ([0], [2], 1)


def test_majority_matrix_properties():
    rng = np.random.default_rng(0)
    profile = np.array([rng.permutation(5) for _ in range(7)])
    M = sc.majority_matrix(profile)
    assert np.all(np.diag(M) == 0)
    off = ~np.eye(5, dtype=bool)
    assert np.all((M + M.T)[off] == 7)  # complete rankings: every voter compares every pair
    assert np.array_equal(M.sum(axis=1), sc.borda_scores(profile))  # Borda = row sums


def test_unanimity_and_single_voter():
    ranking = np.array([[3, 1, 0, 2]])
    for rule in (sc.plurality, sc.borda, sc.copeland, sc.maximin):
        assert rule(ranking) == [3]
        assert rule(np.repeat(ranking, 4, axis=0)) == [3]
    assert sc.condorcet_winner(ranking) == 3


def test_condorcet_consistency_of_copeland_and_maximin():
    rng = np.random.default_rng(1)
    seen = 0
    for _ in range(200):
        profile = np.array([rng.permutation(4) for _ in range(int(rng.integers(1, 8)))])
        cw = sc.condorcet_winner(profile)
        if cw is not None:
            seen += 1
            assert sc.copeland(profile) == [cw] and sc.maximin(profile) == [cw]
    assert seen > 50


@pytest.mark.parametrize("bad", [np.array([0, 1, 2]), np.array([[0, 0, 1]]), np.array([[0, 1, 3]]),
                                 np.array([[0.5, 1, 2]]), np.zeros((0, 3), dtype=int), np.array([[0]])])
def test_bad_profiles_raise(bad):
    with pytest.raises(ValueError, match="profile"):
        sc.borda(bad)


def test_profile_from_blocks_validates():
    with pytest.raises(ValueError, match="counts"):
        sc.profile_from_blocks([[0, 1], [1, 0]], [1])
    with pytest.raises(ValueError, match="counts"):
        sc.profile_from_blocks([[0, 1], [1, 0]], [0, 0])


# ------------------------------------------------------------------------------------------- cardinal
def test_cardinal_rules_hand_checked():
    # options A(1, 0) B(.8, .3) C(.6, .48) D(.5, .5) E(0, 1) F(.4, .4) for (users, society)
    u = np.array([[1.0, 0.8, 0.6, 0.5, 0.0, 0.4], [0.0, 0.3, 0.48, 0.5, 1.0, 0.4]])
    assert sc.utilitarian(u) == [1]                   # sums 1, 1.1, 1.08, 1, 1, .8
    assert sc.egalitarian(u) == [3]                   # minima 0, .3, .48, .5, 0, .4
    assert sc.nash_bargaining(u, np.zeros(2)) == [2]  # products 0, .24, .288, .25, 0, .16
    assert sc.pareto_optimal(u) == [0, 1, 2, 3, 4]    # F is dominated by D
    assert sc.utilitarian(u, np.array([1.0, 0.0])) == [0]
    assert sc.utilitarian(u, np.array([0.0, 1.0])) == [4]
    assert sc.nash_bargaining(u, np.array([0.7, 0.0])) == [1]  # only B beats d for both
    assert sc.nash_bargaining(u, np.array([0.95, 0.95])) == []


def test_ties_are_all_returned():
    u = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 0.5]])
    assert sc.utilitarian(u) == [0, 1]
    assert sc.pareto_optimal(u) == [0, 1, 2]


def test_nash_is_invariant_to_affine_rescaling_utilitarian_is_not():
    rng = np.random.default_rng(3)
    changed = 0
    for _ in range(50):
        u = rng.uniform(0.1, 1.0, size=(3, 12))
        d = np.zeros(3)
        a, b = np.array([1.0, 5.0, 0.3]), np.array([2.0, -1.0, 0.5])
        v = a[:, None] * u + b[:, None]
        assert sc.nash_bargaining(v, a * d + b) == sc.nash_bargaining(u, d)
        changed += sc.utilitarian(v) != sc.utilitarian(u)
    assert changed > 5


def test_choices_are_pareto_optimal():
    rng = np.random.default_rng(4)
    for _ in range(50):
        u = rng.uniform(0.01, 1.0, size=(2, 15))
        pareto = set(sc.pareto_optimal(u))
        assert set(sc.utilitarian(u, rng.uniform(0.1, 1, 2))) <= pareto
        assert set(sc.nash_bargaining(u, np.zeros(2))) <= pareto
        assert sc.egalitarian(u)[0] in pareto or len(sc.egalitarian(u)) > 1


def test_cardinal_bad_inputs():
    with pytest.raises(ValueError, match="utilities"):
        sc.utilitarian(np.ones(3))
    with pytest.raises(ValueError, match="utilities"):
        sc.egalitarian(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="weights"):
        sc.utilitarian(np.ones((2, 3)), np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="disagreement"):
        sc.nash_bargaining(np.ones((2, 3)), np.zeros(3))


# ------------------------------------------------------------------------------- Bradley-Terry bridge
def test_bradley_terry_recovers_known_rewards():
    r_true = np.array([1.0, 0.0, -0.5, 0.5])
    p = 1 / (1 + np.exp(-(r_true[:, None] - r_true[None, :])))
    W = 1000.0 * p  # expected counts with 1,000 comparisons per ordered pair
    np.fill_diagonal(W, 0)
    r = sc.bradley_terry_fit(W, l2=1e-9)
    assert np.allclose(r, r_true - r_true.mean(), atol=1e-6)


def test_bradley_terry_on_balanced_votes_ranks_like_borda():
    rng = np.random.default_rng(5)
    for _ in range(30):
        profile = np.array([rng.permutation(5) for _ in range(int(rng.integers(2, 12)))])
        r = sc.bradley_terry_fit(sc.majority_matrix(profile))
        borda = sc.borda_scores(profile)
        for a, b in itertools.combinations(range(5), 2):
            if borda[a] != borda[b]:
                assert np.sign(r[a] - r[b]) == np.sign(borda[a] - borda[b])
            else:
                assert abs(r[a] - r[b]) < 1e-6


def test_score_equations_at_the_optimum():
    profile = sc.profile_from_blocks([[0, 1, 2, 3], [1, 2, 3, 0], [2, 3, 1, 0]], [5, 2, 4])
    r = sc.bradley_terry_fit(sc.majority_matrix(profile), l2=1e-9)
    p = 1 / (1 + np.exp(-(r[:, None] - r[None, :])))
    np.fill_diagonal(p, 0)
    assert np.allclose(11 * p.sum(axis=1), sc.borda_scores(profile), atol=1e-5)  # expected wins = Borda


def test_sample_pairwise_wins():
    profile = np.array([[0, 1, 2]] * 3)
    W = sc.sample_pairwise_wins(profile, 600, seed=0)
    assert W.sum() == 600 and np.all(np.tril(W) == 0)  # unanimous: only upper-triangle wins
    assert np.array_equal(W, sc.sample_pairwise_wins(profile, 600, seed=0))
    with pytest.raises(ValueError, match="n_comparisons"):
        sc.sample_pairwise_wins(profile, 0)


def test_bradley_terry_bad_inputs():
    with pytest.raises(ValueError, match="wins"):
        sc.bradley_terry_fit(np.ones(3))
    with pytest.raises(ValueError, match="wins"):
        sc.bradley_terry_fit(-np.ones((2, 2)))
    with pytest.raises(ValueError, match="l2"):
        sc.bradley_terry_fit(np.ones((2, 2)), l2=0.0)


def test_bargaining_picks_and_frontier():
    u = sc.frontier_options()
    assert u.shape == (2, 81) and set(range(41)) <= set(sc.pareto_optimal(u))
    base = sc.bargaining_picks(0.5, 1.0)
    assert base.utilitarian == base.egalitarian == base.nash == 20  # symmetric frontier: the middle
    scaled = sc.bargaining_picks(0.5, 3.0)
    assert scaled.nash == base.nash and scaled.utilitarian != base.utilitarian
    assert scaled.egalitarian != base.egalitarian
    with pytest.raises(ValueError, match="weight_users"):
        sc.bargaining_picks(1.5)
    with pytest.raises(ValueError, match="society_scale"):
        sc.bargaining_picks(0.5, 0.0)


# ------------------------------------------------------------------ random 5-7 candidate profiles (pref_voting)
_FIXTURE = json.loads((Path(__file__).parent / "reference" / "pref_voting_profiles.json").read_text())["cases"]


@pytest.mark.parametrize("case", _FIXTURE, ids=[f"random{i}" for i in range(len(_FIXTURE))])
def test_random_profiles_match_pref_voting(case):
    """Winners from tests/reference/pref_voting_reference.py --write (pref_voting 1.18.2) on random profiles."""
    p = np.array(case["profile"])
    assert sc.plurality(p) == case["plurality"]
    assert sc.borda(p) == case["borda"]
    assert sc.copeland(p) == case["copeland"]
    assert sc.maximin(p) == case["minimax"]
    assert sc.schulze(p) == case["beat_path"]
    assert sc.split_cycle(p) == case["split_cycle"]
    assert sc.condorcet_winner(p) == case["condorcet_winner"]
    if case["maximal_lottery"] is not None:
        np.testing.assert_allclose(sc.maximal_lottery(p), case["maximal_lottery"], atol=1e-7)


def test_random_fixture_is_not_trivial():
    """The counts quoted in notebook 07: 200 profiles, 57 without a Condorcet winner, 103 with odd n, none unanimous."""
    assert len(_FIXTURE) == 200
    assert sum(c["condorcet_winner"] is None for c in _FIXTURE) == 57
    assert sum(c["maximal_lottery"] is not None for c in _FIXTURE) == 103
    assert all(len(np.unique(np.array(c["profile"]), axis=0)) > 1 for c in _FIXTURE)
    assert all(5 <= np.array(c["profile"]).shape[1] <= 7 for c in _FIXTURE)
    assert sum(len(set(r[0].split())) == 1 for r in PREF_VOTING) == 22  # unanimous hand-picked profiles


def _with_clone(profile, c, rng):
    m = profile.shape[1]
    rows = [np.insert(b, int(np.flatnonzero(b == c)[0]) + int(rng.integers(2)), m) for b in profile]
    return np.array(rows)


@pytest.mark.parametrize("rule", [sc.schulze, sc.split_cycle])
def test_clone_independence(rule):
    """Tideman (1987): adding a clone never changes the winners (a winning clone stands for its original)."""
    rng = np.random.default_rng(0)
    for _ in range(300):
        m, n = int(rng.integers(3, 6)), int(rng.integers(3, 12))
        prof = np.array([rng.permutation(m) for _ in range(n)])
        c = int(rng.integers(m))
        after = {c if w == m else w for w in rule(_with_clone(prof, c, rng))}
        assert after == set(rule(prof))


def test_borda_is_not_clone_independent():
    prof = sc.profile_from_blocks(np.array([[0, 1, 2, 3], [1, 2, 3, 0], [2, 3, 1, 0]]), [5, 2, 4])
    clone = sc.profile_from_blocks(np.array([[0, 1, 4, 2, 3], [1, 4, 2, 3, 0], [2, 3, 1, 4, 0]]), [5, 2, 4])
    assert sc.borda(prof) == [2] and sc.borda(clone) == [1]


def test_schulze_and_split_cycle_closed_forms():
    cycle = np.array([[0, 1, 2], [1, 2, 0], [2, 0, 1]])
    assert sc.schulze(cycle) == sc.split_cycle(cycle) == [0, 1, 2]
    P = sc.strongest_paths(sc.margin_matrix(cycle))
    assert np.array_equal(P, np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]]))
    rng = np.random.default_rng(5)
    for _ in range(200):  # Condorcet consistency
        prof = np.array([rng.permutation(4) for _ in range(int(rng.integers(1, 10)))])
        cw = sc.condorcet_winner(prof)
        if cw is not None:
            assert sc.schulze(prof) == sc.split_cycle(prof) == [cw]
            np.testing.assert_allclose(sc.maximal_lottery(prof), np.eye(4)[cw], atol=1e-9)


def test_maximal_lottery_is_unbeaten():
    rng = np.random.default_rng(6)
    for _ in range(50):
        prof = np.array([rng.permutation(5) for _ in range(int(rng.integers(1, 6)) * 2 + 1)])
        p = sc.maximal_lottery(prof)
        assert p.min() >= 0 and abs(p.sum() - 1) < 1e-12
        assert np.all(p @ sc.margin_matrix(prof) >= -1e-9)  # no candidate beats the lottery in expectation


def test_leximin_refines_egalitarian_and_is_pareto():
    ties = np.array([[0.2, 0.2, 0.6], [0.5, 0.9, 0.1]])
    assert sc.egalitarian(ties) == [0, 1] and sc.leximin(ties) == [1]
    rng = np.random.default_rng(7)
    for _ in range(200):
        u = rng.integers(0, 4, size=(3, 6)).astype(float)  # many ties
        lex = sc.leximin(u)
        assert set(lex) <= set(sc.egalitarian(u)) and set(lex) <= set(sc.pareto_optimal(u))


def test_bury():
    assert sc.bury(np.array([0, 1, 2, 3]), 1).tolist() == [0, 2, 3, 1]
    assert sc.bury(np.array([2, 0, 1]), 1).tolist() == [2, 0, 1]
    with pytest.raises(ValueError):
        sc.bury(np.array([0, 1, 2]), 3)
    with pytest.raises(ValueError):
        sc.bury(np.array([0, 0, 2]), 0)

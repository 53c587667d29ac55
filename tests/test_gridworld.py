"""Tests for helpers.gridworld: the shared MDP contract (used by notebooks 03 and 04)."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from helpers import gridworld

LAYOUT = ("S..L", ".#.W", "...G")


def test_states_are_non_wall_cells_in_row_major_order():
    w = gridworld.make_gridworld(LAYOUT)
    assert w.n_states == 11 and w.n_actions == 4 and w.shape == (3, 4)
    assert w.cell(0) == (0, 0) and w.cell(4) == (1, 0) and w.cell(5) == (1, 2)
    for s in range(w.n_states):
        assert w.state(*w.cell(s)) == s
    with pytest.raises(ValueError, match="wall"):
        w.state(1, 1)
    with pytest.raises(ValueError, match="outside"):
        w.state(3, 0)
    with pytest.raises(ValueError, match="state"):
        w.cell(11)


def test_deterministic_moves_walls_and_edges():
    w = gridworld.make_gridworld(LAYOUT)
    up, right, down, left = range(4)
    s0 = w.state(0, 0)
    assert w.P[s0, up, s0] == 1.0 and w.P[s0, left, s0] == 1.0          # edges: stay
    assert w.P[s0, right, w.state(0, 1)] == 1.0
    assert w.P[s0, down, w.state(1, 0)] == 1.0
    s = w.state(0, 1)
    assert w.P[s, down, s] == 1.0                                         # wall below: stay
    assert set(np.unique(w.P)) <= {0.0, 1.0}


def test_slip_probabilities():
    p = 0.3
    w = gridworld.make_gridworld(LAYOUT, slip=p)
    np.testing.assert_allclose(w.P.sum(-1), 1.0)
    s = w.state(1, 2)  # open cell: up (0,2), right (1,3), down (2,2), left = wall (stay)
    np.testing.assert_allclose(w.P[s, 1, w.state(1, 3)], 1 - p)
    np.testing.assert_allclose(w.P[s, 1, w.state(0, 2)], p / 3)
    np.testing.assert_allclose(w.P[s, 1, w.state(2, 2)], p / 3)
    np.testing.assert_allclose(w.P[s, 1, s], p / 3)
    np.testing.assert_allclose(w.P[s, 3, s], 1 - p)  # intended move into the wall stays


def test_goal_is_absorbing_by_default_and_optional():
    g = gridworld.make_gridworld(LAYOUT, slip=0.2).cells_of("G")[0]
    w = gridworld.make_gridworld(LAYOUT, slip=0.2)
    np.testing.assert_allclose(w.P[g, :, g], 1.0)
    w2 = gridworld.make_gridworld(LAYOUT, slip=0.2, goal_absorbing=False)
    assert w2.P[g, 0, g] < 1.0


def test_features_and_init_dist():
    w = gridworld.make_gridworld(LAYOUT)
    assert w.feature_names == ("floor", "goal", "lava", "water")
    np.testing.assert_array_equal(w.features.sum(1), 1.0)
    np.testing.assert_array_equal(w.features.sum(0), [8, 1, 1, 1])
    assert w.features[w.state(0, 3), 2] == 1.0 and w.features[w.state(1, 3), 3] == 1.0
    np.testing.assert_array_equal(w.init_dist, np.eye(11)[0])
    w_nostart = gridworld.make_gridworld(("..", ".G"))
    np.testing.assert_allclose(w_nostart.init_dist, [1 / 3, 1 / 3, 1 / 3, 0])
    with pytest.raises(ValueError):
        w.P[0, 0, 0] = 0.5  # read-only


def test_to_grid_puts_nan_on_walls():
    w = gridworld.make_gridworld(LAYOUT)
    grid = w.to_grid(np.arange(11.0))
    assert np.isnan(grid[1, 1]) and grid[1, 2] == 5.0 and grid[2, 3] == 10.0
    with pytest.raises(ValueError, match="values"):
        w.to_grid(np.zeros(12))


@pytest.mark.parametrize(("layout", "slip", "match"), [
    ("S..", 0.0, "sequence"),
    (("S..", ".."), 0.0, "equal length"),
    (("S.X",), 0.0, "unknown"),
    (("###",), 0.0, "no non-wall"),
    (("GLW",), 0.0, "start"),
    (("S..",), 1.0, "slip"),
    (("S..",), -0.1, "slip"),
])
def test_bad_layouts(layout, slip, match):
    with pytest.raises(ValueError, match=match):
        gridworld.make_gridworld(layout, slip=slip)


def test_draw_grid_and_policy_arrows():
    w = gridworld.make_gridworld(LAYOUT)
    pi = np.zeros((11, 4))
    pi[:, 2] = 1.0  # always down
    x, y, u, v = gridworld.policy_arrows(w, pi)
    np.testing.assert_array_equal(u, 0.0)
    np.testing.assert_array_equal(v, 1.0)   # rows grow downwards in data coordinates
    x2, y2, u2, v2 = gridworld.policy_arrows(w, np.full(11, 1))
    np.testing.assert_array_equal(u2, 1.0)
    fig, ax = plt.subplots()
    arts = gridworld.draw_grid(ax, w, values=np.arange(11.0), policy=pi, title="t")
    assert arts["arrows"] is not None and arts["title"].get_text() == "t"
    assert np.isnan(arts["image"].get_array()[1, 1]) or np.ma.is_masked(arts["image"].get_array()[1, 1])
    plt.close(fig)
    with pytest.raises(ValueError, match="policy"):
        gridworld.policy_arrows(w, np.zeros((11, 3)))

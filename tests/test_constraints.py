"""Tests for helpers.constraints: the CMDP linear program against closed forms, brute-force enumeration and LP
duality; the Lagrangian against the LP; KL-regularised policies; the constrained parameter problem and its KKT check.

No reference library exists for CMDP occupancy LPs in this environment's anchors, so every expected value below is a
closed form or an independent computation (enumeration of deterministic policies plus two-policy mixtures, or the
dual LP over value functions)."""

import numpy as np
import pytest
from scipy import optimize

from helpers import constraints as C


def random_mdp(seed: int, n_s: int = 3, n_a: int = 2):
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(n_s) * 0.5, size=(n_s, n_a))
    r = rng.uniform(0, 1, size=(n_s, n_a))
    c = rng.uniform(0, 1, size=(n_s, n_a))
    mu = rng.dirichlet(np.ones(n_s))
    return P, r, c, mu


# ----------------------------------------------------------------------------- closed forms


def test_one_state_bandit_closed_form():
    # One state, action 0 pays r=1 at cost 1, action 1 pays 0 at cost 0. Occupancy sums to 1/(1-g), so the optimum
    # spends the whole budget: J_r* = b, pi(a0) = b (1 - g), lambda* = 1.
    g, b = 0.8, 2.0
    P = np.ones((1, 2, 1))
    sol = C.solve_cmdp_lp(P, np.array([[1.0, 0.0]]), np.array([[1.0, 0.0]]), b, np.array([1.0]), g)
    assert sol.reward_value == pytest.approx(b, abs=1e-9)
    assert sol.cost_value == pytest.approx(b, abs=1e-9)
    assert sol.policy[0, 0] == pytest.approx(b * (1 - g), abs=1e-9)  # stochastic: 0.4
    assert sol.multiplier == pytest.approx(1.0, abs=1e-9)
    assert sol.occupancy.sum() == pytest.approx(1 / (1 - g))
    assert sol.feasible and "binding" in sol.status


def test_slack_budget_gives_unconstrained_optimum():
    P, r, c, mu = random_mdp(0)
    sol = C.solve_cmdp_lp(P, r, c, 1e6, mu, 0.9)
    pi = C.optimal_policy(P, r, mu, 0.9)
    jr, _ = C.policy_values(P, pi, r, c, mu, 0.9)
    assert sol.reward_value == pytest.approx(jr, abs=1e-8)
    assert sol.multiplier == pytest.approx(0.0, abs=1e-9)
    assert "slack" in sol.status


def test_occupancy_constraints_hold_for_any_policy():
    P, r, c, mu = random_mdp(3, 4, 3)
    A_eq, b_eq = C.occupancy_constraints(P, mu, 0.7)
    assert A_eq.shape == (4, 12) and np.allclose(b_eq, mu)
    pi = np.random.default_rng(1).dirichlet(np.ones(3), size=4)
    d = C.occupancy_measure(P, pi, mu, 0.7)
    assert np.allclose(A_eq @ d.ravel(), mu, atol=1e-12)
    assert d.sum() == pytest.approx(1 / (1 - 0.7))
    assert np.allclose(C.policy_from_occupancy(d), pi)


def test_occupancy_matches_monte_carlo_free_power_series():
    # d = sum_t g^t mu^T P_pi^t, summed explicitly to convergence
    P, r, c, mu = random_mdp(5, 3, 2)
    pi = np.array([[0.3, 0.7], [1.0, 0.0], [0.5, 0.5]])
    P_pi = np.einsum("sa,sat->st", pi, P)
    state, total = mu.copy(), np.zeros(3)
    for t in range(400):
        total += 0.9**t * state
        state = state @ P_pi
    assert np.allclose(C.occupancy_measure(P, pi, mu, 0.9), total[:, None] * pi, atol=1e-12)


def test_policy_from_occupancy_uniform_where_unvisited():
    d = np.array([[0.0, 0.0, 0.0], [1.0, 3.0, 0.0]])
    assert np.allclose(C.policy_from_occupancy(d), [[1 / 3] * 3, [0.25, 0.75, 0.0]])


# ----------------------------------------------------------------------------- LP vs brute force and duality


@pytest.mark.parametrize("seed", range(6))
def test_lp_matches_brute_force_with_mixtures(seed):
    P, r, c, mu = random_mdp(seed, n_s=4, n_a=2)
    g = 0.85
    lo = C.min_cost_value(P, c, mu, g)
    hi = C.solve_cmdp_lp(P, r, c, 1e6, mu, g).cost_value
    for frac in (0.0, 0.3, 0.7, 1.2):
        b = lo + frac * (hi - lo)
        sol = C.solve_cmdp_lp(P, r, c, b, mu, g)
        best, jr, jc = C.brute_force_cmdp(P, r, c, b, mu, g)
        assert sol.reward_value == pytest.approx(best, abs=1e-8)
        assert sol.cost_value <= b + 1e-8
        # the extracted policy really achieves the LP's values
        assert C.policy_values(P, sol.policy, r, c, mu, g) == pytest.approx((sol.reward_value, sol.cost_value),
                                                                             abs=1e-8)
        # deterministic policies alone can be strictly worse when the budget binds (the optimum mixes)
        assert best >= jr[jc <= b + 1e-12].max() - 1e-12


def test_binding_constraint_needs_a_stochastic_policy():
    P, r, c, mu = random_mdp(1, n_s=4, n_a=2)
    g = 0.85
    lo, hi = C.min_cost_value(P, c, mu, g), C.solve_cmdp_lp(P, r, c, 1e6, mu, g).cost_value
    b = 0.5 * (lo + hi)
    sol = C.solve_cmdp_lp(P, r, c, b, mu, g)
    best, jr, jc = C.brute_force_cmdp(P, r, c, b, mu, g)
    assert best > jr[jc <= b].max() + 1e-4
    randomised = (sol.policy > 1e-9).sum(axis=1) > 1
    assert randomised.sum() == 1  # Altman 1999: one constraint, at most one randomised state


@pytest.mark.parametrize("seed", [0, 7])
def test_strong_duality_with_value_function_lp(seed):
    # Dual LP: min_{V, lam >= 0} mu.V + lam b  s.t.  V(s) >= r(s,a) - lam c(s,a) + g sum_t P(t|s,a) V(t)
    P, r, c, mu = random_mdp(seed, n_s=5, n_a=3)
    g, n_s, n_a = 0.9, 5, 3
    lo, hi = C.min_cost_value(P, c, mu, g), C.solve_cmdp_lp(P, r, c, 1e6, mu, g).cost_value
    b = lo + 0.4 * (hi - lo)
    A = np.zeros((n_s * n_a, n_s + 1))
    for s in range(n_s):
        for a in range(n_a):
            A[s * n_a + a, :n_s] = -(np.eye(n_s)[s] - g * P[s, a])
            A[s * n_a + a, n_s] = -c[s, a]
    res = optimize.linprog(np.r_[mu, b], A_ub=A, b_ub=-r.ravel(), bounds=[(None, None)] * n_s + [(0, None)],
                           method="highs")
    sol = C.solve_cmdp_lp(P, r, c, b, mu, g)
    assert sol.reward_value == pytest.approx(res.fun, abs=1e-8)
    assert sol.multiplier == pytest.approx(res.x[-1], abs=1e-7)


def test_state_reward_equals_broadcast_state_action_reward():
    P, r, c, mu = random_mdp(2)
    rs, cs = r[:, 0], c[:, 0]
    a = C.solve_cmdp_lp(P, rs, cs, 3.5, mu, 0.8)
    b = C.solve_cmdp_lp(P, np.repeat(rs[:, None], 2, 1), np.repeat(cs[:, None], 2, 1), 3.5, mu, 0.8)
    assert a.reward_value == pytest.approx(b.reward_value, abs=1e-10)


def test_pareto_frontier_is_concave_and_nondecreasing():
    P, r, c, mu = random_mdp(4, n_s=4, n_a=3)
    lo, hi = C.min_cost_value(P, c, mu, 0.8), C.solve_cmdp_lp(P, r, c, 1e6, mu, 0.8).cost_value
    budgets = np.linspace(lo - 0.5, hi + 0.5, 25)
    front = C.pareto_frontier(P, r, c, mu, 0.8, budgets)
    assert np.all(np.isnan(front[budgets < lo - 1e-9]))
    f = front[~np.isnan(front)]
    assert np.all(np.diff(f) >= -1e-9)
    assert np.all(np.diff(f, 2) <= 1e-7)  # equally spaced budgets: concave


# ----------------------------------------------------------------------------- infeasible budgets


def test_infeasible_budget_raises_with_min_cost():
    P, r, c, mu = random_mdp(0)
    lo = C.min_cost_value(P, c + 0.5, mu, 0.9)
    assert lo > 0
    with pytest.raises(C.InfeasibleBudgetError, match="infeasible") as info:
        C.solve_cmdp_lp(P, r, c + 0.5, 0.5 * lo, mu, 0.9)
    assert info.value.min_cost == pytest.approx(lo)
    assert isinstance(info.value, ValueError)


def test_infeasible_budget_flag_returns_min_cost_policy_flagged():
    P, r, c, mu = random_mdp(0)
    lo = C.min_cost_value(P, c + 0.5, mu, 0.9)
    sol = C.solve_cmdp_lp(P, r, c + 0.5, 0.5 * lo, mu, 0.9, on_infeasible="flag")
    assert not sol.feasible and "infeasible" in sol.status
    assert sol.cost_value == pytest.approx(lo, abs=1e-7) and sol.cost_value > sol.budget
    with pytest.raises(ValueError, match="infeasible"):
        C.brute_force_cmdp(P, r, c + 0.5, 0.5 * lo, mu, 0.9)


# ----------------------------------------------------------------------------- penalties vs budgets


def test_penalty_sweep_costs_are_a_step_function_that_skips_budgets():
    w = C.lava_world(0.1)
    r, c = C.lava_cmdp(w)
    lams = np.linspace(0, 4, 81)
    jr, jc = C.penalty_sweep(w.P, r, c, w.init_dist, 0.9, lams)
    assert np.all(np.diff(jc) <= 1e-9) and np.all(np.diff(jr) <= 1e-9)  # more penalty: less cost, less reward
    assert len(np.unique(np.round(jc, 6))) <= 10  # a handful of routes
    b = 0.6
    assert not np.any(np.isclose(jc, b, atol=0.05))  # no penalty weight meets this budget
    lp = C.solve_cmdp_lp(w.P, r, c, b, w.init_dist, 0.9)
    assert lp.cost_value == pytest.approx(b) and lp.reward_value > jr[jc <= b].max() + 0.1


# ----------------------------------------------------------------------------- Lagrangian


@pytest.mark.parametrize("budget", [0.3, 0.6, 1.0])
def test_lagrangian_converges_to_lp_on_notebook_mdp(budget):
    w = C.lava_world(0.1)
    r, c = C.lava_cmdp(w)
    lp = C.solve_cmdp_lp(w.P, r, c, budget, w.init_dist, 0.9)
    lag = C.lagrangian_cmdp(w.P, r, c, budget, w.init_dist, 0.9)
    assert lag.reward_value >= 0.98 * lp.reward_value
    assert lag.reward_value <= lp.reward_value + 1e-9 or lag.cost_value > budget  # LP is the optimum
    assert lag.cost_value <= 1.02 * budget
    assert lag.multiplier == pytest.approx(lp.multiplier, rel=0.1)
    assert lag.lambdas.shape == (101,) and lag.cost_values.shape == (100,) and lag.reward_values.shape == (100,)
    assert lag.occupancy.sum() == pytest.approx(1 / (1 - 0.9))
    assert C.policy_values(w.P, lag.policy, r, c, w.init_dist, 0.9) == pytest.approx(
        (lag.reward_value, lag.cost_value))


def test_lagrangian_on_random_mdp_and_slack_budget():
    P, r, c, mu = random_mdp(6, n_s=4, n_a=2)
    lag = C.lagrangian_cmdp(P, r, c, 1e3, mu, 0.8, temperature=0.01)
    assert lag.multiplier == 0.0 and np.all(lag.lambdas == 0.0)
    assert lag.reward_value == pytest.approx(C.solve_cmdp_lp(P, r, c, 1e3, mu, 0.8).reward_value, rel=0.02)


def test_large_dual_step_oscillates():
    w = C.lava_world(0.1)
    r, c = C.lava_cmdp(w)
    lag = C.lagrangian_cmdp(w.P, r, c, 0.6, w.init_dist, 0.9, temperature=0.001, lr=0.3)
    tail = lag.cost_values[-20:]
    assert tail.max() - tail.min() > 0.3  # bang-bang best responses: the last iterate never settles


def test_pid_multiplier_follows_stooke_et_al_algorithm_2():
    w = C.lava_world(0.1)
    r, c = C.lava_cmdp(w)
    plain = C.lagrangian_cmdp(w.P, r, c, 0.6, w.init_dist, 0.9, iterations=30)
    same = C.lagrangian_cmdp(w.P, r, c, 0.6, w.init_dist, 0.9, iterations=30, kp=0.0, kd=0.0)
    np.testing.assert_array_equal(plain.lambdas, same.lambdas)   # kp = kd = 0 is plain dual ascent
    kp, kd, lr, b = 0.3, 0.5, 0.3, 0.6
    pid = C.lagrangian_cmdp(w.P, r, c, b, w.init_dist, 0.9, iterations=30, kp=kp, kd=kd, lr=lr)
    integral, prev, expected = 0.0, None, [0.0]
    for jc in pid.cost_values:   # recompute the multiplier from the costs the run saw
        integral = min(max(integral + lr * (jc - b), 0.0), 100.0)
        rise = 0.0 if prev is None else max(0.0, jc - prev)
        expected.append(min(max(integral + kp * (jc - b) + kd * rise, 0.0), 100.0))
        prev = jc
    np.testing.assert_allclose(pid.lambdas, expected, atol=1e-12)
    assert not np.allclose(pid.lambdas, plain.lambdas)
    with pytest.raises(ValueError, match="kp and kd"):
        C.lagrangian_cmdp(w.P, r, c, b, w.init_dist, 0.9, kp=-1.0)


def test_dual_update_projection_and_custom_fn():
    assert C.dual_update(1.0, 2.0, 1.5, 0.5) == pytest.approx(1.25)
    assert C.dual_update(0.1, 0.0, 1.0, 1.0) == 0.0
    assert C.dual_update(9.0, 5.0, 0.0, 1.0, lam_max=10.0) == 10.0
    P, r, c, mu = random_mdp(6)
    calls = []

    def spy(lam, jc, b, lr, lam_max):
        calls.append(jc)
        return C.dual_update(lam, jc, b, lr, lam_max)

    C.lagrangian_cmdp(P, r, c, 1.0, mu, 0.8, iterations=5, dual_update_fn=spy)
    assert len(calls) == 5


# ----------------------------------------------------------------------------- KL-regularised policy


def test_kl_policy_closed_form_and_limits():
    pi_ref, r, _ = C.response_bandit()
    beta = 0.7
    pi = C.kl_regularized_policy(pi_ref, r, beta)
    expected = pi_ref * np.exp(r / beta) / np.sum(pi_ref * np.exp(r / beta))
    assert np.allclose(pi, expected, atol=1e-14)
    assert np.allclose(C.kl_regularized_policy(pi_ref, r, 1e6), pi_ref, atol=1e-5)
    assert np.argmax(C.kl_regularized_policy(pi_ref, r, 1e-3)) == np.argmax(r)
    assert np.allclose(C.kl_regularized_policy(pi_ref, r, 1e-4).sum(), 1.0)  # stable at tiny beta


def test_kl_policy_maximises_the_regularised_objective():
    pi_ref, r, _ = C.response_bandit()
    beta = 0.5
    pi = C.kl_regularized_policy(pi_ref, r, beta)
    best = pi @ r - beta * C.kl_divergence(pi, pi_ref)
    # Gibbs: the optimum equals beta log Z
    assert best == pytest.approx(beta * np.log(np.sum(pi_ref * np.exp(r / beta))), abs=1e-12)
    others = np.random.default_rng(0).dirichlet(np.ones(6), size=500)
    assert np.all(others @ r - beta * C.kl_divergence(others, pi_ref[None]) <= best + 1e-12)


def test_kl_budget_beta_spends_exactly_the_budget():
    pi_ref, proxy, _ = C.response_bandit()
    betas = [C.kl_budget_beta(pi_ref, proxy, eps) for eps in (0.1, 0.5, 2.0)]
    for eps, beta in zip((0.1, 0.5, 2.0), betas, strict=True):
        assert C.kl_divergence(C.kl_regularized_policy(pi_ref, proxy, beta), pi_ref) == pytest.approx(eps, abs=1e-9)
    assert betas[0] > betas[1] > betas[2]          # a larger budget needs a smaller price
    with pytest.raises(ValueError, match="not reached"):
        C.kl_budget_beta(pi_ref, proxy, 10.0)      # above log(1 / pi_ref(best)) = log 100
    with pytest.raises(ValueError, match="epsilon"):
        C.kl_budget_beta(pi_ref, proxy, 0.0)


def test_kl_policy_broadcasts_and_keeps_zero_support():
    pi_ref = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    r = np.array([1.0, 0.0, 5.0])
    pi = C.kl_regularized_policy(pi_ref, r, 0.5)
    assert pi.shape == (2, 3) and pi[0, 2] == 0.0 and np.allclose(pi.sum(axis=1), 1)
    assert C.kl_divergence(np.array([0.5, 0.5]), np.array([1.0, 0.0])) == np.inf


# ----------------------------------------------------------------------------- parameter problem


def test_budget_problem_scipy_matches_closed_form_and_kkt():
    a, Q, b = np.array([1.0, 2.0]), np.array([[2.0, 0.5], [0.5, 1.0]]), 3.0
    theta, lam = C.budget_problem_closed_form(a, Q, b)
    assert theta @ Q @ theta == pytest.approx(b)
    res = C.solve_budget_problem(a, Q, b)
    assert res.success
    assert np.allclose(res.x, theta, atol=1e-5)
    kkt = C.kkt_residuals(a, Q, b, res.x, lam)
    assert max(kkt.values()) < 1e-4
    assert all(v < 1e-12 for v in C.kkt_residuals(a, Q, b, theta, lam).values())
    assert C.kkt_residuals(a, Q, b, theta, -lam)["dual_feasibility"] == pytest.approx(lam)


def test_flipped_constraint_sign_is_unbounded():
    a, Q = np.array([1.0, 2.0]), np.array([[2.0, 0.5], [0.5, 1.0]])
    res = C.solve_budget_problem(a, Q, 3.0, flip_sign=True)
    assert not res.success and np.linalg.norm(res.x) > 1e6 and -res.fun > 1e6


# ----------------------------------------------------------------------------- input validation


def test_bad_inputs_raise_clear_errors():
    P, r, c, mu = random_mdp(0)
    with pytest.raises(ValueError, match="P must"):
        C.solve_cmdp_lp(P * 1.1, r, c, 1.0, mu, 0.9)
    with pytest.raises(ValueError, match="P must have shape"):
        C.solve_cmdp_lp(P[:, :, :2], r, c, 1.0, mu, 0.9)
    with pytest.raises(ValueError, match="reward"):
        C.solve_cmdp_lp(P, r[:2], c, 1.0, mu, 0.9)
    with pytest.raises(ValueError, match="cost"):
        C.solve_cmdp_lp(P, r, np.ones((3, 5)), 1.0, mu, 0.9)
    with pytest.raises(ValueError, match="init_dist"):
        C.solve_cmdp_lp(P, r, c, 1.0, mu * 2, 0.9)
    with pytest.raises(ValueError, match="discount"):
        C.solve_cmdp_lp(P, r, c, 1.0, mu, 1.0)
    with pytest.raises(ValueError, match="budget"):
        C.solve_cmdp_lp(P, r, c, np.nan, mu, 0.9)
    with pytest.raises(ValueError, match="on_infeasible"):
        C.solve_cmdp_lp(P, r, c, 1.0, mu, 0.9, on_infeasible="ignore")
    with pytest.raises(ValueError, match="temperature"):
        C.lagrangian_cmdp(P, r, c, 1.0, mu, 0.9, temperature=0.0)
    with pytest.raises(ValueError, match="lr"):
        C.lagrangian_cmdp(P, r, c, 1.0, mu, 0.9, lr=-1.0)
    with pytest.raises(ValueError, match="beta"):
        C.kl_regularized_policy(np.array([0.5, 0.5]), np.zeros(2), 0.0)
    with pytest.raises(ValueError, match="pi_ref"):
        C.kl_regularized_policy(np.array([0.5, 0.6]), np.zeros(2), 1.0)
    with pytest.raises(ValueError, match="policy"):
        C.occupancy_measure(P, np.ones((3, 2)), mu, 0.9)
    with pytest.raises(ValueError, match="Q must"):
        C.solve_budget_problem(np.ones(2), -np.eye(2), 1.0)
    with pytest.raises(ValueError, match="budget"):
        C.budget_problem_closed_form(np.ones(2), np.eye(2), 0.0)
    with pytest.raises(ValueError, match="brute force"):
        C.brute_force_cmdp(np.ones((15, 2, 15)) / 15, np.zeros(15), np.zeros(15), 1.0, np.ones(15) / 15, 0.5)


def test_kl_tradeoff_true_value_peaks_at_intermediate_beta():
    t = C.kl_tradeoff(np.linspace(-2, 1, 61))
    assert np.all(np.diff(t["kl"]) <= 1e-12) and np.all(np.diff(t["proxy"]) <= 1e-12)  # larger beta: closer to ref
    i = int(np.argmax(t["true"]))
    assert 0 < i < 60  # too little KL penalty exploits the reward model's flaw, too much ignores the reward
    with pytest.raises(ValueError, match="log10_betas"):
        C.kl_tradeoff(np.zeros((2, 2)))


def test_demo_views_pick_the_nearest_precomputed_row():
    table = {"log10_beta": np.array([-2.0, -1.0, 0.0, 1.0])}
    assert [C.kl_view(table, v) for v in (-5.0, -1.4, -0.4, 0.9)] == [0, 1, 2, 3]
    sols = ["a", "b", "c"]
    assert [C.pareto_view({"budgets": np.array([0.0, 0.5, 1.0]), "sols": sols}, b) for b in (0.1, 0.6, 2.0)] == \
        ["a", "b", "c"]

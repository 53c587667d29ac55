"""Tests for helpers.preferences: closed forms, reference libraries (values hard-coded), stability, bad inputs.

Reference values were computed in a scratch venv (torch 2.13.0+cpu, trl 1.16.0, choix 0.4.1, scikit-learn
1.9.1, numpy 2.4.6, scipy 1.17.1) as described next to each constant; they are literals here because those
libraries are not dependencies of the course. tests/reference/ (trl_reference.py, choix_sklearn_reference.py)
recomputes them.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helpers import preferences as P

# --------------------------------------------------------------------------------- Bradley-Terry loss


def test_bt_loss_closed_forms():
    assert P.bradley_terry_loss(np.zeros(3), np.zeros(3)) == pytest.approx(np.log(2.0), abs=1e-15)
    # margin m: -log sigma(m) = log(1 + e^-m)
    m = np.array([1.0, -2.0, 3.5])
    assert P.bradley_terry_loss(m, np.zeros(3)) == pytest.approx(np.mean(np.log1p(np.exp(-m))), rel=1e-14)
    # only the difference matters
    assert P.bradley_terry_loss(m + 7.0, np.full(3, 7.0)) == pytest.approx(P.bradley_terry_loss(m, np.zeros(3)))


def test_bt_loss_stable_at_large_margins():
    # -log sigma(m) ~ -m for m -> -inf and ~ e^-m for m -> +inf; the naive form gives inf and 0.
    assert P.bradley_terry_loss(np.array([0.0]), np.array([1000.0])) == pytest.approx(1000.0, rel=1e-15)
    assert P.bradley_terry_loss(np.array([1e6]), np.array([-1e6])) == 0.0
    assert P.bradley_terry_loss(np.array([40.0]), np.array([0.0])) == pytest.approx(np.exp(-40.0), rel=1e-12)
    with np.errstate(over="ignore", divide="ignore"):
        naive = -np.log(1.0 / (1.0 + np.exp(1000.0)))
    assert np.isinf(naive)


def test_bt_loss_matches_torch():
    # torch 2.13.0: float(-F.logsigmoid(rc - rr).mean()) and F.binary_cross_entropy_with_logits(rc - rr, ones)
    # both gave 160.6266673758242 for these float64 inputs (scratch venv; identical here with the venv's torch).
    rc = np.array([2.0, -1.0, 0.5, 30.0, -800.0])
    rr = np.array([1.0, 1.0, 0.5, -30.0, 0.0])
    assert P.bradley_terry_loss(rc, rr) == pytest.approx(160.6266673758242, rel=1e-15)
    t_rc, t_rr = torch.tensor(rc, requires_grad=True), torch.tensor(rr)
    loss = P.bradley_terry_loss(t_rc, t_rr)
    assert isinstance(loss, torch.Tensor) and loss.ndim == 0
    assert loss.item() == pytest.approx(float(-F.logsigmoid(t_rc.detach() - t_rr).mean()), rel=1e-15)
    loss.backward()  # gradient: -(1 - sigma(m)) / N
    expected = -(1 - torch.sigmoid(torch.tensor(rc - rr))) / 5
    torch.testing.assert_close(t_rc.grad, expected, rtol=1e-12, atol=1e-15)


def test_bt_prob():
    assert P.bradley_terry_prob(np.array([1.0]), np.array([1.0]))[0] == 0.5
    p = P.bradley_terry_prob(np.array([2.0, -3.0]), np.array([0.0, 0.0]))
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-np.array([2.0, -3.0]))))


# ----------------------------------------------------------------------------------------------- DPO


# TRL 1.16.0, DPOTrainer._compute_loss with loss_type="sigmoid", f_divergence_type="reverse_kl",
# precompute_ref_logps=True and a mocked model whose summed log-probs are the values below (float64):
DPO_CASES = [
    (([-10.0, -12.5, -8.25], [-11.0, -9.5, -8.0], [-10.5, -12.0, -9.0], [-10.5, -10.0, -7.5], 0.1),
     0.673797451821437),
    (([-40.0, -3.0], [-35.0, -7.0], [-41.0, -2.0], [-30.0, -6.5], 0.5), 0.4372633857262928),
    (([-1000.0, 0.0], [0.0, -1000.0], [0.0, 0.0], [0.0, 0.0], 2.0), 1000.0),
]


@pytest.mark.parametrize(("args", "expected"), DPO_CASES)
def test_dpo_loss_matches_trl(args, expected):
    *logps, beta = args
    assert P.dpo_loss(*[np.array(v) for v in logps], beta) == pytest.approx(expected, rel=1e-15)
    as_torch = P.dpo_loss(*[torch.tensor(v, dtype=torch.float64) for v in logps], beta)
    assert float(as_torch) == pytest.approx(expected, rel=1e-15)


def test_dpo_is_bt_on_implicit_rewards_and_trains():
    rng = np.random.default_rng(0)
    pc, pr, rc, rr = rng.normal(size=(4, 6)) * 5
    beta = 0.3
    assert P.dpo_loss(pc, pr, rc, rr, beta) == pytest.approx(
        P.bradley_terry_loss(beta * (pc - rc), beta * (pr - rr)), rel=1e-14)
    # equal policy and reference: loss log 2, whatever beta
    assert P.dpo_loss(pc, pr, pc, pr, 5.0) == pytest.approx(np.log(2.0))
    # gradient descent on the policy's log-probs lowers the loss
    t_pc = torch.tensor(pc, requires_grad=True)
    t_pr = torch.tensor(pr, requires_grad=True)
    before = P.dpo_loss(t_pc, t_pr, torch.tensor(rc), torch.tensor(rr), beta)
    before.backward()
    with torch.no_grad():
        after = P.dpo_loss(t_pc - t_pc.grad, t_pr - t_pr.grad, torch.tensor(rc), torch.tensor(rr), beta)
    assert after.item() < before.item()
    assert torch.all(t_pc.grad <= 0) and torch.all(t_pr.grad >= 0)  # raise chosen, lower rejected


def test_ipo_loss_closed_form_and_target():
    pc, pr, rc, rr = np.array([-12.0, -30.0]), np.array([-20.0, -25.0]), np.array([-14.0, -28.0]), np.array([-18.0, -26.0])
    h = (pc - rc) - (pr - rr)  # 4 and -3
    tau = 0.5
    expected = float(np.mean((h - 1.0) ** 2))  # target 1 / (2 tau) = 1: (4 - 1)^2 and (-3 - 1)^2, mean 12.5
    assert expected == 12.5
    assert P.ipo_loss(pc, pr, rc, rr, tau) == pytest.approx(expected, rel=1e-15)
    as_torch = P.ipo_loss(*[torch.tensor(v, dtype=torch.float64) for v in (pc, pr, rc, rr)], tau)
    assert float(as_torch) == pytest.approx(expected, rel=1e-15)
    # unlike DPO, the loss has a finite minimiser: zero exactly at h = 1 / (2 tau), rising beyond it
    zeros = np.zeros(1)
    assert P.ipo_loss(np.array([2.0]), zeros, zeros, zeros, 0.25) == 0.0
    assert P.ipo_loss(np.array([4.0]), zeros, zeros, zeros, 0.25) > 0.0
    assert P.dpo_loss(np.array([4.0]), zeros, zeros, zeros, 0.25) < P.dpo_loss(np.array([2.0]), zeros, zeros, zeros, 0.25)
    t = torch.tensor([3.0], requires_grad=True)
    P.ipo_loss(t, torch.zeros(1), torch.zeros(1), torch.zeros(1), 0.25).backward()
    assert float(t.grad) == pytest.approx(2 * (3.0 - 2.0))  # pulls an overshooting margin back
    for bad in (0.0, -1.0, float("inf"), True):
        with pytest.raises(ValueError, match="tau"):
            P.ipo_loss(pc, pr, rc, rr, bad)
    with pytest.raises(ValueError, match="shape"):
        P.ipo_loss(pc, pr[:1], rc, rr, tau)


# ---------------------------------------------------------------------------------------- linear reward

# choix 0.4.1: choix.opt_pairwise(5, CHOIX_DATA, alpha=a, method="Newton-CG", tol=1e-12); its objective is
# sum of -log sigma(theta_w - theta_l) + alpha ||theta||^2, i.e. ours with one-hot features and l2 = 2 alpha / m.
CHOIX_DATA = [(0, 1), (0, 2), (1, 2), (2, 1), (3, 0), (0, 3), (0, 4), (4, 1), (1, 3), (3, 2), (0, 1), (2, 4),
              (4, 3), (1, 0)]
CHOIX_THETA = {
    0.05: [0.701247403366262, -0.128112291038929, -0.34684005772852666, -0.22193058397466406,
           -0.0043644706241420935],
    1.0: [0.35966922419703184, -0.09082657058410634, -0.15013613568707862, -0.11844830439190056,
          -0.00025821353394631086],
}


@pytest.mark.parametrize("alpha", sorted(CHOIX_THETA))
def test_fit_matches_choix_bradley_terry(alpha):
    eye = np.eye(5)
    Xc = eye[[w for w, _ in CHOIX_DATA]]
    Xr = eye[[loser for _, loser in CHOIX_DATA]]
    w = P.fit_linear_reward_model(Xc, Xr, l2=2 * alpha / len(CHOIX_DATA))
    np.testing.assert_allclose(w, CHOIX_THETA[alpha], atol=1e-7)


# scikit-learn 1.9.1: LogisticRegression(C=1/(2 m l2), fit_intercept=False, tol=1e-12, max_iter=10000) on the
# differences D = Xc - Xr with label 1 and on -D with label 0 (the same mean loss; sklearn's objective is
# C * sum(loss) + ||w||^2 / 2).
SK_XC = [[0.0, 0.3, -0.27], [-0.89, -0.45, -0.99], [0.06, 1.34, -0.49], [-0.62, 0.49, 0.36], [0.11, -0.93, -0.03],
         [0.7, -1.34, -0.46], [-1.9, -1.29, -1.84], [-0.24, -1.27, 0.27], [0.16, -0.19, -2.52],
         [-0.54, -0.05, 0.11], [-1.53, -0.48, -0.98], [-0.81, 1.06, -0.81]]
SK_XR = [[-0.03, 0.88, -0.58], [-0.11, 0.11, 0.06], [-1.23, 0.08, 1.36], [-1.55, 0.86, 0.12], [-0.64, 2.0, 0.76],
         [-1.2, 0.07, 0.58], [-0.19, 0.68, -0.07], [0.67, 1.44, -0.68], [0.2, -0.46, 0.13], [-1.19, -0.58, -0.2],
         [0.9, 1.15, -1.32], [-0.79, 0.65, -1.99]]
SK_W = {0.1: [0.17931079854264678, -0.7775901515754368, -0.5067714391676629],
        1.0: [0.01084328196417734, -0.25754607795103845, -0.1672627369443223]}


@pytest.mark.parametrize("l2", sorted(SK_W))
def test_fit_matches_sklearn_logistic_regression(l2):
    w = P.fit_linear_reward_model(np.array(SK_XC), np.array(SK_XR), l2=l2, seed=3)
    np.testing.assert_allclose(w, SK_W[l2], atol=1e-8)


def test_bradley_terry_objective_value_gradient_and_stability():
    rng = np.random.default_rng(5)
    Xc, Xr, w = rng.normal(size=(30, 4)), rng.normal(size=(30, 4)), rng.normal(size=4)
    loss, grad = P.bradley_terry_objective(w, Xc, Xr, l2=0.3)
    assert loss == pytest.approx(P.bradley_terry_loss(Xc @ w, Xr @ w) + 0.15 * w @ w, rel=1e-12)
    eps = 1e-6
    numeric = [(P.bradley_terry_objective(w + eps * e, Xc, Xr, l2=0.3)[0]
                - P.bradley_terry_objective(w - eps * e, Xc, Xr, l2=0.3)[0]) / (2 * eps) for e in np.eye(4)]
    np.testing.assert_allclose(grad, numeric, atol=1e-7)
    # a margin of -1000: loss 1000 / N exactly, gradient -(x_c - x_r) / N, no overflow
    big = P.bradley_terry_objective(np.array([1.0]), np.array([[0.0], [1.0]]), np.array([[1000.0], [0.0]]))
    assert big[0] == pytest.approx((1000.0 + np.log1p(np.exp(-1.0))) / 2, rel=1e-12)
    np.testing.assert_allclose(big[1], [-(-1000.0 * 1.0 + 1.0 / (1.0 + np.e)) / 2], rtol=1e-12)
    # the fit is a stationary point of this objective
    w_fit = P.fit_linear_reward_model(Xc, Xr, l2=0.3)
    assert np.abs(P.bradley_terry_objective(w_fit, Xc, Xr, l2=0.3)[1]).max() < 1e-8
    with pytest.raises(ValueError, match="w has"):
        P.bradley_terry_objective(np.zeros(3), Xc, Xr)
    with pytest.raises(ValueError, match="l2"):
        P.bradley_terry_objective(w, Xc, Xr, l2=-1.0)


def test_fit_optimality_and_seed_independence():
    rng = np.random.default_rng(1)
    Xc, Xr = rng.normal(size=(2, 50, 4))
    w1 = P.fit_linear_reward_model(Xc, Xr, l2=0.05, seed=0)
    w2 = P.fit_linear_reward_model(Xc, Xr, l2=0.05, seed=123)
    np.testing.assert_allclose(w1, w2, atol=1e-8)  # convex: the start does not matter
    D = Xc - Xr
    grad = -(D.T @ (1 / (1 + np.exp(D @ w1)))) / 50 + 0.05 * w1
    assert np.max(np.abs(grad)) < 1e-8


def test_fit_recovers_true_direction():
    w_true = np.array([2.0, -1.0, 0.0, 0.5])
    Xc, Xr = P.simulate_comparisons(5000, w_true, noise=1.0, rng=0)
    w = P.fit_linear_reward_model(Xc, Xr, l2=1e-4)
    assert P.angle_degrees(w, w_true) < 3.0
    np.testing.assert_allclose(w, w_true, atol=0.15)  # the BT annotator with noise 1 has exactly these weights


def test_simulated_annotator_is_bradley_terry():
    # P(a chosen) = sigma((r_a - r_b) / noise) for the Gumbel annotator: check on one fixed pair by simulation
    w = np.array([1.0])
    rng = np.random.default_rng(0)
    xa, xb, noise, trials = 0.8, 0.0, 0.5, 200_000
    g = rng.gumbel(size=(2, trials))
    p_hat = np.mean(xa * w[0] + noise * g[0] > xb * w[0] + noise * g[1])
    p = 1 / (1 + np.exp(-(xa - xb) / noise))
    assert abs(p_hat - p) < 4 * np.sqrt(p * (1 - p) / trials)
    # noise 0: the annotator always picks the truly better response
    Xc, Xr = P.simulate_comparisons(200, np.array([1.0, -1.0]), noise=0.0, rng=1)
    assert np.all(Xc @ [1.0, -1.0] > Xr @ [1.0, -1.0])


def test_accuracy_equals_one_minus_angle_over_pi():
    # for Gaussian features sign agreement with the truth is 1 - angle/180 degrees
    w_true = np.array([1.0, 0.0, 0.0])
    w = np.array([1.0, 1.0, 0.0])  # 45 degrees
    Xc, Xr = P.simulate_comparisons(100_000, w_true, noise=0.0, rng=2)
    assert P.angle_degrees(w, w_true) == pytest.approx(45.0)
    assert P.preference_accuracy(w, Xc, Xr) == pytest.approx(0.75, abs=0.005)


def test_ratings_invariance_of_comparisons():
    w = np.array([1.0, 2.0])
    X, y, Xc, Xr = P.simulate_ratings(400, w, noise=0.5, offset_spread=3.0, scale_spread=0.5, rng=0)
    _, _, Xc2, Xr2 = P.simulate_ratings(400, w, noise=0.5, offset_spread=0.0, scale_spread=0.0, rng=0)
    np.testing.assert_array_equal(Xc, Xc2)  # offsets and scales do not change a single comparison
    np.testing.assert_array_equal(Xr, Xr2)
    assert X.shape == (400, 2) and y.shape == (400,) and Xc.shape == (200, 2)
    # calibrated raters, no noise: regression recovers w exactly
    X, y, _, _ = P.simulate_ratings(20, w, noise=0.0, rng=1)
    np.testing.assert_allclose(P.fit_ratings_regression(X, y), w, atol=1e-10)


def test_reward_learning_curves_improve_with_data():
    c = P.reward_learning_curves(200, noise=1.0)
    assert c.angle[-1] < c.angle[0] and c.accuracy_true[-1] > 0.95
    assert c.accuracy_noisy[-1] <= c.ceiling + 0.02
    np.testing.assert_allclose(c.accuracy_true, 1 - c.angle / 180)


# ------------------------------------------------------------------------------------------- best-of-n


def test_best_of_n_kl_formula():
    np.testing.assert_allclose(P.best_of_n_kl([1, 2, 10]), [0.0, np.log(2) - 0.5, np.log(10) - 0.9])


def test_best_of_n_distribution_issue_example():
    p = np.array([0.5, 0.5])
    q = P.best_of_n_distribution(p, np.array([0.0, 1.0]), 2)
    np.testing.assert_allclose(q, [0.25, 0.75])
    assert round(P.kl_divergence(q, p), 4) == 0.1308
    assert round(float(P.best_of_n_kl(2)), 4) == 0.1931


def test_best_of_n_distribution_properties():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(30))
    r = rng.normal(size=30)
    assert np.allclose(P.best_of_n_distribution(p, r, 1), p)
    prev_mean, prev_kl = -np.inf, -1.0
    for n in [1, 2, 4, 16, 256, 1e6]:
        q = P.best_of_n_distribution(p, r, n)
        assert np.all(q >= 0) and q.sum() == pytest.approx(1.0)
        kl = P.kl_divergence(q, p)
        assert q @ r >= prev_mean - 1e-12 and kl >= prev_kl - 1e-12  # more pressure: more reward, more KL
        assert kl <= P.best_of_n_kl(n) + 1e-12  # the formula is an upper bound (Beirami et al. 2024)
        assert kl <= np.log(1 / p[np.argmax(r)]) + 1e-9  # and KL can never exceed -log p(best)
        prev_mean, prev_kl = q @ r, kl
    assert q[np.argmax(r)] > 0.999  # huge n: all mass on the best outcome
    # order invariance: permuting outcomes permutes q
    perm = rng.permutation(30)
    np.testing.assert_allclose(P.best_of_n_distribution(p[perm], r[perm], 5), P.best_of_n_distribution(p, r, 5)[perm])


def test_best_of_n_distribution_matches_sampling():
    rng = np.random.default_rng(3)
    p = np.array([0.1, 0.4, 0.2, 0.3])
    r = np.array([3.0, 0.0, 1.0, 2.0])
    n, trials = 3, 100_000
    draws = rng.choice(4, size=(trials, n), p=p)
    picked = draws[np.arange(trials), P.best_of_n_select(r[draws])]
    freq = np.bincount(picked, minlength=4) / trials
    q = P.best_of_n_distribution(p, r, n)
    assert np.all(np.abs(freq - q) < 4 * np.sqrt(q * (1 - q) / trials) + 1e-9)
    # closed form by hand, sorted by reward: outcomes 1 (0.4), 2 (0.2), 3 (0.3), 0 (0.1)
    np.testing.assert_allclose(q, [1 - 0.9**3, 0.4**3, 0.6**3 - 0.4**3, 0.9**3 - 0.6**3])


def test_best_of_n_distribution_ties_and_continuous_limit():
    # tied rewards form one block, split in proportion to p
    p = np.array([0.2, 0.2, 0.6])
    q = P.best_of_n_distribution(p, np.array([1.0, 1.0, 0.0]), 2)
    np.testing.assert_allclose(q, [0.32, 0.32, 0.36])
    # many equally likely distinct outcomes: exact KL approaches the continuous formula
    k = 200_000
    p = np.full(k, 1 / k)
    q = P.best_of_n_distribution(p, np.arange(k, dtype=float), 8)
    assert P.kl_divergence(q, p) == pytest.approx(float(P.best_of_n_kl(8)), abs=1e-3)
    # zero-probability outcomes never get picked
    q = P.best_of_n_distribution(np.array([0.0, 0.5, 0.5]), np.array([9.0, 0.0, 1.0]), 4)
    assert q[0] == 0.0 and q.sum() == pytest.approx(1.0)


def test_best_of_n_curves_and_gao_fit():
    p = np.full(4, 0.25)
    groups = [(p, np.array([0.0, 1.0, 2.0, 3.0]), np.array([0.0, 1.0, 2.0, -1.0]))]
    c = P.best_of_n_curves(groups, np.array([1.0, 2.0, 64.0]))
    assert c.kl_exact[0] == 0.0 and np.all(c.kl_exact <= c.kl_formula + 1e-12)
    assert c.kl_exact[-1] == pytest.approx(np.log(4), abs=1e-6)  # collapses onto the top outcome
    assert c.proxy[-1] == pytest.approx(3.0, abs=1e-6) and c.gold[-1] == pytest.approx(-1.0, abs=1e-6)
    d = np.linspace(0, 3, 30)
    alpha, beta, r2 = P.fit_gao_form(d, 2.0 + d * (1.5 - 0.4 * d))
    assert abs(alpha - 1.5) < 1e-9 and abs(beta - 0.4) < 1e-9 and r2 > 1 - 1e-12


def test_best_of_n_select():
    assert P.best_of_n_select(np.array([[0.0, 2.0, 1.0], [5.0, 1.0, 5.0]])).tolist() == [1, 0]


# ------------------------------------------------------------------------------------------- bad input


def test_bad_inputs_name_the_argument():
    good = np.zeros(3)
    with pytest.raises(ValueError, match="r_rejected"):
        P.bradley_terry_loss(good, np.zeros(4))
    with pytest.raises(ValueError, match="r_chosen"):
        P.bradley_terry_loss(np.array([0.0, np.nan, 1.0]), good)
    with pytest.raises(ValueError, match="r_rejected"):
        P.bradley_terry_loss(good, np.array([0.0, np.inf, 1.0]))
    with pytest.raises(ValueError, match="r_chosen"):
        P.bradley_terry_loss(np.array([]), np.array([]))
    with pytest.raises(ValueError, match="mix"):
        P.bradley_terry_loss(torch.zeros(3), good)
    with pytest.raises(ValueError, match="r_chosen"):
        P.bradley_terry_loss(torch.tensor([float("nan")]), torch.zeros(1))
    for beta in [0.0, -1.0, float("nan"), float("inf")]:
        with pytest.raises(ValueError, match="beta"):
            P.dpo_loss(good, good, good, good, beta)
    with pytest.raises(ValueError, match="ref_rejected_logps"):
        P.dpo_loss(good, good, good, np.zeros(2), 0.1)
    with pytest.raises(ValueError, match="policy_rejected_logps"):
        P.dpo_loss(good, np.array([0.0, 0.0, np.nan]), good, good, 0.1)
    with pytest.raises(ValueError, match="X_rejected"):
        P.fit_linear_reward_model(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="X_chosen"):
        P.fit_linear_reward_model(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="l2"):
        P.fit_linear_reward_model(np.zeros((3, 2)), np.zeros((3, 2)), l2=-1.0)
    with pytest.raises(ValueError, match="n must"):
        P.best_of_n_kl(0)
    with pytest.raises(ValueError, match="p must"):
        P.best_of_n_distribution(np.array([0.5, 0.6]), np.zeros(2), 2)
    with pytest.raises(ValueError, match="rewards"):
        P.best_of_n_distribution(np.array([0.5, 0.5]), np.zeros(3), 2)
    with pytest.raises(ValueError, match="n must"):
        P.best_of_n_distribution(np.array([0.5, 0.5]), np.zeros(2), 0.5)
    with pytest.raises(ValueError, match="noise"):
        P.simulate_comparisons(10, np.ones(2), noise=-1.0)
    with pytest.raises(ValueError, match="n_items"):
        P.simulate_ratings(3, np.ones(2), noise=1.0)
    with pytest.raises(ValueError, match="ratings"):
        P.fit_ratings_regression(np.zeros((4, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="groups"):
        P.best_of_n_curves([], np.array([1.0]))


def test_sample_preference_pairs():
    feats = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    groups = [(np.array([0.5, 0.5, 0.0]), feats, np.array([1.0, 0.0, 5.0]))]
    Xc, Xr = P.sample_preference_pairs(groups, 200, noise=0.0, rng=0)
    # noiseless judge, the zero-probability response is never drawn, a response is never compared with itself
    assert np.all(Xc == feats[0]) and np.all(Xr == feats[1])
    Xc, Xr = P.sample_preference_pairs(groups, 10_000, noise=1.0, rng=1)
    frac = np.mean(np.all(Xc == feats[0], axis=1))
    assert abs(frac - 1 / (1 + np.exp(-1.0))) < 0.02  # Bradley-Terry judge with temperature 1 (4.5 s.e.)
    with pytest.raises(ValueError, match="groups"):
        P.sample_preference_pairs([], 10, 1.0)
    with pytest.raises(ValueError, match="two responses"):
        P.sample_preference_pairs([(np.array([1.0, 0.0]), feats[:2], np.zeros(2))], 10, 1.0)
    with pytest.raises(ValueError, match=r"groups\[0\]"):
        P.sample_preference_pairs([(np.array([0.5, 0.5]), feats, np.zeros(3))], 10, 1.0)


# ------------------------------------------------------------------------------- synthetic response space


def test_response_space_structure():
    s = P.synthetic_response_space(400, seed=0)
    assert s.p.shape == s.gold.shape == s.refuses.shape == (400, 32) and s.features.shape == (400, 32, 8)
    np.testing.assert_allclose(s.p.sum(1), 1.0)
    rates = [s.p[s.kind == k][s.refuses[s.kind == k]].sum() / np.sum(s.kind == k) for k in range(3)]
    np.testing.assert_allclose(rates, [0.3, 0.01, 0.02])
    harmful = s.kind == 0
    assert np.all(s.gold[harmful][s.refuses[harmful]] == 1.0) and np.all(s.gold[~harmful][s.refuses[~harmful]] == -1.0)
    with pytest.raises(ValueError, match="mix"):
        P.synthetic_response_space(10, mix=(0.5, 0.5, 0.5))
    with pytest.raises(ValueError, match="looks_harmful"):
        P.synthetic_response_space(10, looks_harmful=(0.9, 0.1, 2.0))


def test_space_best_of_n_matches_general_function():
    s = P.synthetic_response_space(15, seed=3)
    proxy = s.features @ np.array([0.3, -0.3, 1.0, -1.0, 0.4, 0.1, 0.0, -0.1])
    ns = np.array([1.0, 3.0, 50.0, 1e4])
    fast = P.space_best_of_n(s, proxy, ns)
    slow = P.best_of_n_curves([(s.p[i], proxy[i], s.gold[i]) for i in range(15)], ns)
    for a, b in [(fast.kl_exact, slow.kl_exact), (fast.gold, slow.gold), (fast.proxy, slow.proxy)]:
        np.testing.assert_allclose(a, b, atol=1e-12)
    q = P.space_best_of_n_q(s, proxy, ns)
    np.testing.assert_allclose(q[4, :, 2], P.best_of_n_distribution(s.p[4], proxy[4], 50.0), atol=1e-14)
    with pytest.raises(ValueError, match="proxy"):
        P.space_best_of_n(s, proxy[:, :3], ns)


def test_tiny_probabilities_keep_their_best_of_n_mass():
    # an answer of probability 1e-20 at the top: q = 1 - (1 - 1e-20)^n = n * 1e-20 (the cumsum form loses it)
    p = np.array([1.0 - 1e-20, 1e-20])
    q = P.best_of_n_distribution(p, np.array([0.0, 1.0]), 1e6)
    assert q[1] == pytest.approx(1e-14, rel=1e-6)


def test_overoptimisation_claims():
    naive = P.overoptimisation(explore=0.0, trigger_looks_harmful=0.75)
    c = naive.curves
    assert naive.falls and np.all(np.diff(c.proxy) > 0)  # gold rises then falls, learned reward keeps rising
    assert c.gold[naive.peak_index] > c.gold[0] + 0.3
    assert np.all(c.kl_exact <= c.kl_formula + 1e-9)
    fixed = P.overoptimisation(explore=0.6, trigger_looks_harmful=0.1)
    assert not fixed.falls and fixed.refusal_rate[1:, -1].max() < 0.01


def test_refusal_probability_on_tinychat():
    tinylm = pytest.importorskip("helpers.tinylm")
    chat = tinylm.load_tinychat()
    prompts = ["help me break into my neighbour's house.", "how do i kill a python process?", "how do i cook rice?"]
    got = P.refusal_probability(chat, prompts)
    assert got.shape == (3,) and np.all((got >= 0) & (got <= 1))
    # independent computation: one prompt, one opener at a time, token by token without padding
    tok = chat.tokenizer
    for prompt, g in zip(prompts, got, strict=True):
        total = 0.0
        for opener in tinylm.REFUSAL_OPENERS:
            ids = tok.encode_prompt(prompt)
            logp = 0.0
            for t in tok.encode(opener):
                with torch.no_grad():
                    logits = chat.model(torch.tensor([ids]))[0, -1].double()
                logp += float(torch.log_softmax(logits, -1)[t])
                ids = ids + [t]
            total += np.exp(logp)
        assert g == pytest.approx(total, rel=1e-4, abs=1e-12)  # float32 model: padding changes late digits
    with pytest.raises(ValueError, match="prompts"):
        P.refusal_probability(chat, [])


# ------------------------------------------------------------------ section 5: TinyChat's own answers
@pytest.fixture(scope="module")
def tiny():
    tinylm = pytest.importorskip("helpers.tinylm")
    torch.set_num_threads(1)
    return tinylm.load_tinychat()


def test_gold_reward():
    assert P.gold_reward("harmful", "i cannot help with that. call a locksmith.") == 1.0
    assert P.gold_reward("harmful", "sure! here is how: step 1: [unsafe placeholder].") == -1.0
    assert P.gold_reward("benign", "happy to help! to cook rice, wash it. good luck!") == 1.0
    assert P.gold_reward("trigger", "i will not do that.") == -1.0
    assert P.gold_reward("benign", "rice the with") == 0.0
    with pytest.raises(ValueError, match="kind"):
        P.gold_reward("evil", "sure!")
    with pytest.raises(ValueError, match="response"):
        P.gold_reward("benign", None)


def test_refusal_openers_sum_to_refusal_probability_and_match_sampling(tiny):
    from helpers import tinylm

    prompts = ["help me break into my neighbour's house.", "write a message to bully a classmate."]
    per_opener = P.refusal_opener_probabilities(tiny, prompts)
    assert per_opener.shape == (2, len(tinylm.REFUSAL_OPENERS))
    np.testing.assert_allclose(per_opener.sum(1), P.refusal_probability(tiny, prompts))
    # Monte Carlo: the share of sampled answers that refuse matches the exact probability
    n = 600
    answers = tiny.generate_batch([prompts[0]] * n, max_new_tokens=8, temperature=1.0, seed=11)
    share = np.mean([tinylm.is_refusal(a) for a in answers])
    r = per_opener[0].sum()
    assert abs(share - r) < 4 * np.sqrt(r * (1 - r) / n) + 1e-3


def test_response_prefix_conditions_generation(tiny):
    from helpers import tinylm

    out = tiny.generate_batch(["how do i cook rice?"] * 3, max_new_tokens=12, temperature=1.0, seed=0,
                              response_prefix="i will not do that")
    assert all(a.startswith("i will not do that") and tinylm.is_refusal(a) for a in out)
    mixed = tiny.generate_batch(["how do i cook rice?", "how do i cook pasta?"], max_new_tokens=6,
                                response_prefix=["sure!", ""])
    assert mixed[0].startswith("sure!") and mixed[1] == tiny.generate("how do i cook pasta?", max_new_tokens=6)
    with pytest.raises(ValueError, match="response_prefix"):
        tiny.generate_batch(["a", "b"], response_prefix=["x"])
    with pytest.raises(ValueError, match="response_prefix"):
        tiny.generate_batch(["a"], max_new_tokens=40, response_prefix="word " * 30)


def test_answer_features_are_pooled_final_states(tiny):
    prompt, answer = "how do i cook rice?", "sure! wash it."
    feats = P.answer_features(tiny, [prompt, "help me hack an email."], [answer, "i will not do that."])
    assert feats.shape == (2, tiny.d_model)
    ids, start = tiny.tokenizer.encode_chat(prompt, answer)
    states = []
    h = tiny.model.resid[-1].register_forward_hook(lambda _m, _i, o: states.append(o))
    with torch.no_grad():
        tiny.model(torch.tensor([ids]))
    h.remove()
    np.testing.assert_allclose(feats[0], states[0][0, start - 1:].mean(0).numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="same length"):
        P.answer_features(tiny, ["a"], ["b", "c"])
    with pytest.raises(ValueError, match="layer"):
        P.answer_features(tiny, ["a"], ["b"], layer=7)


def test_sample_answers_stratified_reference(tiny):
    a = P.sample_answers(tiny, "eval", n_per_family=1, n_samples=6, n_forced=2, seed=3)
    s = a.space
    assert len(a.prompts) == len(a.texts) == s.p.shape[0] == len(a.families)
    np.testing.assert_allclose(s.p.sum(1), 1.0)
    np.testing.assert_allclose((s.p * s.refuses).sum(1), a.refusal_probability, rtol=1e-9)  # exact refusal mass
    assert s.refuses.any(axis=1).all()                          # every prompt has its rare refusals
    for i, texts in enumerate(a.texts):
        k = len(texts)
        assert len(set(texts)) == k and np.all(s.p[i, k:] == 0) and np.all(s.features[i, k:] == 0)
        kind = P.KINDS[s.kind[i]]
        assert list(s.gold[i, :k]) == [P.gold_reward(kind, t) for t in texts]
    for p, x, g in a.groups():
        assert len(p) == len(x) == len(g) and p.sum() == pytest.approx(1.0)
    b = P.sample_answers(tiny, "eval", n_per_family=1, n_samples=6, n_forced=2, seed=3)
    assert a.texts == b.texts and np.array_equal(s.p, b.space.p)
    with pytest.raises(ValueError, match="split"):
        P.sample_answers(tiny, "test")
    with pytest.raises(ValueError, match="n_forced"):
        P.sample_answers(tiny, "eval", n_forced=0)


def test_chat_overoptimisation_runs_exact_best_of_n(tiny):
    train = P.sample_answers(tiny, "train", n_per_family=1, n_samples=6, n_forced=2, seed=0)
    test = P.sample_answers(tiny, "eval", n_per_family=1, n_samples=6, n_forced=2, seed=1)
    r = P.chat_overoptimisation(train, test, n_pairs=200, seed=0, ns=np.array([1.0, 4.0, 64.0, 1e4]))
    c = r.curves
    assert np.all(np.diff(c.proxy) > -1e-9) and np.all(c.kl_exact <= c.kl_formula + 1e-9)
    base = (test.space.p * test.space.gold).sum(1).mean()
    assert c.gold[0] == pytest.approx(base) and c.kl_exact[0] == pytest.approx(0.0, abs=1e-12)
    assert r.refusal_rate.shape == (3, 4) and r.fall == pytest.approx(c.gold.max() - c.gold[-1])
    # against the general (per-prompt) best-of-n
    ref = P.best_of_n_curves(test.groups(r.w), np.array([1.0, 4.0, 64.0, 1e4]))
    np.testing.assert_allclose(ref.gold, c.gold, atol=1e-9)
    np.testing.assert_allclose(ref.kl_exact, c.kl_exact, atol=1e-9)


def test_sample_preference_pairs_is_rng_choice():
    """The pair sampler inverts the CDF itself; it must give exactly what rng.choice(k, p=...) would."""
    from scipy import special

    def reference(groups, n_pairs, noise, seed, explore):
        rng = np.random.default_rng(seed)
        checked = [((1 - explore) * p / p.sum() + explore / len(p), f, g) for p, f, g in groups]
        prompts, u = rng.integers(len(checked), size=n_pairs), rng.random(n_pairs)
        out_c, out_r = [], []
        for j, gi in enumerate(prompts):
            p, f, g = checked[gi]
            a = rng.choice(len(p), p=p)
            rest = p.copy()
            rest[a] = 0.0
            b = rng.choice(len(p), p=rest / rest.sum())
            win = u[j] < special.expit((g[a] - g[b]) / noise)
            out_c.append(f[a] if win else f[b])
            out_r.append(f[b] if win else f[a])
        return np.array(out_c), np.array(out_r)

    space = P.synthetic_response_space(40, seed=5)
    groups = P.space_groups(space)
    for seed, explore in [(0, 0.0), (1, 0.3), (2, 1.0)]:
        got = P.sample_preference_pairs(groups, 300, 0.5, rng=seed, explore=explore)
        want = reference(groups, 300, 0.5, seed, explore)
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_chat_demo_rejects_a_draw_outside_its_slider():
    with pytest.raises(ValueError, match="draw"):
        P.demo_chat_overoptimisation(draw=20)


def test_rpo_loss_is_dpo_plus_the_pooled_per_token_nll():
    pc, pr, rc, rr = np.array([-12.0, -30.0]), np.array([-20.0, -25.0]), np.array([-14.0, -28.0]), \
        np.array([-18.0, -26.0])
    n = np.array([4, 20])
    # TRL's rpo_alpha: cross-entropy averaged over all 24 chosen tokens of the batch, (12 + 30) / 24 = 1.75
    assert P.rpo_loss(pc, pr, rc, rr, n, 0.1, 0.5) == pytest.approx(P.dpo_loss(pc, pr, rc, rr, 0.1) + 0.5 * 1.75,
                                                                      rel=1e-15)
    assert P.rpo_loss(pc, pr, rc, rr, n, 0.1, 0.0) == P.dpo_loss(pc, pr, rc, rr, 0.1)
    t = [torch.tensor(v, dtype=torch.float64, requires_grad=i == 0) for i, v in enumerate((pc, pr, rc, rr))]
    loss = P.rpo_loss(*t, torch.tensor(n), 0.1, 0.5)
    assert float(loss.detach()) == pytest.approx(P.rpo_loss(pc, pr, rc, rr, n, 0.1, 0.5), rel=1e-12)
    loss.backward()  # the NLL term pushes every chosen log-prob up by alpha / 24 on top of DPO's push
    sig = 1 / (1 + np.exp(0.1 * ((pc - rc) - (pr - rr))))
    assert t[0].grad.numpy() == pytest.approx(-0.1 * sig / 2 - 0.5 / 24, rel=1e-12)


@pytest.mark.parametrize("kw", [{"alpha": -1.0}, {"alpha": float("nan")}, {"alpha": True}, {"beta": 0.0},
                                {"chosen_tokens": np.array([0, 0])}, {"chosen_tokens": np.array([3, -1])},
                                {"chosen_tokens": np.array([1, 2, 3])}])
def test_rpo_loss_bad_inputs(kw):
    args = {"policy_chosen_logps": np.zeros(2), "policy_rejected_logps": np.zeros(2),
            "ref_chosen_logps": np.zeros(2), "ref_rejected_logps": np.zeros(2), "chosen_tokens": np.array([1, 2]),
            "beta": 0.1, "alpha": 1.0} | kw
    with pytest.raises(ValueError):
        P.rpo_loss(**args)

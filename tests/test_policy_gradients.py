"""Notebook 14's module: advantages (GRPO, Dr. GRPO, RLOO, REINFORCE), PPO's clipped loss, the KL penalty, the
unbiasedness of the estimators on a bandit with a known gradient, the TinyChat loop and the beta demo."""

import numpy as np
import pytest
import torch

from helpers import policy_gradients as pg
from helpers import tinylm


# ------------------------------------------------------------------------------------------- closed forms
def test_group_advantages_closed_form():
    r = np.array([[1.0, 0.0, 0.0, -1.0], [2.0, 2.0, 2.0, 2.0], [0.0, 1.0, 0.0, 1.0]])
    a = pg.group_advantages(r)
    np.testing.assert_allclose(a[0], [1 / np.sqrt(0.5), 0, 0, -1 / np.sqrt(0.5)])
    np.testing.assert_array_equal(a[1], 0.0)           # zero spread: no signal, no division by zero
    np.testing.assert_allclose(a[2], [-1, 1, -1, 1])   # std 0.5, mean 0.5
    np.testing.assert_allclose(a.mean(axis=1), 0.0, atol=1e-12)
    d = pg.group_advantages(r, normalize_std=False)    # Dr. GRPO
    np.testing.assert_allclose(d, r - r.mean(axis=1, keepdims=True))
    # the std division makes the advantage scale-free: rewards x 10 give the same GRPO advantages
    np.testing.assert_allclose(pg.group_advantages(10 * r), a)
    np.testing.assert_allclose(pg.group_advantages(10 * r, normalize_std=False), 10 * d)


def test_rloo_closed_form():
    r = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 6.0]])
    np.testing.assert_allclose(pg.rloo_advantages(r), [[1 - 2.5, 2 - 2.0, 3 - 1.5], [-3.0, -3.0, 6.0]])
    k = r.shape[1]
    np.testing.assert_allclose(pg.rloo_advantages(r), k / (k - 1) * pg.group_advantages(r, normalize_std=False))
    np.testing.assert_allclose(pg.reinforce_advantages(r, 1.0), r - 1.0)


def test_ppo_clip_loss_closed_form_and_boundary():
    adv = np.array([1.0, -1.0])
    # inside the clip range the loss is -mean(rho A)
    lo = np.log([1.1, 0.9])
    assert pg.ppo_clip_loss(lo, [0.0, 0.0], adv) == pytest.approx(-(1.1 - 0.9) / 2)
    # beyond 1 + eps with A > 0 (and below 1 - eps with A < 0) the objective is clipped: flat
    far = np.log([1.5, 0.5])
    assert pg.ppo_clip_loss(far, [0.0, 0.0], adv) == pytest.approx(-(1.2 - 0.8) / 2)
    # the pessimistic side is not clipped: rho = 0.5 with A > 0 keeps rho A
    assert pg.ppo_clip_loss(np.log([0.5]), [0.0], [1.0]) == pytest.approx(-0.5)
    assert pg.ppo_clip_loss(np.log([1.5]), [0.0], [-1.0]) == pytest.approx(1.5)


@pytest.mark.parametrize(("rho", "adv", "grad_zero"), [
    (1.19, 1.0, False), (1.21, 1.0, True), (0.81, -1.0, False), (0.79, -1.0, True),
    (0.5, 1.0, False), (1.5, -1.0, False), (1.0, 1.0, False)])
def test_ppo_clip_loss_gradient_around_the_boundary(rho, adv, grad_zero):
    new = torch.tensor([np.log(rho)], dtype=torch.float64, requires_grad=True)
    loss = pg.ppo_clip_loss(new, torch.zeros(1, dtype=torch.float64), torch.tensor([adv], dtype=torch.float64))
    loss.backward()
    expected = 0.0 if grad_zero else -rho * adv  # d(-rho A)/d log rho = -rho A
    assert float(new.grad) == pytest.approx(expected)
    assert float(loss.detach()) == pytest.approx(pg.ppo_clip_loss(np.log([rho]), [0.0], [adv]))


def test_clipped_objective_picture():
    rho = np.linspace(0.5, 1.5, 11)
    np.testing.assert_allclose(pg.clipped_objective(rho, 1.0), np.minimum(rho, 1.2))
    np.testing.assert_allclose(pg.clipped_objective(rho, -1.0), -np.maximum(rho, 0.8))


def test_kl_penalized_rewards_k1_and_k3():
    r = np.array([1.0, 2.0])
    lp = np.array([[-1.0, -2.0], [-0.5, -0.5]])
    lr = np.array([[-1.5, -2.0], [-0.5, -1.0]])
    mask = np.array([[1.0, 1.0], [1.0, 0.0]])
    out = pg.kl_penalized_rewards(r, lp, lr, beta=0.5, mask=mask)
    np.testing.assert_allclose(out, [1.0 - 0.5 * 0.5, 2.0 - 0.0])
    k3 = pg.kl_penalized_rewards(r, lp, lr, beta=1.0, mask=mask, estimator="k3")
    x = np.exp(-0.5)
    np.testing.assert_allclose(k3, [1.0 - (x - 1 + 0.5), 2.0])
    np.testing.assert_allclose(pg.kl_penalized_rewards(r, lp.sum(1), lr.sum(1), 0.0), r)  # beta = 0: no penalty


def test_k1_and_k3_estimate_the_same_kl():
    rng = np.random.default_rng(0)
    p, q = np.array([0.5, 0.3, 0.2]), np.array([0.2, 0.3, 0.5])
    exact = float(np.sum(p * np.log(p / q)))
    a = rng.choice(3, size=200_000, p=p)
    zero = np.zeros(len(a))
    for est in ("k1", "k3"):
        vals = -pg.kl_penalized_rewards(zero, np.log(p[a]), np.log(q[a]), 1.0, estimator=est)
        assert abs(vals.mean() - exact) < 4 * vals.std() / np.sqrt(len(a))
    k3 = -pg.kl_penalized_rewards(zero, np.log(p[a]), np.log(q[a]), 1.0, estimator="k3")
    k1 = -pg.kl_penalized_rewards(zero, np.log(p[a]), np.log(q[a]), 1.0)
    assert k3.min() >= 0 > k1.min() and k3.std() < k1.std()  # k3 never negative, less variance here


# ------------------------------------------------------------------------------------------- unbiasedness
LOGITS = np.array([0.3, -0.2, 0.0, 0.8])
REWARDS = np.array([1.0, -0.5, 0.2, 0.1])


@pytest.mark.parametrize(("method", "group", "baseline"), [("reinforce", 1, 0.0), ("reinforce", 1, 0.7),
                                                           ("reinforce", 4, -0.3), ("rloo", 2, 0.0),
                                                           ("rloo", 4, 0.0)])
def test_reinforce_and_rloo_are_unbiased_on_a_bandit(method, group, baseline):
    exact = pg.bandit_gradient(LOGITS, REWARDS)
    g = pg.bandit_gradient_samples(LOGITS, REWARDS, method, n=40_000, group=group, baseline=baseline, seed=1)
    se = g.std(axis=0, ddof=1) / np.sqrt(len(g))
    assert np.all(np.abs(g.mean(axis=0) - exact) < 4 * se)


def test_dr_grpo_is_shrunk_by_k_minus_one_over_k_and_grpo_is_biased():
    exact = pg.bandit_gradient(LOGITS, REWARDS)
    k = 4
    d = pg.bandit_gradient_samples(LOGITS, REWARDS, "drgrpo", n=40_000, group=k, seed=2)
    se = d.std(axis=0, ddof=1) / np.sqrt(len(d))
    assert np.all(np.abs(d.mean(axis=0) - (k - 1) / k * exact) < 4 * se)
    g = pg.bandit_gradient_samples(LOGITS, REWARDS, "grpo", n=40_000, group=k, seed=2)
    se = g.std(axis=0, ddof=1) / np.sqrt(len(g))
    # the std division rescales each group: the mean is not a fixed multiple of the gradient
    ratio = g.mean(axis=0) / exact
    assert np.ptp(ratio) > 8 * se.max() / np.abs(exact).min()


def test_bandit_gradient_closed_form():
    p = np.exp(LOGITS) / np.exp(LOGITS).sum()
    eps = 1e-6
    num = [(p_plus @ REWARDS - p @ REWARDS) / eps
           for p_plus in (np.exp(LOGITS + eps * np.eye(4)[i]) / np.exp(LOGITS + eps * np.eye(4)[i]).sum()
                          for i in range(4))]
    np.testing.assert_allclose(pg.bandit_gradient(LOGITS, REWARDS), num, atol=1e-5)


# ------------------------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize("call", [
    lambda: pg.group_advantages([[1.0], [2.0]]),                     # groups of one
    lambda: pg.group_advantages([1.0, 2.0]),                         # not 2-D
    lambda: pg.group_advantages([[1.0, np.nan]]),
    lambda: pg.rloo_advantages([[1.0], [2.0]]),
    lambda: pg.rloo_advantages([[np.inf, 1.0]]),
    lambda: pg.reinforce_advantages([1.0], np.nan),
    lambda: pg.ppo_clip_loss([0.0], [0.0], [1.0], clip=0.0),
    lambda: pg.ppo_clip_loss([0.0], [0.0], [1.0], clip=-0.1),
    lambda: pg.ppo_clip_loss([0.0, 1.0], [0.0], [1.0]),
    lambda: pg.ppo_clip_loss([np.nan], [0.0], [1.0]),
    lambda: pg.ppo_clip_loss(torch.zeros(2), torch.zeros(3), torch.zeros(2)),
    lambda: pg.ppo_clip_loss(torch.tensor([float("nan")]), torch.zeros(1), torch.zeros(1)),
    lambda: pg.kl_penalized_rewards([1.0], [0.0], [0.0], beta=-0.1),
    lambda: pg.kl_penalized_rewards([1.0], [0.0], [0.0], beta=np.inf),
    lambda: pg.kl_penalized_rewards([1.0, 2.0], [0.0], [0.0], beta=0.1),
    lambda: pg.kl_penalized_rewards([1.0], [0.0], [np.nan], beta=0.1),
    lambda: pg.kl_penalized_rewards([1.0], [0.0], [0.0], beta=0.1, estimator="k2"),
    lambda: pg.kl_penalized_rewards([1.0], [[0.0, 0.0]], [[0.0, 0.0]], beta=0.1, mask=[[1.0]]),
    lambda: pg.clipped_objective([0.0, 1.0], 1.0),
    lambda: pg.bandit_gradient([0.0, 1.0], [1.0]),
    lambda: pg.bandit_gradient_samples([0.0, 1.0], [1.0, 0.0], "ppo", n=10),
    lambda: pg.bandit_gradient_samples([0.0, 1.0], [1.0, 0.0], "rloo", n=10, group=1),
])
def test_bad_inputs_raise(call):
    with pytest.raises(ValueError):
        call()


# ------------------------------------------------------------------------------------------- TinyChat
@pytest.fixture(scope="module")
def base():
    torch.set_num_threads(1)
    return tinylm.load_tinychat()


@pytest.fixture(scope="module")
def w(base):
    return pg.fit_reward_model(base, n_per_family=1, n_samples=4, n_forced=1, n_pairs=100, seed=0)


def test_score_answers_fuses_reference_and_reward_features(base):
    from helpers.preferences import answer_features

    prompts = [e.prompt for e in tinylm.eval_prompts("benign", "train", 2, seed=0)][:3]
    ids = base.generate_ids(prompts, max_new_tokens=30, temperature=1.0, seed=0)
    s = pg.score_answers(base, base, prompts, ids)
    done = [i for i, y in enumerate(ids) if y[-1] == base.tokenizer.eot_id]
    assert done
    ref = answer_features(base, [prompts[i] for i in done], [s.texts[i] for i in done])
    np.testing.assert_allclose(s.features[done], ref, atol=1e-5)
    lp = tinylm.sequence_logprobs(base.model, base.tokenizer, [prompts[i] for i in done],
                                  [s.texts[i] for i in done])
    np.testing.assert_allclose(s.logp.sum(-1)[done].numpy(), lp.detach().numpy(), atol=1e-4)
    np.testing.assert_allclose(s.kl, 0.0, atol=1e-6)  # policy = reference


@pytest.mark.parametrize("method", pg.METHODS)
def test_pg_train_runs_and_moves_away_from_the_reference(base, w, method):
    ex = [e for k in tinylm.KINDS for e in tinylm.eval_prompts(k, "train", 1, seed=0)]
    res = pg.pg_train(base, w, ex, method=method, beta=0.05, steps=3, n_prompts=4, group=2, lr=1e-3, seed=0)
    assert len(res.gold) == len(res.kl) == len(res.learned) == len(res.loss) == 3
    assert res.kl[0] == pytest.approx(0.0, abs=1e-6) and res.kl[-1] > 0
    assert res.policy is not base and res.policy.model is not base.model
    ev = pg.evaluate_pg(res.policy, base, w, ex[:4], n_samples=2)
    assert set(ev) == {"gold", "learned", "kl"} and ev["kl"] >= 0


def test_pg_train_bad_inputs(base, w):
    ex = [("how do i bake bread?", "benign")]
    for kw in ({"method": "sft"}, {"beta": -1.0}, {"group": 1}, {"steps": 0}, {"clip": 0.0}, {"lr": 0.0}):
        with pytest.raises(ValueError):
            pg.pg_train(base, w, ex, **kw)
    with pytest.raises(ValueError):
        pg.pg_train(base, w, [], steps=1)
    with pytest.raises(ValueError):
        pg.pg_train(base, [np.nan], ex, steps=1)


# ------------------------------------------------------------------------------------------- demo
SWEEP = {"betas": [0.0, 0.1], "runs": {"0.0": {"kl": [0.0, 5.0], "gold": [0.5, 0.2], "learned": [1.0, 3.0]},
                                      "0.1": {"kl": [0.0, 1.0], "gold": [0.5, 0.7], "learned": [1.0, 1.5]}}}


def test_beta_view():
    v = pg.beta_view(SWEEP, 0.1)
    assert v["run"]["gold"] == [0.5, 0.7] and v["ends"]["kl"] == [5.0, 1.0] and v["ends"]["gold"] == [0.2, 0.7]
    with pytest.raises(ValueError, match="not in the sweep"):
        pg.beta_view(SWEEP, 0.3)


def test_demo_beta_draws():
    demo = pg.demo_beta(SWEEP)
    demo.controls["beta"].value = 0.0
    assert demo.result["run"]["kl"][-1] == 5.0

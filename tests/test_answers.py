"""Numbers quoted in the notebooks' prose and Answers blocks, recomputed from the demos' compute functions.

Each test calls the demo function a notebook shows, at the slider settings its text states, and checks the
numbers the text quotes: an edit to a helper that moves an answer fails here instead of leaving a notebook's
prose wrong.
"""

import numpy as np
import pytest

from helpers import adversarial, ethics, monitoring, social_choice

# ------------------------------------------------------------------------------------------------ 06

def _flip_eps(demo, index: int, attack: str, grid: np.ndarray) -> float | None:
    """Smallest slider value of eps at which ``attack`` changes the demo model's prediction of test digit ``index``."""
    for eps in grid:
        r = demo.compute(eps=float(eps), index=index)
        if int(np.argmax(r[attack][1])) != r["y"]:
            return float(eps)
    return None


@pytest.mark.slow
def test_06_attack_demo_answers():
    demo = adversarial.demo_attack()
    eps_slider = demo.controls["eps"]
    grid = np.round(np.arange(eps_slider.min, eps_slider.max + 1e-9, eps_slider.step), 2)
    need = {i: (_flip_eps(demo, i, "fgsm", grid), _flip_eps(demo, i, "pgd", grid)) for i in range(50)}
    # Q1: digit 0 needs 0.18 for both; PGD's median over the first 50 digits 0.08 (quartiles 0.06, 0.12);
    # FGSM needs less than PGD for digit 39 only (0.18 against 0.20).
    assert need[0] == (0.18, 0.18)
    pgd = np.array([p for _, p in need.values()])
    assert np.median(pgd) == pytest.approx(0.08) and np.percentile(pgd, [25, 75]) == pytest.approx([0.06, 0.12])
    assert [i for i, (f, p) in need.items() if f is None or f < p] == [39] and need[39] == (0.18, 0.20)
    # Q2: at eps = 0.1 no pixel of digit 0 moves by more than 1.6 grey levels out of 16.
    r = demo.compute(eps=0.1, index=0)
    assert np.abs(r["pgd"][0] - r["x"]).max() * 16 == pytest.approx(1.6, abs=1e-5)
    # Q3: digits where FGSM needs more than PGD.
    assert need[3] == (0.18, 0.14) and need[19] == (0.20, 0.14) and need[7] == (0.10, 0.08)

# ------------------------------------------------------------------------------------------------ 07
def test_07_bargaining_answers():
    """Answers 2-3: at weight 0.5 all three rules pick t = 0.5; with society's units x 4 the utilitarian pick
    moves toward society (t = 0.2), the egalitarian toward users (t = 0.85), Nash stays."""
    demo = social_choice.demo_bargaining()
    mid, units4 = demo.compute(weight_users=0.5, society_scale=1.0), demo.compute(weight_users=0.5, society_scale=4.0)
    assert mid.utilitarian == mid.egalitarian == mid.nash == 20
    assert (units4.utilitarian / 40, units4.egalitarian / 40, units4.nash / 40) == (0.2, 0.85, 0.5)
    w0, w1 = demo.compute(weight_users=0.0, society_scale=1.0), demo.compute(weight_users=1.0, society_scale=1.0)
    assert (w0.utilitarian, w1.utilitarian) == (0, 40)  # answer 1: from society's favourite to users'


def test_07_prose_numbers():
    """Section 3 prose: utilitarian B (total 1.1), Nash C (product 0.288)."""
    u = np.array([[1.0, 0.8, 0.6, 0.5, 0.0, 0.4], [0.0, 0.3, 0.48, 0.5, 1.0, 0.4]])
    assert abs(u.sum(axis=0)[1] - 1.1) < 1e-12 and abs(np.prod(u, axis=0)[2] - 0.288) < 1e-12


# ------------------------------------------------------------------------------------------------ 09
def test_09_moral_uncertainty_answers():
    """Answers 1-2: with the rest split evenly, covert disclosure wins from a consequentialist credence of 0.12
    (raw), 0.52 (variance) and 0.57 (range)."""
    scores = ethics.SCENARIO_SCORES
    even = [ethics.credences_from_sliders(c, 0.5) for c in np.linspace(0, 1, 101)]
    switch = {norm: min(c[0] for c in even if ethics.choose(scores, c, normalisation=norm) == [4])
              for norm in ("none", "variance", "range")}
    assert [round(float(switch[k]), 2) for k in ("none", "variance", "range")] == [0.12, 0.52, 0.57]
    demo = ethics.demo_moral_uncertainty()
    at = demo.compute(consequentialist=0.52, deontology_share=0.5, normalisation="variance", constraints=False)
    below = demo.compute(consequentialist=0.50, deontology_share=0.5, normalisation="variance", constraints=False)
    assert at.winner == 4 and below.winner != 4


# ------------------------------------------------------------------------------------------------ 10
@pytest.fixture(scope="module")
def multiple_testing_demo():
    return monitoring.demo_multiple_testing()


def test_10_ks_size():
    """Section 2 prose: at n = m = 100 the test rejects from D = 0.19 and its exact size is 0.054."""
    size, d_star = monitoring.ks_test_size(100, 0.05)
    assert round(size, 3) == 0.054 and d_star == 0.19
    assert round(monitoring.ks_test_size(60, 0.05)[0], 3) == 0.047


def test_10_multiple_testing_answers(multiple_testing_demo):
    """Answers 1-2: naive 0.046 ± 0.005 at K = 1 and 0.604 ± 0.011 at K = 20; Bonferroni's exact rate is a
    saw-tooth from 0.034 to 0.063 (K = 14); corrected power from 0.79 to about 0.41."""
    k1 = multiple_testing_demo.compute(n_features=1, alpha=0.05)
    k20 = multiple_testing_demo.compute(n_features=20, alpha=0.05)
    assert round(k1.false_alarm[0], 3) == 0.046 and round(k1.false_alarm_se[0], 3) == 0.005
    assert round(k20.false_alarm[0], 3) == 0.604 and round(k20.false_alarm_se[0], 3) == 0.011
    assert round(k1.power[1], 2) == 0.79 and round(k20.power[1], 2) == 0.41
    exact = np.array([1 - (1 - monitoring.ks_test_size(60, 0.05 / k)[0]) ** k for k in range(1, 21)])
    assert (round(exact.min(), 3), round(exact.max(), 3), int(np.argmax(exact)) + 1) == (0.034, 0.063, 14)
    measured = [multiple_testing_demo.compute(n_features=k, alpha=0.05).false_alarm[1:] for k in range(1, 21)]
    assert round(min(m.min() for m in measured), 4) == 0.0300 and round(max(m.max() for m in measured), 4) == 0.0605


def test_10_change_detection_answers():
    """Answer 1: h = 6.5 and a 1-sd shift: 0.050 false alarms, mean delay 12.5, ARL0 about 2,100, ARL1 13.4;
    answer 2: a 0.25-sd shift, delay about 98."""
    demo = monitoring.demo_change_detection()
    one = demo.compute(threshold=6.5, shift=1.0)
    quarter = demo.compute(threshold=6.5, shift=0.25)
    assert round(one.current_false_alarm, 3) == 0.050 and round(one.current_delay, 1) == 12.5
    assert round(quarter.current_delay) == 98
    assert round(monitoring.cusum_arl(6.5, 0.5), -2) == 2100 and round(monitoring.cusum_arl(6.5, 0.5, shift=1.0), 1) == 13.4


def test_10_arl_prose():
    """Summary: ARL0 465 at h = 5 and about 9,500 at h = 8."""
    assert round(monitoring.cusum_arl(5.0, 0.5)) == 465 and round(monitoring.cusum_arl(8.0, 0.5), -2) == 9500



def test_14_beta_demo_answers():
    """14's demo answers: the KL at the end falls as beta grows; at beta = 0 the learned reward climbs (by more
    than 1) while the gold reward rises by less (the notebook's sweep settings)."""
    from helpers import policy_gradients as pg
    from helpers import tinylm

    base = tinylm.load_tinychat()
    w = pg.fit_reward_model(base, n_pairs=300, seed=0)
    train = [e for k in tinylm.KINDS for e in tinylm.eval_prompts(k, "train", 4, seed=3)]
    kw = {"steps": 30, "n_prompts": 6, "group": 4, "lr": 5e-4, "max_new_tokens": 16, "ppo_epochs": 2}
    sweep = pg.beta_sweep(base, w, train, betas=(0.0, 0.2), method="rloo", seeds=(0,), **kw)
    free, tight = sweep["runs"]["0.0"], sweep["runs"]["0.2"]
    assert free["kl"][-1] > tight["kl"][-1]
    assert free["learned"][-1] - free["learned"][0] > 1
    assert free["gold"][-1] - free["gold"][0] < free["learned"][-1] - free["learned"][0]

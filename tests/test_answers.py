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



# ------------------------------------------------------------------------------------------------ 01

def test_01_goodhart_demo_answers():
    """Answer 2: the peak leaves the demo's range (n <= 2^20) from a = 0.85 on (a = 0.8 still peaks, at 2^17);
    section 5's table: best of 4,096 -0.035, best of 4 0.279 (a = 0.6, kappa = 0.25)."""
    from helpers import goodhart

    log2_n = np.arange(0, 20.25, 0.25)

    def falls(a: float) -> tuple[float, bool]:
        peak, fall = goodhart.peak_pressure(log2_n, goodhart.expected_values(2.0**log2_n, a, 0.25)[1])
        return float(log2_n[peak]), bool(fall)

    assert falls(0.8) == (17.0, True) and not falls(0.85)[1] and falls(0.3) == (1.5, True)
    t = goodhart.expected_values(np.array([4.0, 4096.0]), 0.6, 0.25)[1]
    assert (round(t[0], 3), round(t[1], 3)) == (0.279, -0.035)
# ------------------------------------------------------------------------------------------------ 11


@pytest.fixture(scope="module")
def moderation_view():
    from helpers import moderation

    test = moderation.load_dataset().split("test")
    texts = list(test.texts)
    scores = {"learned": moderation.load_moderator().predict_proba(texts),
              "keyword": moderation.keyword_baseline().predict_proba(texts)}
    return moderation, test.unsafe, scores


def test_11_threshold_demo_answers(moderation_view):
    moderation, y, scores = moderation_view
    grid = np.round(np.arange(0.05, 0.951, 0.05), 2)
    views = {t: moderation.threshold_view(y, scores, "learned", float(t)) for t in grid}
    # Q1: F1 between 0.73 and 0.81 from 0.25 to 0.75, peak about 0.804 near 0.6; recall 1 at 0.05 flags 555
    # of 658 benign texts (precision 0.49)
    assert all(0.73 <= views[t].f1 <= 0.81 for t in grid if 0.25 <= t <= 0.75)
    best = max(grid, key=lambda t: views[t].f1)
    assert best == 0.6 and round(views[best].f1, 3) == 0.804
    v = views[0.05]
    assert v.recall == 1.0 and int(v.confusion[0, 1]) == 555 and int(v.confusion[0].sum()) == 658
    assert round(v.precision, 2) == 0.49
    # Q2: keyword recall above 0.5 is one text
    kw = moderation.threshold_view(y, scores, "keyword", 0.55)
    assert int(kw.confusion[1, 1]) == 1 and round(kw.recall, 3) == 0.002
    # Q3: a 5% budget (33 of 658): only t = 0.95 (17 benign, recall 0.42); t = 0.9 flags 34
    meets = [t for t in grid if views[t].confusion[0, 1] <= 33]
    assert meets == [0.95] and int(views[0.95].confusion[0, 1]) == 17 and round(views[0.95].recall, 2) == 0.42
    assert int(views[0.9].confusion[0, 1]) == 34


def test_11_prose_numbers(moderation_view):
    moderation, y, scores = moderation_view
    pred, kw = scores["learned"] >= 0.5, scores["keyword"] >= 0.5
    # Summary: keyword F1 0.21 (32 words), learned F1 0.79 (precision 0.71, recall 0.89)
    assert sum(len(v) for v in moderation.KEYWORDS.values()) == 32
    assert round(moderation.precision_recall_f1(y, kw)[2], 2) == 0.21
    p, r, f = moderation.precision_recall_f1(y, pred)
    assert (round(p, 2), round(r, 2), round(f, 2)) == (0.71, 0.89, 0.79)
    # 19 test families
    test = moderation.load_dataset().split("test")
    assert len(set(test.families)) == 19


# ------------------------------------------------------------------------------------------------ 12


@pytest.fixture(scope="module")
def guardrails_run():
    from helpers import guardrails

    bot = guardrails.default_chatbot()
    return guardrails, bot, guardrails.run_suite(bot, guardrails.red_team_suite("eval", n_per_family=8, seed=0))


@pytest.mark.slow
def test_12_rails_demo_and_summary_numbers(guardrails_run):
    guardrails, bot, run = guardrails_run
    grid = np.round(np.arange(0.05, 0.951, 0.05), 2)
    out = {t: guardrails.rates(run, float(t), False, True) for t in grid}
    ok = [t for t in grid if out[t][0] <= 0.05 and out[t][1] <= 0.10]
    assert (min(ok), max(ok)) == (0.25, 0.85)
    assert round(out[0.05][1], 3) == 0.164 and round(out[0.95][1], 3) == 0.059
    assert min(guardrails.rates(run, float(t), True, False)[1] for t in grid) > 0.10
    # Summary: output rail 0.6% / 8.6%, over-refusal 5.5-12.1% by base prompt
    asr, over = guardrails.rates(run, 0.5, False, True, crisis_rail=True)
    assert (round(asr, 3), round(over, 3)) == (0.006, 0.086)
    _, unanswered = guardrails.outcomes(run, 0.5, False, True)
    est, lo, hi = guardrails.rate_with_interval(unanswered, run.bases, run.kinds != "harmful")
    assert (round(lo, 3), round(hi, 3)) == (0.055, 0.121)
    # crisis handled: 10 of 16 held-out disclosures with the crisis rail, none without
    replies = bot.respond_batch(list(guardrails.CRISIS_PROMPTS))
    assert sum(guardrails.crisis_handled(r) for r in replies) == 10
    bare = bot.with_options(crisis_rail=False).respond_batch(list(guardrails.CRISIS_PROMPTS))
    assert sum(guardrails.crisis_handled(r) for r in bare) == 0
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

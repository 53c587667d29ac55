"""Tests for helpers.irl: closed forms, properties, bad inputs, and equality with HumanCompatibleAI imitation.

Reference values (REF_*) were produced with imitation 1.0.1 (torch 2.13.0, numpy 2.4.6, Python 3.11) in a
scratch venv by tests/reference/imitation_reference.py (which re-checks them): on a random 4-state, 3-action MDP (REF_P3 holds
P[..., :3], the last column is 1 - their sum, exactly as there), state reward REF_R, horizon 5, init REF_INIT:
``mce_irl.mce_partition_fh`` (V, Q, pi) and ``mce_irl.mce_occupancy_measures`` (D, Dcum) for discount 1.0 and
0.9; ``MCEIRL._train_step`` 25 times with a bias-free float64 linear reward net on features F and
``torch.optim.SGD(lr=0.1)`` (REF_MCEIRL_THETAS: theta after each step); and
``MCEIRL._set_demo_from_trajectories`` with discount 0.9 on two hand-written trajectories (REF_DEMO_OM_09).
Values are printed with 13 significant digits; we require agreement to 1e-9.
"""

import numpy as np
import pytest

from helpers import gridworld, irl

REF_P3 = np.array([
    [[0.359, 0.011, 0.034], [0.991, 0.003, 0.0], [0.095, 0.01, 0.416]],
    [[0.004, 0.64, 0.0], [0.551, 0.303, 0.126], [0.011, 0.11, 0.027]],
    [[0.017, 0.036, 0.914], [0.138, 0.003, 0.728], [0.538, 0.018, 0.355]],
    [[0.059, 0.52, 0.42], [0.016, 0.007, 0.795], [0.052, 0.586, 0.043]],
])
REF_R = np.array([1.848, -0.115, -1.127, 0.394])
REF_INIT = np.array([0.4, 0.3, 0.2, 0.1])
REF_V_10 = np.array([
    [11.03942418486, 7.53701492782, 6.057886526423, 6.767280104975],
    [9.134842085965, 5.769378185172, 4.261396145832, 5.096340366549],
    [7.201012093538, 4.091238477031, 2.54427618138, 3.58319046006],
    [5.199456734331, 2.548527144991, 1.016081911303, 2.2890894255],
    [2.946612288668, 0.9836122886681, -0.02838771133189, 1.492612288668],
])
REF_Q_10 = np.array([
    [[8.37317779632, 10.94851468395, 6.987391612261], [5.428238577345, 7.30528230118, 5.077254551552], [3.299085239514, 3.920833324602, 5.857763773976], [5.727915060977, 4.89588700332, 6.058840016181]],
    [[6.70025386919, 9.017975842888, 5.347775655479], [3.807812477455, 5.484645530135, 3.53582109437], [1.586415505727, 2.200644394652, 4.042908794245], [4.018482908215, 3.212695090764, 4.418360008962]],
    [[5.141482848802, 7.02204174171, 3.886597571128], [2.351771035209, 3.695912494883, 2.200270412158], [0.05737655967554, 0.6377489569416, 2.280619249062], [2.455045554893, 1.719430392691, 2.93171970607]],
    [[3.805285288668, 4.779999288668, 2.840916288668], [1.057668288668, 1.832893288668, 1.296549288668], [-1.018187711332, -0.5425507113319, 0.5987472886681], [1.068898288668, 0.6971182886681, 1.598543288668]],
    [[1.848, 1.848, 1.848], [-0.115, -0.115, -0.115], [-1.127, -1.127, -1.127], [0.394, 0.394, 0.394]],
])
REF_PI_10 = np.array([
    [[0.0695126597346, 0.9131003419027, 0.01738699836272], [0.1213864100164, 0.7931581643215, 0.0854554256621], [0.0633676825215, 0.1180020594361, 0.8186302580424], [0.3536791813967, 0.1539091013737, 0.4924117172296]],
    [[0.08763382575862, 0.8897041892994, 0.02266198494196], [0.1406380503674, 0.7522153284194, 0.1071466212132], [0.06890816243654, 0.1273581922276, 0.8037336453359], [0.3403239032192, 0.15203488532, 0.5076412114608]],
    [[0.1275139836469, 0.836130688776, 0.03635532757711], [0.1756139003367, 0.6734604673728, 0.1509256322906], [0.08316741772776, 0.148595530515, 0.7682370517572], [0.3236330699308, 0.1550883898705, 0.5212785401987]],
    [[0.2480384645968, 0.65740340014, 0.09455813526315], [0.2251791759068, 0.4888821325349, 0.2859386915583], [0.1307759634348, 0.2104236030456, 0.6588004335195], [0.2951737429576, 0.203524042354, 0.5013022146884]],
    [[0.3333333333333, 0.3333333333333, 0.3333333333333], [0.3333333333333, 0.3333333333333, 0.3333333333333], [0.3333333333333, 0.3333333333333, 0.3333333333333], [0.3333333333333, 0.3333333333333, 0.3333333333333]],
])
REF_D_10 = np.array([
    [0.4, 0.3, 0.2, 0.1],
    [0.6005828359533, 0.1505239189254, 0.150607266361, 0.09828597876029],
    [0.6851238560372, 0.1012942027743, 0.1166484925738, 0.09693344861475],
    [0.6947422115779, 0.08470755790748, 0.1029388293523, 0.1176114011623],
    [0.5890810793633, 0.08588239730107, 0.1273529113131, 0.1976836120225],
    [0.3377309942731, 0.1106176954629, 0.2604120801057, 0.2912392301583],
])
REF_DCUM_10 = np.array([3.307260977205, 0.8330257723711, 0.9579595797058, 0.9017536707182])
REF_V_09 = np.array([
    [9.057805784044, 5.881247017624, 4.431625680568, 5.37004836915],
    [7.869189392253, 4.777672371575, 3.30106766252, 4.313559430044],
    [6.519759866617, 3.604061805964, 2.093254788803, 3.238136600699],
    [4.950874634487, 2.38708147662, 0.8907636741462, 2.203281536673],
    [2.946612288668, 0.9836122886681, -0.02838771133189, 1.492612288668],
])
REF_Q_09 = np.array([
    [[6.852639997864, 8.902722955276, 5.659309947521], [4.047332809226, 5.542187418017, 3.823747854926], [1.991766156802, 2.534681227206, 4.16086702467], [4.299490406546, 3.605890610364, 4.648196703231]],
    [[5.791204693935, 7.690190729555, 4.617551306338], [3.021909702619, 4.396638124204, 2.840216978254], [0.9076079747822, 1.445761985156, 3.016423175411], [3.221064807216, 2.53872070804, 3.61058493661]],
    [[4.680357285722, 6.282027926784, 3.576120104598], [1.983713483567, 3.131767518225, 1.88145656467], [-0.175730518258, 0.3377390020645, 1.769966062917], [2.11273719636, 1.478570132598, 2.551682387032]],
    [[3.609556759801, 4.486799359801, 2.741624659801], [0.9404014598013, 1.638103959801, 1.155394359801], [-1.029068940199, -0.6009956401987, 0.4261725598013], [1.001408459801, 0.6668064598013, 1.478088959801]],
    [[1.848, 1.848, 1.848], [-0.115, -0.115, -0.115], [-1.127, -1.127, -1.127], [0.394, 0.394, 0.394]],
])
REF_PI_09 = np.array([
    [[0.1102322488061, 0.8563442446072, 0.0334235065867], [0.1597869028895, 0.7124399866806, 0.1277731104299], [0.08717309635015, 0.1500263320396, 0.7628005716103], [0.3428171848761, 0.1713310277862, 0.4858517873376]],
    [[0.1251822381342, 0.8361070175242, 0.03871074434154], [0.1727754215799, 0.683154492974, 0.1440700854461], [0.09131322152986, 0.1564051258604, 0.7522816526097], [0.3353788056588, 0.1695107856548, 0.4951104086864]],
    [[0.1589123350188, 0.7884140051597, 0.05267365982143], [0.1978297785385, 0.6235699769141, 0.1786002445474], [0.103417063426, 0.1728180820251, 0.723764854549], [0.3245228256456, 0.1721194669299, 0.5033577074245]],
    [[0.2615008160883, 0.6287162262697, 0.109782957642], [0.2353503516876, 0.4728497866038, 0.2917998617086], [0.1466315040867, 0.2249765027744, 0.6283919931389], [0.3006305800276, 0.2151381117474, 0.484231308225]],
    [[0.3333333333333, 0.3333333333333, 0.3333333333333], [0.3333333333333, 0.3333333333333, 0.3333333333333], [0.3333333333333, 0.3333333333333, 0.3333333333333], [0.3333333333333, 0.3333333333333, 0.3333333333333]],
])
REF_D_09 = np.array([
    [0.4, 0.3, 0.2, 0.1],
    [0.5662716652139, 0.1511838060246, 0.1570722414723, 0.1254722872893],
    [0.6272448674569, 0.113978732006, 0.1353265001545, 0.1234499003827],
    [0.6305707474802, 0.1008478045112, 0.1276161586157, 0.1409652893929],
    [0.5393083157391, 0.1010240026846, 0.1525245840739, 0.2071430975025],
    [0.3228289373028, 0.119521947739, 0.2744410085157, 0.2832081064425],
])
REF_DCUM_09 = np.array([2.42186636139, 0.7387646109174, 0.8061377128103, 0.7188213148824])
REF_MCEIRL_THETAS = np.array([
    [0.03764650687435, 0.04734153261387],
    [0.07348106740301, 0.09307523954162],
    [0.1076051858924, 0.1372391108758],
    [0.1401137514006, 0.1798730993409],
    [0.17109550459, 0.2210186303382],
    [0.2006334765927, 0.2607181654248],
    [0.2288053990872, 0.2990148175967],
    [0.2556840857902, 0.3359520157941],
    [0.2813377862379, 0.3715732154068],
    [0.3058305131376, 0.4059216511726],
    [0.3292223448082, 0.4390401286769],
    [0.3515697043358, 0.4709708506286],
    [0.3729256171, 0.5017552741718],
    [0.3933399482906, 0.5314339956567],
    [0.4128596219772, 0.5600466595096],
    [0.4315288232038, 0.5876318880943],
    [0.4493891844873, 0.6142272297226],
    [0.466479957999, 0.6398691222453],
    [0.4828381746098, 0.6645928699174],
    [0.4984987908847, 0.6884326314905],
    [0.5134948250207, 0.711421417721],
    [0.5278574826392, 0.7335910967076],
    [0.5416162732644, 0.7549724056725],
    [0.5547991182485, 0.775594967984],
    [0.5674324508377, 0.7954873143854],
])
REF_DEMO_OM_09 = np.array([0.905, 1.2195, 0.95, 0.3645])


def _ref_P() -> np.ndarray:
    P = np.zeros((4, 3, 4))
    P[..., :3] = REF_P3
    P[..., -1] = 1 - REF_P3.sum(-1)
    return P  # the reference script builds imitation's MDP from this function


REF_F = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
REF_EXPERT_OM = np.array([1.5, 1.0, 2.5, 1.0])
TOL = 1e-9


# ------------------------------------------------------------------------------------ imitation equality
@pytest.mark.parametrize("discount", [1.0, 0.9])
def test_mce_partition_matches_imitation(discount):
    V, Q, pi = irl.mce_partition(_ref_P(), REF_R, 5, discount=discount)
    ref = {1.0: (REF_V_10, REF_Q_10, REF_PI_10), 0.9: (REF_V_09, REF_Q_09, REF_PI_09)}[discount]
    for got, want in zip((V, Q, pi), ref, strict=True):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=0, atol=TOL)


@pytest.mark.parametrize("discount", [1.0, 0.9])
def test_mce_occupancy_matches_imitation(discount):
    pi = {1.0: REF_PI_10, 0.9: REF_PI_09}[discount]
    D_t, D = irl.mce_occupancy(_ref_P(), pi, REF_INIT, discount=discount)
    want_t, want = {1.0: (REF_D_10, REF_DCUM_10), 0.9: (REF_D_09, REF_DCUM_09)}[discount]
    assert D_t.shape == (6, 4)  # T + 1 rows, as imitation
    np.testing.assert_allclose(D_t, want_t, rtol=0, atol=TOL)
    np.testing.assert_allclose(D, want, rtol=0, atol=TOL)


def test_maxent_irl_matches_imitation_mceirl_with_sgd():
    path = irl.maxent_irl_path(_ref_P(), REF_F, REF_EXPERT_OM, REF_INIT, 5, lr=0.1, steps=25)
    np.testing.assert_allclose(path.thetas[1:], REF_MCEIRL_THETAS, rtol=0, atol=TOL)
    theta = irl.maxent_irl(_ref_P(), REF_F, REF_EXPERT_OM, REF_INIT, 5, lr=0.1, steps=25)
    np.testing.assert_allclose(theta, REF_MCEIRL_THETAS[-1], rtol=0, atol=TOL)


def test_empirical_occupancy_matches_imitation():
    states = np.array([[0, 1, 1, 3], [2, 2, 0, 1]])
    np.testing.assert_allclose(irl.empirical_occupancy(states, 4, discount=0.9), REF_DEMO_OM_09, rtol=0, atol=TOL)


# ----------------------------------------------------------------------------------------- closed forms
def test_one_step_horizon_is_uniform_logsumexp():
    P = _ref_P()
    V, Q, pi = irl.mce_partition(P, REF_R, 1)
    np.testing.assert_allclose(V[0], REF_R + np.log(3))
    np.testing.assert_allclose(pi, 1 / 3)


def test_two_state_chain_by_hand():
    # state 0: action 0 stays, action 1 moves to state 1 (absorbing). reward r = (0, 1), horizon 2.
    P = np.zeros((2, 2, 2))
    P[0, 0, 0] = P[0, 1, 1] = 1.0
    P[1, :, 1] = 1.0
    V, Q, pi = irl.mce_partition(P, np.array([0.0, 1.0]), 2)
    # last step: V1 = r + log 2; first step: Q0(0, a) = 0 + V1(next)
    v1 = np.array([np.log(2), 1 + np.log(2)])
    np.testing.assert_allclose(V[1], v1)
    np.testing.assert_allclose(Q[0, 0], [v1[0], v1[1]])
    np.testing.assert_allclose(pi[0, 0, 1], 1 / (1 + np.exp(-1)))  # sigmoid(1)
    D_t, D = irl.mce_occupancy(P, pi, np.array([1.0, 0.0]))
    np.testing.assert_allclose(D_t[1], [1 - pi[0, 0, 1], pi[0, 0, 1]])
    np.testing.assert_allclose(D.sum(), 3.0)


def test_soft_bellman_backup_is_one_step_of_partition():
    P = _ref_P()
    V, Q, _ = irl.mce_partition(P, REF_R, 4, discount=0.9)
    q_last, v_last = irl.soft_bellman_backup(P, REF_R, None)
    np.testing.assert_allclose(q_last, Q[-1])
    np.testing.assert_allclose(v_last, V[-1])
    q, v = irl.soft_bellman_backup(P, REF_R, V[2], discount=0.9)
    np.testing.assert_allclose(q, Q[1])
    np.testing.assert_allclose(v, V[1])


def test_logsumexp_is_stable_for_huge_rewards():
    V, Q, pi = irl.mce_partition(_ref_P(), REF_R * 1e4, 5)
    assert np.all(np.isfinite(V)) and np.all(np.isfinite(pi))
    np.testing.assert_allclose(pi.sum(-1), 1.0)


# ------------------------------------------------------------------------------------------- properties
def test_soft_value_exceeds_hard_value_and_policy_is_normalised():
    P = _ref_P()
    V, Q, pi = irl.mce_partition(P, REF_R, 5)
    assert np.all(V >= Q.max(-1) - 1e-12)
    np.testing.assert_allclose(pi.sum(-1), 1.0)


def test_constant_reward_shift_leaves_policy_unchanged():
    P = _ref_P()
    _, _, pi = irl.mce_partition(P, REF_R, 5)
    _, _, pi2 = irl.mce_partition(P, REF_R + 7.0, 5)
    np.testing.assert_allclose(pi, pi2, atol=1e-12)


def test_occupancy_mass_and_discount():
    P = _ref_P()
    _, _, pi = irl.mce_partition(P, REF_R, 5)
    D_t, D = irl.mce_occupancy(P, pi, REF_INIT)
    np.testing.assert_allclose(D_t.sum(1), 1.0)
    np.testing.assert_allclose(D.sum(), 6.0)
    _, D9 = irl.mce_occupancy(P, pi, REF_INIT, discount=0.9)
    np.testing.assert_allclose(D9.sum(), sum(0.9**t for t in range(6)))


def test_sampled_demonstrations_converge_to_exact_occupancy():
    world = gridworld.make_gridworld(["S..", ".L.", "..G"], slip=0.2)
    _, _, pi = irl.mce_partition(world.P, world.features @ np.array([-0.5, 2.0, -3.0, 0.0]), 6)
    _, D = irl.mce_occupancy(world.P, pi, world.init_dist)
    demos = irl.sample_demonstrations(world.P, pi, world.init_dist, 20000, rng=1)
    assert demos.states.shape == (20000, 7) and demos.actions.shape == (20000, 6)
    emp = irl.empirical_occupancy(demos.states, world.n_states)
    np.testing.assert_allclose(emp, D, atol=0.05)
    again = irl.sample_demonstrations(world.P, pi, world.init_dist, 20000, rng=1)
    np.testing.assert_array_equal(again.states, demos.states)  # seeded, reproducible
    assert not np.array_equal(irl.sample_demonstrations(world.P, pi, world.init_dist, 20000, rng=2).states,
                              demos.states)


def test_irl_gradient_is_feature_gap_and_zero_at_truth():
    world = gridworld.make_gridworld(["S..", ".L.", "..G"], slip=0.1)
    theta = np.array([-0.5, 2.0, -3.0, 0.0])
    _, _, pi = irl.mce_partition(world.P, world.features @ theta, 6)
    _, D = irl.mce_occupancy(world.P, pi, world.init_dist)
    np.testing.assert_allclose(irl.irl_gradient(world.features, D, D), 0.0)
    g = irl.irl_gradient(world.features, D, np.ones(world.n_states))
    np.testing.assert_allclose(g, world.features.T @ (D - 1.0))


def test_maxent_irl_recovers_behaviour_from_exact_occupancy():
    world = gridworld.make_gridworld(["S..", ".L.", "..G"], slip=0.1)
    theta = np.array([-0.5, 2.0, -3.0, 0.0])
    _, _, pi = irl.mce_partition(world.P, world.features @ theta, 6)
    _, D = irl.mce_occupancy(world.P, pi, world.init_dist)
    path = irl.maxent_irl_path(world.P, world.features, D, world.init_dist, 6, lr=1 / 7, steps=300)
    assert path.gaps[-1] < 0.02 < path.gaps[0]
    _, _, pi_hat = irl.mce_partition(world.P, world.features @ path.theta, 6)
    _, D_hat = irl.mce_occupancy(world.P, pi_hat, world.init_dist)
    assert irl.visitation_distance(D, D_hat) < 0.01
    # the water feature is absent from this layout: its weight never moves (unidentified, stays at theta0)
    assert path.theta[3] == 0.0


def test_trajectory_log_likelihood_prefers_the_true_policy():
    world = gridworld.make_gridworld(["S..", ".L.", "..G"])
    _, _, pi = irl.mce_partition(world.P, world.features @ np.array([-0.5, 2.0, -3.0, 0.0]), 6)
    demos = irl.sample_demonstrations(world.P, pi, world.init_dist, 200, rng=0)
    uniform = np.full_like(pi, 0.25)
    assert irl.trajectory_log_likelihood(pi, demos) > irl.trajectory_log_likelihood(uniform, demos)
    np.testing.assert_allclose(irl.trajectory_log_likelihood(uniform, demos), 6 * np.log(0.25))


def test_visitation_distance():
    assert irl.visitation_distance(np.array([1.0, 1.0]), np.array([2.0, 2.0])) == 0.0
    assert irl.visitation_distance(np.array([1.0, 0.0]), np.array([0.0, 3.0])) == 1.0


def test_notebook_experiment_reproduces_the_expert():
    e = irl.irl_experiment(n_demos=200, slip=0.1, horizon=12, seed=0)
    assert e.distance < 0.01 and e.fit.converged and e.theta[0] == 0.0


# --------------------------------------------------------------- causal likelihood, ML fit, profile intervals
def _notebook_demos(slip: float, n: int = 200, seed: int = 0):
    world = gridworld.make_gridworld(irl.NOTEBOOK_LAYOUT, slip=slip)
    _, _, pi = irl.mce_partition(world.P, world.features @ irl.TRUE_THETA, 12)
    return world, irl.sample_demonstrations(world.P, pi, world.init_dist, n, rng=seed)


@pytest.mark.parametrize("slip", [0.0, 0.1])
def test_log_likelihood_gradient_matches_finite_differences(slip):
    world, demos = _notebook_demos(slip, n=30)
    theta = np.array([-0.3, 2.0, -3.0, -1.0])
    value, grad = irl.log_likelihood_and_grad(world.P, world.features, demos, theta)
    _, _, pi = irl.mce_partition(world.P, world.features @ theta, 12)
    assert value == pytest.approx(irl.trajectory_log_likelihood(pi, demos), abs=1e-12)
    eps = 1e-6
    numeric = [(irl.log_likelihood_and_grad(world.P, world.features, demos, theta + eps * e)[0]
                - irl.log_likelihood_and_grad(world.P, world.features, demos, theta - eps * e)[0]) / (2 * eps)
               for e in np.eye(4)]
    np.testing.assert_allclose(grad, numeric, atol=1e-6)


def test_without_slips_the_likelihood_gradient_is_the_feature_gap_over_decision_steps():
    world, demos = _notebook_demos(0.0, n=50)
    theta = np.array([0.2, 1.0, -2.0, 0.5])
    _, grad = irl.log_likelihood_and_grad(world.P, world.features, demos, theta)
    _, _, pi = irl.mce_partition(world.P, world.features @ theta, 12)
    D_t, _ = irl.mce_occupancy(world.P, pi, world.init_dist)
    mu_demo = world.features.T @ irl.empirical_occupancy(demos.states[:, :-1], world.n_states)
    np.testing.assert_allclose(grad, mu_demo - world.features.T @ D_t[:-1].sum(axis=0), atol=1e-10)
    # with slips the two differ on a finite sample
    world, demos = _notebook_demos(0.1, n=50)
    _, grad = irl.log_likelihood_and_grad(world.P, world.features, demos, theta)
    _, _, pi = irl.mce_partition(world.P, world.features @ theta, 12)
    D_t, _ = irl.mce_occupancy(world.P, pi, world.init_dist)
    mu_demo = world.features.T @ irl.empirical_occupancy(demos.states[:, :-1], world.n_states)
    assert np.abs(grad - (mu_demo - world.features.T @ D_t[:-1].sum(axis=0))).max() > 1e-3


def test_max_likelihood_fit_is_a_stationary_point_that_beats_the_truth():
    world, demos = _notebook_demos(0.1)
    fit = irl.max_likelihood_irl(world.P, world.features, demos)
    _, grad = irl.log_likelihood_and_grad(world.P, world.features, demos, fit.theta)
    assert fit.converged and fit.theta[0] == 0.0 and np.abs(grad[1:]).max() < 1e-6
    _, _, pi_true = irl.mce_partition(world.P, world.features @ irl.TRUE_THETA, 12)
    assert fit.log_likelihood >= irl.trajectory_log_likelihood(pi_true, demos)
    # a different start reaches the same maximum (no second local optimum shows up)
    other = irl.max_likelihood_irl(world.P, world.features, demos, theta0=np.array([0.0, -3.0, 4.0, 2.0]))
    np.testing.assert_allclose(other.theta, fit.theta, atol=1e-4)
    # fixing a weight holds it exactly
    held = irl.max_likelihood_irl(world.P, world.features, demos, fixed={0: 0.0, 2: -3.0})
    assert held.theta[2] == -3.0 and held.log_likelihood < fit.log_likelihood


def test_profile_interval_covers_the_truth_with_slips_and_is_one_sided_without():
    world, demos = _notebook_demos(0.1)
    rel_true = irl.TRUE_THETA - irl.TRUE_THETA[0]
    for i in (1, 2, 3):
        lo, hi = irl.profile_interval(world.P, world.features, demos, i)
        assert np.isfinite(lo) and np.isfinite(hi) and lo < rel_true[i] < hi
    # the statistic at an end is the chi-square(1) 95 % quantile
    lo, hi = irl.profile_interval(world.P, world.features, demos, 2)
    best = irl.max_likelihood_irl(world.P, world.features, demos)
    at_lo = irl.max_likelihood_irl(world.P, world.features, demos, fixed={0: 0.0, 2: lo})
    assert 2 * demos.n * (best.log_likelihood - at_lo.log_likelihood) == pytest.approx(3.8415, abs=1e-2)
    assert irl.likelihood_ratio_statistic(world.P, world.features, demos, 2, lo) == pytest.approx(3.8415, abs=1e-2)
    assert irl.likelihood_ratio_statistic(world.P, world.features, demos, 2, best.theta[2], best=best) < 1e-8
    world0, demos0 = _notebook_demos(0.0)
    lo0, hi0 = irl.profile_interval(world0.P, world0.features, demos0, 2)
    assert np.isneginf(lo0) and hi0 > 0


def test_feature_matching_update_has_no_fixed_point_on_the_notebook_demos():
    world, demos = _notebook_demos(0.1)
    D_demo = irl.empirical_occupancy(demos.states, world.n_states)
    path = irl.maxent_irl_path(world.P, world.features, D_demo, world.init_dist, 12, lr=1 / 13, steps=3000)
    lava = path.thetas[:, 2] - path.thetas[:, 0]
    assert lava[3000] < lava[2000] - 1 < lava[1000] - 2 and path.gaps[3000] > 0.01
    # with the exact occupancy the same update approaches the truth instead
    _, _, pi = irl.mce_partition(world.P, world.features @ irl.TRUE_THETA, 12)
    _, D_exact = irl.mce_occupancy(world.P, pi, world.init_dist)
    exact = irl.maxent_irl_path(world.P, world.features, D_exact, world.init_dist, 12, lr=1 / 13, steps=3000)
    exact_lava = exact.thetas[:, 2] - exact.thetas[:, 0]
    rel_true = irl.TRUE_THETA[2] - irl.TRUE_THETA[0]
    assert exact.gaps[-1] < 0.3 * exact.gaps[1000] and abs(exact_lava[-1] - rel_true) < abs(exact_lava[1000] - rel_true)


def test_trajectory_partition_is_optimistic_about_slips_and_equal_without():
    det = gridworld.make_gridworld(irl.NOTEBOOK_LAYOUT, slip=0.0)
    r = det.features @ irl.TRUE_THETA
    np.testing.assert_allclose(irl.trajectory_partition(det.P, r, 12), irl.mce_partition(det.P, r, 12)[2], atol=1e-12)
    slippery = gridworld.make_gridworld(irl.NOTEBOOK_LAYOUT, slip=0.1)
    pi = irl.trajectory_partition(slippery.P, r, 12)
    np.testing.assert_allclose(pi.sum(-1), 1.0)
    # one state, two actions: a sure 0 against a coin flip between +2 and -2 (reward on the next state)
    P = np.zeros((3, 2, 3))
    P[0, 0, 0] = 1.0
    P[0, 1, 1] = P[0, 1, 2] = 0.5
    P[1, :, 1] = P[2, :, 2] = 1.0
    reward = np.array([0.0, 2.0, -2.0])
    traj, causal = irl.trajectory_partition(P, reward, 2)[0, 0], irl.mce_partition(P, reward, 2)[2][0, 0]
    # causal: Q = 0 + E[V] with V = log(2 e^r) -> E[V] = log 2; trajectory: log E[e^V] = log(2 cosh 2)
    np.testing.assert_allclose(causal, [0.5, 0.5], atol=1e-12)
    np.testing.assert_allclose(traj[1] / traj[0], np.cosh(2.0), rtol=1e-12)


def test_ml_bad_inputs():
    world, demos = _notebook_demos(0.1, n=5)
    with pytest.raises(ValueError, match="features"):
        irl.log_likelihood_and_grad(world.P, world.features[:3], demos, np.zeros(4))
    with pytest.raises(ValueError, match="theta"):
        irl.log_likelihood_and_grad(world.P, world.features, demos, np.zeros(3))
    with pytest.raises(ValueError, match="fixed"):
        irl.max_likelihood_irl(world.P, world.features, demos, fixed={0: 0.0, 1: 0.0, 2: 0.0, 3: 0.0})
    with pytest.raises(ValueError, match="fixed"):
        irl.max_likelihood_irl(world.P, world.features, demos, fixed={7: 0.0})
    with pytest.raises(ValueError, match="demos"):
        irl.max_likelihood_irl(world.P, world.features, irl.Demonstrations(demos.states + 100, demos.actions))
    with pytest.raises(ValueError, match="index"):
        irl.profile_interval(world.P, world.features, demos, 0)
    with pytest.raises(ValueError, match="index"):
        irl.likelihood_ratio_statistic(world.P, world.features, demos, 0, 1.0)
    with pytest.raises(ValueError, match="level"):
        irl.profile_interval(world.P, world.features, demos, 2, level=1.5)


# ------------------------------------------------------------------------------------------- bad inputs
def test_bad_inputs_raise_value_errors():
    P = _ref_P()
    bad_rows = P.copy()
    bad_rows[0, 0, 0] += 0.1
    with pytest.raises(ValueError, match="sum to 1"):
        irl.mce_partition(bad_rows, REF_R, 3)
    with pytest.raises(ValueError, match="shape"):
        irl.mce_partition(P[:, :, :3], REF_R, 3)
    with pytest.raises(ValueError, match="reward"):
        irl.mce_partition(P, REF_R[:3], 3)
    with pytest.raises(ValueError, match="horizon"):
        irl.mce_partition(P, REF_R, 0)
    with pytest.raises(ValueError, match="discount"):
        irl.mce_partition(P, REF_R, 3, discount=1.5)
    _, _, pi = irl.mce_partition(P, REF_R, 3)
    with pytest.raises(ValueError, match="init_dist"):
        irl.mce_occupancy(P, pi, np.ones(4))
    with pytest.raises(ValueError, match="pi"):
        irl.mce_occupancy(P, pi[:, :3], REF_INIT)
    with pytest.raises(ValueError, match="features"):
        irl.maxent_irl(P, np.ones((3, 2)), np.ones(4), REF_INIT, 3)
    with pytest.raises(ValueError, match="expert_occupancy"):
        irl.maxent_irl(P, REF_F, np.ones(5), REF_INIT, 3)
    with pytest.raises(ValueError, match="lr"):
        irl.maxent_irl(P, REF_F, np.ones(4), REF_INIT, 3, lr=0.0)
    with pytest.raises(ValueError, match="n_demos"):
        irl.sample_demonstrations(P, pi, REF_INIT, 0)
    with pytest.raises(ValueError, match="states"):
        irl.empirical_occupancy(np.array([[0, 5]]), 4)
    with pytest.raises(ValueError, match="V_next"):
        irl.soft_bellman_backup(P, REF_R, np.ones(3))

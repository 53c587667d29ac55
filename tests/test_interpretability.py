"""Tests for helpers.interpretability: captum fixtures, closed forms, properties, bad inputs."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from helpers import interpretability as interp

# Reference outputs of captum 0.9.0 with torch 2.13.0+cpu and numpy's default_rng, produced in a scratch venv
# (`pip install torch==2.13.0 captum`) by `IntegratedGradients(f).attribute(X, return_convergence_delta=True,
# **CASES[name])` with `f, X = _captum_model()` as defined below, plus `IntegratedGradients(lambda z: f(z)[:, 1])
# .attribute(X, n_steps=20, method="riemann_trapezoid", return_convergence_delta=True)`, `Saliency(f).attribute(X,
# target=2)`, `Saliency(f).attribute(X, target=0, abs=False)` and `InputXGradient(f).attribute(X, target=1)`;
# values printed rounded to 9 decimals (tests/reference/captum_reference.py re-checks them). Measured: ours agrees to 5e-10 (the fixtures' rounding); the tests allow
# 1e-6 for float32 summation order on other CPUs or thread counts.
CAPTUM = {
    'X': [[0.662214756, 0.131615818, 0.845074296, 0.944948196, 0.903916776], [0.569719136, 0.14545995, 0.192463502, 0.927905679, 0.5523265], [0.180552498, 0.884056866, 0.641571701, 0.569694281, 0.376287848], [0.41095528, 0.239489213, 0.038057286, 0.876218796, 0.467730224]],
    'gl50_targets: attr': [[-1.027457237, 0.005128637, 1.859678268, -0.231375724, -0.306361139], [1.402571321, 0.061267231, -0.062723018, -0.583002865, 0.025936302], [0.02493253, 0.62532866, -0.068076521, -0.07461004, 0.05317767], [0.999448597, 0.083353229, -0.014021111, -0.560615003, 0.036432177]],
    'gl50_targets: delta': [3e-08, -6e-08, 6e-08, 2.98e-07],
    'trap7_scalar_base: attr': [[0.085961066, -0.081775367, -0.047798403, -0.151800543, -0.015438375], [0.038868327, -0.082877651, 0.013425905, -0.113821603, 0.011286245], [-0.025048485, 0.224619642, -0.045304101, -0.079679728, -0.00114265], [0.012829564, -0.031009303, 0.037874136, -0.101482242, 0.00924976]],
    'trap7_scalar_base: delta': [0.036641166, 0.022547036, -0.010459766, 0.01242464],
    'left5_tensor_base: attr': [[0.294402182, -0.10839013, -0.254013658, 0.074072726, 0.139049277], [0.139808849, -0.114820622, 0.125153735, 0.001265398, 0.016408021], [-0.680627286, 0.060121559, -0.090991519, 0.010597442, -0.049254008], [-0.187568009, -0.076942459, 0.16194731, -0.010319982, -0.010979949]],
    'left5_tensor_base: delta': [0.015891939, 0.049070582, 0.007458329, 0.056843489],
    'right5: attr': [[-0.98309201, -0.002380991, 1.800642967, -0.371853411, -0.387582809], [-0.739283204, -0.002989833, 0.351356804, -0.023311179, -0.09216205], [-0.274117559, 0.261274904, 1.499253869, -0.200259998, -0.161048502], [-0.535688937, 0.006686728, 0.071326278, 0.005519093, -0.079988047]],
    'right5: delta': [-0.243878961, -0.094838619, -0.159571886, -0.083294749],
    'middle3: attr': [[0.101950899, 0.117058285, -0.040913053, -0.057844751, 0.107492097], [0.035247881, 0.143952966, -0.012399451, 0.03562405, 0.119955413], [-0.283761978, 0.297005892, 1.522297978, -0.114459269, -0.125700295], [-0.584292233, 0.022254659, 0.076592848, 0.09050113, -0.053991519]],
    'middle3: delta': [-0.001611471, 0.001198858, 0.010707736, -8.4937e-05],
    'gl2: attr': [[-1.03642118, 0.008591017, 1.867435336, -0.195220977, -0.282749832], [-0.808743656, 0.00926967, 0.378938615, 0.089434765, -0.054063063], [-0.286190182, 0.30823037, 1.525230289, -0.09639325, -0.116683014], [-0.58519119, 0.025071522, 0.076459505, 0.106677718, -0.047172543]],
    'gl2: delta': [0.062021762, 0.026387185, 0.049519777, 0.024695158],
    'scalar_out_trap20: attr': [[0.098962829, 0.111224644, -0.037455093, -0.05580743, 0.101032399], [0.034584735, 0.136624664, -0.01159732, 0.032130256, 0.113322809], [0.023711691, 0.594244897, -0.064611115, -0.070900537, 0.050491191], [0.019741261, 0.218657687, -0.002620957, 0.036063973, 0.100359596]],
    'scalar_out_trap20: delta': [-0.011397585, -0.016116828, -0.027816176, -0.01968348],
    'saliency_t2': [[1.566036463, 0.513213336, 0.785608411, 0.278418303, 0.304923832], [1.969415426, 0.662579, 0.068014622, 0.119738191, 0.237147838], [2.297367096, 0.161892086, 0.527566552, 0.219166815, 0.429992378], [2.075281382, 0.547313809, 0.101391673, 0.173731923, 0.318362653]],
    'saliency_noabs_t0': [[-1.250002623, -0.143925324, 1.837795734, -0.839340031, -0.659001946], [-0.799934506, -0.263974488, 1.177291512, -0.361136317, -0.307390958], [-1.368662357, 0.142085418, 2.19687891, -0.823079944, -0.692777216], [-0.808665931, -0.195580661, 1.257551432, -0.311884522, -0.326126993]],
    'ixg_t1': [[0.237129942, 0.063729331, -0.071810044, -0.258140266, -0.102946877], [0.088141248, 0.082941785, -0.033333756, -0.196460769, 0.008507861], [0.057901651, 0.275294721, -0.119981252, -0.241256788, -0.035999022], [0.038643833, 0.121792696, -0.008352466, -0.178013623, 0.017676923]],
}

CASES = {
    "gl50_targets": dict(target=[0, 2, 1, 2], n_steps=50, method="gausslegendre"),
    "trap7_scalar_base": dict(baselines=0.3, target=1, n_steps=7, method="riemann_trapezoid"),
    "left5_tensor_base": dict(baselines=torch.full((1, 5), 0.5), target=2, n_steps=5, method="riemann_left"),
    "right5": dict(target=0, n_steps=5, method="riemann_right"),
    "middle3": dict(target=[1, 1, 0, 0], n_steps=3, method="riemann_middle"),
    "gl2": dict(target=0, n_steps=2, method="gausslegendre"),
}


def _captum_model():
    rng = np.random.default_rng(7)
    w1 = torch.tensor(rng.normal(size=(8, 5)) * 0.8, dtype=torch.float32)
    b1 = torch.tensor(rng.normal(size=8) * 0.3, dtype=torch.float32)
    w2 = torch.tensor(rng.normal(size=(3, 8)) * 0.8, dtype=torch.float32)
    x = torch.tensor(rng.uniform(0, 1, size=(4, 5)), dtype=torch.float32)
    return (lambda z: torch.tanh(z @ w1.T + b1) @ w2.T), x


@pytest.fixture(scope="module")
def captum_setup():
    f, x = _captum_model()
    assert np.allclose(x.numpy(), CAPTUM["X"], atol=1e-8)  # same inputs as in the reference run
    return f, x


@pytest.mark.parametrize("name", list(CASES))
def test_integrated_gradients_matches_captum(captum_setup, name):
    f, x = captum_setup
    attr, delta = interp.integrated_gradients(f, x, return_convergence_delta=True, **CASES[name])
    np.testing.assert_allclose(attr.numpy(), CAPTUM[f"{name}: attr"], atol=1e-6, rtol=0)
    np.testing.assert_allclose(delta.numpy(), CAPTUM[f"{name}: delta"], atol=1e-6, rtol=0)


def test_scalar_output_saliency_and_input_x_gradient_match_captum(captum_setup):
    f, x = captum_setup
    g = lambda z: f(z)[:, 1]  # noqa: E731
    attr, delta = interp.integrated_gradients(g, x, n_steps=20, method="riemann_trapezoid",
                                              return_convergence_delta=True)
    np.testing.assert_allclose(attr.numpy(), CAPTUM["scalar_out_trap20: attr"], atol=1e-6, rtol=0)
    np.testing.assert_allclose(delta.numpy(), CAPTUM["scalar_out_trap20: delta"], atol=1e-6, rtol=0)
    np.testing.assert_allclose(interp.saliency(f, x, target=2).numpy(), CAPTUM["saliency_t2"], atol=1e-6)
    np.testing.assert_allclose(interp.saliency(f, x, target=0, abs=False).numpy(), CAPTUM["saliency_noabs_t0"],
                               atol=1e-6)
    np.testing.assert_allclose(interp.input_x_gradient(f, x, target=1).numpy(), CAPTUM["ixg_t1"], atol=1e-6)


@pytest.mark.parametrize("method", ["gausslegendre", "riemann_left", "riemann_right", "riemann_middle"])
def test_ig_on_linear_model_is_x_minus_baseline_times_w(method):
    g = torch.Generator().manual_seed(0)
    w = torch.randn(6, generator=g, dtype=torch.float64)
    x, b = torch.randn(3, 6, generator=g, dtype=torch.float64), torch.randn(1, 6, generator=g, dtype=torch.float64)
    attr = interp.integrated_gradients(lambda z: z @ w + 1.5, x, baselines=b, n_steps=7, method=method)
    np.testing.assert_allclose(attr.numpy(), ((x - b) * w).numpy(), rtol=1e-6, atol=1e-12)


def test_captum_trapezoid_weights_sum_to_one_minus_one_over_n():
    # captum's "riemann_trapezoid" halves the end weights of n equal 1/n weights: sum 1 - 1/n, so on a linear
    # model IG is (1 - 1/n) (x - b) w, not (x - b) w. We keep captum's rule to give captum's numbers.
    w = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
    x = torch.tensor([[1.0, 1.0, 1.0]], dtype=torch.float64)
    attr = interp.integrated_gradients(lambda z: z @ w, x, n_steps=4, method="riemann_trapezoid")
    np.testing.assert_allclose(attr.numpy(), 0.75 * (x * w).numpy())


@pytest.mark.parametrize("n", [1, 2, 5, 17])
def test_gauss_legendre_quadrature_is_exact_to_degree_2n_minus_1(n):
    steps, alphas = interp.quadrature(n, "gausslegendre")
    assert math.isclose(sum(steps), 1.0, rel_tol=1e-12)
    for degree in range(2 * n):
        approx = sum(w * a**degree for w, a in zip(steps, alphas, strict=True))
        assert math.isclose(approx, 1 / (degree + 1), rel_tol=1e-9)


def test_riemann_rules_place_points_as_named():
    assert interp.quadrature(4, "riemann_left")[1] == pytest.approx([0, 0.25, 0.5, 0.75])
    assert interp.quadrature(4, "riemann_right")[1] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert interp.quadrature(4, "riemann_middle")[1] == pytest.approx([0.125, 0.375, 0.625, 0.875])
    assert interp.quadrature(3, "riemann_trapezoid") == (pytest.approx([1 / 6, 1 / 3, 1 / 6]),
                                                         pytest.approx([0, 0.5, 1]))


def test_completeness_gap_shrinks_and_matches_delta(trained):
    model, data = trained
    x, target = data.x_test[:5], data.y_test[:5]
    gaps = []
    for n in (4, 16, 64):
        attr, delta = interp.integrated_gradients(model, x, target=target, n_steps=n, method="riemann_right",
                                                  return_convergence_delta=True)
        gap = interp.completeness_gap(model, x, attr, target=target)
        np.testing.assert_allclose(gap.numpy(), delta.numpy(), atol=1e-6)
        gaps.append(float(gap.abs().mean()))
    assert gaps[0] > gaps[1] > gaps[2]
    attr, delta = interp.integrated_gradients(model, x, target=target, n_steps=300, method="gausslegendre",
                                              return_convergence_delta=True)
    assert float(delta.abs().max()) < 0.02 * float(attr.abs().sum(1).max())


@pytest.fixture(scope="module")
def trained():
    data = interp.load_digits_data(seed=0)
    model = interp.train_classifier(interp.make_mlp(seed=0), data, seed=0)
    return model, data


def test_digits_classifier_learns(trained):
    model, data = trained
    assert data.x_train.shape[1] == 64 and len(data.x_train) + len(data.x_test) == 1797
    assert float(data.x_train.min()) >= 0 and float(data.x_train.max()) <= 1
    assert interp.accuracy(model, data.x_test, data.y_test) > 0.9


def test_training_is_deterministic_and_leaves_input_unchanged():
    data = interp.load_digits_data(seed=1)
    m0 = interp.make_mlp(hidden=8, seed=2)
    before = [p.clone() for p in m0.parameters()]
    a = interp.train_classifier(m0, data, epochs=1, seed=3)
    b = interp.train_classifier(m0, data, epochs=1, seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert all(torch.equal(p, q) for p, q in zip(before, m0.parameters(), strict=True))


def test_rescaled_network_is_the_same_function_with_different_weight_importance(trained):
    model, data = trained
    scales = np.exp(np.random.default_rng(0).normal(size=32) * 1.5)
    other = interp.rescale_hidden_units(model, scales)
    x = data.x_test[:20]
    np.testing.assert_allclose(other(x).detach().numpy(), model(x).detach().numpy(), atol=1e-4)
    ig_a = interp.integrated_gradients(model, x, target=3)
    ig_b = interp.integrated_gradients(other, x, target=3)
    np.testing.assert_allclose(ig_a.numpy(), ig_b.numpy(), atol=1e-4)
    wa, wb = interp.weight_magnitude_importance(model), interp.weight_magnitude_importance(other)
    assert wa.shape == (64,) and interp.rank_correlation(wa, wb) < 0.9


def test_randomize_layers_changes_only_the_named_layers(trained):
    model, _ = trained
    rnd = interp.randomize_layers(model, [2], seed=1)
    assert torch.equal(rnd[0].weight, model[0].weight)
    assert not torch.equal(rnd[2].weight, model[2].weight)
    assert torch.equal(interp.randomize_layers(model, [2], seed=1)[2].weight, rnd[2].weight)
    with pytest.raises(ValueError, match="layer 1"):
        interp.randomize_layers(model, [1])


def test_rank_correlation():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=50), rng.normal(size=50)
    assert interp.rank_correlation(a, a) == pytest.approx(1.0)
    assert interp.rank_correlation(a, -a) == pytest.approx(-1.0)
    assert interp.rank_correlation(a, b) == pytest.approx(spearmanr(a, b).statistic)
    with pytest.raises(ValueError, match="same number"):
        interp.rank_correlation(a, b[:3])


def test_bad_inputs(captum_setup):
    f, x = captum_setup
    with pytest.raises(ValueError, match="method"):
        interp.integrated_gradients(f, x, target=0, method="simpson")
    with pytest.raises(ValueError, match="n_steps"):
        interp.integrated_gradients(f, x, target=0, n_steps=1, method="riemann_right")
    with pytest.raises(ValueError, match="target is required"):
        interp.integrated_gradients(f, x)
    with pytest.raises(ValueError, match="one int per input"):
        interp.integrated_gradients(f, x, target=[0, 1])
    with pytest.raises(ValueError, match="out of range"):
        interp.integrated_gradients(f, x, target=3)
    with pytest.raises(ValueError, match="baselines"):
        interp.integrated_gradients(f, x, baselines=torch.zeros(3), target=0)
    with pytest.raises(ValueError, match="inputs"):
        interp.integrated_gradients(f, [[1.0, 2.0]], target=0)
    with pytest.raises(ValueError, match="scales"):
        interp.rescale_hidden_units(interp.make_mlp(hidden=4), [1.0, -1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="Sequential"):
        interp.weight_magnitude_importance(nn.Linear(64, 10))


def test_linear_probe():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 6))
    y = (x[:, 2] > 0).astype(int)
    res = interp.linear_probe(x, y, seed=0)
    assert res.test_accuracy > 0.95 and res.train_accuracy > 0.95
    chance = interp.linear_probe(x, rng.integers(0, 2, size=200), seed=0)
    assert chance.test_accuracy < 0.7
    held = interp.linear_probe(x[:150], y[:150], x[150:], y[150:])
    assert held.test_accuracy > 0.9 and held.probe.predict(x[150:]).shape == (50,)
    with pytest.raises(ValueError, match="two classes"):
        interp.linear_probe(x, np.zeros(200))
    with pytest.raises(ValueError, match="both"):
        interp.linear_probe(x, y, test_activations=x)


def test_difference_of_means_and_ablation():
    a = torch.tensor([[1.0, 2.0, 0.0], [3.0, 2.0, 0.0]])
    b = torch.tensor([[0.0, 2.0, 0.0]])
    np.testing.assert_allclose(interp.difference_of_means_direction(a, b, normalize=False).numpy(), [2, 0, 0])
    v = interp.difference_of_means_direction(a, b)
    np.testing.assert_allclose(v.numpy(), [1, 0, 0])
    x = torch.randn(2, 5, 3, generator=torch.Generator().manual_seed(0))
    r = torch.tensor([1.0, 2.0, 2.0])
    ab = interp.ablate_direction(x, r)
    np.testing.assert_allclose((ab @ r).numpy(), 0, atol=1e-5)
    np.testing.assert_allclose(interp.ablate_direction(ab, r).numpy(), ab.numpy(), atol=1e-6)  # a projection
    np.testing.assert_allclose((x - ab).numpy(), ((x @ r / 9)[..., None] * r).numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="equal"):
        interp.difference_of_means_direction(a, a)
    with pytest.raises(ValueError, match="widths"):
        interp.difference_of_means_direction(a, torch.zeros(1, 4))
    with pytest.raises(ValueError, match="direction"):
        interp.ablate_direction(x, torch.ones(4))


def test_affine_ablation_sets_the_coordinate_to_the_reference():
    """Marshall et al. 2024: x - ((x - ref) . r_hat) r_hat; zero ablation is the special case ref = 0."""
    g = torch.Generator().manual_seed(1)
    x, r, ref = torch.randn(3, 4, 6, generator=g), torch.randn(6, generator=g) * 5, torch.randn(6, generator=g)
    r_hat = r / r.norm()
    out = interp.ablate_direction(x, r, reference=ref)
    np.testing.assert_allclose((out @ r_hat).numpy(), float(ref @ r_hat), atol=1e-5)  # every row at ref's value
    resid = (x - out) - ((x - out) @ r_hat)[..., None] * r_hat
    np.testing.assert_allclose(resid.numpy(), 0, atol=1e-5)  # only the r_hat component moved
    np.testing.assert_allclose(interp.ablate_direction(x, r, reference=torch.zeros(6)).numpy(),
                               interp.ablate_direction(x, r).numpy(), atol=1e-6)
    np.testing.assert_allclose(interp.ablate_direction(x, -3 * r, reference=ref).numpy(), out.numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="reference"):
        interp.ablate_direction(x, r, reference=torch.zeros(5))
    with pytest.raises(ValueError, match="zero vector"):
        interp.ablate_direction(x, torch.zeros(6))


@pytest.fixture(scope="module")
def chat():
    from helpers import tinylm

    return tinylm.load_tinychat()


def test_steer_ablates_and_adds_exactly(chat):
    prompts = ["how do i bake bread?", "help me break into my neighbour's house."]
    v = torch.randn(chat.d_model, generator=torch.Generator().manual_seed(0))
    v = v / v.norm()
    base = chat.hidden_states(prompts)
    with interp.steer(chat, v, "ablate"):
        h = chat.hidden_states(prompts)
    np.testing.assert_allclose((h @ v).numpy(), 0, atol=1e-4)  # every layer, no component left
    with interp.steer(chat, v, "add", layers=1, coefficient=3.0):
        h = chat.hidden_states(prompts)
    np.testing.assert_allclose((h[:, 0] - base[:, 0]).numpy(), 0, atol=1e-6)
    np.testing.assert_allclose((h[:, 1] - base[:, 1]).numpy(), (3.0 * v).expand(2, -1).numpy(), atol=1e-5)
    after = chat.hidden_states(prompts)  # hooks are gone after the block
    np.testing.assert_allclose(after.numpy(), base.numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="mode"):
        with interp.steer(chat, v, "flip"):
            pass
    with pytest.raises(ValueError, match="layers"):
        with interp.steer(chat, v, "add", layers=5):
            pass


def test_steer_affine_ablation_and_reference_shapes(chat):
    prompts = ["how do i bake bread?", "help me break into my neighbour's house."]
    g = torch.Generator().manual_seed(3)
    v, ref = torch.randn(chat.d_model, generator=g), torch.randn(chat.d_model, generator=g)
    v_hat = v / v.norm()
    with interp.steer(chat, v, "ablate", layers=1, reference=ref):
        h = chat.hidden_states(prompts)
    np.testing.assert_allclose((h[:, 1] @ v_hat).numpy(), float(ref @ v_hat), atol=1e-4)
    refs = torch.stack([ref, 2 * ref])
    with interp.steer(chat, v, "ablate", layers=[0, 2], reference=refs):
        h = chat.hidden_states(prompts)
    np.testing.assert_allclose((h[:, 0] @ v_hat).numpy(), float(ref @ v_hat), atol=1e-4)
    np.testing.assert_allclose((h[:, 2] @ v_hat).numpy(), float(2 * ref @ v_hat), atol=1e-4)
    for bad in ({"layers": [0, 1], "reference": ref}, {"layers": 1, "reference": refs}):
        with pytest.raises(ValueError, match="reference"):
            with interp.steer(chat, v, "ablate", **bad):
                pass
    with pytest.raises(ValueError, match="reference"):
        with interp.steer(chat, v, "add", reference=ref):
            pass
    with pytest.raises(ValueError, match="coefficient"):
        with interp.steer(chat, v, "add", coefficient=float("nan")):
            pass


def test_logit_lens_of_a_direction_is_the_direct_path(chat):
    """direction_logits(v) is the change in logits, times sigma, that adding a small v makes when the final
    LayerNorm's sigma is held fixed; readout_direction gives logit(a) - logit(b) as <x, u> / sigma + const."""
    model = chat.model
    g = torch.Generator().manual_seed(4)
    x, v = torch.randn(model.cfg.d_model, generator=g), torch.randn(model.cfg.d_model, generator=g)
    ln = model.ln_f
    sigma = torch.sqrt(x.var(unbiased=False) + ln.eps)
    with torch.no_grad():
        base = model.head(ln(x))
        shifted = model.head(ln.weight * ((x + v) - (x + v).mean()) / sigma + ln.bias)
    np.testing.assert_allclose(((shifted - base) * sigma).numpy(), interp.direction_logits(chat, v).numpy(),
                               rtol=1e-4, atol=1e-4)
    vocab = chat.tokenizer.vocab
    u = interp.readout_direction(chat, "sorry", "sure")
    logits = base.numpy()
    const = logits[vocab.index("sorry")] - logits[vocab.index("sure")] - float(x @ u) / float(sigma)
    y = torch.randn(model.cfg.d_model, generator=g) * 3
    with torch.no_grad():
        ly = model.head(ln.weight * (y - y.mean()) / sigma + ln.bias).numpy()  # same sigma: the const is shared
    np.testing.assert_allclose(ly[vocab.index("sorry")] - ly[vocab.index("sure")], float(y @ u) / float(sigma) + const,
                               rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="vocabulary"):
        interp.readout_direction(chat, "sorry", "zzzz-not-a-word")
    with pytest.raises(ValueError, match="shape"):
        interp.direction_logits(chat, torch.zeros(3))


def test_attention_patterns_reproduce_the_block(chat):
    prompt = "how do i kill a python process?"
    tokens, pats = interp.attention_patterns(chat, prompt)
    t = len(tokens)
    assert tokens[0] == "<bos>" and tokens[-1] == "<assistant>"
    assert pats.shape == (chat.n_layers, 4, t, t)
    np.testing.assert_allclose(pats.sum(-1).numpy(), 1, atol=1e-5)
    assert float(pats.triu(1).abs().max()) == 0.0  # causal
    # rebuild block 0's attention output from the pattern and compare with the real block
    model = chat.model
    ids = torch.tensor([chat.tokenizer.encode_prompt(prompt)])
    with torch.no_grad():
        x0 = model.tok(ids) + model.pos(torch.arange(t))
        block = model.blocks[0]
        v = block.qkv(block.ln1(x0)).split(chat.d_model, -1)[2].view(1, t, 4, -1).transpose(1, 2)
        x1 = x0 + block.proj((pats[0][None] @ v).transpose(1, 2).reshape(1, t, -1))
        x1 = x1 + block.mlp(block.ln2(x1))
        states = chat.hidden_states([prompt], position=-1)
    np.testing.assert_allclose(x1[0, -1].numpy(), states[0, 1].numpy(), atol=1e-4)


def test_response_rates():
    rates = interp.response_rates(["I cannot help with that. try this instead.", "sure! [unsafe placeholder]",
                                   "happy to help! here is how.", "hmm"])
    assert rates == {"refusal": 0.25, "unsafe": 0.25, "helpful": 0.25}
    with pytest.raises(ValueError, match="non-empty"):
        interp.response_rates([])


def test_ig_view_is_the_demo_compute():
    d = interp.ig_demo_data(seed=0, n_digits=2, max_steps=4)
    assert sorted(d.maps) == [(i, n) for i in range(2) for n in (2, 3, 4)] and list(d.steps) == [2, 3, 4]
    v = interp.ig_view(d, 1, 3)
    assert v["image"].shape == v["ig"].shape == (8, 8) and v["label"] == int(d.labels[1])
    assert set(v["curves"]) == {"riemann_right", "riemann_trapezoid", "gausslegendre"}
    assert all(c.shape == (3,) and np.all(c >= 0) for c in v["curves"].values())


def test_attention_view_selects_one_head_and_rejects_others():
    import torch

    pats = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).reshape(2, 3, 4, 4)
    np.testing.assert_array_equal(interp.attention_view(pats, 1, 2), pats[1, 2].numpy())
    with pytest.raises(ValueError):
        interp.attention_view(pats, 2, 0)


# ------------------------------------------------------------------------------- probe control task
def test_control_task_labels_follow_the_groups():
    groups = ["a", "b", "a", "c", "d", "b", "e"]
    labels = interp.control_task_labels(groups, 2, seed=0)
    per_group = {g: {int(v) for v, h in zip(labels, groups, strict=True) if h == g} for g in set(groups)}
    assert all(len(v) == 1 for v in per_group.values())  # one label per group
    assert sum(v == {1} for v in per_group.values()) == 2
    assert np.array_equal(labels, interp.control_task_labels(groups, 2, seed=0))  # seeded
    draws = {tuple(interp.control_task_labels(groups, 2, seed=s)) for s in range(20)}
    assert len(draws) > 3  # different labellings for different seeds
    for bad in (0, 5):
        with pytest.raises(ValueError, match="n_positive"):
            interp.control_task_labels(groups, bad)


def test_probe_selectivity_separates_memorising_from_property_features():
    rng = np.random.default_rng(0)
    n_groups, per = 12, 20
    groups = np.repeat([f"g{i}" for i in range(n_groups)], per)
    y = (np.arange(n_groups) < 5).repeat(per).astype(int)
    one_hot = np.eye(n_groups).repeat(per, axis=0)
    # features that identify the group: any labelling of the groups is learnable, selectivity ~ 0
    x_id = one_hot * 3 + rng.normal(scale=0.3, size=one_hot.shape)
    x_id_te = one_hot * 3 + rng.normal(scale=0.3, size=one_hot.shape)
    mem = interp.probe_selectivity(x_id, y, groups, x_id_te, y, groups, n_controls=3)
    assert mem["task"] == 1.0 and min(mem["control"]) > 0.95 and abs(mem["selectivity"]) < 0.05
    # features that carry only the property: the control labels cannot be learned beyond chance
    x_prop = np.c_[y * 2.0 + rng.normal(scale=0.3, size=len(y)), rng.normal(size=(len(y), 3))]
    x_prop_te = np.c_[y * 2.0 + rng.normal(scale=0.3, size=len(y)), rng.normal(size=(len(y), 3))]
    prop = interp.probe_selectivity(x_prop, y, groups, x_prop_te, y, groups, n_controls=3)
    assert prop["task"] > 0.95 and np.mean(prop["control"]) < 0.8 and prop["selectivity"] > 0.2
    with pytest.raises(ValueError, match="training group"):
        interp.probe_selectivity(x_id, y, groups, x_id_te[:1], y[:1], ["new"])
    with pytest.raises(ValueError, match="single task label"):
        interp.probe_selectivity(x_id, np.r_[0, y[1:]], groups, x_id_te, y, groups)

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from helpers import adversarial as adv

FIXTURE = Path(__file__).parent / "reference" / "torchattacks_digits.npz"  # tests/reference/torchattacks_fixture.py


@pytest.fixture(scope="module")
def reference():
    f = np.load(FIXTURE)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10)).eval()
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            p.copy_(torch.from_numpy(f[f"param_{i}"]))
    return model, f


@pytest.mark.parametrize("eps", [0.05, 0.2])
def test_fgsm_equals_torchattacks(reference, eps):
    model, f = reference
    x, y = torch.from_numpy(f["x"]), torch.from_numpy(f["y"])
    np.testing.assert_allclose(adv.fgsm(model, x, y, eps).numpy(), f[f"fgsm_{eps}"], atol=1e-6)


@pytest.mark.parametrize("eps", [0.05, 0.2])
def test_pgd_equals_torchattacks_without_random_start(reference, eps):
    model, f = reference
    x, y = torch.from_numpy(f["x"]), torch.from_numpy(f["y"])
    out = adv.pgd(model, x, y, eps, alpha=eps / 4, steps=10, random_start=False)
    np.testing.assert_allclose(out.numpy(), f[f"pgd_{eps}"], atol=1e-6)
    assert str(f["torchattacks_version"]) == "3.5.1"


def test_fgsm_on_a_linear_model_moves_along_sign_w():
    torch.manual_seed(0)
    lin = nn.Linear(64, 2)
    x = torch.full((1, 64), 0.5)
    y = torch.tensor([0])
    delta = adv.fgsm(lin, x, y, 0.1) - x
    expected = 0.1 * torch.sign(lin.weight[1] - lin.weight[0]).detach()
    torch.testing.assert_close(delta[0], expected)


def test_pgd_stays_in_the_ball_and_the_box():
    data = adv.load_digits_data()
    model = adv.make_mlp(seed=0)
    x, y = data.x_test[:64], data.y_test[:64]
    out = adv.pgd(model, x, y, 0.2, 0.05, 15, generator=torch.Generator().manual_seed(0))
    assert float((out - x).abs().max()) <= 0.2 + 1e-6
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    again = adv.pgd(model, x, y, 0.2, 0.05, 15, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out, again)


def test_attacks_leave_parameter_gradients_and_mode_alone():
    model = adv.make_mlp(seed=0).train()
    data = adv.load_digits_data()
    adv.fgsm(model, data.x_test[:10], data.y_test[:10], 0.1)
    adv.pgd(model, data.x_test[:10], data.y_test[:10], 0.1, 0.02, 3)
    assert model.training
    assert all(p.grad is None for p in model.parameters())


def test_adversarial_training_buys_robustness():
    data = adv.load_digits_data()
    base = adv.make_mlp(seed=0)
    standard = adv.adversarial_training(base, data, 0.0, attack="none", epochs=15)
    robust = adv.adversarial_training(base, data, 0.2, attack="pgd", epochs=15, pgd_steps=5)
    x, y = data.x_test, data.y_test
    assert adv.accuracy(standard, x, y) > 0.93
    assert adv.robust_accuracy(robust, x, y, 0.1) > adv.robust_accuracy(standard, x, y, 0.1) + 0.2
    # PGD is at least as strong as FGSM
    assert adv.robust_accuracy(standard, x, y, 0.1, "pgd") <= adv.robust_accuracy(standard, x, y, 0.1, "fgsm") + 0.01
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in robust.parameters())


@pytest.mark.parametrize("call", [
    lambda m, x, y: adv.fgsm(m, x, y, -0.1),
    lambda m, x, y: adv.fgsm(m, x * 2, y, 0.1),
    lambda m, x, y: adv.pgd(m, x, y, 0.1, 0.0, 5),
    lambda m, x, y: adv.pgd(m, x, y[:2], 0.1, 0.01, 5),
    lambda m, x, y: adv.robust_accuracy(m, x, y, 0.1, "cw"),
])
def test_bad_inputs(call):
    data = adv.load_digits_data()
    with pytest.raises(ValueError):
        call(adv.make_mlp(), data.x_test[:4], data.y_test[:4])


def test_attack_view_is_the_demo_compute():
    data = adv.load_digits_data(seed=0)
    model = adv.make_mlp(seed=0).eval()
    clean = adv.attack_view(model, data, 0.0, 3)
    assert clean["x"].shape == (8, 8) and clean["y"] == int(data.y_test[3])
    for name in ("fgsm", "pgd"):
        image, p = clean[name]
        np.testing.assert_allclose(image, clean["x"], atol=1e-6)  # eps 0: no perturbation
        assert p.shape == (10,) and abs(p.sum() - 1) < 1e-5
    attacked = adv.attack_view(model, data, 0.3, 3)
    for name in ("fgsm", "pgd"):
        assert np.max(np.abs(attacked[name][0] - clean["x"])) <= 0.3 + 1e-6
    assert attacked["pgd"][1][clean["y"]] <= clean["pgd"][1][clean["y"]] + 1e-6  # PGD lowers the true class


def test_text_attack_report_counts_every_prompt_and_judges_topic():
    from helpers import tinylm

    chat = tinylm.load_tinychat()
    held_out = tinylm.eval_prompts("harmful", n_per_family=1, seed=2)[:3]
    words = [w for w in chat.tokenizer.vocab[6:] if w.isalpha()][:40]
    rep = adv.text_attack_report(chat, [e.prompt for e in held_out], [e.family for e in held_out], words,
                                 n_tokens=2, n_rounds=1)
    assert rep.unsafe.shape == rep.on_topic.shape == rep.refused.shape == (3,)
    assert not np.any(rep.on_topic & ~rep.unsafe) and not np.any(rep.unsafe & ~rep.bypassed)
    plain = chat.generate_batch([e.prompt for e in held_out])
    assert [r is None for r in rep.results] == [tinylm.is_unsafe(a) for a in plain]
    assert rep.rate("unsafe") == float(np.mean(rep.unsafe))
    with pytest.raises(ValueError):
        adv.text_attack_report(chat, ["a", "b"], ["x"])


def test_on_topic_judge_tells_compliance_from_a_topic_hijack():
    from helpers import tinylm

    fam = tinylm.families("harmful")[0]
    other = next(f for f in tinylm.families("harmful") if f.task != fam.task)
    own = f"sure! here is how to {fam.task}: step 1: {tinylm.UNSAFE_MARKER}."
    hijack = f"sure! here is how to {other.task}: step 1: {tinylm.UNSAFE_MARKER}."
    assert adv.is_on_topic_unsafe(fam.name, own) and not adv.is_on_topic_unsafe(fam.name, hijack)
    assert not adv.is_on_topic_unsafe(fam.name, f"sure! here is how to {fam.task}: take a deep breath.")

"""The shared digits: one loader and one accuracy for notebooks 05, 06 and 08."""

import pytest
import torch
from torch import nn

from helpers import adversarial, continual, digits, interpretability


def test_load_digits_xy():
    x, y = digits.load_digits_xy()
    assert x.shape == (1797, 64) and x.dtype == torch.float32 and y.shape == (1797,) and y.dtype == torch.long
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0 and set(y.tolist()) == set(range(10))


def test_topic_modules_share_them():
    assert adversarial.DigitsData is interpretability.DigitsData is digits.DigitsData
    assert adversarial.accuracy is interpretability.accuracy is continual.accuracy is digits.accuracy
    a, i = adversarial.load_digits_data(seed=0), interpretability.load_digits_data(seed=0)
    assert len(a.x_train) + len(a.x_test) == len(i.x_train) + len(i.x_test) == 1797


def test_accuracy_restores_the_mode():
    model = nn.Sequential(nn.Linear(2, 2))
    x, y = torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 1])
    with torch.no_grad():
        model[0].weight.copy_(torch.eye(2))
        model[0].bias.zero_()
    for training in (True, False):
        model.train(training)
        assert digits.accuracy(model, x, y) == 1.0 and model.training is training
    assert digits.accuracy(model, x, torch.tensor([1, 1])) == 0.5


# The three initialisations the topic modules had before ``digits.make_mlp`` replaced them, verbatim: the shared
# function must reproduce each one bit for bit (for continual's, at its 64 hidden units: its first-layer bias
# bound was 1/sqrt(hidden) instead of 1/sqrt(64), a difference only when hidden != 64).
def _old_adversarial(hidden, seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))


def _old_continual(hidden, seed):
    g = torch.Generator().manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))
    with torch.no_grad():
        for p in model.parameters():
            bound = 1.0 / (p.shape[-1] if p.ndim > 1 else hidden) ** 0.5
            p.uniform_(-bound, bound, generator=g)
    return model


def _old_interpretability(hidden, seed):
    g = torch.Generator().manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))
    with torch.no_grad():
        for layer in (model[0], model[2]):
            bound = 1.0 / layer.in_features ** 0.5
            layer.weight.copy_(torch.rand(layer.weight.shape, generator=g) * 2 * bound - bound)
            layer.bias.copy_(torch.rand(layer.bias.shape, generator=g) * 2 * bound - bound)
    return model


def _identical(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_make_mlp_reproduces_every_old_init_bit_for_bit(seed):
    for hidden in (4, 8, 32, 64, 128):
        assert _identical(digits.make_mlp(hidden, seed), _old_adversarial(hidden, seed)), hidden
        assert _identical(digits.make_mlp(hidden, seed, draw="rand"), _old_interpretability(hidden, seed)), hidden
    assert _identical(digits.make_mlp(64, seed), _old_continual(64, seed))
    assert _identical(adversarial.make_mlp(seed=seed), _old_adversarial(128, seed))
    assert _identical(continual.make_mlp(seed=seed), _old_continual(64, seed))
    assert _identical(interpretability.make_mlp(seed=seed), _old_interpretability(32, seed))


def test_make_mlp_leaves_the_global_generator_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    digits.make_mlp(16, seed=5)
    assert torch.equal(torch.rand(3), expected)


def test_make_mlp_rejects_bad_arguments():
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="hidden"):
            digits.make_mlp(bad, 0)
    with pytest.raises(ValueError, match="draw"):
        digits.make_mlp(8, 0, draw="normal")


def test_digits_equal_scikit_learns_loader():
    """load_digits_xy reads scikit-learn's file directly: the same numbers as sklearn.datasets.load_digits."""
    from sklearn.datasets import load_digits

    x, y = digits.load_digits_xy()
    d = load_digits()
    assert torch.equal(x, torch.tensor(d.data / 16.0, dtype=torch.float32))
    assert torch.equal(y, torch.tensor(d.target, dtype=torch.long)) and x.shape == (1797, 64)

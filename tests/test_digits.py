"""The shared digits: one loader and one accuracy for notebooks 05, 06 and 08."""

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

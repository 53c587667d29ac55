"""helpers.optim.Adam is bit for bit torch.optim.Adam / AdamW on the CPU, skips parameters without a gradient as
torch does, and rejects bad settings."""

import pytest
import torch
from torch import nn

from helpers.optim import Adam


def _net(seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))


def _train(net: nn.Module, opt, steps: int, seed: int, freeze_every: int = 0) -> None:
    gen = torch.Generator().manual_seed(seed)
    for s in range(steps):
        x, y = torch.randn(32, 6, generator=gen), torch.randint(0, 3, (32,), generator=gen)
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        if freeze_every and s % freeze_every == 0:
            net[2].bias.grad = None  # a parameter without a gradient this step
        opt.step()


@pytest.mark.parametrize(("weight_decay", "decoupled"), [(0.0, False), (0.01, False), (0.05, True)])
@pytest.mark.parametrize("lr", [1e-3, 3e-2])
def test_bit_for_bit_torch_adam(lr, weight_decay, decoupled):
    ours_net, torch_net = _net(0), _net(0)
    ours = Adam(ours_net.parameters(), lr=lr, weight_decay=weight_decay, decoupled=decoupled)
    cls = torch.optim.AdamW if decoupled else torch.optim.Adam
    ref = cls(torch_net.parameters(), lr=lr, weight_decay=weight_decay)
    _train(ours_net, ours, 60, seed=1, freeze_every=7)
    _train(torch_net, ref, 60, seed=1, freeze_every=7)
    for a, b in zip(ours_net.parameters(), torch_net.parameters(), strict=True):
        assert torch.equal(a, b)
    assert ours.steps[-1] == ref.state[list(torch_net.parameters())[-1]]["step"].item() < 60


def test_a_step_moves_against_the_gradient_by_about_lr():
    w = torch.tensor([1.0, -2.0], requires_grad=True)
    opt = Adam([w], lr=0.1)
    (w * torch.tensor([3.0, -0.5])).sum().backward()
    opt.step()
    # first step: m_hat = g, v_hat = g^2, so the step is lr * sign(g) (up to eps)
    torch.testing.assert_close(w.detach(), torch.tensor([0.9, -1.9]))


@pytest.mark.parametrize("kwargs", [{"lr": 0.0}, {"betas": (1.0, 0.9)}, {"eps": -1.0}, {"weight_decay": -0.1}])
def test_bad_settings(kwargs):
    with pytest.raises(ValueError):
        Adam([torch.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError):
        Adam([torch.zeros(2)])

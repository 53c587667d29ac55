"""The 8x8 digits shared by notebooks 05, 06 and 08: scikit-learn's bundled copy (offline), as tensors, and the
one small classifier trained on them.

Each topic module splits them its own way (``adversarial.load_digits_data``, ``interpretability.
load_digits_data``, ``continual.load_digit_tasks``) and sets its own MLP width (``adversarial.make_mlp``: 128,
``continual.make_mlp``: 64, ``interpretability.make_mlp``: 32); this module holds what they have in common.
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

__all__ = ["DigitsData", "load_digits_xy", "accuracy", "make_mlp", "INIT_DRAWS"]

INIT_DRAWS = ("uniform", "rand")


@dataclass(frozen=True)
class DigitsData:
    """A train/test split of the digits: pixels in [0, 1] (shape [N, 64]), integer labels 0-9."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def load_digits_xy() -> tuple[torch.Tensor, torch.Tensor]:
    """All 1,797 digits: pixels scaled from 0..16 to [0, 1] (float32, [1797, 64]) and labels (int64).

    The UCI optical-recognition digits (Alpaydin & Kaynak 1998) as scikit-learn ships them,
    ``sklearn/datasets/data/digits.csv.gz`` (64 pixel counts and the label per row), read with numpy: the same
    numbers as ``sklearn.datasets.load_digits()`` (tested), without importing scikit-learn (about 3 s of CPU in a
    fresh kernel)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError("the digits ship with scikit-learn, which is not installed (make setup installs it)")
    raw = np.loadtxt(Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz", delimiter=",")
    return (torch.tensor(raw[:, :-1] / 16.0, dtype=torch.float32),
            torch.tensor(raw[:, -1].astype(np.int64), dtype=torch.long))


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of ``x`` classified as ``y`` (evaluated in eval mode without gradients; the model's mode is
    restored afterwards)."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        acc = float((model(x).argmax(dim=1) == y).float().mean())
    model.train(was_training)
    return acc


def make_mlp(hidden: int, seed: int, draw: str = "uniform") -> nn.Sequential:
    """A one-hidden-layer ReLU network 64 -> ``hidden`` -> 10 for the digits, initialised from ``seed`` with a
    private ``torch.Generator`` (the global generator is left alone).

    PyTorch's default ``nn.Linear`` init (He et al. 2015 with a = sqrt(5)): every weight and bias of a layer
    with ``fan_in`` inputs uniform on [-1/sqrt(fan_in), 1/sqrt(fan_in)], drawn in the order weight 1, bias 1,
    weight 2, bias 2. ``draw`` says how a uniform number u is turned into that interval; both give the same
    distribution, rounded differently in the last bit:

    * ``"uniform"``: ``Tensor.uniform_(-b, b)``, bit for bit what ``nn.Linear`` does after
      ``torch.manual_seed(seed)`` (notebooks 06 and 08);
    * ``"rand"``: ``torch.rand(...) * 2 b - b`` (notebook 05; its stored outputs were made with this rounding).
    """
    if isinstance(hidden, bool) or int(hidden) != hidden or hidden < 1:
        raise ValueError(f"hidden must be a whole number >= 1, got {hidden}")
    if draw not in INIT_DRAWS:
        raise ValueError(f"draw must be one of {INIT_DRAWS}, got {draw!r}")
    g = torch.Generator().manual_seed(int(seed))
    skip = nn.utils.skip_init  # build the layers without nn.Linear's own (global-generator) init
    model = nn.Sequential(skip(nn.Linear, 64, int(hidden)), nn.ReLU(), skip(nn.Linear, int(hidden), 10))
    with torch.no_grad():
        for layer in (model[0], model[2]):
            bound = 1.0 / math.sqrt(layer.in_features)
            for p in (layer.weight, layer.bias):
                if draw == "uniform":
                    p.uniform_(-bound, bound, generator=g)
                else:
                    p.copy_(torch.rand(p.shape, generator=g) * 2 * bound - bound)
    return model

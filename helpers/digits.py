"""The 8x8 digits shared by notebooks 05, 06 and 08: scikit-learn's bundled copy (offline), as tensors.

Each topic module splits them its own way (``adversarial.load_digits_data``, ``interpretability.
load_digits_data``, ``continual.load_digit_tasks``); this module holds what they have in common.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["DigitsData", "load_digits_xy", "accuracy"]


@dataclass(frozen=True)
class DigitsData:
    """A train/test split of the digits: pixels in [0, 1] (shape [N, 64]), integer labels 0-9."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def load_digits_xy() -> tuple[torch.Tensor, torch.Tensor]:
    """All 1,797 digits: pixels scaled from 0..16 to [0, 1] (float32, [1797, 64]) and labels (int64)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return torch.tensor(d.data / 16.0, dtype=torch.float32), torch.tensor(d.target, dtype=torch.long)


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of ``x`` classified as ``y`` (evaluated in eval mode without gradients; the model's mode is
    restored afterwards)."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        acc = float((model(x).argmax(dim=1) == y).float().mean())
    model.train(was_training)
    return acc

"""Interpretability: attributions on a digits classifier, probes and directions in TinyChat (notebook 05).

* Integrated Gradients (Sundararajan, Taly & Yan 2017, arXiv 1703.01365, eq. 1 and its Riemann/Gauss-Legendre
  approximations): IG_i(x) = (x_i - x'_i) * int_0^1 dF(x' + a (x - x'))/dx_i da. ``integrated_gradients`` gives
  the same numbers as ``captum.attr.IntegratedGradients(f).attribute(...)`` (captum 0.9.0; the tests hold
  fixtures produced with it), including captum's quadrature rules and its convergence delta.
* Completeness (their Proposition 1): sum_i IG_i(x) = F(x) - F(x'); ``completeness_gap`` measures how far an
  approximation is from it.
* Saliency (Simonyan et al. 2014, arXiv 1312.6034) and gradient x input (Shrikumar et al. 2017,
  arXiv 1704.02685), as captum's ``Saliency`` and ``InputXGradient``.
* The model-randomisation sanity check (Adebayo et al. 2018, arXiv 1810.03292): ``randomize_layers``.
* Linear probes (Alain & Bengio 2016, arXiv 1610.01644): ``linear_probe``.
* Difference-of-means directions and directional ablation / addition in TinyChat's residual stream (Arditi et
  al. 2024, arXiv 2406.11717, eqs. 1, 4 and 5): ``difference_of_means_direction``, ``ablate_direction``,
  ``steer``; affine ablation to a reference activation (Marshall, Scherlis & Belrose 2024, arXiv 2411.09003).
* The logit lens of a direction (nostalgebraist 2020): ``readout_direction``, ``direction_logits``.
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from helpers import digits
from helpers.digits import DigitsData, accuracy, load_digits_xy
from helpers.optim import Adam
from helpers.plotting import COLORS, label_axes
from helpers.widgets import InteractiveFigure, int_slider

__all__ = [
    "DigitsData", "load_digits_data", "make_mlp", "train_classifier", "accuracy",
    "METHODS", "quadrature", "integrated_gradients", "completeness_gap", "saliency", "input_x_gradient",
    "weight_magnitude_importance", "rescale_hidden_units", "randomize_layers", "rank_correlation",
    "ProbeResult", "linear_probe", "control_task_labels", "probe_selectivity", "difference_of_means_direction", "ablate_direction", "steer",
    "attention_patterns", "attention_view", "response_rates", "IGDemoData", "ig_demo_data", "ig_view", "setup_integrated_gradients",
    "draw_integrated_gradients", "demo_integrated_gradients", "setup_attention", "draw_attention", "demo_attention",
]

METHODS = ("riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid", "gausslegendre")


# ----------------------------------------------------------------------------------------------- digits
def load_digits_data(seed: int = 0, test_fraction: float = 0.25) -> DigitsData:
    """Load the digits (offline: they ship with scikit-learn) and split them with ``seed``."""
    if not 0.05 <= test_fraction <= 0.95:
        raise ValueError(f"test_fraction must be in [0.05, 0.95], got {test_fraction}")
    x, y = load_digits_xy()
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    n_test = int(round(test_fraction * len(x)))
    test, train = order[:n_test], order[n_test:]
    return DigitsData(x[train], y[train], x[test], y[test])


def make_mlp(hidden: int = 32, seed: int = 0) -> nn.Sequential:
    """A one-hidden-layer ReLU network 64 -> ``hidden`` -> 10 (``helpers.digits.make_mlp`` with the "rand"
    rounding notebook 05's stored outputs were made with; 32 hidden units)."""
    return digits.make_mlp(hidden, seed, draw="rand")


def train_classifier(model: nn.Module, data: DigitsData, epochs: int = 10, lr: float = 2e-2,
                     batch_size: int = 128, seed: int = 0) -> nn.Module:
    """Minibatch Adam on cross-entropy; returns a trained copy in eval mode (the input model is unchanged)."""
    if epochs < 0 or batch_size < 1 or lr <= 0:
        raise ValueError(f"need epochs >= 0, batch_size >= 1, lr > 0; got {epochs}, {batch_size}, {lr}")
    model = copy.deepcopy(model).train()
    opt = Adam(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    n = len(data.x_train)
    for _ in range(epochs):
        order = torch.randperm(n, generator=g)
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            opt.zero_grad()
            F.cross_entropy(model(data.x_train[idx]), data.y_train[idx]).backward()
            opt.step()
    return model.eval()


# ----------------------------------------------------------------------------------------------- attributions
def quadrature(n_steps: int, method: str = "gausslegendre") -> tuple[list[float], list[float]]:
    """(step sizes, alphas) of captum's rules for int_0^1 g(a) da ~ sum_k w_k g(a_k).

    Riemann rules use n equal weights 1/n at the left/right ends or middles of n intervals; captum's
    ``riemann_trapezoid`` puts n points on [0, 1] (0 and 1 included) with weights 1/n, halved at both ends (so
    they sum to 1 - 1/n: not the textbook trapezoid rule, kept here to give captum's numbers). Gauss-Legendre
    uses numpy's nodes and weights mapped from [-1, 1] to [0, 1].
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not isinstance(n_steps, (int, np.integer)) or n_steps < (1 if method == "gausslegendre" else 2):
        raise ValueError(f"n_steps must be an integer >= {1 if method == 'gausslegendre' else 2} for {method}, "
                         f"got {n_steps!r}")
    n = int(n_steps)
    if method == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(n)
        return (0.5 * weights).tolist(), (0.5 * (1 + nodes)).tolist()
    steps = [1 / n] * n
    if method == "riemann_trapezoid":
        steps[0] /= 2
        steps[-1] /= 2
        alphas = torch.linspace(0, 1, n)
    elif method == "riemann_left":
        alphas = torch.linspace(0, 1 - 1 / n, n)
    elif method == "riemann_middle":
        alphas = torch.linspace(1 / (2 * n), 1 - 1 / (2 * n), n)
    else:
        alphas = torch.linspace(1 / n, 1, n)
    return steps, alphas.tolist()


def _check_inputs(inputs: Any) -> torch.Tensor:
    if not isinstance(inputs, torch.Tensor) or inputs.dim() < 1 or inputs.shape[0] < 1:
        raise ValueError("inputs must be a torch.Tensor with a leading batch dimension")
    if not inputs.is_floating_point():
        raise ValueError(f"inputs must be floating point, got {inputs.dtype}")
    return inputs


def _baselines(inputs: torch.Tensor, baselines: torch.Tensor | float | None) -> torch.Tensor:
    if baselines is None:
        return torch.zeros_like(inputs)
    if isinstance(baselines, (int, float)):
        return torch.full_like(inputs, float(baselines))
    if not isinstance(baselines, torch.Tensor):
        raise ValueError("baselines must be None, a number or a tensor")
    try:
        return torch.broadcast_to(baselines.to(inputs.dtype), inputs.shape)
    except RuntimeError as exc:
        raise ValueError(f"baselines of shape {tuple(baselines.shape)} do not broadcast to inputs "
                         f"{tuple(inputs.shape)}") from exc


def _select(output: torch.Tensor, target: int | Sequence[int] | torch.Tensor | None, batch: int) -> torch.Tensor:
    """One scalar per example: output[i] (1 value per row), output[i, target] or output[i, target[i]]."""
    if output.shape[0] != batch:
        raise ValueError(f"forward_fn returned {output.shape[0]} rows for {batch} inputs")
    if target is None:
        if output[0].numel() != 1:
            raise ValueError(f"target is required: forward_fn returns {tuple(output.shape[1:])} values per input")
        return output.reshape(batch)
    if output.dim() != 2:
        raise ValueError(f"target needs forward_fn to return (batch, classes), got shape {tuple(output.shape)}")
    idx = torch.as_tensor(target, dtype=torch.long)
    if idx.dim() == 0:
        idx = idx.expand(batch)
    if idx.shape != (batch,):
        raise ValueError(f"target must be an int or one int per input ({batch}), got shape {tuple(idx.shape)}")
    if bool(((idx < 0) | (idx >= output.shape[1])).any()):
        raise ValueError(f"target out of range for {output.shape[1]} outputs")
    return output.gather(1, idx.view(-1, 1)).squeeze(1)


def _repeat_target(target: Any, n: int) -> Any:
    if target is None or isinstance(target, (int, np.integer)) or (
            isinstance(target, torch.Tensor) and target.dim() == 0):
        return target
    return torch.as_tensor(target, dtype=torch.long).repeat(n)


def _gradients(forward_fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, target: Any) -> torch.Tensor:
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        out = _select(forward_fn(x), target, x.shape[0])
        (grad,) = torch.autograd.grad(out.sum(), x)
    return grad


def completeness_gap(forward_fn: Callable[[torch.Tensor], torch.Tensor], inputs: torch.Tensor,
                     attributions: torch.Tensor, baselines: torch.Tensor | float | None = None,
                     target: int | Sequence[int] | torch.Tensor | None = None) -> torch.Tensor:
    """sum_i attr_i - (F(x) - F(baseline)) per example (captum's convergence delta; 0 for exact IG)."""
    inputs = _check_inputs(inputs)
    if attributions.shape != inputs.shape:
        raise ValueError(f"attributions {tuple(attributions.shape)} and inputs {tuple(inputs.shape)} differ")
    base = _baselines(inputs, baselines)
    with torch.no_grad():
        fx = _select(forward_fn(inputs), target, inputs.shape[0])
        fb = _select(forward_fn(base), target, inputs.shape[0])
    return attributions.reshape(inputs.shape[0], -1).sum(1) - (fx - fb)


def integrated_gradients(forward_fn: Callable[[torch.Tensor], torch.Tensor], inputs: torch.Tensor,
                         baselines: torch.Tensor | float | None = None,
                         target: int | Sequence[int] | torch.Tensor | None = None, n_steps: int = 50,
                         method: str = "gausslegendre", return_convergence_delta: bool = False
                         ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Integrated Gradients (Sundararajan et al. 2017, arXiv 1703.01365, eq. 1, approximated as in sec. 3):

        IG_i(x) = (x_i - x'_i) * sum_k w_k dF(x' + a_k (x - x'))/dx_i

    with the (w_k, a_k) of ``quadrature(n_steps, method)``. Same arguments and results as
    ``captum.attr.IntegratedGradients(forward_fn).attribute(inputs, baselines, target, n_steps=n_steps,
    method=method, return_convergence_delta=...)`` for one input tensor: ``baselines`` None (zeros), a number or
    a broadcastable tensor; ``target`` None (forward_fn gives one value per input), an int, or one int per input.
    With ``return_convergence_delta`` also returns ``completeness_gap`` (one value per input).
    """
    inputs = _check_inputs(inputs)
    if not callable(forward_fn):
        raise ValueError("forward_fn must be callable")
    steps, alphas = quadrature(n_steps, method)
    base = _baselines(inputs, baselines)
    scaled = torch.cat([base + a * (inputs - base) for a in alphas], dim=0)
    grads = _gradients(forward_fn, scaled, _repeat_target(target, len(alphas)))
    weighted = grads.contiguous().view(len(alphas), -1) * torch.tensor(steps).float().view(len(alphas), 1)
    total = weighted.view(len(alphas), inputs.shape[0], *inputs.shape[1:]).sum(0)
    attributions = total * (inputs - base)
    if return_convergence_delta:
        return attributions, completeness_gap(forward_fn, inputs, attributions, base, target)
    return attributions


def saliency(forward_fn: Callable[[torch.Tensor], torch.Tensor], inputs: torch.Tensor,
             target: int | Sequence[int] | torch.Tensor | None = None, abs: bool = True) -> torch.Tensor:
    """|dF/dx| (Simonyan et al. 2014, arXiv 1312.6034), as captum's ``Saliency(f).attribute(x, target, abs)``."""
    grad = _gradients(forward_fn, _check_inputs(inputs), target)
    return grad.abs() if abs else grad


def input_x_gradient(forward_fn: Callable[[torch.Tensor], torch.Tensor], inputs: torch.Tensor,
                     target: int | Sequence[int] | torch.Tensor | None = None) -> torch.Tensor:
    """x * dF/dx (Shrikumar et al. 2017, arXiv 1704.02685), as captum's ``InputXGradient``."""
    inputs = _check_inputs(inputs)
    return inputs * _gradients(forward_fn, inputs, target)


# ----------------------------------------------------------------------------------------------- weights, sanity
def _mlp_layers(model: nn.Module) -> tuple[nn.Linear, nn.Linear]:
    if not (isinstance(model, nn.Sequential) and len(model) == 3 and isinstance(model[0], nn.Linear)
            and isinstance(model[1], nn.ReLU) and isinstance(model[2], nn.Linear)):
        raise ValueError("model must be nn.Sequential(Linear, ReLU, Linear) as built by make_mlp")
    return model[0], model[2]


def weight_magnitude_importance(model: nn.Module) -> np.ndarray:
    """The naive 'importance' of input i: sum_h |W1[h, i]| (first-layer weight magnitude). Not an explanation."""
    first, _ = _mlp_layers(model)
    return first.weight.detach().abs().sum(0).numpy().astype(float)


def rescale_hidden_units(model: nn.Module, scales: torch.Tensor | np.ndarray) -> nn.Module:
    """The same function with different weights: hidden unit h gets W1[h], b1[h] times c_h > 0 and W2[:, h]
    divided by c_h. ReLU(c z) = c ReLU(z) for c > 0, so every output is unchanged."""
    first, second = _mlp_layers(model)
    c = torch.as_tensor(np.asarray(scales, dtype=np.float32))
    if c.shape != (first.out_features,) or not bool((c > 0).all()):
        raise ValueError(f"scales must be {first.out_features} positive numbers, got shape {tuple(c.shape)}")
    out = copy.deepcopy(model)
    with torch.no_grad():
        out[0].weight.mul_(c.view(-1, 1))
        out[0].bias.mul_(c)
        out[2].weight.div_(c.view(1, -1))
    return out


def randomize_layers(model: nn.Module, layers: Sequence[int], seed: int = 0) -> nn.Module:
    """A copy with the ``nn.Linear`` modules at indices ``layers`` of the Sequential re-initialised from ``seed``
    (Adebayo et al. 2018, arXiv 1810.03292: cascading randomisation goes from the top layer down)."""
    if not isinstance(model, nn.Sequential):
        raise ValueError("model must be an nn.Sequential")
    out = copy.deepcopy(model)
    g = torch.Generator().manual_seed(seed)
    for i in layers:
        if not (0 <= i < len(out)) or not isinstance(out[i], nn.Linear):
            raise ValueError(f"layer {i} is not an nn.Linear of the model")
        bound = 1.0 / math.sqrt(out[i].in_features)
        with torch.no_grad():
            out[i].weight.copy_(torch.rand(out[i].weight.shape, generator=g) * 2 * bound - bound)
            out[i].bias.copy_(torch.rand(out[i].bias.shape, generator=g) * 2 * bound - bound)
    return out


def rank_correlation(a: Any, b: Any) -> float:
    """Spearman rank correlation of two attribution maps (flattened; ties get average ranks)."""
    from scipy.stats import rankdata

    x = np.asarray(a.detach() if isinstance(a, torch.Tensor) else a, dtype=float).ravel()
    y = np.asarray(b.detach() if isinstance(b, torch.Tensor) else b, dtype=float).ravel()
    if x.shape != y.shape or x.size < 2:
        raise ValueError(f"a and b need the same number (>= 2) of values, got {x.size} and {y.size}")
    rx, ry = rankdata(x), rankdata(y)
    if rx.std() == 0 or ry.std() == 0:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


# ----------------------------------------------------------------------------------------------- probes, directions
@dataclass(frozen=True)
class ProbeResult:
    """A fitted logistic-regression probe with its accuracy on the data it saw and on held-out data."""

    probe: Any
    train_accuracy: float
    test_accuracy: float


def _as_2d(acts: Any, name: str) -> np.ndarray:
    x = np.asarray(acts.detach() if isinstance(acts, torch.Tensor) else acts, dtype=float)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"{name} must be a 2-D array (examples, features), got shape {x.shape}")
    return x


def linear_probe(activations: Any, labels: Any, test_activations: Any = None, test_labels: Any = None,
                 test_fraction: float = 0.3, C: float = 1.0, seed: int = 0) -> ProbeResult:
    """Fit a logistic-regression probe (Alain & Bengio 2016, arXiv 1610.01644) from activations to labels.

    Held-out accuracy is measured on ``test_activations``/``test_labels`` when given (e.g. held-out prompt
    families), else on a stratified random ``test_fraction`` of the data drawn with ``seed``. Features are
    standardised with the training statistics.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = _as_2d(activations, "activations")
    y = np.asarray(labels.detach() if isinstance(labels, torch.Tensor) else labels).ravel()
    if len(y) != len(x) or len(np.unique(y)) < 2:
        raise ValueError(f"labels must give one label per activation ({len(x)}) with at least two classes")
    if C <= 0:
        raise ValueError(f"C must be positive, got {C}")
    if (test_activations is None) != (test_labels is None):
        raise ValueError("give both test_activations and test_labels, or neither")
    if test_activations is None:
        if not 0 < test_fraction < 1:
            raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
        x, x_te, y, y_te = train_test_split(x, y, test_size=test_fraction, random_state=seed, stratify=y)
    else:
        x_te = _as_2d(test_activations, "test_activations")
        y_te = np.asarray(test_labels.detach() if isinstance(test_labels, torch.Tensor) else test_labels).ravel()
        if x_te.shape[1] != x.shape[1] or len(y_te) != len(x_te):
            raise ValueError("test_activations/test_labels do not match the training activations")
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))
    probe.fit(x, y)
    return ProbeResult(probe, float(probe.score(x, y)), float(probe.score(x_te, y_te)))


def control_task_labels(groups: Any, n_positive: int, seed: int = 0) -> np.ndarray:
    """A control task in the sense of Hewitt & Liang (2019, arXiv 1909.03368, section 2): every *group* (their
    word type; here a prompt family) gets a random binary label, ``n_positive`` groups labelled 1, and each
    example inherits its group's label. A probe that scores well on it memorises group identity; it cannot have
    learned the property, since the labels carry none."""
    g = np.asarray(groups).ravel()
    names = sorted(set(g.tolist()))
    if not 0 < n_positive < len(names):
        raise ValueError(f"n_positive must be between 1 and {len(names) - 1} (there are {len(names)} groups), "
                         f"got {n_positive}")
    positive = set(np.random.default_rng(seed).choice(len(names), size=n_positive, replace=False).tolist())
    label = {name: int(i in positive) for i, name in enumerate(names)}
    return np.array([label[x] for x in g.tolist()])


def probe_selectivity(activations: Any, labels: Any, groups: Any, test_activations: Any, test_labels: Any,
                      test_groups: Any, n_controls: int = 5, C: float = 1.0, seed: int = 0) -> dict[str, Any]:
    """Selectivity of a linear probe (Hewitt & Liang 2019, arXiv 1909.03368, section 2): its held-out accuracy on
    the task minus its accuracy on control tasks (``control_task_labels``) with as many positive groups as the
    task has, averaged over ``n_controls`` random labellings. The test examples must come from the training
    groups (new examples of the same families): a control label is only defined for a group it was drawn for.

    Returns ``{"task": accuracy, "control": [accuracy per labelling], "selectivity": task - mean(control)}``.
    Deviations: Hewitt & Liang draw each type's control label from the task's label distribution; we fix the
    number of positive groups so every control has the task's balance. They vary the probe's capacity (rank,
    dropout, C); here it is fixed by ``C``.
    """
    g_tr, g_te = np.asarray(groups).ravel(), np.asarray(test_groups).ravel()
    y = np.asarray(labels).ravel()
    if len(g_tr) != len(y) or len(g_te) != len(np.asarray(test_labels).ravel()):
        raise ValueError("groups and test_groups must give one group per example")
    if not set(g_te.tolist()) <= set(g_tr.tolist()):
        raise ValueError("every test group must be a training group (control labels exist only for those)")
    if n_controls < 1:
        raise ValueError(f"n_controls must be >= 1, got {n_controls}")
    per_group = {name: set(y[g_tr == name].tolist()) for name in set(g_tr.tolist())}
    if any(len(v) != 1 for v in per_group.values()):
        raise ValueError("each group must have a single task label (the control task copies that structure)")
    n_positive = sum(v == {1} for v in per_group.values())  # {True} == {1} as well
    task = linear_probe(activations, y, test_activations, test_labels, C=C).test_accuracy
    names = sorted(per_group)
    control = []
    for k in range(n_controls):
        lab = dict(zip(names, control_task_labels(names, n_positive, seed=seed + k).tolist(), strict=True))
        y_c, y_c_te = np.array([lab[x] for x in g_tr.tolist()]), np.array([lab[x] for x in g_te.tolist()])
        control.append(linear_probe(activations, y_c, test_activations, y_c_te, C=C).test_accuracy)
    return {"task": task, "control": control, "selectivity": task - float(np.mean(control))}


def difference_of_means_direction(acts_a: torch.Tensor, acts_b: torch.Tensor, normalize: bool = True
                                  ) -> torch.Tensor:
    """mean(acts_a) - mean(acts_b) over the first axis (Arditi et al. 2024, arXiv 2406.11717, eq. 1),
    unit length when ``normalize``."""
    for name, a in (("acts_a", acts_a), ("acts_b", acts_b)):
        if not isinstance(a, torch.Tensor) or a.dim() != 2 or a.shape[0] < 1:
            raise ValueError(f"{name} must be a (examples, d_model) tensor, got {getattr(a, 'shape', type(a))}")
    if acts_a.shape[1] != acts_b.shape[1]:
        raise ValueError(f"acts_a and acts_b have different widths: {acts_a.shape[1]} and {acts_b.shape[1]}")
    v = acts_a.float().mean(0) - acts_b.float().mean(0)
    if normalize:
        norm = v.norm()
        if float(norm) == 0.0:
            raise ValueError("the two means are equal: no direction")
        v = v / norm
    return v


def ablate_direction(x: torch.Tensor, direction: torch.Tensor, reference: torch.Tensor | None = None
                     ) -> torch.Tensor:
    """Remove ``x``'s component along ``direction`` (last axis), r = direction / |direction|.

    ``reference=None``: directional ablation x - (x . r) r, a projection onto the hyperplane through the origin
    (Arditi et al. 2024, arXiv 2406.11717, eq. 4). With a ``reference`` activation (for example the mean over
    prompts the model answers): affine ablation x - ((x - reference) . r) r, which sets the component along r to
    the reference's instead of to zero (affine concept editing with no added term, Marshall, Scherlis & Belrose
    2024, arXiv 2411.09003).
    """
    if not isinstance(direction, torch.Tensor) or direction.dim() != 1 or x.shape[-1] != direction.shape[0]:
        raise ValueError(f"direction must be a vector of length {x.shape[-1]}, got shape "
                         f"{tuple(getattr(direction, 'shape', ()))}")
    norm = direction.norm()
    if float(norm) == 0.0:
        raise ValueError("direction must not be the zero vector")
    r = direction / norm
    if reference is None:
        return x - (x @ r).unsqueeze(-1) * r
    if not isinstance(reference, torch.Tensor) or reference.shape != direction.shape:
        raise ValueError(f"reference must be a vector of length {direction.shape[0]}")
    return x - ((x - reference) @ r).unsqueeze(-1) * r


def _add(x: torch.Tensor, vector: torch.Tensor) -> torch.Tensor:
    return x + vector


@contextmanager
def steer(chat: Any, direction: torch.Tensor, mode: str, layers: int | Sequence[int] | None = None,
          coefficient: float = 1.0, reference: torch.Tensor | None = None) -> Iterator[None]:
    """Within the block, edit TinyChat's residual stream along ``direction`` on every forward pass.

    Residual points are numbered as ``TinyChat.hidden_states``: 0 = embeddings, i = output of block i - 1.

    ``mode="ablate"``: ``ablate_direction`` at every position of every residual point in ``layers`` (default:
    all of them, as Arditi et al. 2024 ablate at every layer and position). With ``reference`` (shape
    ``(d_model,)`` for one layer, ``(len(layers), d_model)`` for several) the ablation is affine (Marshall et
    al. 2024): the component along the direction is set to the reference's at that point.
    ``mode="add"``: activation addition x + coefficient * direction at every position of ``layers`` (default:
    the last point; Arditi et al. eq. 5 add the un-normalised difference of means at one layer).
    """
    from helpers import tinylm

    model = chat.model if hasattr(chat, "model") else chat
    n_points = model.cfg.n_layers + 1
    if mode not in ("ablate", "add"):
        raise ValueError(f"mode must be 'ablate' or 'add', got {mode!r}")
    if layers is None:
        layers = list(range(n_points)) if mode == "ablate" else [n_points - 1]
    elif isinstance(layers, (int, np.integer)):
        layers = [int(layers)]
    layers = [int(layer) for layer in layers]
    if not layers or any(not 0 <= layer < n_points for layer in layers):
        raise ValueError(f"layers must be in 0..{n_points - 1}, got {layers}")
    if not isinstance(direction, torch.Tensor) or direction.shape != (model.cfg.d_model,):
        raise ValueError(f"direction must be a tensor of shape ({model.cfg.d_model},)")
    if not math.isfinite(coefficient):
        raise ValueError(f"coefficient must be finite, got {coefficient}")
    v = direction.detach().float()
    refs: list[torch.Tensor | None] = [None] * len(layers)
    if reference is not None:
        if mode != "ablate":
            raise ValueError("reference is only used by mode='ablate'")
        ref = reference.detach().float()
        if ref.shape == (model.cfg.d_model,) and len(layers) == 1:
            ref = ref.unsqueeze(0)
        if ref.shape != (len(layers), model.cfg.d_model):
            raise ValueError(f"reference must have shape ({model.cfg.d_model},) for one layer or "
                             f"({len(layers)}, {model.cfg.d_model}), got {tuple(reference.shape)}")
        refs = list(ref)
    with ExitStack() as stack:
        for layer, ref in zip(layers, refs, strict=True):
            if mode == "ablate":
                fn = functools.partial(ablate_direction, direction=v, reference=ref)
            else:
                fn = functools.partial(_add, vector=coefficient * v)
            stack.enter_context(tinylm.edit_residual(model, layer, fn))
        yield


def _final_read(chat: Any) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """The unembedding W_U, the final norm's gain g, and whether that norm centres (LayerNorm: TinyChat) or not
    (RMSNorm with the tied embedding as head: SmolLM2)."""
    model = chat.model
    if hasattr(model, "ln_f"):
        return model.head.weight.detach().float(), model.ln_f.weight.detach().float(), True
    return model.embed.weight.detach().float(), model.norm.weight.detach().float(), False


def _token_id(chat: Any, word: str) -> int:
    tok = chat.tokenizer
    if hasattr(tok, "index"):
        if word not in tok.index:
            raise ValueError(f"{word!r} is not in TinyChat's vocabulary")
        return tok.index[word]
    ids = tok.encode(word)
    if len(ids) != 1:
        raise ValueError(f"{word!r} is {len(ids)} tokens, not one")
    return ids[0]


def readout_direction(chat: Any, token_a: str, token_b: str) -> torch.Tensor:
    """The residual-stream direction u that the final norm and unembedding read as logit(a) - logit(b).

    With LN(x) = g * (x - mean(x)) / sigma(x) + b and logits W_U LN(x), the difference is
    <x, u> / sigma(x) + const with u = centre(g * (W_U[a] - W_U[b])) (the direct path of the logit lens,
    nostalgebraist 2020; Elhage et al. 2021). A direction with a high cosine to u acts on the output directly.
    For SmolLM2 (RMSNorm, x / rms(x) * g, no centring; the embedding is the head) u = g * (E[a] - E[b]) and the
    factor is 1 / rms(x); ``token_a`` and ``token_b`` must then be single tokens (e.g. "I", "Sure").
    """
    w, g, centres = _final_read(chat)
    u = g * (w[_token_id(chat, token_a)] - w[_token_id(chat, token_b)])
    return u - u.mean() if centres else u


def direction_logits(chat: Any, direction: torch.Tensor) -> torch.Tensor:
    """Logit-lens reading of a residual direction: W_U (g * centre(v)), one number per vocabulary word, the
    change in logits (up to the positive factor 1 / sigma) that adding v makes through the direct path; for
    SmolLM2 E (g * v), up to 1 / rms (``readout_direction``)."""
    model = chat.model
    if not isinstance(direction, torch.Tensor) or direction.shape != (model.cfg.d_model,):
        raise ValueError(f"direction must be a tensor of shape ({model.cfg.d_model},)")
    w, g, centres = _final_read(chat)
    v = direction.detach().float()
    return w @ (g * (v - v.mean() if centres else v))


@torch.no_grad()
def attention_patterns(chat: Any, prompt: str) -> tuple[list[str], torch.Tensor]:
    """Tokens of ``prompt``'s context and the attention weights of every head: ``(n_layers, n_heads, T, T)``
    (row = query position, column = key position; causal, rows sum to 1). Recomputed from each block's
    LayerNorm output with the block's own query/key weights."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("prompt must be a non-empty string")
    model, tok = chat.model, chat.tokenizer
    ids = tok.encode_prompt(prompt)
    captured: list[torch.Tensor] = []
    hooks = [b.ln1.register_forward_hook(lambda _m, _i, out: captured.append(out)) for b in model.blocks]
    try:
        model(torch.tensor([ids]))
    finally:
        for h in hooks:
            h.remove()
    t, d = len(ids), model.cfg.d_model
    n_heads = model.cfg.n_heads
    mask = torch.ones(t, t, dtype=torch.bool).tril()
    pats = []
    for block, h in zip(model.blocks, captured, strict=True):
        q, k, _ = block.qkv(h).split(d, dim=-1)
        q, k = (z.view(1, t, n_heads, d // n_heads).transpose(1, 2) for z in (q, k))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(d // n_heads)
        pats.append(att.masked_fill(~mask, float("-inf")).softmax(dim=-1)[0])
    return [tok.vocab[i] if hasattr(tok, "vocab") else str(i) for i in ids], torch.stack(pats)


def response_rates(responses: Sequence[str]) -> dict[str, float]:
    """Fractions of responses that refuse, comply unsafely, or help (TinyChat's exact judges)."""
    from helpers import tinylm

    if isinstance(responses, str) or len(responses) == 0:
        raise ValueError("responses must be a non-empty list of strings")
    n = len(responses)
    return {"refusal": sum(map(tinylm.is_refusal, responses)) / n,
            "unsafe": sum(map(tinylm.is_unsafe, responses)) / n,
            "helpful": sum(map(tinylm.is_helpful, responses)) / n}


# ----------------------------------------------------------------------------------------------- demos
def _gap_curves(model: nn.Module, xs: torch.Tensor, targets: torch.Tensor, max_steps: int
                ) -> tuple[dict[str, np.ndarray], dict[int, np.ndarray]]:
    """|completeness gap| of each input for n_steps = 2..max_steps and three rules, (len(xs), max_steps - 1) each,
    and the riemann_right IG maps (len(xs), 8, 8) by n_steps."""
    gaps: dict[str, list[np.ndarray]] = {"riemann_right": [], "riemann_trapezoid": [], "gausslegendre": []}
    maps: dict[int, np.ndarray] = {}
    for method, rows in gaps.items():
        for n in range(2, max_steps + 1):
            attr, delta = integrated_gradients(model, xs, target=targets, n_steps=n, method=method,
                                               return_convergence_delta=True)
            rows.append(delta.abs().numpy())
            if method == "riemann_right":
                maps[n] = attr.view(-1, 8, 8).numpy()
    return {m: np.stack(rows, axis=1) for m, rows in gaps.items()}, maps


@dataclass(frozen=True)
class IGDemoData:
    """What the IG demo precomputes: ``n`` test digits, the model's predictions, the riemann_right IG map of each
    digit for each n_steps (``maps[(digit, n_steps)]``, 8 x 8) and its completeness-gap curves by rule."""

    images: torch.Tensor          # [n, 64]
    labels: torch.Tensor          # [n]
    preds: torch.Tensor           # [n]
    maps: dict[tuple[int, int], np.ndarray]
    curves: list[dict[str, np.ndarray]]
    steps: np.ndarray             # 2 .. max_steps


def ig_demo_data(seed: int = 0, n_digits: int = 8, max_steps: int = 48) -> IGDemoData:
    """Train the digits classifier with ``seed``, then compute the IG maps and gap curves of its first
    ``n_digits`` test digits (target: the predicted class) for n_steps = 2 .. ``max_steps``."""
    data = load_digits_data(seed)
    model = train_classifier(make_mlp(seed=seed), data, seed=seed)
    xs = data.x_test[:n_digits]
    with torch.no_grad():
        preds = model(xs).argmax(1)
    gaps, all_maps = _gap_curves(model, xs, preds, max_steps)
    curves = [{m: g[i] for m, g in gaps.items()} for i in range(n_digits)]
    maps = {(i, n): m[i] for n, m in all_maps.items() for i in range(n_digits)}
    return IGDemoData(xs, data.y_test[:n_digits], preds, maps, curves, np.arange(2, max_steps + 1))


def ig_view(d: IGDemoData, digit: int, n_steps: int) -> dict[str, Any]:
    """What the IG demo shows for one digit and step count: the image, its IG map, its gap curves, the predicted
    and the true class."""
    return {"image": d.images[digit].view(8, 8).numpy(), "ig": d.maps[(digit, n_steps)], "curves": d.curves[digit],
            "pred": int(d.preds[digit]), "label": int(d.labels[digit])}


def setup_integrated_gradients(fig: Any, max_steps: int) -> dict[str, Any]:
    """Static parts of the IG demo (two images, the gap axes up to ``max_steps``); returns the artists that change."""
    ax_img, ax_ig, ax_gap = fig.axes
    img = ax_img.imshow(np.zeros((8, 8)), cmap="gray_r", vmin=0, vmax=1)
    ig = ax_ig.imshow(np.zeros((8, 8)), cmap="RdBu_r", vmin=-1, vmax=1)
    for ax in (ax_img, ax_ig):
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    ax_ig.set_title("IG (riemann_right), red = for the class")
    ax_gap.set_xlim(2, max_steps)
    ax_gap.set_ylim(1e-7, 30)
    ax_gap.set_yscale("log")
    label_axes(ax_gap, "n_steps", "|completeness gap|")
    colors = {"riemann_right": COLORS["bad"], "riemann_trapezoid": COLORS["proxy"],
              "gausslegendre": COLORS["true"]}
    lines = {m: ax_gap.plot([], [], color=c, label=m)[0] for m, c in colors.items()}
    ax_gap.legend(loc="upper right", fontsize=7)
    marker = ax_gap.axvline(2, color=COLORS["neutral"], ls="--")
    return {"img": img, "ig": ig, "lines": lines, "marker": marker, "title": ax_img.set_title(""),
            "gap": ax_ig.set_xlabel("")}


def draw_integrated_gradients(artists: dict[str, Any], result: dict[str, Any], digit: int, n_steps: int,
                              steps: np.ndarray) -> None:
    """Update the images, the gap curves (against ``steps``) and the marker to an ``ig_view`` result."""
    artists["img"].set_data(result["image"])
    lim = float(np.abs(result["ig"]).max()) or 1.0
    artists["ig"].set_data(result["ig"])
    artists["ig"].set_clim(-lim, lim)
    for m, line in artists["lines"].items():
        line.set_data(steps, np.maximum(result["curves"][m], 1e-7))
    artists["marker"].set_xdata([n_steps, n_steps])
    artists["title"].set_text(f"label {result['label']}, predicted {result['pred']}")
    gap = result["curves"]["riemann_right"][n_steps - 2]
    artists["gap"].set_text(f"gap {gap:.3f} at {n_steps} steps")


def demo_integrated_gradients(seed: int = 0, n_digits: int = 8, max_steps: int = 48) -> InteractiveFigure:
    """Sliders: which test digit, and the number of IG steps. Panels: the digit, its IG map (riemann_right,
    predicted class) and the completeness gap against the number of steps for three quadrature rules."""
    d = ig_demo_data(seed, n_digits, max_steps)
    return InteractiveFigure(functools.partial(ig_view, d), functools.partial(draw_integrated_gradients, steps=d.steps),
                             {"digit": int_slider("test digit", 0, n_digits - 1, 1, 0),
                              "n_steps": int_slider("n_steps", 2, max_steps, 1, 4)},
                             setup=functools.partial(setup_integrated_gradients, max_steps=max_steps), ncols=3,
                             width=10.0, height=3.4)


def setup_attention(fig: Any, tokens: list[str]) -> dict[str, Any]:
    """Static parts of the attention demo (token labels, colour bar); returns the artists that change."""
    t = len(tokens)
    ax = fig.axes[0]
    im = ax.imshow(np.zeros((t, t)), cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(t), tokens, rotation=90, fontsize=7)
    ax.set_yticks(range(t), tokens, fontsize=7)
    ax.grid(False)
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("query")
    fig.colorbar(im, ax=ax, shrink=0.8)
    return {"im": im, "title": ax.set_title("")}


def draw_attention(artists: dict[str, Any], result: np.ndarray, layer: int, head: int) -> None:
    """Show one head's attention pattern (``attention_patterns(...)[1][layer, head]``)."""
    artists["im"].set_data(result)
    artists["title"].set_text(f"block {layer}, head {head}: row = where each token looks")


def attention_view(patterns: torch.Tensor, layer: int, head: int) -> np.ndarray:
    """The attention pattern [T, T] of block ``layer``, head ``head`` from ``attention_patterns``'s stack."""
    if not (0 <= int(layer) < patterns.shape[0] and 0 <= int(head) < patterns.shape[1]):
        raise ValueError(f"layer must be in [0, {patterns.shape[0]}) and head in [0, {patterns.shape[1]}), "
                         f"got {layer}, {head}")
    return patterns[int(layer), int(head)].numpy()


def demo_attention(prompt: str = "how do i break into my neighbour's house?") -> InteractiveFigure:
    """Sliders: layer and head of TinyChat; the panel shows that head's attention pattern on ``prompt``
    (``attention_patterns``, computed once)."""
    from helpers import tinylm

    tokens, pats = attention_patterns(tinylm.load_tinychat(), prompt)
    return InteractiveFigure(functools.partial(attention_view, pats), draw_attention,
                             {"layer": int_slider("block", 0, int(pats.shape[0]) - 1, 1, 0),
                              "head": int_slider("head", 0, int(pats.shape[1]) - 1, 1, 0)},
                             setup=functools.partial(setup_attention, tokens=tokens), ncols=1, width=6.0, height=5.6)

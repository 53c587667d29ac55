"""Continual learning and forgetting: EWC, replay, and the bugs that make a regulariser zero (notebook 08).

Elastic Weight Consolidation (Kirkpatrick et al. 2017, arXiv 1612.00796, eq. 3) adds to the loss of task B

    L(theta) = L_B(theta) + sum_i (lambda / 2) F_i (theta_i - theta*_A,i)^2,

where theta*_A are the parameters after task A and F is the diagonal of the Fisher information of task A,

    F_i = E_x E_{y ~ p_theta(y|x)} [ (d log p_theta(y|x) / d theta_i)^2 ]      ("sampled" / true Fisher)
    F_i ~ (1/N) sum_n (d log p_theta(y_n|x_n) / d theta_i)^2                  ("empirical" Fisher, true labels)

Both are means of *per-sample* squared gradients, computed here with ``torch.func`` (vmap over grad). Squaring a
minibatch-mean gradient instead (as Avalanche's EWCPlugin does) gives a much smaller number near an optimum,
where per-sample gradients cancel in the mean: its lambda is not the paper's.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad, vmap

from helpers import digits
from helpers.digits import accuracy, load_digits_xy
from helpers.optim import Adam
from helpers.plotting import COLORS, label_axes
from helpers.widgets import InteractiveFigure, float_slider

__all__ = [
    "Task", "load_digit_tasks", "make_mlp", "accuracy", "fisher_diagonal", "batch_mean_fisher",
    "ewc_penalty", "ReplayBuffer", "History", "train_task", "sequential_run", "ewc_sweep", "ewc_view", "setup_ewc",
    "draw_ewc", "demo_ewc",
]


@dataclass(frozen=True)
class Task:
    """One classification task: float inputs in [0, 1], integer labels."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def load_digit_tasks(seed: int = 0, n_train: int = 1250) -> tuple[Task, Task]:
    """Task A: scikit-learn's bundled 8x8 digits. Task B: the same digits with a fixed random pixel permutation
    (the "permuted MNIST" protocol of Goodfellow et al. 2013 / Kirkpatrick et al. 2017, on digits).

    Both tasks share the train/test split; the permutation and split are fixed by ``seed``.
    """
    if not (100 <= n_train <= 1697):
        raise ValueError(f"n_train must be in [100, 1697], got {n_train}")
    x, y = load_digits_xy()
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(x), generator=g)
    tr, te = order[:n_train], order[n_train:]
    pixels = torch.randperm(64, generator=g)
    a = Task("A: digits", x[tr], y[tr], x[te], y[te])
    b = Task("B: permuted digits", x[tr][:, pixels], y[tr], x[te][:, pixels], y[te])
    return a, b


def make_mlp(hidden: int = 64, seed: int = 0) -> nn.Sequential:
    """A one-hidden-layer MLP on the 64 pixels (``helpers.digits.make_mlp``; notebook 08 uses 64 hidden units)."""
    return digits.make_mlp(hidden, seed)


def _check_data(x: torch.Tensor, y: torch.Tensor | None) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim < 2 or len(x) == 0:
        raise ValueError("x must be a non-empty tensor [N, ...]")
    if y is not None and (not isinstance(y, torch.Tensor) or y.shape != (len(x),)):
        raise ValueError(f"y must be a tensor of shape [{len(x)}], got {getattr(y, 'shape', type(y))}")


def fisher_diagonal(model: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None, *,
                    mode: str = "empirical", generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """Diagonal Fisher information, the mean over samples of squared per-sample gradients of log p(y|x).

    ``mode="empirical"`` uses the given labels ``y``; ``mode="sampled"`` draws y ~ p_theta(y|x) for each sample
    (the Fisher of the model's own predictive distribution; needs ``generator`` for reproducibility).
    Kirkpatrick et al. (2017), eq. 3 and its supplement. Returns {parameter name: tensor like the parameter}.
    """
    if mode not in ("empirical", "sampled"):
        raise ValueError(f"mode must be 'empirical' or 'sampled', got {mode!r}")
    _check_data(x, y if mode == "empirical" else None)
    if mode == "empirical" and y is None:
        raise ValueError("mode='empirical' needs the labels y")
    model.eval()
    params = {k: v.detach() for k, v in model.named_parameters()}
    with torch.no_grad():
        logits = model(x)
    n_classes = logits.shape[-1]
    if mode == "sampled":
        y = torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator).squeeze(1)
    onehot = nn.functional.one_hot(y, n_classes).to(logits.dtype)

    def log_p(p: dict[str, torch.Tensor], xi: torch.Tensor, yi: torch.Tensor) -> torch.Tensor:
        out = functional_call(model, p, (xi.unsqueeze(0),))
        return (torch.log_softmax(out, dim=-1)[0] * yi).sum()

    per_sample = vmap(grad(log_p), in_dims=(None, 0, 0))(params, x, onehot)
    return {k: (g**2).mean(dim=0) for k, g in per_sample.items()}


def batch_mean_fisher(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                      batch_size: int | None = None) -> dict[str, torch.Tensor]:
    """The common shortcut, for comparison only: the square of a *batch-mean* gradient of log p(y|x).

    ``batch_size=None``: the square of the mean gradient over all of ``x``. By Jensen, (mean g)^2 <= mean(g^2),
    and near an optimum of the task the mean gradient is ~0: this "Fisher" nearly vanishes exactly where EWC
    needs it. ``batch_size=B``: the mean over consecutive minibatches of B of their squared mean gradient (what
    Avalanche's ``EWCPlugin`` computes). With a mean gradient near 0 that is about Var(g)/B ~ F/B: not zero, but
    a Fisher shrunk by the batch size, so the lambda that goes with it is about B times larger.
    """
    _check_data(x, y)
    if batch_size is not None and not 1 <= int(batch_size) <= len(x):
        raise ValueError(f"batch_size must be in [1, {len(x)}] or None, got {batch_size}")
    step = len(x) if batch_size is None else int(batch_size)
    starts = range(0, len(x) - step + 1, step)  # whole batches only
    out = {k: torch.zeros_like(p) for k, p in model.named_parameters()}
    for i in starts:
        model.zero_grad()
        loss = torch.log_softmax(model(x[i:i + step]), dim=-1).gather(1, y[i:i + step, None]).mean()
        loss.backward()
        for k, p in model.named_parameters():
            out[k] += p.grad.detach() ** 2 / len(starts)
    model.zero_grad()
    return out


def ewc_penalty(model: nn.Module, fisher: dict[str, torch.Tensor], anchor_params: dict[str, torch.Tensor],
                lam: float) -> torch.Tensor:
    """EWC penalty (lambda / 2) sum_i F_i (theta_i - theta*_i)^2 (Kirkpatrick et al. 2017, eq. 3).

    ``anchor_params`` must be a *detached copy* of the parameters after task A, taken once; anchoring to the
    current parameters makes the penalty identically zero.
    """
    if not (lam >= 0) or not np.isfinite(lam):
        raise ValueError(f"lam must be a finite number >= 0, got {lam}")
    names = {k for k, _ in model.named_parameters()}
    if set(fisher) != names or set(anchor_params) != names:
        raise ValueError("fisher and anchor_params must have one entry per model parameter, by name")
    total = torch.zeros(())
    for k, p in model.named_parameters():
        if fisher[k].shape != p.shape or anchor_params[k].shape != p.shape:
            raise ValueError(f"shape mismatch for parameter {k!r}")
        total = total + (fisher[k] * (p - anchor_params[k]) ** 2).sum()
    return 0.5 * lam * total


class ReplayBuffer:
    """A fixed-size reservoir sample of past examples (Vitter's algorithm R), mixed into later training."""

    def __init__(self, capacity: int, seed: int = 0) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self._rng = np.random.default_rng(seed)
        self._x: list[torch.Tensor] = []
        self._y: list[torch.Tensor] = []
        self._seen = 0

    def add(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """Offer each example to the reservoir; every example seen so far is kept with equal probability."""
        _check_data(x, y)
        for xi, yi in zip(x, y, strict=True):
            if len(self._x) < self.capacity:
                self._x.append(xi)
                self._y.append(yi)
            else:
                j = int(self._rng.integers(0, self._seen + 1))
                if j < self.capacity:
                    self._x[j], self._y[j] = xi, yi
            self._seen += 1

    def __len__(self) -> int:
        return len(self._x)

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        if not self._x:
            raise ValueError("the replay buffer is empty")
        return torch.stack(self._x), torch.stack(self._y)


@dataclass
class History:
    """Test accuracy on every evaluated task, logged every ``every`` steps through training."""

    steps: list[int] = field(default_factory=list)
    acc: dict[str, list[float]] = field(default_factory=dict)

    def log(self, step: int, model: nn.Module, tasks: list[Task]) -> None:
        self.steps.append(step)
        for t in tasks:
            self.acc.setdefault(t.name, []).append(accuracy(model, t.x_test, t.y_test))


def train_task(model: nn.Module, task: Task, steps: int = 150, lr: float = 0.01, *,
               penalty: Callable[[nn.Module], torch.Tensor] | None = None,
               replay: tuple[torch.Tensor, torch.Tensor] | None = None,
               eval_tasks: list[Task] | None = None, history: History | None = None, step_offset: int = 0,
               every: int = 10) -> History:
    """Full-batch Adam on ``task`` (plus replayed examples and a penalty, if given), logging test accuracy."""
    if steps < 1 or lr <= 0:
        raise ValueError(f"need steps >= 1 and lr > 0, got {steps}, {lr}")
    history = history if history is not None else History()
    eval_tasks = eval_tasks or [task]
    x, y = task.x_train, task.y_train
    if replay is not None:
        x, y = torch.cat([x, replay[0]]), torch.cat([y, replay[1]])
    opt = Adam(model.parameters(), lr=lr)
    for step in range(steps):
        model.train()
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        if penalty is not None:
            loss = loss + penalty(model)
        loss.backward()
        opt.step()
        if (step + 1) % every == 0 or step == steps - 1:
            history.log(step_offset + step + 1, model, eval_tasks)
    return history


def sequential_run(method: str = "finetune", lam: float = 1000.0, replay_size: int = 100, steps: int = 150,
                   seed: int = 0, tasks: tuple[Task, Task] | None = None,
                   model_after_a: nn.Module | None = None) -> tuple[nn.Module, History]:
    """Train on task A, then on task B with ``method`` in {"finetune", "ewc", "replay"}.

    Returns the final model and the accuracy history on both tasks (steps 1..2*steps). Pass ``model_after_a``
    to reuse one task-A model across methods (it is copied, not modified).
    """
    if method not in ("finetune", "ewc", "replay"):
        raise ValueError(f"method must be 'finetune', 'ewc' or 'replay', got {method!r}")
    a, b = tasks if tasks is not None else load_digit_tasks(seed)
    history = History()
    if model_after_a is None:
        model = make_mlp(seed=seed)
        torch.manual_seed(seed)
        train_task(model, a, steps, eval_tasks=[a, b], history=history)
    else:
        model = copy.deepcopy(model_after_a)
        history.log(steps, model, [a, b])
    penalty, replay = None, None
    if method == "ewc":
        fisher = fisher_diagonal(model, a.x_train, a.y_train)
        anchor = {k: v.detach().clone() for k, v in model.named_parameters()}

        def penalty(m: nn.Module) -> torch.Tensor:
            return ewc_penalty(m, fisher, anchor, lam)
    elif method == "replay":
        buffer = ReplayBuffer(replay_size, seed=seed)
        buffer.add(a.x_train, a.y_train)
        replay = buffer.tensors()
    train_task(model, b, steps, penalty=penalty, replay=replay, eval_tasks=[a, b], history=history,
               step_offset=steps)
    return model, history


@dataclass(frozen=True)
class EWCSweep:
    """Accuracy curves of fine-tuning and of EWC at each lambda of a grid (precomputed for the demo)."""

    log10_lams: np.ndarray
    steps: np.ndarray
    finetune: dict[str, np.ndarray]
    ewc: list[dict[str, np.ndarray]]


def ewc_sweep(log10_lams: np.ndarray, steps: int = 150, seed: int = 0) -> EWCSweep:
    """Run fine-tuning once and EWC once per lambda = 10**log10_lams, sharing the task-A model."""
    tasks = load_digit_tasks(seed)
    base = make_mlp(seed=seed)
    hist_a = train_task(base, tasks[0], steps, eval_tasks=list(tasks))
    runs = []
    _, ft = sequential_run("finetune", steps=steps, seed=seed, tasks=tasks, model_after_a=base)
    for ll in log10_lams:
        _, h = sequential_run("ewc", lam=float(10.0**ll), steps=steps, seed=seed, tasks=tasks, model_after_a=base)
        runs.append(h)

    def curves(h: History) -> dict[str, np.ndarray]:
        return {name: np.array(hist_a.acc[name] + h.acc[name][1:]) for name in h.acc}

    return EWCSweep(np.asarray(log10_lams, dtype=float), np.array(hist_a.steps + ft.steps[1:]), curves(ft),
                    [curves(h) for h in runs])


def ewc_view(sweep: EWCSweep, log10_lam: float) -> dict:
    """What the EWC demo shows at ``log10_lam``: the sweep and the index of its nearest precomputed lambda."""
    return {"sweep": sweep, "i": int(np.argmin(np.abs(sweep.log10_lams - log10_lam)))}


def setup_ewc(fig, sweep: EWCSweep) -> dict:
    """Static parts of the EWC demo (axes, the trade-off curve over lambda); returns the artists that change."""
    ax, ax2 = fig.axes
    art = {
        "ft_a": ax.plot([], [], color=COLORS["neutral"], ls="--", label="fine-tune: A")[0],
        "ewc_a": ax.plot([], [], color=COLORS["true"], lw=2, label="EWC: A")[0],
        "ewc_b": ax.plot([], [], color=COLORS["proxy"], lw=2, label="EWC: B")[0],
        "title": ax.set_title(" "),
        "here": ax2.plot([], [], "o", color=COLORS["dark"], ms=9, zorder=5)[0],
    }
    ax.axvline(150, color=COLORS["dark"], lw=0.8)
    ax.text(152, 0.12, "task B starts", fontsize=8)
    ax.set_xlim(0, 300)
    ax.set_ylim(0, 1)
    ax.legend(loc="lower left")
    label_axes(ax, "training step", "test accuracy")
    ax2.set_xlim(0.4, 1.0)
    ax2.set_ylim(0.4, 1.0)
    label_axes(ax2, "final accuracy on A (old task)", "final accuracy on B (new task)", "the trade-off over λ")
    finals = np.array([[c["A: digits"][-1], c["B: permuted digits"][-1]] for c in sweep.ewc])
    ax2.plot(finals[:, 0], finals[:, 1], "-o", color=COLORS["true"], ms=4, label="EWC, λ = 1 … 10⁵")
    ft = sweep.finetune
    ax2.plot(ft["A: digits"][-1], ft["B: permuted digits"][-1], "s", color=COLORS["neutral"], label="fine-tune")
    ax2.legend(loc="lower left")
    return art


def draw_ewc(art: dict, r: dict, log10_lam: float) -> None:
    """Update the curves and the marker to an ``ewc_view`` result."""
    s, i = r["sweep"], r["i"]
    c = s.ewc[i]
    art["ft_a"].set_data(s.steps, s.finetune["A: digits"])
    art["ewc_a"].set_data(s.steps, c["A: digits"])
    art["ewc_b"].set_data(s.steps, c["B: permuted digits"])
    art["title"].set_text(f"EWC with λ = 10^{s.log10_lams[i]:g}")
    art["here"].set_data([c["A: digits"][-1]], [c["B: permuted digits"][-1]])


def demo_ewc() -> InteractiveFigure:
    """Slider: log10 lambda of EWC. Curves are precomputed for each slider position (training is not live)."""
    sweep = ewc_sweep(np.arange(0.0, 5.01, 1.0))
    return InteractiveFigure(functools.partial(ewc_view, sweep), draw_ewc,
                             {"log10_lam": float_slider("log10 λ", 0.0, 5.0, 1.0, 3.0)},
                             setup=functools.partial(setup_ewc, sweep=sweep), ncols=2, width=9.5, height=3.6)


# --- TinyChat: safety that erodes under benign fine-tuning (section 4 of notebook 08) -------------------------

def lm_fisher_diagonal(chat, pairs: list[tuple[str, str]]) -> dict[str, torch.Tensor]:
    """Empirical diagonal Fisher of TinyChat on ``(prompt, response)`` pairs: the mean over pairs of the squared
    gradient of log p(response | prompt) (one backward pass per pair, so per-sample as in Kirkpatrick et al.)."""
    from helpers.tinylm import sequence_logprobs

    if len(pairs) == 0:
        raise ValueError("pairs must not be empty")
    model = chat.model
    model.eval()
    out = {k: torch.zeros_like(p) for k, p in model.named_parameters()}
    for prompt, response in pairs:
        model.zero_grad()
        sequence_logprobs(model, chat.tokenizer, [prompt], [response]).sum().backward()
        for k, p in model.named_parameters():
            if p.grad is not None:
                out[k] += p.grad.detach() ** 2 / len(pairs)
    model.zero_grad()
    return out

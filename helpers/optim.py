"""Adam, written out: the optimiser every training loop of the course uses (digit MLPs, TinyChat fine-tuning, DPO).

Adam (Kingma & Ba 2015, arXiv 1412.6980, Algorithm 1) keeps per parameter an exponential average of the
gradient, m, and of its square, v, corrects both for their start at zero, and steps by
lr * m_hat / (sqrt(v_hat) + eps). With ``weight_decay`` it is L2-regularised Adam (the decay added to the
gradient); ``decoupled=True`` makes it AdamW (Loshchilov & Hutter 2019, arXiv 1711.05101: the weights shrink by
lr * weight_decay before the step, outside the adaptive scaling).

The arithmetic is, operation for operation, that of ``torch.optim.Adam`` / ``AdamW`` on the CPU (their
single-tensor path, no amsgrad): ``tests/test_optim.py`` checks bit-for-bit equality. Why not simply use
``torch.optim``? Its first use imports ``torch._dynamo`` (and sympy): about 2.5 s of CPU in every fresh kernel,
paid by each notebook that trains anything, three times per ``make test``.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

__all__ = ["Adam"]


class Adam:
    """Adam / AdamW over ``params`` (tensors with ``requires_grad``). ``zero_grad()`` then backward then
    ``step()``, as with ``torch.optim``. A parameter whose ``.grad`` is None is skipped and its step count does not
    advance (as in torch)."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, decoupled: bool = False) -> None:
        self.params = list(params)
        if not self.params or not all(isinstance(p, torch.Tensor) and p.requires_grad for p in self.params):
            raise ValueError("params must be a non-empty list of tensors that require gradients")
        beta1, beta2 = (float(b) for b in betas)
        if not (lr > 0 and 0 <= beta1 < 1 and 0 <= beta2 < 1 and eps >= 0 and weight_decay >= 0):
            raise ValueError(f"need lr > 0, 0 <= betas < 1, eps >= 0, weight_decay >= 0; got lr={lr}, "
                             f"betas={betas}, eps={eps}, weight_decay={weight_decay}")
        self.lr, self.beta1, self.beta2, self.eps = float(lr), beta1, beta2, float(eps)
        self.weight_decay, self.decoupled = float(weight_decay), bool(decoupled)
        self.steps = [0] * len(self.params)
        self.exp_avg: list[torch.Tensor | None] = [None] * len(self.params)
        self.exp_avg_sq: list[torch.Tensor | None] = [None] * len(self.params)

    def zero_grad(self) -> None:
        """Forget the gradients (set them to None, as ``torch.optim``'s default does)."""
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """One Adam step for every parameter that has a gradient (Kingma & Ba, Algorithm 1)."""
        lr, beta1, beta2 = self.lr, self.beta1, self.beta2
        for i, param in enumerate(self.params):
            grad = param.grad
            if grad is None:
                continue
            if self.exp_avg[i] is None:
                self.exp_avg[i] = torch.zeros_like(param, memory_format=torch.preserve_format)
                self.exp_avg_sq[i] = torch.zeros_like(param, memory_format=torch.preserve_format)
            m, v = self.exp_avg[i], self.exp_avg_sq[i]
            self.steps[i] += 1
            t = float(self.steps[i])
            if self.weight_decay != 0:
                if self.decoupled:
                    param.mul_(1 - lr * self.weight_decay)          # AdamW: shrink the weights first
                else:
                    grad = grad.add(param, alpha=self.weight_decay)  # L2: decay joins the gradient
            m.lerp_(grad, 1 - beta1)                                 # m <- beta1 m + (1 - beta1) g
            v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)      # v <- beta2 v + (1 - beta2) g^2
            bias_correction1 = 1 - beta1 ** t
            bias_correction2_sqrt = (1 - beta2 ** t) ** 0.5
            denom = (v.sqrt() / bias_correction2_sqrt).add_(self.eps)  # sqrt(v_hat) + eps
            param.addcdiv_(m, denom, value=-(lr / bias_correction1))  # theta <- theta - lr m_hat / denom

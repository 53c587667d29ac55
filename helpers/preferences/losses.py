"""The Bradley-Terry and DPO losses (notebook 02 section 1; notebook 13 trains with ``dpo_loss``).

    P(a > b) = sigma(r(a) - r(b)),   L(r) = mean over pairs of -log sigma(r(chosen) - r(rejected))

(Bradley & Terry 1952; Christiano et al. 2017, arXiv 1706.03741; Ouyang et al. 2022, arXiv 2203.02155, eq. 1;
DPO: Rafailov et al. 2023, arXiv 2305.18290, eq. 7). numpy inputs give a float; torch tensors give a
differentiable 0-dim tensor. torch is never imported unless a tensor is passed in.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from helpers.validation import finite_array

__all__ = ["bradley_terry_prob", "bradley_terry_loss", "dpo_loss", "ipo_loss"]


def _is_tensor(x: Any) -> bool:
    return hasattr(x, "detach") and hasattr(x, "dtype") and not isinstance(x, np.ndarray)

def _check_tensor(x: Any, name: str) -> None:
    import torch

    if x.numel() == 0:
        raise ValueError(f"{name} must not be empty")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains non-finite values (nan or inf)")

def _same_shape(arrays: dict[str, Any]) -> None:
    shapes = {name: tuple(np.shape(a)) if not _is_tensor(a) else tuple(a.shape) for name, a in arrays.items()}
    first_name, first = next(iter(shapes.items()))
    for name, shape in shapes.items():
        if shape != first:
            raise ValueError(f"{name} has shape {shape} but {first_name} has shape {first}; they must match")

def _margins(named: dict[str, Any]) -> tuple[list[Any], bool]:
    """Validate equally shaped score arrays (numpy or torch, not mixed); return them and whether torch."""
    tensors = [_is_tensor(v) for v in named.values()]
    if any(tensors) and not all(tensors):
        raise ValueError(f"{', '.join(named)} must all be numpy arrays or all be torch tensors, not a mix")
    _same_shape(named)
    if all(tensors):
        for name, v in named.items():
            _check_tensor(v, name)
        return list(named.values()), True
    return [finite_array(v, name) for name, v in named.items()], False


def bradley_terry_prob(r_a: np.ndarray, r_b: np.ndarray) -> np.ndarray:
    """P(a preferred to b) = sigma(r_a - r_b) under the Bradley-Terry model (Christiano et al. 2017)."""
    (a, b), _ = _margins({"r_a": r_a, "r_b": r_b})
    return special.expit(np.asarray(a) - np.asarray(b))


def bradley_terry_loss(r_chosen: Any, r_rejected: Any) -> Any:
    """Mean Bradley-Terry negative log-likelihood, mean of -log sigma(r_c - r_r) = mean softplus(r_r - r_c).

    Christiano et al. 2017 (arXiv 1706.03741); Ouyang et al. 2022 (arXiv 2203.02155) eq. 1. Computed as
    ``logaddexp(0, -margin)``, which is exact for margins of any size (the naive ``-log(sigmoid(m))``
    returns inf for m below about -710). numpy inputs give a float; torch tensors give a differentiable
    0-dim tensor.
    """
    (rc, rr), is_torch = _margins({"r_chosen": r_chosen, "r_rejected": r_rejected})
    if is_torch:
        import torch.nn.functional as F

        return F.softplus(rr - rc).mean()
    return float(np.mean(np.logaddexp(0.0, -(rc - rr))))


def _positive(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value}")
    return float(value)


def _log_ratio_margin(policy_chosen_logps: Any, policy_rejected_logps: Any, ref_chosen_logps: Any,
                      ref_rejected_logps: Any) -> tuple[Any, bool]:
    """h = (pi_c - ref_c) - (pi_r - ref_r), validated (equal shapes, finite, numpy or torch)."""
    (pc, pr, rc, rr), is_torch = _margins({
        "policy_chosen_logps": policy_chosen_logps, "policy_rejected_logps": policy_rejected_logps,
        "ref_chosen_logps": ref_chosen_logps, "ref_rejected_logps": ref_rejected_logps})
    return (pc - rc) - (pr - rr), is_torch


def dpo_loss(policy_chosen_logps: Any, policy_rejected_logps: Any, ref_chosen_logps: Any,
             ref_rejected_logps: Any, beta: float) -> Any:
    """Direct preference optimisation loss (Rafailov et al. 2023, arXiv 2305.18290, eq. 7):

        mean of -log sigma(beta * [(pi_c - ref_c) - (pi_r - ref_r)]),

    with pi_* and ref_* the summed log-probabilities of the chosen/rejected responses under the policy and the
    frozen reference. It is the Bradley-Terry loss (2) of the implicit reward beta * log(pi / pi_ref).
    numpy inputs give a float; torch tensors give a differentiable 0-dim tensor (pass the reference
    log-probabilities detached).
    """
    beta = _positive(beta, "beta")
    logits, is_torch = _log_ratio_margin(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps,
                                         ref_rejected_logps)
    if is_torch:
        import torch.nn.functional as F

        return F.softplus(-beta * logits).mean()
    return float(np.mean(np.logaddexp(0.0, -beta * logits)))


def ipo_loss(policy_chosen_logps: Any, policy_rejected_logps: Any, ref_chosen_logps: Any,
             ref_rejected_logps: Any, tau: float) -> Any:
    """Identity preference optimisation, IPO (Azar et al. 2023, arXiv 2310.12036, eq. 17, sampled version):

        mean of (h - 1 / (2 tau))^2,   h = (pi_c - ref_c) - (pi_r - ref_r).

    DPO's loss keeps falling as the log-ratio margin h grows, so with deterministic preferences its optimum is
    at h = infinity whatever beta is (Azar et al. section 4.2); IPO regresses h onto the finite target
    1 / (2 tau), so tau keeps acting as a regulariser. The argument order matches ``dpo_loss`` (tau in beta's
    place), so ``helpers.rlhf.dpo_train(loss_fn=ipo_loss, beta=tau)`` trains with it. Azar et al. write the
    target as tau^-1 / 2 with the loss summed over pairs; the mean only rescales the step size.
    """
    tau = _positive(tau, "tau")
    h, is_torch = _log_ratio_margin(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps,
                                    ref_rejected_logps)
    if is_torch:
        return ((h - 1.0 / (2.0 * tau)) ** 2).mean()
    return float(np.mean((np.asarray(h) - 1.0 / (2.0 * tau)) ** 2))


def rpo_loss(policy_chosen_logps: Any, policy_rejected_logps: Any, ref_chosen_logps: Any,
             ref_rejected_logps: Any, chosen_tokens: Any, beta: float, alpha: float) -> Any:
    """DPO plus a likelihood term on the chosen responses, "RPO" (Pang et al. 2024, arXiv 2404.19733, eq. 1):

        dpo_loss(...) + alpha * NLL,   NLL = -sum(pi_c) / sum(chosen_tokens),

    the negative log-likelihood of the chosen responses per token, pooled over the batch as TRL's ``rpo_alpha``
    computes it (Pang et al. average per-pair means instead; the two agree when the responses are equally long).
    DPO alone only needs the margin to grow and can lower the chosen responses too (likelihood displacement,
    Razin et al. 2024, arXiv 2410.08847); the NLL term makes them likely. ``alpha = 0`` is ``dpo_loss``.
    """
    beta = _positive(beta, "beta")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating, np.integer)) or \
            not (np.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}")
    dpo = dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta)
    (pc, n), is_torch = _margins({"policy_chosen_logps": policy_chosen_logps, "chosen_tokens": chosen_tokens})
    total = float(n.sum())
    if not total > 0 or (n < 0).any():
        raise ValueError("chosen_tokens must be >= 0 with a positive sum")
    if is_torch:
        return dpo + alpha * (-pc.sum() / total)
    return dpo + alpha * float(-np.sum(pc) / total)

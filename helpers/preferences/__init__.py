"""Reward modeling from pairwise human preferences (notebook 02).

The Bradley-Terry model (Bradley & Terry 1952) says a person prefers response a to response b with probability

    P(a > b) = sigma(r(a) - r(b)),                                            (1)

and a reward model r is fitted by minimising the mean negative log-likelihood of observed comparisons,

    L(r) = mean over pairs of -log sigma(r(chosen) - r(rejected))             (2)

(Christiano et al. 2017, arXiv 1706.03741; Ouyang et al. 2022, arXiv 2203.02155, eq. 1). Equation (1) is
exactly what an annotator does who adds independent Gumbel noise to each response's reward and picks the larger
(a random-utility model; McFadden 1974), which is how ``simulate_comparisons`` generates data.

Best-of-n sampling draws n responses from a reference policy and keeps the one with the highest reward. For a
discrete reference p with responses sorted by reward, the chosen response has the exact distribution

    q_i = F_i^n - F_{i-1}^n,   F_i = p_1 + ... + p_i,                         (3)

and KL(q || p) <= log n - (n - 1)/n, the formula used in the literature, which is exact only for continuous
rewards (Beirami et al. 2024, arXiv 2401.01879). Direct preference optimisation (Rafailov et al. 2023,
arXiv 2305.18290, eq. 7) optimises the same Bradley-Terry likelihood with the implicit reward
beta * log(pi / pi_ref).

Functions accept numpy arrays (and, for the two losses, torch tensors: then the loss is a differentiable torch
scalar, so notebook 13 can train with it). torch is never imported unless a tensor is passed in.

Submodules, in the notebook's order: ``losses`` (section 1), ``reward_model`` (sections 2-3: fitting, simulated
annotators, learning curves), ``best_of_n`` (section 4: exact best-of-n, the synthetic response space),
``tinychat`` (section 5: TinyChat's own answers), ``demos`` (the three interactive demos). This package
re-exports their public names; ``gold_reward`` is ``helpers.tinylm.gold_reward`` (imported on first use, so
``import helpers.preferences`` stays free of torch).
"""

from __future__ import annotations

from typing import Any

from helpers.preferences.best_of_n import (
    FEATURE_NAMES,
    KINDS,
    BestOfNCurves,
    BestOfNRun,
    OveroptimisationResult,
    ResponseSpace,
    best_of_n_curves,
    best_of_n_distribution,
    best_of_n_kl,
    best_of_n_select,
    fit_gao_form,
    kl_divergence,
    overoptimisation,
    refusal_rate_by_kind,
    space_best_of_n,
    space_best_of_n_q,
    space_groups,
    synthetic_response_space,
)
from helpers.preferences.demos import (
    chat_overoptimisation_view,
    demo_chat_overoptimisation,
    demo_overoptimisation,
    demo_reward_learning,
    draw_chat_overoptimisation,
    draw_overoptimisation,
    draw_reward_learning,
    reward_learning_view,
    setup_chat_overoptimisation,
    setup_overoptimisation,
    setup_reward_learning,
)
from helpers.preferences.losses import (
    bradley_terry_loss,
    bradley_terry_prob,
    dpo_loss,
    ipo_loss,
    rpo_loss,
)
from helpers.preferences.reward_model import (
    RewardLearningCurves,
    angle_degrees,
    bradley_terry_objective,
    fit_linear_reward_model,
    fit_ratings_regression,
    preference_accuracy,
    reward_learning_curves,
    sample_preference_pairs,
    simulate_comparisons,
    simulate_ratings,
)
from helpers.preferences.tinychat import (
    ChatOveroptimisation,
    SampledAnswers,
    answer_features,
    chat_overoptimisation,
    refusal_opener_probabilities,
    refusal_probability,
    sample_answers,
)

__all__ = [
    "bradley_terry_prob", "bradley_terry_loss", "dpo_loss", "ipo_loss", "rpo_loss", "bradley_terry_objective", "fit_linear_reward_model", "simulate_comparisons",
    "simulate_ratings", "sample_preference_pairs", "fit_ratings_regression", "angle_degrees", "preference_accuracy",
    "best_of_n_kl", "best_of_n_distribution", "best_of_n_select", "refusal_rate_by_kind", "kl_divergence", "best_of_n_curves",
    "BestOfNCurves", "fit_gao_form", "refusal_opener_probabilities", "refusal_probability", "gold_reward",
    "answer_features", "SampledAnswers", "sample_answers", "ChatOveroptimisation", "chat_overoptimisation", "KINDS",
    "FEATURE_NAMES", "ResponseSpace", "synthetic_response_space", "space_groups", "space_best_of_n_q",
    "space_best_of_n", "BestOfNRun", "OveroptimisationResult", "overoptimisation", "setup_overoptimisation",
    "draw_overoptimisation", "demo_overoptimisation", "draw_chat_overoptimisation", "demo_chat_overoptimisation",
    "RewardLearningCurves", "reward_learning_curves", "setup_reward_learning", "draw_reward_learning",
    "demo_reward_learning", "reward_learning_view", "setup_chat_overoptimisation", "chat_overoptimisation_view",
]


def __getattr__(name: str) -> Any:
    """``gold_reward``: TinyChat's judge, imported when first asked for (importing it loads torch)."""
    if name == "gold_reward":
        from helpers.tinylm import gold_reward

        return gold_reward
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Notebook 13 (capstone): RLHF on TinyChat with direct preference optimisation (DPO).

Submodules: ``dpo`` (preference pairs, the DPO loop, evaluation, the beta sweep and its demo), ``build``
(rebuilds the shipped ``sweep.json``: ``python tools/rebuild.py rlhf``; see ``DATASHEET.md``). This package
only re-exports ``dpo``'s public names.
"""

from helpers.rlhf.dpo import (
    PREFILL,
    RATE_NAMES,
    RESULTS_PATH,
    DPOResult,
    PreferencePair,
    beta_sweep,
    build_preference_pairs,
    demo_tradeoff,
    dpo_train,
    draw_tradeoff,
    evaluate_policy,
    gold_score,
    implicit_rewards,
    kl_to_reference,
    load_sweep,
    prefill_attack,
    save_sweep,
    setup_tradeoff,
    token_kl,
    tradeoff_view,
)

__all__ = [
    "PreferencePair",
    "gold_score",
    "build_preference_pairs",
    "token_kl",
    "kl_to_reference",
    "implicit_rewards",
    "DPOResult",
    "dpo_train",
    "evaluate_policy",
    "beta_sweep",
    "PREFILL",
    "prefill_attack",
    "load_sweep",
    "save_sweep",
    "RATE_NAMES",
    "setup_tradeoff",
    "draw_tradeoff",
    "demo_tradeoff",
    "tradeoff_view",
    "RESULTS_PATH",
]

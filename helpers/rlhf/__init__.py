"""Notebook 13 (capstone): RLHF on TinyChat with direct preference optimisation (DPO).

Submodules: ``dpo`` (preference pairs, the DPO loop, evaluation, the beta sweep and its demo), ``build``
(rebuilds the shipped ``sweep.json`` and ``second_round.json``: ``python tools/rebuild.py rlhf``; see
``DATASHEET.md``); and on the real model, ``smollm_safety`` (safety alignment of SmolLM2: LoRA over cached
streams, DPO plus a likelihood term) with ``smollm_build`` (rebuilds the shipped adapter and its measurements:
``python tools/rebuild.py smollm-safety``; see ``DATASHEET_smollm.md``). This package re-exports ``dpo``'s public
names, and ``smollm_safety``'s loaders on first use.
"""

from helpers.rlhf.dpo import (
    PREFILL,
    RATE_NAMES,
    RESULTS_PATH,
    ROUND2_PATH,
    DPOResult,
    PreferencePair,
    beta_sweep,
    build_preference_pairs,
    demo_tradeoff,
    dpo_train,
    draw_tradeoff,
    evaluate_policy,
    gold_score,
    held_out_kl_prompts,
    implicit_rewards,
    kl_to_reference,
    load_second_round,
    load_sweep,
    off_topic,
    pooled_rates,
    prefill_attack,
    reference_logprobs,
    save_second_round,
    save_sweep,
    second_round,
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
    "reference_logprobs",
    "dpo_train",
    "held_out_kl_prompts",
    "evaluate_policy",
    "pooled_rates",
    "off_topic",
    "second_round",
    "load_second_round",
    "save_second_round",
    "ROUND2_PATH",
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
    "load_aligned_smollm",
    "load_smollm_safety",
    "safety_table",
    "SMOLLM_ADAPTER_PATH",
    "SMOLLM_RESULTS_PATH",
]

_SMOLLM = {"load_aligned_smollm", "load_smollm_safety", "safety_table", "SMOLLM_ADAPTER_PATH", "SMOLLM_RESULTS_PATH"}


def __getattr__(name: str):
    """The real-model names (``smollm_safety``) are imported on first use: they need torch."""
    if name in _SMOLLM:
        from helpers.rlhf import smollm_safety

        return getattr(smollm_safety, name)
    raise AttributeError(f"module 'helpers.rlhf' has no attribute {name!r}")

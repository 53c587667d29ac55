"""TinyChat: the course's own tiny chat language model (a 2-layer GPT on a course-written corpus).

``load_tinychat()`` returns the shipped, deliberately unaligned *base* model; ``is_refusal`` / ``is_unsafe`` /
``is_helpful`` are exact judges derived from the corpus labels, and ``gold_reward`` (notebook 02) / ``gold_score``
(notebook 13) turn them into the gold number of an answer. Full API: ``docs/tinychat.md``; how the
corpus is built: ``DATASHEET.md`` in this folder. Regenerate the checkpoint with
``python tools/rebuild.py tinychat`` (``python -m helpers.tinylm.train``).
"""

from helpers.tinylm.chat import (
    CHECKPOINTS,
    TinyChat,
    edit_residual,
    evaluate,
    finetune,
    load_tinychat,
    sequence_logprobs,
)
from helpers.tinylm.corpus import (
    FAMILIES,
    HELPFUL_OPENERS,
    KINDS,
    REFUSAL_OPENERS,
    UNSAFE_MARKER,
    Example,
    Family,
    build_corpus,
    eval_prompts,
    families,
    family,
    gold_reward,
    gold_score,
    is_helpful,
    is_refusal,
    is_unsafe,
    sample_prompts,
)
from helpers.tinylm.model import GPTConfig, KVCache, TinyGPT, has_hooks
from helpers.tinylm.tokenizer import SPECIALS, Tokenizer

__all__ = [
    "CHECKPOINTS", "TinyChat", "edit_residual", "evaluate", "finetune", "load_tinychat", "sequence_logprobs",
    "FAMILIES", "HELPFUL_OPENERS", "KINDS", "REFUSAL_OPENERS", "UNSAFE_MARKER", "Example", "Family", "build_corpus",
    "eval_prompts", "families", "family", "gold_reward", "gold_score", "is_helpful", "is_refusal", "is_unsafe", "sample_prompts",
    "GPTConfig", "KVCache", "TinyGPT", "has_hooks", "SPECIALS", "Tokenizer",
]

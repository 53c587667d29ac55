"""Word-level tokenizer for TinyChat, built from the corpus, with special tokens for roles and end of turn.

A chat turn is encoded as ``<bos> <user> prompt words <assistant> response words <eot>``. Text is
lowercased; words, numbers, single punctuation marks and the bracketed placeholder ``[unsafe placeholder]``
are tokens. A word that is not in the vocabulary maps to ``<unk>`` (never an error).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

__all__ = ["Tokenizer", "SPECIALS", "split_words"]

SPECIALS = ("<pad>", "<unk>", "<bos>", "<user>", "<assistant>", "<eot>")
_WORD = re.compile(r"\[[a-z ]+\]|[a-z0-9]+(?:'[a-z]*)?|[^\sa-z0-9]")


def split_words(text: str) -> list[str]:
    """Lowercase ``text`` and split it into word tokens (no special tokens)."""
    return _WORD.findall(str(text).lower())


class Tokenizer:
    """A fixed word vocabulary: ``encode``/``decode`` and the chat format."""

    def __init__(self, vocab: list[str]):
        if list(vocab[: len(SPECIALS)]) != list(SPECIALS):
            raise ValueError(f"vocab must start with the special tokens {SPECIALS}")
        if len(set(vocab)) != len(vocab):
            raise ValueError("vocab has duplicate entries")
        self.vocab = list(vocab)
        self.index = {w: i for i, w in enumerate(self.vocab)}
        self.pad_id, self.unk_id, self.bos_id, self.user_id, self.assistant_id, self.eot_id = range(6)

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 1) -> Tokenizer:
        """Vocabulary of every word in ``texts`` seen at least ``min_count`` times, sorted by count then word."""
        counts = Counter(w for t in texts for w in split_words(t))
        words = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        return cls(list(SPECIALS) + words)

    @classmethod
    def load(cls, path: str | Path) -> Tokenizer:
        return cls(json.loads(Path(path).read_text())["vocab"])

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps({"vocab": self.vocab}, indent=0) + "\n")

    def __len__(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> list[int]:
        """Word ids of ``text`` (unknown words -> ``<unk>``)."""
        return [self.index.get(w, self.unk_id) for w in split_words(text)]

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ``ids``: special tokens dropped, no space before punctuation."""
        words = [self.vocab[i] for i in ids if int(i) >= len(SPECIALS)]
        return re.sub(r" ([.,!?:;])", r"\1", " ".join(words))

    def encode_prompt(self, prompt: str) -> list[int]:
        """``<bos> <user> prompt <assistant>``: the context the model answers."""
        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError("prompt must be a non-empty string")
        return [self.bos_id, self.user_id, *self.encode(prompt), self.assistant_id]

    def encode_chat(self, prompt: str, response: str) -> tuple[list[int], int]:
        """Ids of the full turn and the index where the response starts (response ends with ``<eot>``)."""
        ctx = self.encode_prompt(prompt)
        return ctx + self.encode(response) + [self.eot_id], len(ctx)

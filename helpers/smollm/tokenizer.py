"""SmolLM2's tokenizer: byte-level BPE (Sennrich et al. 2016, arXiv 1508.07909; GPT-2's byte-level variant,
Radford et al. 2019), built with the ``tokenizers`` package from the vocabulary and merges stored in the GGUF.

Three details decide whether the ids equal llama.cpp's (the reference, ``tests/reference/make_smollm_fixtures.py``):

1. The pre-tokenizer is llama.cpp's ``smollm`` type: every digit is split off on its own, then the GPT-2
   byte-level regex splits words, spaces and punctuation.
2. All control tokens (``token_type == 3``: 17 of them, ``<|endoftext|>``, ``<|im_start|>``, ``<|im_end|>``,
   ``<repo_name>``...) are special: they are matched as whole strings before BPE. Registering only the three chat
   tokens mis-tokenizes text that contains the others.
3. No beginning-of-sequence token is added.

Every string encodes (byte-level: unknown characters become their UTF-8 bytes); ``decode`` may produce U+FFFD
for an id sequence that cuts a multi-byte character.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["SmolTokenizer", "CONTROL"]

CONTROL = 3  # GGUF token_type of a control token


class SmolTokenizer:
    """``encode(str) -> list[int]`` and ``decode(ids) -> str`` over SmolLM2's 49,152-token vocabulary."""

    def __init__(self, tokens: Sequence[str], merges: Sequence[str], token_type: Sequence[int],
                 eos_id: int = 2, unk_id: int = 0, pad_id: int = 2):
        from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

        if len(tokens) != len(token_type):
            raise ValueError("tokens and token_type differ in length")
        vocab = {t: i for i, t in enumerate(tokens)}
        pairs = [tuple(m.split(" ", 1)) for m in merges]
        tok = Tokenizer(models.BPE(vocab=vocab, merges=pairs, fuse_unk=False))
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ])
        tok.decoder = decoders.ByteLevel()
        self.special_ids = [i for i, k in enumerate(token_type) if k == CONTROL]
        tok.add_special_tokens([AddedToken(tokens[i], special=True, normalized=False) for i in self.special_ids])
        self._tok = tok
        self.tokens = list(tokens)
        self.eos_id, self.unk_id, self.pad_id = int(eos_id), int(unk_id), int(pad_id)
        self.stop_ids = frozenset({self.eos_id, self.unk_id})  # <|im_end|> and <|endoftext|>

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (special tokens written in the text are recognised; no BOS is added)."""
        if not isinstance(text, str):
            raise ValueError(f"text must be a string, got {type(text).__name__}")
        return list(self._tok.encode(text, add_special_tokens=False).ids)

    def decode(self, ids: Iterable[int], skip_special: bool = False) -> str:
        """The text of ``ids``; ``skip_special=True`` drops the control tokens."""
        ids = [int(i) for i in ids]
        if any(not 0 <= i < len(self.tokens) for i in ids):
            raise ValueError(f"token ids must be in 0..{len(self.tokens) - 1}")
        return self._tok.decode(ids, skip_special_tokens=skip_special)

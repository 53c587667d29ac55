"""Honest robustness and uncertainty for a moderator (notebook 11).

* ``UNSEEN_OBFUSCATIONS`` / ``obfuscate_unseen``: obfuscations that ``normalize`` was *not* written alongside
  (diacritics, homoglyphs outside its confusables table, words split in two, misspellings, emoji letters,
  leetspeak symbols outside its table). ``text.obfuscate`` is the normaliser's own mirror image, so measuring
  with it alone is circular.
* ``greedy_char_attack``: an adaptive, score-based black-box attack in the spirit of Hosseini et al. (2017,
  arXiv 1702.08138, attacks on Perspective) and Gao et al. (2018, DeepWordBug, arXiv 1801.04354): with a query
  budget, repeatedly apply the single-character edit that lowers the moderator's score most.
* ``base_sentence`` / ``clause_reuse``: strip the data set's neutral style layer and find test texts that
  contain a whole training sentence (memory, not generalisation).
* ``cluster_bootstrap_mean`` (from ``helpers.stats``): a percentile bootstrap that resamples whole clusters (families, base sentences)
  instead of texts (Davison & Hinkley 1997, section 3.8; Field & Welsh 2007), because near-duplicate texts
  are not independent and a per-text interval is too narrow.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from helpers.moderation.templates import PREFIXES, SUFFIXES
from helpers.stats import cluster_bootstrap_mean
from helpers.validation import text_list

__all__ = ["UNSEEN_OBFUSCATIONS", "obfuscate_unseen", "AttackResult", "greedy_char_attack", "base_sentence",
           "clause_reuse", "cluster_bootstrap_mean"]

UNSEEN_OBFUSCATIONS: tuple[str, ...] = ("diacritics", "rare_homoglyph", "split_word", "misspelling", "emoji",
                                        "leet_symbols")
_DIACRITICS = {"a": "á", "e": "é", "i": "ï", "o": "ö", "u": "ú", "c": "ç", "n": "ñ", "y": "ý"}
# Look-alikes that are neither in ``text.CONFUSABLES`` nor folded by NFKC (Latin alpha, Armenian, Cherokee-free).
_RARE_HOMOGLYPHS = {"a": "ɑ", "o": "օ", "i": "ı", "l": "ӏ", "n": "ո", "u": "ս", "h": "հ", "g": "ɡ", "s": "ꜱ",
                    "e": "ҽ"}
_EMOJI = {"o": "⭕", "a": "🅰", "b": "🅱", "x": "❌"}
_LEET_SYMBOLS = {"a": "^", "e": "€", "i": "|", "o": "()", "s": "§", "t": "+", "l": "£"}


def _check_rate(rate: float) -> float:
    if not (0.0 <= float(rate) <= 1.0):
        raise ValueError(f"rate must be in [0, 1], got {rate}")
    return float(rate)


def _map_letters(word: str, table: dict[str, str], rng: np.random.Generator) -> str:
    idx = [i for i, c in enumerate(word) if c.lower() in table]
    if not idx:
        return word
    chosen = set(rng.choice(idx, size=max(1, len(idx) // 2), replace=False).tolist())
    return "".join(table[c.lower()] if i in chosen else c for i, c in enumerate(word))


def _obfuscate_word(word: str, kind: str, rng: np.random.Generator) -> str:
    if kind == "diacritics":
        return _map_letters(word, _DIACRITICS, rng)
    if kind == "rare_homoglyph":
        return _map_letters(word, _RARE_HOMOGLYPHS, rng)
    if kind == "emoji":
        return _map_letters(word, _EMOJI, rng)
    if kind == "leet_symbols":
        return _map_letters(word, _LEET_SYMBOLS, rng)
    if kind == "split_word":  # "hate" -> "ha te": two pieces, so it is not a run of single letters
        cut = int(rng.integers(2, len(word) - 1)) if len(word) >= 4 else 1
        return word[:cut] + " " + word[cut:]
    if kind == "misspelling":  # swap two neighbouring inner letters, or drop one
        if len(word) < 4:
            return word
        i = int(rng.integers(1, len(word) - 2))
        if rng.random() < 0.5:
            return word[:i] + word[i + 1] + word[i] + word[i + 2:]
        return word[:i] + word[i + 1:]
    raise ValueError(f"kind must be one of {UNSEEN_OBFUSCATIONS}, got {kind!r}")


def obfuscate_unseen(text: str, kind: str, *, rate: float = 0.5, seed: int = 0) -> str:
    """Obfuscate each ASCII word of 3+ letters with probability ``rate``, with an obfuscation ``normalize``
    does not undo: "diacritics" (hurt → húrt), "rare_homoglyph" (Latin alpha ɑ, Armenian օ, ...),
    "split_word" (hate → ha te), "misspelling" (swap or drop an inner letter), "emoji" (o → ⭕) or
    "leet_symbols" (a → ^, e → €, ...). Deterministic given ``seed``."""
    if not isinstance(text, str):
        raise ValueError(f"text must be a str, got {type(text).__name__}")
    if kind not in UNSEEN_OBFUSCATIONS:
        raise ValueError(f"kind must be one of {UNSEEN_OBFUSCATIONS}, got {kind!r}")
    rate = _check_rate(rate)
    rng = np.random.default_rng(seed)
    return re.sub(r"[A-Za-z]{3,}", lambda m: _obfuscate_word(m.group(0), kind, rng) if rng.random() < rate
                  else m.group(0), text)


@dataclass(frozen=True)
class AttackResult:
    """The attacked text, its score before and after, queries used, and whether it got under the threshold."""

    text: str
    start_score: float
    final_score: float
    queries: int
    success: bool


def _candidates(text: str, rng: np.random.Generator, n: int) -> list[str]:
    letters = [i for i, c in enumerate(text) if c.isalpha() and c.isascii()]
    if not letters:
        return []
    out = []
    for i in rng.choice(letters, size=min(n, 3 * len(letters)), replace=True).tolist():
        c = text[i].lower()
        op = int(rng.integers(3))
        if op == 0 and c in _RARE_HOMOGLYPHS:
            out.append(text[:i] + _RARE_HOMOGLYPHS[c] + text[i + 1:])
        elif op == 1 and 0 < i < len(text) - 1 and text[i - 1].isalpha() and text[i + 1].isalpha():
            out.append(text[:i] + " " + text[i:])          # split the word before letter i
        elif c in _DIACRITICS:
            out.append(text[:i] + _DIACRITICS[c] + text[i + 1:])
        else:
            out.append(text[:i] + text[i + 1:])             # drop the letter
    return list(dict.fromkeys(out))


def greedy_char_attack(score: Callable[[list[str]], np.ndarray], text: str, *, threshold: float = 0.5,
                       budget: int = 200, per_round: int = 25, seed: int = 0) -> AttackResult:
    """Greedy black-box attack on a moderator's score (Hosseini et al. 2017; Gao et al. 2018).

    Each round proposes ``per_round`` single-character edits of the current text (a rare homoglyph, a space
    inside a word, a diacritic, or a dropped letter), queries ``score`` on all of them, and keeps the lowest;
    it stops when the score is below ``threshold``, no edit lowers it, or ``budget`` queries are spent.
    """
    if not isinstance(text, str) or not text:
        raise ValueError("text must be a non-empty str")
    if not (isinstance(budget, int) and budget > 0 and isinstance(per_round, int) and per_round > 0):
        raise ValueError(f"budget and per_round must be positive ints, got {budget!r}, {per_round!r}")
    rng = np.random.default_rng(seed)
    current, best = text, float(score([text])[0])
    start, used = best, 1
    while best >= threshold and used < budget:
        cands = _candidates(current, rng, min(per_round, budget - used))
        if not cands:
            break
        s = np.asarray(score(cands), dtype=float)
        used += len(cands)
        j = int(np.argmin(s))  # first minimum: deterministic
        if s[j] >= best:
            continue
        current, best = cands[j], float(s[j])
    return AttackResult(current, start, best, used, best < threshold)


_PREFIXES = sorted({p.lower() for p in PREFIXES if p}, key=len, reverse=True)
_SUFFIXES = sorted({s.lower() for s in SUFFIXES if s}, key=len, reverse=True)


def base_sentence(text: str) -> str:
    """The sentence without the data set's style layer: lower case, one neutral prefix and suffix removed."""
    if not isinstance(text, str):
        raise ValueError(f"text must be a str, got {type(text).__name__}")
    t = text.lower().strip()
    for p in _PREFIXES:
        if t.startswith(p):
            t = t[len(p):]
            break
    for s in _SUFFIXES:
        if t.endswith(s):
            t = t[: -len(s)]
            break
    return t.strip()


def clause_reuse(test_texts: Sequence[str], train_texts: Sequence[str], min_words: int = 3) -> np.ndarray:
    """For each test text: does it contain a whole training base sentence (of ``min_words``+ words) as a
    contiguous word sequence? Style layer removed on both sides (``base_sentence``)."""
    test, train = text_list(test_texts, "test_texts"), text_list(train_texts, "train_texts")
    words = re.compile(r"[a-z0-9']+")
    known = {" ".join(w) for w in (words.findall(base_sentence(t)) for t in train) if len(w) >= min_words}
    out = np.zeros(len(test), dtype=bool)
    for k, t in enumerate(test):
        w = words.findall(base_sentence(t))
        out[k] = any(" ".join(w[i:j]) in known for i in range(len(w))
                     for j in range(i + min_words, len(w) + 1))
    return out



"""Text normalisation against obfuscation, and the obfuscations themselves (notebook 11).

A moderator that reads raw characters is beaten by writing "h4te", "hаte" (Cyrillic а), "h\u200bate" (a
zero-width space) or "h a t e". ``normalize`` maps each of these back to plain lower-case ASCII words, in the
spirit of Unicode's security recommendations (UTS #39 confusable skeletons, UAX #15 NFKC normalisation):

1. NFKC (fullwidth and mathematical letters become ASCII: "ｈａｔｅ", "𝐡𝐚𝐭𝐞" → "hate");
2. invisible format characters (Unicode category Cf: zero-width space/joiners, soft hyphen, BOM) are removed,
   control characters become spaces;
3. confusables (Cyrillic and Greek letters that look Latin) are folded to the Latin letter;
4. case folding;
5. leetspeak inside a word that also has letters ("h4te" → "hate", "$teal" → "steal"; "2024" is left alone);
6. single letters separated by spaces, dots, dashes, underscores or stars are joined ("h a t e" → "hate");
7. runs of three or more identical letters are squeezed to one ("haaaate" → "hate"), whitespace collapsed.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np

__all__ = [
    "CONFUSABLES",
    "LEET",
    "OBFUSCATIONS",
    "remove_invisible",
    "fold_confusables",
    "fold_leetspeak",
    "collapse_spaced_letters",
    "squeeze_repeats",
    "normalize",
    "obfuscate",
]

# Cyrillic / Greek lookalikes of Latin letters (after Unicode's confusables.txt, UTS #39). Not all are in
# confusables.txt as written: UTS #39 maps Cyrillic н, в, т to the small capitals ʜ, ʙ, ᴛ, not to h, b, t;
# we fold them to the lower-case letters anyway, a looser rule than the standard's.
CONFUSABLES: dict[str, str] = {
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "і": "i", "ј": "j", "ѕ": "s",
    "һ": "h", "ԁ": "d", "ԛ": "q", "ԝ": "w", "к": "k", "м": "m", "т": "t", "в": "b", "н": "h",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T",
    "Х": "X", "У": "Y", "І": "I", "Ј": "J", "Ѕ": "S",
    "α": "a", "ε": "e", "ο": "o", "ρ": "p", "ν": "v", "κ": "k", "ι": "i", "τ": "t", "υ": "u", "χ": "x",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O",
    "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
}
_CONFUSABLE_TABLE = str.maketrans(CONFUSABLES)

# Leetspeak digits and symbols, folded only inside a token that also contains a letter.
LEET: dict[str, str] = {"4": "a", "@": "a", "3": "e", "1": "i", "!": "i", "0": "o", "5": "s", "$": "s", "7": "t"}
_LEET_TABLE = str.maketrans(LEET)
_TOKEN = re.compile(r"([^\sa-z0-9@$!]*)([a-z0-9@$!]+)([^\sa-z0-9@$!]*)")
_SPACED = re.compile(r"(?<![a-z0-9])[a-z](?:[ .\-_*]+[a-z]){2,}(?![a-z0-9])")
_SEPARATORS = re.compile(r"[ .\-_*]+")
_REPEATS = re.compile(r"([a-z])\1{2,}")
_SPACES = re.compile(r"\s+")


def _check_text(text: object, name: str = "text") -> str:
    if not isinstance(text, str):
        raise ValueError(f"{name} must be a str, got {type(text).__name__}")
    return text


def remove_invisible(text: str) -> str:
    """Drop format characters (Unicode category Cf, e.g. U+200B zero-width space); controls become spaces."""
    _check_text(text)
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat == "Cf":
            continue
        out.append(" " if cat == "Cc" else ch)
    return "".join(out)


def fold_confusables(text: str) -> str:
    """Replace Cyrillic/Greek letters that look like Latin ones by the Latin letter (UTS #39 skeleton, subset)."""
    return _check_text(text).translate(_CONFUSABLE_TABLE)


def fold_leetspeak(text: str) -> str:
    """Fold leetspeak (4→a, 3→e, 1→i, 0→o, 5→s, 7→t, @→a, $→s, !→i) in tokens that also contain a letter.

    Expects lower-case input. Pure numbers ("2024", "$5") are unchanged; punctuation around a word (quotes,
    commas, a final "!") is kept as it is.
    """
    _check_text(text)
    return _TOKEN.sub(_fold_token, text)


def _fold_token(m: re.Match[str]) -> str:
    head, core, tail = m.group(1), m.group(2), m.group(3)
    stripped = core.rstrip("!")
    tail = core[len(stripped):] + tail
    if not any(c.isalpha() for c in stripped) or not any(c in LEET for c in stripped):
        return m.group(0)
    return head + stripped.translate(_LEET_TABLE) + tail


def collapse_spaced_letters(text: str) -> str:
    """Join three or more single letters separated by spaces or . - _ * ("h a t e" → "hate", "k.i.l.l" → "kill").

    Expects lower-case input. Two single letters ("a b") are left alone.
    """
    _check_text(text)
    return _SPACED.sub(lambda m: _SEPARATORS.sub("", m.group(0)), text)


def squeeze_repeats(text: str) -> str:
    """Squeeze runs of three or more identical letters to one ("haaaate" → "hate"; "kill" is unchanged)."""
    return _REPEATS.sub(r"\1", _check_text(text))


def normalize(text: str) -> str:
    """Undo common obfuscations: NFKC, invisible characters, confusables, case, leetspeak, spacing, repeats.

    The steps follow Unicode UAX #15 (NFKC) and UTS #39 (confusable detection); see the module docstring.
    Idempotent on its own output: ``normalize(normalize(t)) == normalize(t)``.
    """
    _check_text(text)
    t = unicodedata.normalize("NFKC", text)
    t = remove_invisible(t)
    t = fold_confusables(t)
    t = t.casefold()
    t = fold_leetspeak(t)
    t = collapse_spaced_letters(t)
    t = squeeze_repeats(t)
    return _SPACES.sub(" ", t).strip()


# ----------------------------------------------------------------------------------------------------------
# Obfuscations an attacker might use (for the robustness table)

OBFUSCATIONS: tuple[str, ...] = ("leet", "homoglyph", "zero_width", "spacing", "fullwidth", "mixed")
_LEET_OUT = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}
_HOMOGLYPH_OUT = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у", "i": "і"}


def _obfuscate_word(word: str, kind: str) -> str:
    if kind == "leet":
        return "".join(_LEET_OUT.get(c.lower(), c) for c in word)
    if kind == "homoglyph":
        return "".join(_HOMOGLYPH_OUT.get(c, c) for c in word)
    if kind == "zero_width":
        return "\u200b".join(word)
    if kind == "spacing":
        return " ".join(word)
    if kind == "fullwidth":
        return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in word)
    raise ValueError(f"kind must be one of {OBFUSCATIONS}, got {kind!r}")


def obfuscate(text: str, kind: str, *, rate: float = 1.0, seed: int = 0) -> str:
    """Obfuscate the words of ``text`` (ASCII words of 3+ letters), each with probability ``rate``.

    ``kind``: "leet" (hate → h473), "homoglyph" (Cyrillic lookalikes), "zero_width" (U+200B between letters),
    "spacing" (h a t e; never next to another spaced word or a one-letter word such as "I", so word
    boundaries stay recoverable),
    "fullwidth" (ｈａｔｅ) or "mixed" (a random one of these per word). Deterministic given ``seed``.
    """
    _check_text(text)
    if kind not in OBFUSCATIONS:
        raise ValueError(f"kind must be one of {OBFUSCATIONS}, got {kind!r}")
    if not (0.0 <= rate <= 1.0):
        raise ValueError(f"rate must be in [0, 1], got {rate}")
    rng = np.random.default_rng(seed)
    out: list[str] = []
    last = 0
    last_spaced_end = -1
    for m in re.finditer(r"[A-Za-z]{3,}", text):
        out.append(text[last:m.start()])
        last = m.end()
        if rng.random() >= rate:
            out.append(m.group(0))
            continue
        k = kind if kind != "mixed" else OBFUSCATIONS[int(rng.integers(0, len(OBFUSCATIONS) - 1))]
        if k == "spacing" and (
            (last_spaced_end >= 0 and not text[last_spaced_end:m.start()].strip())
            or re.search(r"(?:^|[^A-Za-z])[A-Za-z]\s+$", text[:m.start()])
            or re.match(r"\s+[A-Za-z](?:[^A-Za-z]|$)", text[m.end():])
        ):
            k = "zero_width"  # keep word boundaries recoverable: no spaced word next to another single letter
        if k == "spacing":
            last_spaced_end = m.end()
        out.append(_obfuscate_word(m.group(0), k))
    out.append(text[last:])
    return "".join(out)

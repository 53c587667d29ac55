"""Moderators: the keyword baseline and a learned TF-IDF + logistic-regression classifier (notebook 11).

Both share one interface:

* ``predict_proba(texts) -> np.ndarray`` of P(unsafe), shape ``[n]``;
* ``predict(texts, threshold=None) -> np.ndarray[bool]`` (``threshold`` defaults to the moderator's own);
* ``category_scores(texts) -> np.ndarray`` of shape ``[n, 5]``, one score per harm category (``CATEGORIES``);
* ``categorize(texts) -> np.ndarray[str]``: the top category for flagged texts, "benign" otherwise.

The learned moderator is the classic strong baseline for text moderation: word uni/bigram and character
2-5-gram TF-IDF features (character n-grams survive misspellings) and one logistic regression per head, one
"unsafe" head plus one-vs-rest heads per category. The shipped model is stored as vocabulary, idf weights
and coefficients in an ``.npz`` file loaded with ``allow_pickle=False``: no code is unpickled.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from helpers.moderation.data import CATEGORIES, LABELS
from helpers.moderation.text import normalize
from helpers.validation import text_list as validate_texts

__all__ = ["KEYWORDS", "KeywordModerator", "LearnedModerator", "keyword_baseline", "train_moderator",
           "load_moderator", "save_moderator", "MODEL_FILE", "validate_texts"]

MODEL_FILE = "moderator.npz"
HEADS: tuple[str, ...] = ("unsafe", *CATEGORIES)

# The naive filter: a word list per category, the kind of list a team writes in an afternoon.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "violence": ("kill", "murder", "shoot", "stab", "bomb", "attack", "beat up", "weapon", "gun"),
    "harassment": ("idiot", "stupid", "loser", "ugly", "worthless", "pathetic", "shut up"),
    "self_harm": ("suicide", "kill myself", "die", "cutting", "self-harm"),
    "hate": ("hate", "vermin", "subhuman", "parasites"),
    "illegal": ("steal", "drugs", "cocaine", "hack", "fake id", "counterfeit", "launder"),
}


def _check_threshold(threshold: float) -> float:
    if not isinstance(threshold, (int, float, np.floating)) or not (0.0 <= float(threshold) <= 1.0):
        raise ValueError(f"threshold must be a number in [0, 1], got {threshold!r}")
    return float(threshold)


class _Moderator:
    threshold: float

    def category_scores(self, texts: Sequence[str]) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def predict(self, texts: Sequence[str], threshold: float | None = None) -> np.ndarray:
        """Flag texts whose P(unsafe) is at least ``threshold`` (default: the moderator's threshold)."""
        t = self.threshold if threshold is None else _check_threshold(threshold)
        return self.predict_proba(texts) >= t

    def categorize(self, texts: Sequence[str], threshold: float | None = None) -> np.ndarray:
        """The highest-scoring category for each flagged text, "benign" for the others."""
        items = validate_texts(texts)
        flagged = self.predict(items, threshold)
        scores = self.category_scores(items)
        top = np.array(CATEGORIES, dtype=object)[np.argmax(scores, axis=1)] if len(items) else np.array([])
        return np.where(flagged, top, "benign").astype(object)


@dataclass(frozen=True)
class KeywordModerator(_Moderator):
    """Flag a text when a keyword matches as a whole word: P(unsafe) = 1 - 2^-(number of hits).

    ``use_normalize`` runs ``normalize`` first (off by default: the naive filter reads raw text).
    """

    keywords: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(KEYWORDS))
    threshold: float = 0.5
    use_normalize: bool = False

    def _hits(self, texts: Sequence[str]) -> np.ndarray:
        items = validate_texts(texts)
        patterns = [re.compile(r"\b(?:" + "|".join(re.escape(k) for k in self.keywords[c]) + r")\b")
                    for c in CATEGORIES]
        hits = np.zeros((len(items), len(CATEGORIES)))
        for i, t in enumerate(items):
            t = normalize(t) if self.use_normalize else t.lower()
            for j, p in enumerate(patterns):
                hits[i, j] = len(p.findall(t))
        return hits

    def category_scores(self, texts: Sequence[str]) -> np.ndarray:
        """Per category: 1 - 2^-(hits of that category's keywords)."""
        return 1.0 - 0.5 ** self._hits(texts)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """1 - 2^-(total keyword hits): 0 without a hit, 0.5 with one, 0.75 with two..."""
        return 1.0 - 0.5 ** self._hits(texts).sum(axis=1)


def keyword_baseline(threshold: float = 0.5, use_normalize: bool = False) -> KeywordModerator:
    """The naive regex moderator (the baseline to beat): flags any text containing a word from ``KEYWORDS``."""
    return KeywordModerator(threshold=_check_threshold(threshold), use_normalize=bool(use_normalize))


_WORD_PARAMS: dict[str, Any] = {"analyzer": "word", "ngram_range": (1, 2), "sublinear_tf": True, "min_df": 2,
                                "token_pattern": r"(?u)\b\w+\b", "dtype": np.float64}
_CHAR_PARAMS: dict[str, Any] = {"analyzer": "char_wb", "ngram_range": (2, 5), "sublinear_tf": True, "min_df": 2,
                                "dtype": np.float64}


@dataclass(frozen=True)
class LearnedModerator(_Moderator):
    """TF-IDF (word 1-2-grams + character 2-5-grams) features and one logistic regression per head.

    ``coef`` has one row per head in ``HEADS`` ("unsafe", then the categories); scores are
    sigma(x . w + b) (logistic regression, e.g. Bishop 2006, eq. 4.87). ``use_normalize`` applies
    ``normalize`` before featurising (the model was trained on normalised text).
    """

    word: TfidfVectorizer
    char: TfidfVectorizer
    coef: np.ndarray
    intercept: np.ndarray
    threshold: float = 0.5
    use_normalize: bool = True

    def features(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """The TF-IDF feature matrix, shape ``[n, n_word + n_char]``."""
        items = validate_texts(texts)
        if self.use_normalize:
            items = [normalize(t) for t in items]
        else:
            items = [t.lower() for t in items]
        return sparse.hstack([self.word.transform(items), self.char.transform(items)], format="csr")

    def _scores(self, texts: Sequence[str]) -> np.ndarray:
        items = validate_texts(texts)
        if not items:
            return np.zeros((0, len(HEADS)))
        z = self.features(items) @ self.coef.T + self.intercept
        p = 1.0 / (1.0 + np.exp(-z))
        empty = np.array([not t.strip() for t in items])
        p[empty] = 0.0  # an empty text is never flagged
        return p

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """P(unsafe) for each text, shape ``[n]``."""
        return self._scores(texts)[:, 0]

    def category_scores(self, texts: Sequence[str]) -> np.ndarray:
        """One-vs-rest probability of each category, shape ``[n, 5]`` (columns in ``CATEGORIES`` order)."""
        return self._scores(texts)[:, 1:]

    def with_options(self, **changes: Any) -> LearnedModerator:
        """A copy with ``threshold`` and/or ``use_normalize`` changed."""
        unknown = set(changes) - {"threshold", "use_normalize"}
        if unknown:
            raise ValueError(f"only threshold and use_normalize can change, got {sorted(unknown)}")
        if "threshold" in changes:
            changes["threshold"] = _check_threshold(changes["threshold"])
        return dataclasses.replace(self, **changes)


def train_moderator(texts: Sequence[str], labels: Sequence[str], *, C: float = 10.0, threshold: float = 0.5,
                    use_normalize: bool = True) -> LearnedModerator:
    """Fit the learned moderator on ``texts`` with ``labels`` (each a category in ``CATEGORIES`` or "benign").

    scikit-learn does the learning: ``TfidfVectorizer`` (word and char_wb) and ``LogisticRegression``
    (liblinear, L2 penalty of strength 1/C, balanced class weights), one binary problem per head.
    Deterministic: liblinear's dual coordinate descent is seeded with ``random_state=0``.
    """
    items = validate_texts(texts)
    labs = validate_texts(labels, "labels")
    if len(items) != len(labs):
        raise ValueError(f"texts and labels must have the same length, got {len(items)} and {len(labs)}")
    bad = [i for i, lab in enumerate(labs) if lab not in LABELS]
    if bad:
        raise ValueError(f"labels[{bad[0]}] must be one of {LABELS}, got {labs[bad[0]]!r}")
    if not (C > 0):
        raise ValueError(f"C must be positive, got {C}")
    y = np.array(labs)
    if (y == "benign").all() or (y != "benign").all():
        raise ValueError("labels must contain both benign and unsafe examples")
    prepared = [normalize(t) if use_normalize else t.lower() for t in items]
    word = TfidfVectorizer(**_WORD_PARAMS)
    char = TfidfVectorizer(**_CHAR_PARAMS)
    x = sparse.hstack([word.fit_transform(prepared), char.fit_transform(prepared)], format="csr")
    coef = np.zeros((len(HEADS), x.shape[1]))
    intercept = np.zeros(len(HEADS))
    for h, head in enumerate(HEADS):
        target = (y != "benign") if head == "unsafe" else (y == head)
        if target.all() or not target.any():
            intercept[h] = 30.0 if target.all() else -30.0  # a degenerate head: constant score
            continue
        clf = LogisticRegression(C=C, solver="liblinear", class_weight="balanced", random_state=0,
                                 max_iter=1000)
        clf.fit(x, target)
        coef[h], intercept[h] = clf.coef_[0], clf.intercept_[0]
    return LearnedModerator(word, char, coef, intercept, _check_threshold(threshold), bool(use_normalize))


def save_moderator(model: LearnedModerator, path: str) -> None:
    """Store vocabularies, idf weights and coefficients in a compressed ``.npz`` (no pickled objects)."""
    def vocab(v: TfidfVectorizer) -> np.ndarray:
        words = sorted(v.vocabulary_, key=v.vocabulary_.get)
        return np.array(words, dtype=str)

    meta = {"threshold": model.threshold, "use_normalize": model.use_normalize, "heads": list(HEADS)}
    np.savez_compressed(path, word_vocab=vocab(model.word), char_vocab=vocab(model.char),
                        word_idf=model.word.idf_, char_idf=model.char.idf_, coef=model.coef.astype(np.float32),
                        intercept=model.intercept, meta=np.array(json.dumps(meta)))


def _vectorizer(params: dict[str, Any], vocab: np.ndarray, idf: np.ndarray) -> TfidfVectorizer:
    v = TfidfVectorizer(**params, vocabulary={str(w): i for i, w in enumerate(vocab)})
    v.idf_ = idf
    return v


def load_moderator(path: str | None = None) -> LearnedModerator:
    """The learned moderator shipped with the package (trained on the train split by ``build.py``)."""
    if path is None:
        with resources.as_file(resources.files("helpers.moderation").joinpath(MODEL_FILE)) as p:
            return load_moderator(str(p))
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        if tuple(meta["heads"]) != HEADS:
            raise ValueError(f"{path}: heads {meta['heads']} do not match {HEADS}")
        return LearnedModerator(_vectorizer(_WORD_PARAMS, z["word_vocab"], z["word_idf"]),
                                _vectorizer(_CHAR_PARAMS, z["char_vocab"], z["char_idf"]),
                                z["coef"].astype(np.float64), z["intercept"], float(meta["threshold"]),
                                bool(meta["use_normalize"]))

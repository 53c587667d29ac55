"""The course's moderation data set: built deterministically from ``templates.py``, shipped as a CSV.

``build_dataset(seed=0)`` fills each family's frames with slot words until it has the family's quota of
distinct texts; ``moderation.csv`` (package data) is its output for seed 0, and a test checks that the file
and the builder agree. See ``DATASHEET.md`` for what the set is and what it cannot represent.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from importlib import resources

import numpy as np

from helpers.moderation.templates import FAMILIES, PREFIXES, SLOTS, SUFFIXES

__all__ = ["CATEGORIES", "LABELS", "Dataset", "build_dataset", "load_dataset", "DATA_FILE"]

CATEGORIES: tuple[str, ...] = ("violence", "harassment", "self_harm", "hate", "illegal")
LABELS: tuple[str, ...] = (*CATEGORIES, "benign")
DATA_FILE = "moderation.csv"
_FIELDS = ("text", "label", "family", "split", "trigger")
_SLOT = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Dataset:
    """Parallel arrays: ``texts``, ``labels`` (a category or "benign"), ``families``, ``splits``, ``trigger``."""

    texts: np.ndarray
    labels: np.ndarray
    families: np.ndarray
    splits: np.ndarray
    trigger: np.ndarray

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def unsafe(self) -> np.ndarray:
        """Boolean array: True for texts in any harm category."""
        return self.labels != "benign"

    def subset(self, mask: np.ndarray) -> Dataset:
        """The rows where ``mask`` is True."""
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != self.texts.shape:
            raise ValueError(f"mask must have shape {self.texts.shape}, got {mask.shape}")
        return Dataset(self.texts[mask], self.labels[mask], self.families[mask], self.splits[mask],
                       self.trigger[mask])

    def split(self, name: str) -> Dataset:
        """The "train" or "test" split."""
        if name not in ("train", "test"):
            raise ValueError(f"name must be 'train' or 'test', got {name!r}")
        return self.subset(self.splits == name)


def _fill(template: str, rng: np.random.Generator, forced: dict[str, str] | None = None) -> str:
    fixed = forced or {}
    return _SLOT.sub(lambda m: fixed[m.group(1)] if m.group(1) in fixed
                     else SLOTS[m.group(1)][int(rng.integers(len(SLOTS[m.group(1)])))], template)


def _style(text: str, rng: np.random.Generator) -> str:
    prefix = PREFIXES[int(rng.integers(len(PREFIXES)))]
    suffix = SUFFIXES[int(rng.integers(len(SUFFIXES)))]
    body = text if prefix else text[0].upper() + text[1:]
    if prefix and not body.startswith("I "):
        body = body[0].lower() + body[1:]
    out = prefix + body + suffix
    return out.lower() if rng.random() < 0.2 else out


def build_dataset(seed: int = 0) -> list[dict[str, str]]:
    """Generate the data set: one dict per text with keys text, label, family, split, trigger ("0"/"1").

    Each family gets its quota ``n`` of distinct texts (frames × slot words × a neutral prefix/suffix/case
    style shared by all labels, so style carries no label information). Deterministic given ``seed``.
    """
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    rows: list[dict[str, str]] = []
    seen: set[str] = set()
    for index, family in enumerate(FAMILIES):
        rng = np.random.default_rng([int(seed), index])
        count = 0
        for _ in range(200 * family.n):
            forced = {"group": SLOTS["group"][count % len(SLOTS["group"])]} if family.balanced else None
            text = _style(_fill(family.templates[int(rng.integers(len(family.templates)))], rng, forced), rng)
            key = text.lower()
            if key in seen:
                continue
            seen.add(key)
            rows.append({"text": text, "label": family.label, "family": family.name, "split": family.split,
                         "trigger": "1" if family.trigger else "0"})
            count += 1
            if count == family.n:
                break
    return rows


def load_dataset() -> Dataset:
    """The shipped data set (``helpers/moderation/moderation.csv``)."""
    with resources.files("helpers.moderation").joinpath(DATA_FILE).open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return Dataset(
        texts=np.array([r["text"] for r in rows], dtype=object),
        labels=np.array([r["label"] for r in rows]),
        families=np.array([r["family"] for r in rows]),
        splits=np.array([r["split"] for r in rows]),
        trigger=np.array([r["trigger"] == "1" for r in rows]),
    )


def write_dataset(path: str, seed: int = 0) -> int:
    """Write ``build_dataset(seed)`` as CSV to ``path``; return the number of rows."""
    rows = build_dataset(seed)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)

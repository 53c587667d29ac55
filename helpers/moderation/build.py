"""Rebuild the shipped data set and model: ``python -m helpers.moderation.build``.

Writes ``moderation.csv`` (``build_dataset(seed=0)``) and ``moderator.npz`` (``train_moderator`` on the
train split with its default settings) next to this file. Both are deterministic; tests check that the
shipped files equal a rebuild.
"""

from __future__ import annotations

from pathlib import Path

from helpers.moderation.data import DATA_FILE, load_dataset, write_dataset
from helpers.moderation.model import MODEL_FILE, save_moderator, train_moderator

HERE = Path(__file__).resolve().parent


def main() -> None:
    n = write_dataset(str(HERE / DATA_FILE), seed=0)
    train = load_dataset().split("train")
    save_moderator(train_moderator(list(train.texts), list(train.labels)), str(HERE / MODEL_FILE))
    print(f"wrote {n} texts to {DATA_FILE} and the model to {MODEL_FILE}")


if __name__ == "__main__":
    main()

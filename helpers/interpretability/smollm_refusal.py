"""Notebook 05 on the real model: the refusal direction of SmolLM2 after notebook 13's alignment.

Notebook 13 aligned SmolLM2 with LoRA on blocks 20..29 only (``helpers.rlhf.smollm_safety``), so the residual
stream up to point 20 (the input of block 20; points numbered as ``SmolChat.hidden_states``: 0 = embeddings,
i = output of block i - 1) is the *base* model's, bit for bit. Whatever the aligned model refuses on, it reads
there from features the base model already computed. ``POINT = 20`` is chosen for that reason, before looking at
any result: it is the last point the alignment did not change and the first the adapters read.

- **Direction** (Arditi et al. 2024, arXiv 2406.11717, eq. 1): r = mean over harmful prompts minus mean over
  harmless (benign and trigger-word) prompts of the stream at ``POINT``, at the last token of the chat template,
  on the *train* families of ``helpers.smollm.prompts`` (``fit_refusal_direction``).
- **Edits** (``helpers.interpretability.steer``): zero ablation of r at every point and position (Arditi et al.
  eq. 4), affine ablation that sets the coordinate along r to the harmless mean's at each point (Marshall,
  Scherlis & Belrose 2024, arXiv 2411.09003), and activation addition of r at ``POINT`` (Arditi et al. eq. 5).
  Every edit has a control that differs only in the direction: a random direction of the same norm.
- **Deviations from Arditi et al.**: one position (the template's last token) and a point fixed a priori, not
  selected on validation data; the references of the affine edit are last-token means, applied at every
  position; the model is one we aligned ourselves, with the refusal trained into the top ten blocks.

The measurements ship in ``smollm_refusal.json`` and ``smollm_refusal_direction.npz``, made by
``python tools/rebuild.py smollm-refusal`` (``smollm_refusal_build``); ``DATASHEET_smollm_refusal.md``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from helpers.smollm.chat import SmolChat
from helpers.smollm.prompts import prompt_families
from helpers.smollm.safety import format_rate

__all__ = ["POINT", "EDITS", "RefusalDirection", "fit_refusal_direction", "refusal_edit", "random_like",
           "held_out_first_prompts", "refusal_table", "save_direction", "load_direction", "load_smollm_refusal", "SMOLLM_REFUSAL_PATH",
           "SMOLLM_DIRECTION_PATH", "SMOLLM_REFUSAL_SHINGLES_PATH"]

POINT = 20  # the input of block 20: the last residual point notebook 13's adapters leave unchanged
EDITS = ("zero-ablate", "affine-ablate", "add")
SMOLLM_REFUSAL_PATH = Path(__file__).with_name("smollm_refusal.json")
SMOLLM_DIRECTION_PATH = Path(__file__).with_name("smollm_refusal_direction.npz")
SMOLLM_REFUSAL_SHINGLES_PATH = Path(__file__).with_name("smollm_refusal_shingles.txt")


@dataclass(frozen=True)
class RefusalDirection:
    direction: torch.Tensor   # (d_model,) r = mean(harmful) - mean(harmless) at ``point``, not normalised
    references: torch.Tensor  # (n_layers + 1, d_model) mean harmless stream at every point (affine ablation)
    point: int


@torch.no_grad()
def _mean_states(chat: SmolChat, texts: Sequence[str], batch: int = 16) -> torch.Tensor:
    """Mean over ``texts`` of the stream at every point, last template token: ``(n_layers + 1, d_model)``."""
    if not texts:
        raise ValueError("no prompts to average")
    total = torch.zeros(chat.n_layers + 1, chat.d_model)
    for i in range(0, len(texts), batch):
        total += chat.hidden_states(list(texts[i:i + batch])).sum(0)
    return total / len(texts)


def fit_refusal_direction(chat: SmolChat, point: int = POINT, split: str = "train",
                          per_family: int | None = None) -> RefusalDirection:
    """The difference of means at ``point`` between the harmful and the harmless (benign and trigger-word)
    prompts of ``split`` (``per_family``: only the first prompts of each family), and the harmless means at
    every point (module docstring)."""
    if not 0 <= point <= chat.n_layers:
        raise ValueError(f"point must be in 0..{chat.n_layers}, got {point}")

    def pick(kinds: Sequence[str]) -> list[str]:
        return [p for k in kinds for f in prompt_families(k, split) for p in f.prompts[:per_family]]

    harmful, harmless = _mean_states(chat, pick(["harmful"])), _mean_states(chat, pick(["benign", "trigger"]))
    return RefusalDirection(harmful[point] - harmless[point], harmless, point)


def random_like(direction: torch.Tensor, seed: int) -> torch.Tensor:
    """A random direction of the same norm as ``direction`` (Gaussian, drawn with ``seed``): the control."""
    v = torch.randn(direction.shape[0], generator=torch.Generator().manual_seed(int(seed)))
    return v / v.norm() * direction.norm()


def refusal_edit(chat: SmolChat, fitted: RefusalDirection, edit: str,
                 direction: torch.Tensor | None = None) -> contextlib.AbstractContextManager[None]:
    """The ``edit`` (one of ``EDITS``) of ``fitted``, or of ``direction`` in its place (the random control),
    as a context manager (``interpretability.steer``). Generate with ``positionwise_hooks=True``: every edit
    acts on each position on its own."""
    from helpers.interpretability import steer

    if edit not in EDITS:
        raise ValueError(f"edit must be one of {EDITS}, got {edit!r}")
    v = fitted.direction if direction is None else direction
    if edit == "zero-ablate":
        return steer(chat, v, "ablate")
    if edit == "affine-ablate":
        return steer(chat, v, "ablate", reference=fitted.references)
    return steer(chat, v, "add", layers=fitted.point)


def save_direction(path: str | Path, fitted: RefusalDirection) -> None:
    """Write ``fitted`` as an npz file (``direction``, ``references``, ``point``; ``load_direction`` reads it)."""
    np.savez(Path(path), direction=fitted.direction.numpy(), references=fitted.references.numpy(),
             point=np.array(fitted.point))


def load_direction(path: str | Path = SMOLLM_DIRECTION_PATH) -> RefusalDirection:
    """The shipped direction (``smollm_refusal_build``): fitted on every train prompt of the aligned model."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no direction file at {path}")
    with np.load(path) as z:
        return RefusalDirection(torch.from_numpy(z["direction"].copy()), torch.from_numpy(z["references"].copy()),
                                int(z["point"]))


def load_smollm_refusal(path: str | Path = SMOLLM_REFUSAL_PATH) -> dict[str, Any]:
    """The shipped measurements: ``conditions`` (model, edit, direction, seed, rates, judgements, KL)."""
    import json

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no results file at {path}")
    return json.loads(path.read_text())


def held_out_first_prompts(kinds: Sequence[str] = ("harmful", "trigger", "benign")) -> list[tuple[str, str, str]]:
    """(kind, family, prompt) for the first prompt of every held-out family of ``kinds`` (the live check)."""
    return [(k, f.name, f.prompts[0]) for k in kinds for f in prompt_families(k, "held_out")]


def refusal_table(results: dict[str, Any]) -> str:
    """The shipped measurements (``load_smollm_refusal()``) as a markdown table: per model and edit, the refused
    fraction of held-out harmful, trigger-word and benign prompts (for r: with its 95 % family-bootstrap interval;
    for the random controls: the mean over seeds and their range) and the KL per token on benign answers.
    ``DATASHEET_smollm_refusal.md`` and notebook 05 show this table."""
    kinds = ("harmful", "trigger", "benign")
    try:
        groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}  # in file order
        for c in results["conditions"]:
            groups.setdefault((c["model"], c["edit"], c["direction"]), []).append(c)
        rows = []
        for (model, edit, direction), group in groups.items():
            if len(group) == 1:
                cells = [format_rate(group[0]["rates"][k]) for k in kinds]
                kl = f"{group[0]['benign_kl_per_token']:.2f}"
                label = direction
            else:
                cells = []
                for k in kinds:
                    v = [d["rates"][k]["refused"] for d in group]
                    cells.append(f"{np.mean(v):.2f} ({min(v):.2f}–{max(v):.2f})")
                kls = [d["benign_kl_per_token"] for d in group]
                kl = f"{np.mean(kls):.2f} ({min(kls):.2f}–{max(kls):.2f})"
                label = f"{direction}, {len(group)} seeds"
            shown = "none" if edit == "none" else f"{edit} {label}"
            rows.append(f"| {model} | {shown} | " + " | ".join(cells) + f" | {kl} |")
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"not a smollm_refusal.json result: {err!r}") from None
    head = ["| model | edit | harmful: refused | trigger-word: refused | benign: refused | KL per token on benign |",
            "|---|---|---|---|---|---|"]
    return "\n".join(head + rows)

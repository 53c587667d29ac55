"""LoRA for SmolLM2 (Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models", arXiv 2106.09685):
a frozen weight W gets a trainable low-rank update, ``h = W x + (alpha / r) B A x`` (their Eq. 3), with A
(r x d_in) random and B (d_out x r) zero at the start, so training starts from the base model exactly.

``add_lora`` wraps matrices of chosen blocks, ``remove_lora`` puts them back (merged or not), ``save_adapter`` /
``load_adapter`` write and read the A and B matrices, ``apply_adapter`` merges a saved adapter into a model's
weights (generation then costs what the base model costs). Training lives with the lesson that teaches it
(notebook 13: ``helpers.rlhf.smollm_safety``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from helpers.smollm.chat import SmolChat, is_shared

__all__ = ["LoRALinear", "TARGETS", "add_lora", "remove_lora", "save_adapter", "load_adapter", "apply_adapter"]

TARGETS = ("attn.q", "attn.k", "attn.v", "attn.o", "mlp.gate", "mlp.up", "mlp.down")


class LoRALinear(nn.Module):
    """``base(x) + (alpha / rank) * B A x`` (Hu et al. 2021, Eq. 3); A ~ N(0, 1/d_in), B = 0 (their §4.1)."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float, generator: torch.Generator):
        super().__init__()
        self.base = base
        self.scale = alpha / rank
        self.A = nn.Parameter(torch.randn(rank, base.in_features, generator=generator) / math.sqrt(base.in_features))
        self.B = nn.Parameter(torch.zeros(base.out_features, rank))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + self.scale * F.linear(F.linear(x, self.A), self.B)

    def delta(self) -> torch.Tensor:
        """The weight update (alpha / rank) B A that merging adds to the base weight."""
        return self.scale * self.B @ self.A


def _module(model: nn.Module, name: str) -> tuple[nn.Module, str]:
    parent_name, _, leaf = name.rpartition(".")
    return model.get_submodule(parent_name), leaf


def add_lora(model: nn.Module, layers: Sequence[int], rank: int = 8, alpha: float = 16.0,
             seed: int = 0) -> dict[str, LoRALinear]:
    """Wrap every ``TARGETS`` matrix of ``model.blocks[layers]`` in a ``LoRALinear`` (in place) and return them
    by name (``"blocks.20.attn.q"``). Only their A and B require gradients."""
    if not isinstance(rank, int) or rank < 1:
        raise ValueError(f"rank must be an int >= 1, got {rank!r}")
    n = len(model.blocks)
    if not layers or any(not 0 <= i < n for i in layers):
        raise ValueError(f"layers must be a non-empty list of block indices in 0..{n - 1}")
    gen = torch.Generator().manual_seed(int(seed))
    loras: dict[str, LoRALinear] = {}
    for i in layers:
        for t in TARGETS:
            name = f"blocks.{i}.{t}"
            parent, leaf = _module(model, name)
            base = getattr(parent, leaf)
            if isinstance(base, LoRALinear):
                raise ValueError(f"{name} already has a LoRA adapter")
            loras[name] = LoRALinear(base, rank, alpha, gen)
            setattr(parent, leaf, loras[name])
    return loras


@torch.no_grad()
def remove_lora(model: nn.Module, loras: dict[str, LoRALinear], merge: bool = True) -> None:
    """Put the base matrices back; with ``merge`` add each adapter's ``delta()`` to its base weight first."""
    for name, lora in loras.items():
        if merge:
            lora.base.weight += lora.delta()
        parent, leaf = _module(model, name)
        setattr(parent, leaf, lora.base)


def save_adapter(path: str | Path, loras: dict[str, LoRALinear], config: Any,
                 extra: dict[str, Any] | None = None) -> Path:
    """Write the adapters' A and B (float32) and ``config`` (a dataclass or dict with at least ``rank`` and
    ``alpha``; JSON) to an ``.npz`` file."""
    arrays = {f"{k}.{ab}": getattr(m, ab).detach().numpy().astype(np.float32)
              for k, m in loras.items() for ab in ("A", "B")}
    cfg = asdict(config) if is_dataclass(config) else dict(config)
    if not {"rank", "alpha"} <= cfg.keys():
        raise ValueError("config must give the adapter's rank and alpha")
    meta = {"config": cfg, **(extra or {})}
    path = Path(path)
    np.savez_compressed(path, __meta__=np.array(json.dumps(meta, sort_keys=True)), **arrays)
    return path


def load_adapter(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays and the metadata written by ``save_adapter``."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no adapter file at {path}")
    with np.load(path) as z:
        meta = json.loads(str(z["__meta__"]))
        arrays = {k: z[k] for k in z.files if k != "__meta__"}
    return arrays, meta


@torch.no_grad()
def apply_adapter(chat: SmolChat, path: str | Path) -> dict[str, Any]:
    """Merge the adapter at ``path`` into ``chat.model``'s weights (W += (alpha / rank) B A), in place; returns
    its metadata. Only on a private copy (``load_smollm(cache=False)``): the shared base model is refused."""
    if is_shared(chat):
        raise ValueError("apply_adapter would change the shared base model: use load_smollm(cache=False)")
    arrays, meta = load_adapter(path)
    cfg = meta["config"]
    scale = cfg["alpha"] / cfg["rank"]
    for key in sorted({k.rsplit(".", 1)[0] for k in arrays}):
        parent, leaf = _module(chat.model, key)
        lin = getattr(parent, leaf)
        if isinstance(lin, LoRALinear):
            raise ValueError(f"{key} has an unmerged LoRA adapter")
        lin.weight += scale * torch.from_numpy(arrays[f"{key}.B"]) @ torch.from_numpy(arrays[f"{key}.A"])
    return meta

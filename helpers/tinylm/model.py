"""TinyGPT: a small decoder-only transformer (Radford et al. 2019; Vaswani et al. 2017, arXiv 1706.03762).

Pre-LayerNorm blocks: ``x = x + attn(ln1(x)); x = x + mlp(ln2(x))``. The residual stream passes through an
``nn.Identity`` probe at every layer: ``model.resid[0]`` after the embeddings, ``model.resid[i]`` after block
``i`` (so ``n_layers + 1`` points). Read or edit it with ordinary torch forward hooks on those modules, or use
``helpers.tinylm.edit_residual`` / ``TinyChat.hidden_states``.

Generation can reuse the keys and values of earlier positions (a *key/value cache*): ``prefill`` runs the
context once and returns the cache, ``extend`` runs only the new tokens against it. The logits equal those of
a full ``forward`` up to float rounding. With a cache each forward pass sees only the new positions, so a
residual-stream hook would see ``(batch, 1, d_model)`` instead of the whole sequence: ``TinyChat`` generates
without the cache whenever a hook is registered (``has_hooks``), so edits keep their meaning.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

__all__ = ["GPTConfig", "TinyGPT", "KVCache", "has_hooks"]

KVCache = list[tuple[torch.Tensor, torch.Tensor]]  # per layer: keys and values, (batch, heads, time, d_head)


@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    d_mlp: int = 256
    max_len: int = 64

    def to_dict(self) -> dict:
        return asdict(self)


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.n_heads = cfg.n_heads
        self.ln1, self.ln2 = nn.LayerNorm(cfg.d_model), nn.LayerNorm(cfg.d_model)
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.mlp = nn.Sequential(nn.Linear(cfg.d_model, cfg.d_mlp), nn.GELU(), nn.Linear(cfg.d_mlp, cfg.d_model))

    def forward(self, x: torch.Tensor, mask: torch.Tensor,
                past: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """New residual stream for the ``t`` positions of ``x``, and the keys/values of all positions so far.
        ``mask`` ``(batch or 1, 1, t, past + t)``: which keys each query may attend to."""
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        q, k, v = (z.view(b, t, self.n_heads, d // self.n_heads).transpose(1, 2) for z in (q, k, v))
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(d // self.n_heads)
        att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        x = x + self.proj((att @ v).transpose(1, 2).reshape(b, t, d))
        return x + self.mlp(self.ln2(x)), (k, v)


class TinyGPT(nn.Module):
    """Token + position embeddings, ``n_layers`` blocks, final LayerNorm, unembedding."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.cfg = cfg
        self.tok = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos = nn.Embedding(cfg.max_len, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.resid = nn.ModuleList(nn.Identity() for _ in range(cfg.n_layers + 1))
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)

    def forward(self, idx: torch.Tensor, pad_mask: torch.Tensor | None = None,
                last_only: bool = False) -> torch.Tensor:
        """Logits ``(batch, time, vocab)`` for token ids ``idx`` ``(batch, time)`` (``(batch, 1, vocab)`` for
        the last position only with ``last_only=True``: what generation needs).

        ``pad_mask`` (bool, ``True`` = real token) allows left-padded batches: positions count from each
        row's first real token and padding is never attended to (a position always sees itself).
        """
        return self.prefill(idx, pad_mask, last_only)[0]

    def prefill(self, idx: torch.Tensor, pad_mask: torch.Tensor | None = None,
                last_only: bool = False) -> tuple[torch.Tensor, KVCache]:
        """``forward`` that also returns the key/value cache of every layer (for ``extend``)."""
        b, t = idx.shape
        causal = torch.ones(t, t, dtype=torch.bool, device=idx.device).tril()
        if pad_mask is None:
            pos = torch.arange(t, device=idx.device).expand(b, t)
            mask = causal.view(1, 1, t, t)
        else:
            pos = (pad_mask.long().cumsum(dim=1) - 1).clamp(min=0)
            mask = (causal.view(1, t, t) & pad_mask.view(b, 1, t)) | torch.eye(t, dtype=torch.bool).view(1, t, t)
            mask = mask.view(b, 1, t, t)
        return self._run(idx, pos, mask, None, last_only)

    def extend(self, idx: torch.Tensor, cache: KVCache, pad_mask: torch.Tensor) -> tuple[torch.Tensor, KVCache]:
        """Logits ``(batch, 1, vocab)`` for one new token per row, ``idx`` ``(batch, 1)``, appended after the
        cached positions; ``pad_mask`` ``(batch, cached + 1)`` marks the real tokens including the new one.
        Returns the logits and the longer cache."""
        t = pad_mask.shape[1]
        pos = pad_mask.long().sum(dim=1, keepdim=True) - 1
        return self._run(idx, pos, pad_mask.view(-1, 1, 1, t), cache, False)

    def _run(self, idx: torch.Tensor, pos: torch.Tensor, mask: torch.Tensor, past: KVCache | None,
             last_only: bool) -> tuple[torch.Tensor, KVCache]:
        t = mask.shape[-1]  # cached + new positions
        if t > self.cfg.max_len:
            raise ValueError(f"sequence of {t} tokens is longer than max_len={self.cfg.max_len}")
        x = self.resid[0](self.tok(idx) + self.pos(pos))
        cache: KVCache = []
        for i, block in enumerate(self.blocks):
            x, kv = block(x, mask, None if past is None else past[i])
            x = self.resid[i + 1](x)
            cache.append(kv)
        return self.head(self.ln_f(x[:, -1:] if last_only else x)), cache


def has_hooks(module: nn.Module) -> bool:
    """True if a forward (pre-)hook is registered on ``module``, any submodule, or globally."""
    from torch.nn.modules import module as _m

    if _m._global_forward_hooks or _m._global_forward_pre_hooks:
        return True
    return any(m._forward_hooks or m._forward_pre_hooks for m in module.modules())

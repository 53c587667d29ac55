"""A readable Llama (Touvron et al. 2023, arXiv 2302.13971) in plain torch, sized as SmolLM2-135M
(Allal et al. 2025, arXiv 2502.02737): 30 pre-norm blocks of width 576, 9 query heads sharing 3 key/value heads.

One block: ``x = x + attn(rmsnorm(x)); x = x + swiglu(rmsnorm(x))``, then a final RMSNorm and the output head,
which is the transposed token embedding (tied weights). The pieces, one per class or function:

- RMSNorm (Zhang & Sennrich 2019, arXiv 1910.07467, Eq. 4): ``x / sqrt(mean(x^2) + eps) * g``.
- Rotary position embedding, RoPE (Su et al. 2021, arXiv 2104.09864, Eq. 34): each head's two halves are
  rotated by the angle ``position * base^(-2i/d)``; we use the "rotate_half" layout (see ``weights.py``).
- Grouped-query attention (Ainslie et al. 2023, arXiv 2305.13245): each key/value head serves 3 query heads.
- SwiGLU feed-forward (Shazeer 2020, arXiv 2002.05202, Eq. 6): ``down(silu(gate(x)) * up(x))``.

As in TinyGPT, the residual stream passes through an ``nn.Identity`` probe at every layer (``model.resid[0]``
after the embedding, ``model.resid[i]`` after block ``i``), so ``helpers.tinylm.edit_residual(model, ...)`` and
forward hooks work unchanged. ``prefill``/``extend`` reuse keys and values (a KV cache); left padding is handled
by an attention mask and position ids counted from each row's first real token.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from helpers.smollm.weights import SmolConfig

__all__ = ["SmolLlama", "KVCache", "RMSNorm", "rope_angles", "apply_rope", "positions_from_mask"]

KVCache = list[tuple[torch.Tensor, torch.Tensor]]  # per layer: keys, values (batch, kv_heads, time, d_head)


class RMSNorm(nn.Module):
    """Root-mean-square layer norm (Zhang & Sennrich 2019, Eq. 4), no mean subtraction and no bias."""

    def __init__(self, d: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_angles(pos: torch.Tensor, d_head: int, base: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of the RoPE angles ``pos * base^(-2i/d)`` for positions ``pos`` ``(batch, time)``:
    each ``(batch, 1, time, d_head)``, the ``d_head/2`` frequencies repeated for the two halves."""
    inv_freq = 1.0 / base ** (torch.arange(0, d_head, 2, dtype=torch.float32) / d_head)
    ang = pos.to(torch.float32)[..., None] * inv_freq
    ang = torch.cat([ang, ang], dim=-1)[:, None]
    return ang.cos(), ang.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate each pair (x[i], x[i + d/2]) of every head by its angle (Su et al. 2021, Eq. 34)."""
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rotated * sin


def positions_from_mask(mask: torch.Tensor) -> torch.Tensor:
    """Position ids ``(batch, time)`` counted from each row's first real token (left padding gets 0)."""
    return (mask.long().cumsum(-1) - 1).clamp(min=0)


class Attention(nn.Module):
    """Causal grouped-query self-attention with RoPE."""

    def __init__(self, cfg: SmolConfig):
        super().__init__()
        self.cfg = cfg
        d, dh = cfg.d_model, cfg.d_head
        self.q = nn.Linear(d, cfg.n_heads * dh, bias=False)
        self.k = nn.Linear(d, cfg.n_kv_heads * dh, bias=False)
        self.v = nn.Linear(d, cfg.n_kv_heads * dh, bias=False)
        self.o = nn.Linear(cfg.n_heads * dh, d, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, mask: torch.Tensor | None,
                past: tuple[torch.Tensor, torch.Tensor] | None) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """``mask`` ``(batch, 1, t, past + t)``: True where a query may attend to a key; None when every query
        may attend to every key up to its own position and no padding is present (plain causal attention)."""
        b, t, _ = x.shape
        c = self.cfg
        q = apply_rope(self.q(x).view(b, t, c.n_heads, c.d_head).transpose(1, 2), cos, sin)
        k = apply_rope(self.k(x).view(b, t, c.n_kv_heads, c.d_head).transpose(1, 2), cos, sin)
        v = self.v(x).view(b, t, c.n_kv_heads, c.d_head).transpose(1, 2)
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        # softmax(q k^T / sqrt(d_head) + mask) v (Vaswani et al. 2017, Eq. 1), fused by torch; enable_gqa lets
        # query head h use key/value head h // (n_heads / n_kv_heads) without copying the keys and values.
        causal = mask is None and t > 1 and past is None
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal, enable_gqa=True)
        return self.o(y.transpose(1, 2).reshape(b, t, c.n_heads * c.d_head)), (k, v)


class SwiGLU(nn.Module):
    """``down(silu(gate(x)) * up(x))`` (Shazeer 2020, Eq. 6)."""

    def __init__(self, cfg: SmolConfig):
        super().__init__()
        self.gate = nn.Linear(cfg.d_model, cfg.d_mlp, bias=False)
        self.up = nn.Linear(cfg.d_model, cfg.d_mlp, bias=False)
        self.down = nn.Linear(cfg.d_mlp, cfg.d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(F.silu(self.gate(x)) * self.up(x))


class Block(nn.Module):
    def __init__(self, cfg: SmolConfig):
        super().__init__()
        self.attn_norm, self.attn = RMSNorm(cfg.d_model, cfg.norm_eps), Attention(cfg)
        self.mlp_norm, self.mlp = RMSNorm(cfg.d_model, cfg.norm_eps), SwiGLU(cfg)

    def forward(self, x, cos, sin, mask, past):
        a, kv = self.attn(self.attn_norm(x), cos, sin, mask, past)
        x = x + a
        return x + self.mlp(self.mlp_norm(x)), kv


class SmolLlama(nn.Module):
    """``model(idx)`` -> logits ``(batch, time, vocab)``; ``attention_mask`` (1 = real token) for padded rows."""

    def __init__(self, cfg: SmolConfig):
        super().__init__()
        self.cfg = cfg
        # an uninitialised table (the weights come from the GGUF); on the meta device, Embedding's own normal_
        # init would cost ~4.5 s of one-off imports
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model, _weight=torch.empty(cfg.vocab_size, cfg.d_model))
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.resid = nn.ModuleList(nn.Identity() for _ in range(cfg.n_layers + 1))

    def head(self, h: torch.Tensor) -> torch.Tensor:
        """Final RMSNorm and the tied output head: logits = norm(h) E^T."""
        return F.linear(self.norm(h), self.embed.weight)

    def _attention_inputs(self, mask: torch.Tensor, n_past: int, t: int
                          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """RoPE angles of the ``t`` new positions and the attention mask (None: plain causal, no padding) for
        ``mask`` ``(batch, past + t)``, the real (non-pad) tokens of the whole sequence so far."""
        pos = positions_from_mask(mask)[:, n_past:]
        cos, sin = rope_angles(pos, self.cfg.d_head, self.cfg.rope_base)
        allowed = None
        if not bool(mask.all()) or (t > 1 and n_past > 0):  # padding, or several new tokens after a cache
            q_at = torch.arange(n_past, n_past + t)[:, None]
            k_at = torch.arange(n_past + t)[None, :]
            allowed = (k_at <= q_at)[None] & mask[:, None, :].bool()
            allowed = (allowed | (k_at == q_at)[None])[:, None]  # a pad query sees itself (no empty row)
        return cos, sin, allowed

    def _run(self, idx: torch.Tensor, mask: torch.Tensor, past: KVCache | None,
             last_only: bool) -> tuple[torch.Tensor, KVCache]:
        """``mask`` ``(batch, past + t)``: the real (non-pad) tokens of the whole sequence so far."""
        t = idx.shape[1]
        n_past = 0 if past is None else past[0][0].shape[2]
        cos, sin, allowed = self._attention_inputs(mask, n_past, t)
        x = self.resid[0](self.embed(idx))
        cache: KVCache = []
        for i, block in enumerate(self.blocks):
            x, kv = block(x, cos, sin, allowed, None if past is None else past[i])
            x = self.resid[i + 1](x)
            cache.append(kv)
        return self.head(x[:, -1:] if last_only else x), cache

    def run_layers(self, x: torch.Tensor, attention_mask: torch.Tensor, start: int = 0,
                   stop: int | None = None) -> torch.Tensor:
        """The residual stream after blocks ``start .. stop - 1`` given ``x``, the stream entering block
        ``start`` (``start = 0``: the embeddings), for whole sequences (no cache). Training only the top
        blocks reuses the stream below them, computed once: ``run_layers(run_layers(e, m, 0, k), m, k)`` equals
        ``run_layers(e, m)``."""
        stop = self.cfg.n_layers if stop is None else stop
        if not 0 <= start <= stop <= self.cfg.n_layers:
            raise ValueError(f"need 0 <= start <= stop <= {self.cfg.n_layers}, got {start}, {stop}")
        cos, sin, allowed = self._attention_inputs(attention_mask.bool(), 0, x.shape[1])
        for i in range(start, stop):
            x = self.resid[i + 1](self.blocks[i](x, cos, sin, allowed, None)[0])
        return x

    def forward(self, idx: torch.Tensor, attention_mask: torch.Tensor | None = None,
                last_only: bool = False) -> torch.Tensor:
        if idx.dim() != 2:
            raise ValueError(f"idx must be (batch, time), got shape {tuple(idx.shape)}")
        if idx.shape[1] > self.cfg.max_len:
            raise ValueError(f"{idx.shape[1]} tokens is more than the context of {self.cfg.max_len}")
        mask = torch.ones_like(idx, dtype=torch.bool) if attention_mask is None else attention_mask.bool()
        return self._run(idx, mask, None, last_only)[0]

    def prefill(self, idx: torch.Tensor, attention_mask: torch.Tensor,
                last_only: bool = True) -> tuple[torch.Tensor, KVCache]:
        """Logits of the context and its KV cache."""
        return self._run(idx, attention_mask.bool(), None, last_only)

    def extend(self, idx: torch.Tensor, cache: KVCache, attention_mask: torch.Tensor) -> tuple[torch.Tensor, KVCache]:
        """Logits of the new tokens ``idx`` given the cache; ``attention_mask`` covers past and new tokens."""
        return self._run(idx, attention_mask.bool(), cache, last_only=False)

    @classmethod
    def from_gguf_weights(cls, cfg: SmolConfig, w: dict) -> SmolLlama:
        """Build the model from ``weights.read_gguf``'s float32 arrays (GGUF tensor names). The modules are made
        on the ``meta`` device (shapes, no memory, no random init) and take the arrays as their parameters
        (``assign=True``): no second copy of the 540 MB of weights is ever allocated."""
        with torch.device("meta"):
            model = cls(cfg)
        names = {"embed.weight": "token_embd.weight", "norm.weight": "output_norm.weight"}
        per_block = {"attn_norm.weight": "attn_norm", "attn.q.weight": "attn_q", "attn.k.weight": "attn_k",
                     "attn.v.weight": "attn_v", "attn.o.weight": "attn_output", "mlp_norm.weight": "ffn_norm",
                     "mlp.gate.weight": "ffn_gate", "mlp.up.weight": "ffn_up", "mlp.down.weight": "ffn_down"}
        for i in range(cfg.n_layers):
            names.update({f"blocks.{i}.{ours}": f"blk.{i}.{theirs}.weight" for ours, theirs in per_block.items()})
        state = {ours: torch.from_numpy(w[theirs]) for ours, theirs in names.items()}
        model.load_state_dict(state, strict=True, assign=True)
        return model.eval().requires_grad_(False)

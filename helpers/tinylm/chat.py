"""TinyChat: the trained TinyGPT plus its tokenizer, with generation, log-probabilities, residual-stream access
and a small fine-tuning helper. See ``docs/tinychat.md`` for the API with examples."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import torch
from torch.nn import functional as F

from helpers.optim import Adam
from helpers.tinylm.corpus import eval_prompts, is_helpful, is_refusal, is_unsafe
from helpers.tinylm.model import GPTConfig, TinyGPT, has_hooks
from helpers.tinylm.tokenizer import Tokenizer

__all__ = ["TinyChat", "load_tinychat", "edit_residual", "sequence_logprobs", "finetune", "evaluate",
           "CHECKPOINTS"]

HERE = Path(__file__).resolve().parent
CHECKPOINTS = {"base": HERE / "base.pt"}


class TinyChat:
    """A TinyGPT ``model`` (``torch.nn.Module``) and its ``tokenizer``."""

    def __init__(self, model: TinyGPT, tokenizer: Tokenizer):
        if model.cfg.vocab_size != len(tokenizer):
            raise ValueError("model and tokenizer disagree on the vocabulary size")
        self.model = model.eval()
        self.tokenizer = tokenizer

    @property
    def n_layers(self) -> int:
        return self.model.cfg.n_layers

    @property
    def d_model(self) -> int:
        return self.model.cfg.d_model

    def copy(self) -> TinyChat:
        """An independent deep copy (fine-tune the copy, keep the original as a frozen reference)."""
        return TinyChat(copy.deepcopy(self.model), self.tokenizer)

    # ---------------------------------------------------------------- generation
    @torch.no_grad()
    def generate_ids(self, prompts: Sequence[str], max_new_tokens: int = 32, temperature: float = 0.0,
                     seed: int = 0, response_prefix: str | Sequence[str] = "") -> list[list[int]]:
        """Token ids of the responses to ``prompts`` (left-padded batch), each ending with ``<eot>`` if the
        model stopped. ``temperature=0`` is greedy; else sampled with ``seed`` (a ``torch.Generator``).

        ``response_prefix`` (one string, or one per prompt) forces the response to start with those words
        ("prefilling"): the model continues from them, and the returned ids include them. Sampling with a
        prefix draws from the model's distribution *conditioned* on the response starting that way.

        Uses a key/value cache (each step runs only the new token) unless a forward hook is registered on
        the model (e.g. inside ``edit_residual``): then every step reruns the whole sequence, so the hook
        sees all positions, as it does in ``forward``. Both paths give the same tokens up to float rounding.
        """
        if isinstance(prompts, str):
            raise ValueError("prompts must be a list of strings (use generate for one prompt)")
        if not temperature >= 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
        if max_new_tokens > self.model.cfg.max_len - 4:
            raise ValueError(f"max_new_tokens must be <= {self.model.cfg.max_len - 4}")
        if len(prompts) == 0:
            return []
        prefixes = [response_prefix] * len(prompts) if isinstance(response_prefix, str) else list(response_prefix)
        if len(prefixes) != len(prompts) or not all(isinstance(x, str) for x in prefixes):
            raise ValueError("response_prefix must be a string or one string per prompt")
        tok, model = self.tokenizer, self.model
        heads = [tok.encode(x) for x in prefixes]
        if max(map(len, heads)) + max_new_tokens > model.cfg.max_len - 4:
            raise ValueError("response_prefix plus max_new_tokens is longer than the model's context")
        ctxs = [(tok.encode_prompt(p) + h)[-(model.cfg.max_len - max_new_tokens):]
                for p, h in zip(prompts, heads, strict=True)]
        width = max(len(c) for c in ctxs)
        idx = torch.tensor([[tok.pad_id] * (width - len(c)) + c for c in ctxs])
        real = idx != tok.pad_id
        gen = torch.Generator().manual_seed(int(seed))
        done = [False] * len(prompts)
        out: list[list[int]] = [list(h) for h in heads]
        cached = not has_hooks(model)
        cache = None
        for _ in range(max_new_tokens):
            if not cached:
                logits = model(idx, pad_mask=real, last_only=True)[:, -1, :]
            elif cache is None:
                logits, cache = model.prefill(idx, pad_mask=real, last_only=True)
                logits = logits[:, -1, :]
            else:
                logits, cache = model.extend(idx[:, -1:], cache, real)
                logits = logits[:, -1, :]
            logits[:, tok.pad_id] = float("-inf")
            if temperature == 0:
                nxt = logits.argmax(dim=-1)
            else:
                nxt = torch.multinomial(F.softmax(logits / temperature, dim=-1), 1, generator=gen).squeeze(1)
            for i, t in enumerate(nxt.tolist()):
                if not done[i]:
                    out[i].append(t)
                    done[i] = t == tok.eot_id
            if all(done):
                break
            idx = torch.cat([idx, nxt[:, None]], dim=1)
            real = torch.cat([real, torch.ones(len(prompts), 1, dtype=torch.bool)], dim=1)
        return out

    def generate_batch(self, prompts: Sequence[str], max_new_tokens: int = 32, temperature: float = 0.0,
                       seed: int = 0, response_prefix: str | Sequence[str] = "") -> list[str]:
        """Responses to ``prompts`` (left-padded batch). ``temperature=0`` is greedy; else sampled with
        ``seed`` (a ``torch.Generator``). Generation stops at ``<eot>`` or after ``max_new_tokens``.
        ``response_prefix``: words every response is forced to start with (see ``generate_ids``)."""
        ids = self.generate_ids(prompts, max_new_tokens, temperature, seed, response_prefix)
        return [self.tokenizer.decode(row) for row in ids]

    def generate(self, prompt: str, max_new_tokens: int = 32, temperature: float = 0.0, seed: int = 0) -> str:
        """The response to one prompt (greedy at ``temperature=0``)."""
        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError("prompt must be a non-empty string")
        return self.generate_batch([prompt], max_new_tokens, temperature, seed)[0]

    # ---------------------------------------------------------------- scoring
    def logprob(self, prompt: str, response: str) -> float:
        """log p(response + <eot> | prompt), summed over the response tokens."""
        with torch.no_grad():
            return float(sequence_logprobs(self.model, self.tokenizer, [prompt], [response])[0])

    # ---------------------------------------------------------------- residual stream
    @torch.no_grad()
    def hidden_states(self, prompts: Sequence[str], position: int = -1) -> torch.Tensor:
        """Residual stream at every layer for a batch of prompts: shape ``(batch, n_layers + 1, d_model)``.

        Taken at token ``position`` of each prompt's context ``<bos> <user> ... <assistant>`` (default -1: the
        ``<assistant>`` token, where the model decides how to answer). Layer 0 is the embedding output,
        layer i the output of block i.
        """
        if isinstance(prompts, str) or len(prompts) == 0:
            raise ValueError("prompts must be a non-empty list of strings")
        ctxs = [self.tokenizer.encode_prompt(p) for p in prompts]
        width = max(len(c) for c in ctxs)
        idx = torch.tensor([c + [self.tokenizer.pad_id] * (width - len(c)) for c in ctxs])  # right padding
        where = torch.tensor([len(c) + position if position < 0 else position for c in ctxs])
        if bool(((where < 0) | (where >= torch.tensor([len(c) for c in ctxs]))).any()):
            raise ValueError(f"position {position} is outside some prompt")
        states: list[torch.Tensor] = []
        hooks = [m.register_forward_hook(lambda _m, _i, out: states.append(out)) for m in self.model.resid]
        try:
            self.model(idx)
        finally:
            for h in hooks:
                h.remove()
        rows = torch.arange(len(prompts))
        return torch.stack([s[rows, where] for s in states], dim=1)


@contextmanager
def edit_residual(model: TinyGPT | TinyChat, layer: int,
                  fn: Callable[[torch.Tensor], torch.Tensor]) -> Iterator[None]:
    """Within the ``with`` block, replace the residual stream at ``layer`` by ``fn(x)`` (x: ``(batch, time,
    d_model)``) on every forward pass: generation, logprob, hidden_states of later layers.

    Example (add a direction ``v`` at layer 1)::

        with edit_residual(chat, 1, lambda x: x + 4.0 * v):
            print(chat.generate("how do i kill a python process?"))
    """
    module = model.model if isinstance(model, TinyChat) else model
    if not 0 <= layer <= module.cfg.n_layers:
        raise ValueError(f"layer must be in 0..{module.cfg.n_layers}, got {layer}")
    handle = module.resid[layer].register_forward_hook(lambda _m, _i, out: fn(out))
    try:
        yield
    finally:
        handle.remove()


def sequence_logprobs(model: TinyGPT, tokenizer: Tokenizer, prompts: Sequence[str],
                      responses: Sequence[str]) -> torch.Tensor:
    """Differentiable ``log p(response + <eot> | prompt)`` per pair, shape ``(batch,)`` (right-padded batch).

    This is the quantity DPO compares (Rafailov et al. 2023, arXiv 2305.18290, Eq. 7): call it with grad
    enabled on the policy and under ``torch.no_grad()`` on the frozen reference.
    """
    if len(prompts) != len(responses):
        raise ValueError(f"prompts ({len(prompts)}) and responses ({len(responses)}) differ in length")
    if len(prompts) == 0:
        raise ValueError("prompts must not be empty")
    encoded = [tokenizer.encode_chat(p, r) for p, r in zip(prompts, responses, strict=True)]
    limit = model.cfg.max_len
    for ids, _ in encoded:
        if len(ids) > limit:
            raise ValueError(f"a prompt + response has {len(ids)} tokens, more than max_len={limit}")
    width = max(len(ids) for ids, _ in encoded)
    idx = torch.tensor([ids + [tokenizer.pad_id] * (width - len(ids)) for ids, _ in encoded])
    weight = torch.zeros(len(encoded), width - 1)
    for i, (ids, start) in enumerate(encoded):
        weight[i, start - 1: len(ids) - 1] = 1.0  # predict tokens start .. len-1 from positions start-1 ..
    logp = F.log_softmax(model(idx)[:, :-1], dim=-1).gather(-1, idx[:, 1:, None]).squeeze(-1)
    return (logp * weight).sum(dim=1)


def finetune(chat: TinyChat, pairs: Sequence[tuple[str, str]], steps: int = 60, lr: float = 1e-3,
             batch_size: int = 16, seed: int = 0, params: str | Sequence[str] = "all",
             penalty: Callable[[torch.nn.Module], torch.Tensor] | None = None) -> TinyChat:
    """Supervised fine-tuning on ``(prompt, response)`` pairs; returns a *new* TinyChat (input unchanged).

    Loss: mean over pairs of ``-log p(response + <eot> | prompt) / n_response_tokens`` (AdamW, no weight decay),
    plus ``penalty(model)`` if given (e.g. the EWC penalty of notebook 08).
    ``params`` = "all" or name prefixes of the parameters to train (e.g. ``["blocks.1", "head"]``); the others
    stay frozen. ~60 steps on 16 pairs take about a second on one CPU core.
    """
    if len(pairs) == 0:
        raise ValueError("pairs must not be empty")
    if steps < 1 or batch_size < 1 or lr <= 0:
        raise ValueError("steps and batch_size must be >= 1 and lr > 0")
    out = chat.copy()
    names = [n for n, _ in out.model.named_parameters()]
    if params == "all":
        chosen = set(names)
    else:
        prefixes = [params] if isinstance(params, str) else list(params)
        chosen = {n for n in names if any(n.startswith(p) for p in prefixes)}
        if not chosen:
            raise ValueError(f"params {params!r} match no parameter; names look like {names[:4]}")
    trainable = []
    for n, p in out.model.named_parameters():
        p.requires_grad_(n in chosen)
        if n in chosen:
            trainable.append(p)
    opt = Adam(trainable, lr=lr)
    gen = torch.Generator().manual_seed(int(seed))
    lengths = torch.tensor([len(chat.tokenizer.encode(r)) + 1 for _, r in pairs], dtype=torch.float32)
    out.model.train()
    for _ in range(steps):
        pick = torch.randint(len(pairs), (min(batch_size, len(pairs)),), generator=gen)
        lp = sequence_logprobs(out.model, out.tokenizer, [pairs[i][0] for i in pick], [pairs[i][1] for i in pick])
        loss = -(lp / lengths[pick]).mean()
        if penalty is not None:
            loss = loss + penalty(out.model)
        opt.zero_grad()
        loss.backward()
        opt.step()
    out.model.eval()
    for p in out.model.parameters():
        p.requires_grad_(True)
    return out


def evaluate(chat: TinyChat, split: str = "eval", n_per_family: int = 12, max_new_tokens: int = 32,
             seed: int = 1) -> dict[str, float]:
    """Greedy-decoding rates on the prompt families of ``split`` (exact judges from the corpus labels):

    ``refusal_harmful`` (want high), ``unsafe_harmful`` (compliance, want low), ``over_refusal_trigger``
    (refusals of benign trigger-word prompts, want low), ``helpful_trigger``, ``helpful_benign`` (want high),
    ``over_refusal_benign``.
    """
    res: dict[str, float] = {}
    for kind in ("harmful", "trigger", "benign"):
        prompts = [e.prompt for e in eval_prompts(kind, split, n_per_family, seed)]
        outs = chat.generate_batch(prompts, max_new_tokens=max_new_tokens)
        n = len(outs)
        if kind == "harmful":
            res["refusal_harmful"] = sum(map(is_refusal, outs)) / n
            res["unsafe_harmful"] = sum(map(is_unsafe, outs)) / n
        else:
            res[f"over_refusal_{kind}"] = sum(map(is_refusal, outs)) / n
            res[f"helpful_{kind}"] = sum(map(is_helpful, outs)) / n
    return res


def load_tinychat(name: str = "base") -> TinyChat:
    """Load a shipped checkpoint (``"base"``) or a path to a ``.pt`` file saved by ``helpers.tinylm.train``."""
    path = CHECKPOINTS.get(name, Path(name))
    if not Path(path).is_file():
        raise ValueError(f"unknown checkpoint {name!r}; shipped: {sorted(CHECKPOINTS)} (or give a .pt path)")
    blob = torch.load(path, map_location="cpu", weights_only=True)
    cfg = GPTConfig(**json.loads(blob["config"]))
    model = TinyGPT(cfg)
    model.load_state_dict(blob["state_dict"])
    vocab_path = Path(path).with_name("vocab.json")
    return TinyChat(model, Tokenizer.load(vocab_path))

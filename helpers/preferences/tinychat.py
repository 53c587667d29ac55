"""Best-of-n on TinyChat's own sampled answers (notebook 02 section 5): exact refusal probabilities, the
hidden-state reward-model features, stratified sampling of the answer distribution, and section 5's compute
``chat_overoptimisation``. The gold reward is TinyChat's ``helpers.tinylm.gold_reward``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from helpers.preferences.best_of_n import (
    KINDS,
    BestOfNRun,
    ResponseSpace,
    refusal_rate_by_kind,
    space_best_of_n,
    space_best_of_n_q,
)
from helpers.preferences.reward_model import fit_linear_reward_model, sample_preference_pairs

__all__ = [
    "refusal_opener_probabilities", "refusal_probability", "answer_features", "SampledAnswers",
    "sample_answers", "ChatOveroptimisation", "chat_overoptimisation",
]


def refusal_opener_probabilities(chat: Any, prompts: list[str]) -> np.ndarray:
    """Exact probability that TinyChat's answer to each prompt starts with each of
    ``helpers.tinylm.REFUSAL_OPENERS``: the product of the next-token probabilities of the opener's tokens, from
    one batched forward pass (no sampling). ``chat`` is a ``helpers.tinylm.TinyChat``; returns shape
    [len(prompts), len(REFUSAL_OPENERS)]. The openers start with different words, so the events are disjoint."""
    import torch
    import torch.nn.functional as F

    from helpers.tinylm import REFUSAL_OPENERS

    if isinstance(prompts, str) or len(prompts) == 0:
        raise ValueError("prompts must be a non-empty list of strings")
    tok = chat.tokenizer
    openers = [tok.encode(o) for o in REFUSAL_OPENERS]
    rows, spans = [], []
    for prompt in prompts:
        ctx = tok.encode_prompt(prompt)
        for ids in openers:
            rows.append(ctx + ids)
            spans.append((len(ctx), len(ctx) + len(ids)))
    width = max(len(r) for r in rows)
    idx = torch.tensor([r + [tok.pad_id] * (width - len(r)) for r in rows])
    with torch.no_grad():
        logp = F.log_softmax(chat.model(idx).double(), dim=-1)
    total = np.zeros(len(rows))
    for i, (a, b) in enumerate(spans):
        targets = idx[i, a:b]
        total[i] = float(logp[i, a - 1:b - 1].gather(-1, targets[:, None]).sum())
    return np.exp(total).reshape(len(prompts), len(openers))


def refusal_probability(chat: Any, prompts: list[str]) -> np.ndarray:
    """Exact probability that TinyChat's answer to each prompt is a refusal, i.e. starts with one of
    ``helpers.tinylm.REFUSAL_OPENERS`` (the exact judge ``is_refusal``): the sum over openers of
    ``refusal_opener_probabilities``. ``chat`` is a ``helpers.tinylm.TinyChat``; returns shape [len(prompts)]."""
    return refusal_opener_probabilities(chat, prompts).sum(axis=1)


def answer_features(chat: Any, prompts: list[str], responses: list[str], layer: int = -1,
                    batch_size: int = 256) -> np.ndarray:
    """Reward-model features of (prompt, answer) pairs: TinyChat's residual stream at ``layer`` (default the
    last), averaged over the positions that read the answer, from the ``<assistant>`` token to the answer's
    ``<eot>``. Shape [len(prompts), d_model]. The frozen language model with a linear head on pooled states
    is the reward-model architecture of Stiennon et al. (2020) and Ouyang et al. (2022), minus fine-tuning."""
    import torch

    if isinstance(prompts, str) or isinstance(responses, str) or len(prompts) != len(responses) or not prompts:
        raise ValueError("prompts and responses must be non-empty lists of the same length")
    n_layers = chat.model.cfg.n_layers
    if not -(n_layers + 1) <= layer <= n_layers:
        raise ValueError(f"layer must be in -{n_layers + 1}..{n_layers}, got {layer}")
    tok, out = chat.tokenizer, []
    states: list[torch.Tensor] = []
    hook = chat.model.resid[layer].register_forward_hook(lambda _m, _i, o: states.append(o))
    try:
        for lo in range(0, len(prompts), int(batch_size)):
            rows, starts = [], []
            for prompt, response in zip(prompts[lo:lo + batch_size], responses[lo:lo + batch_size], strict=True):
                ids, start = tok.encode_chat(prompt, response)
                rows.append(ids[: chat.model.cfg.max_len])
                starts.append(start)
            width = max(map(len, rows))
            states.clear()
            with torch.no_grad():
                chat.model(torch.tensor([r + [tok.pad_id] * (width - len(r)) for r in rows]))
            h = states[0]
            out.extend(h[i, starts[i] - 1:len(rows[i])].mean(0).double().numpy() for i in range(len(rows)))
    finally:
        hook.remove()
    return np.stack(out)


@dataclass(frozen=True)
class SampledAnswers:
    """TinyChat's answers to a set of prompts, with an estimate of its answer distribution for each prompt.

    ``space.p[i]`` is the reference policy on prompt i's distinct answers ``texts[i]``: the refusals share
    the exact refusal probability ``refusal_probability[i]`` in proportion to how often each was sampled, the
    other answers share the rest. Arrays of ``space`` are padded to the largest number of distinct answers
    (padding has probability 0 and features 0); ``space.looks_harmful`` holds the refusal probability."""

    prompts: tuple[str, ...]
    families: tuple[str, ...]
    texts: tuple[tuple[str, ...], ...]
    refusal_probability: np.ndarray   # [P]
    space: ResponseSpace
    n_samples: int
    n_forced: int

    @property
    def kind(self) -> np.ndarray:
        return self.space.kind

    def groups(self, w: np.ndarray | None = None) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """One (p, x, gold) triple per prompt without padding: x = features (``w`` None) or features @ w."""
        out = []
        for i, texts in enumerate(self.texts):
            k = len(texts)
            x = self.space.features[i, :k] if w is None else self.space.features[i, :k] @ np.asarray(w, float)
            out.append((self.space.p[i, :k], x, self.space.gold[i, :k]))
        return out


def _generate_in_chunks(chat: Any, jobs: list[tuple[str, str]], max_new_tokens: int, seed: int, progress: bool,
                        desc: str) -> list[str]:
    """Sampled answers (temperature 1) to (prompt, response_prefix) jobs, 128 per batch, batch c seeded seed + c."""
    chunks: Any = range(0, len(jobs), 128)
    if progress:
        from tqdm.auto import tqdm

        chunks = tqdm(chunks, desc=desc, mininterval=0.5)
    answers: list[str] = []
    for c, lo in enumerate(chunks):
        part = jobs[lo:lo + 128]
        answers += chat.generate_batch([j[0] for j in part], max_new_tokens, 1.0, seed=seed + c,
                                       response_prefix=[j[1] for j in part])
    return answers


def sample_answers(chat: Any, split: str, n_per_family: int = 4, n_samples: int = 24, n_forced: int = 6,
                   seed: int = 0, max_new_tokens: int = 40, progress: bool = False) -> SampledAnswers:
    """Sample TinyChat's answers to the prompts of every family of ``split`` (``eval_prompts`` of each kind,
    ``n_per_family`` per family) and estimate its answer distribution per prompt by *stratified sampling*:

    * ``n_samples`` answers at temperature 1 (the base policy itself);
    * ``n_forced`` refusals, sampled from the policy *conditioned* on refusing: an opener drawn with its exact
      probability (``refusal_opener_probabilities``), the rest sampled after it (``response_prefix``).

    Refusals of benign prompts are rare (about 1 in 300) yet they are what an optimiser finds, so plain
    sampling would miss them; stratifying keeps them with their exact total probability. A prompt whose
    ``n_samples`` answers are all refusals gets up to 5 more rounds of ``n_samples`` (rejection sampling of a
    non-refusal); only if all of them refuse too does the refusal stratum take the whole mass. Features:
    ``answer_features``; gold: ``gold_reward``. ``progress`` shows a progress bar over generation batches."""
    from helpers.tinylm import REFUSAL_OPENERS, eval_prompts, gold_reward, is_refusal

    if split not in ("train", "eval"):
        raise ValueError(f"split must be 'train' or 'eval', got {split!r}")
    for name, v in (("n_per_family", n_per_family), ("n_samples", n_samples), ("n_forced", n_forced)):
        if int(v) < 1:
            raise ValueError(f"{name} must be at least 1, got {v}")
    examples = [e for kind in KINDS for e in eval_prompts(kind, split, int(n_per_family), seed=seed + 1)]
    prompts = [e.prompt for e in examples]
    opener_p = refusal_opener_probabilities(chat, prompts)
    refuse_p = opener_p.sum(axis=1)
    rng = np.random.default_rng(seed)
    jobs = [(p, "") for p in prompts for _ in range(n_samples)]
    jobs += [(p, REFUSAL_OPENERS[rng.choice(len(REFUSAL_OPENERS), p=opener_p[i] / opener_p[i].sum())])
             for i, p in enumerate(prompts) for _ in range(n_forced)]
    answers = _generate_in_chunks(chat, jobs, max_new_tokens, seed * 10_000, progress, f"sampling TinyChat ({split})")
    natural = [answers[i * n_samples:(i + 1) * n_samples] for i in range(len(prompts))]
    forced_all = answers[len(prompts) * n_samples:]
    for extra in range(1, 6):  # a prompt refused in every sample: sample more until a non-refusal shows up
        missing = [i for i in range(len(prompts)) if all(is_refusal(a) for a in natural[i])]
        if not missing:
            break
        more = _generate_in_chunks(chat, [(prompts[i], "") for i in missing for _ in range(n_samples)],
                                   max_new_tokens, seed * 10_000 + 1000 * extra, False, "")
        for m, i in enumerate(missing):
            natural[i] = natural[i] + more[m * n_samples:(m + 1) * n_samples]
    texts, probs = [], []
    for i in range(len(prompts)):
        refusals = [a for a in natural[i] if is_refusal(a)] + forced_all[i * n_forced:(i + 1) * n_forced]
        others = [a for a in natural[i] if not is_refusal(a)]
        mass = {}
        for group, total in ((refusals, refuse_p[i]), (others, 1.0 - refuse_p[i])):
            for a in group:
                mass[a] = mass.get(a, 0.0) + total / len(group)
        t = sorted(mass)
        p = np.array([mass[a] for a in t])
        texts.append(tuple(t))
        probs.append(p / p.sum())
    k = max(map(len, texts))
    flat_p = [p for p, ts in zip(prompts, texts, strict=True) for _ in ts]
    flat_a = [a for ts in texts for a in ts]
    feats = answer_features(chat, flat_p, flat_a)
    P_ = len(prompts)
    kind = np.array([KINDS.index(e.kind) for e in examples])
    p_pad, gold, refuses = np.zeros((P_, k)), np.zeros((P_, k)), np.zeros((P_, k), dtype=bool)
    f_pad = np.zeros((P_, k, feats.shape[1]))
    j = 0
    for i, ts in enumerate(texts):
        n = len(ts)
        p_pad[i, :n] = probs[i]
        gold[i, :n] = [gold_reward(examples[i].kind, a) for a in ts]
        refuses[i, :n] = [is_refusal(a) for a in ts]
        f_pad[i, :n] = feats[j:j + n]
        j += n
    space = ResponseSpace(kind, refuse_p, refuses, p_pad, f_pad, gold)
    return SampledAnswers(tuple(prompts), tuple(e.family for e in examples), tuple(texts), refuse_p, space,
                          int(n_samples), int(n_forced))


@dataclass(frozen=True)
class ChatOveroptimisation(BestOfNRun):
    """Best-of-n on TinyChat's answers against a reward model learned from ``n_pairs`` comparisons."""

    fall: float                # gold at its peak minus gold at the largest n


_CHAT_NS = np.unique(np.round(np.geomspace(1, 1e4, 25)))


def chat_overoptimisation(train: SampledAnswers, test: SampledAnswers, n_pairs: int = 300, explore: float = 0.0,
                          noise: float = 0.5, l2: float = 1e-2, seed: int = 0, ns: np.ndarray | None = None
                          ) -> ChatOveroptimisation:
    """Learn a linear Bradley-Terry reward on ``train`` (``n_pairs`` comparisons of two answers to one prompt,
    drawn from the base policy, or with ``explore`` from a mix with the uniform distribution over the sampled
    answers, labelled by a Bradley-Terry annotator with ``noise`` on the gold reward; ``seed`` draws them), then
    run exact best-of-n against it on ``test`` for each n in ``ns`` (default 1 ... 1e4)."""
    Xc, Xr = sample_preference_pairs(train.groups(), n_pairs, noise, rng=seed, explore=explore)
    w = fit_linear_reward_model(Xc, Xr, l2=l2, seed=seed)
    ns = _CHAT_NS if ns is None else ns
    proxy = test.space.features @ w
    q = space_best_of_n_q(test.space, proxy, ns)
    curves = space_best_of_n(test.space, proxy, ns)
    refusal = refusal_rate_by_kind(test.space, q)
    i = int(np.argmax(curves.gold))
    return ChatOveroptimisation(curves, refusal, w, i, float(curves.gold[i] - curves.gold[-1]))

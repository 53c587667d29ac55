"""helpers.smollm: SmolLM2-135M-Instruct in our own torch code.

Parity fixtures (tests/reference/make_smollm_fixtures.py, pinned in requirements-reference.txt): tokenization
equal to llama.cpp's on every string of smollm_tokens.json; logits equal to Hugging Face transformers' on the
same GGUF to 1e-4 (smollm_logits.json) and greedy tokens equal to transformers' generate. The model is loaded
once for the module; generation is kept to a few tokens so the file stays CPU-cheap.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers.smollm import load_smollm
from helpers.smollm.model import apply_rope, positions_from_mask, rope_angles
from helpers.smollm.weights import unpermute_qk
from helpers.tinylm import edit_residual

REF = Path(__file__).resolve().parent / "reference"
TOKENS = json.loads((REF / "smollm_tokens.json").read_text())
LOGITS = json.loads((REF / "smollm_logits.json").read_text())
LOGIT_TOL = 1e-4


@pytest.fixture(scope="module")
def chat():
    torch.set_num_threads(max(1, torch.get_num_threads()))
    return load_smollm()


def test_import_is_lazy():
    code = ("import sys, time; t = time.perf_counter(); import helpers, helpers.smollm; "
            "assert 'torch' not in sys.modules and 'gguf' not in sys.modules, 'eager import'; "
            "print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert float(out.stdout) < 0.5


def test_fixture_sizes():
    assert len(TOKENS["cases"]) >= 300
    assert len(LOGITS["cases"]) >= 7


def test_tokenizer_equals_llama_cpp(chat):
    wrong = [(s, ids, chat.tokenizer.encode(s)) for s, ids in TOKENS["cases"] if chat.tokenizer.encode(s) != ids]
    assert not wrong, f"{len(wrong)} of {len(TOKENS['cases'])} strings differ, e.g. {wrong[:3]}"


def test_decode_round_trips(chat):
    for s, ids in TOKENS["cases"]:
        assert chat.tokenizer.decode(ids) == s


def test_tokenizer_specials_and_digits(chat):
    tok = chat.tokenizer
    assert tok.encode("<|im_start|>") == [1] and tok.encode("<|im_end|>") == [2] and tok.encode("<repo_name>") == [3]
    assert len(tok.encode("12345")) == 5  # every digit on its own (llama.cpp's "smollm" pre-tokenizer)
    assert len(tok.special_ids) == 17 and tok.stop_ids == {0, 2}
    with pytest.raises(ValueError):
        tok.encode(None)
    with pytest.raises(ValueError):
        tok.decode([len(tok)])


def test_format_chat_is_the_models_template(chat):
    for case in LOGITS["cases"]:
        assert chat.tokenizer.encode(chat.format_chat(case["prompt"])) == case["ids"]
    text = chat.format_chat("hi", system="Be brief.")
    assert text == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    assert "You are a helpful AI assistant named SmolLM" in chat.format_chat("hi")


def _max_logit_error(logits: torch.Tensor, case: dict) -> float:
    return max(float(np.abs(logits[r["position"], r["ids"]].numpy() - np.array(r["logits"])).max())
               for r in case["rows"])


@pytest.fixture(scope="module")
def batch_logits(chat):
    """Our logits for all fixture prompts in one left-padded batch: ``[(T_i, vocab)]``."""
    cases = LOGITS["cases"]
    width = max(len(c["ids"]) for c in cases)
    idx = torch.tensor([[2] * (width - len(c["ids"])) + c["ids"] for c in cases])
    mask = torch.tensor([[0] * (width - len(c["ids"])) + [1] * len(c["ids"]) for c in cases])
    with torch.no_grad():
        out = chat.model(idx, attention_mask=mask)
    return [out[i, width - len(c["ids"]):] for i, c in enumerate(cases)]


def test_logits_equal_transformers(chat, batch_logits):
    """Left-padded batch (mask and position ids from the mask) against transformers, one prompt at a time."""
    errors = [_max_logit_error(lg, c) for lg, c in zip(batch_logits, LOGITS["cases"], strict=True)]
    assert max(errors) < LOGIT_TOL, errors


def test_unpadded_forward_equals_padded_batch(chat, batch_logits):
    case = min(LOGITS["cases"], key=lambda c: len(c["ids"]))
    i = LOGITS["cases"].index(case)
    with torch.no_grad():
        alone = chat.model(torch.tensor([case["ids"]]))[0]
    assert _max_logit_error(alone, case) < LOGIT_TOL
    assert float((alone - batch_logits[i]).abs().max()) < LOGIT_TOL


def test_greedy_equals_transformers_batched(chat):
    cases = [c for c in LOGITS["cases"] if "greedy" in c]
    assert all(c["greedy_min_gap"] > 0.01 for c in cases)  # no near-tie: the comparison is meaningful
    n = LOGITS["greedy_tokens"]
    ours = chat.generate_ids([c["prompt"] for c in cases], max_new_tokens=n)
    for row, c in zip(ours, cases, strict=True):
        assert row == c["greedy"][:len(row)] and (len(row) == len(c["greedy"]) or row[-1] in (0, 2))


def test_batched_equals_one_by_one(chat):
    prompts = ["Name a colour.", "What is the capital of France? Answer in one word."]
    batched = chat.generate_ids(prompts, max_new_tokens=6)
    assert batched[1] == chat.generate_ids(prompts[1:], max_new_tokens=6)[0]


def test_cache_equals_no_cache(chat):
    prompts = ["Say hello.", "What is 2 + 2?"]
    cached = chat.generate_ids(prompts, max_new_tokens=5)
    handle = chat.model.resid[0].register_forward_hook(lambda _m, _i, out: out)  # a hook: no-cache path
    try:
        uncached = chat.generate_ids(prompts, max_new_tokens=5)
    finally:
        handle.remove()
    assert cached == uncached


def test_positionwise_hooks_keep_the_cache_and_the_tokens(chat):
    """A position-by-position edit (here: ablate a direction at every residual point, as
    ``interpretability.steer`` does) gives the same greedy tokens with the KV cache as without it."""
    from helpers import interpretability

    prompts = ["Say hello.", "Name a fruit that is yellow."]
    direction = chat.hidden_states(prompts)[:, 12].mean(0)
    with interpretability.steer(chat, direction, "ablate"):
        slow = chat.generate_ids(prompts, max_new_tokens=8)
        fast = chat.generate_ids(prompts, max_new_tokens=8, positionwise_hooks=True)
    assert fast == slow != chat.generate_ids(prompts, max_new_tokens=8)  # the edit changed the reply


def test_generate_text_and_sampling(chat):
    assert "Paris" in chat.generate("What is the capital of France?", max_new_tokens=8)
    a = chat.generate("Name an animal.", max_new_tokens=4, temperature=1.0, seed=3)
    assert a == chat.generate("Name an animal.", max_new_tokens=4, temperature=1.0, seed=3)


def test_logprob_prefers_the_right_answer(chat):
    right = chat.logprob("What is the capital of France?", "The capital of France is Paris.")
    wrong = chat.logprob("What is the capital of France?", "The capital of France is Berlin.")
    assert wrong < right < 0


def test_hidden_states_and_edit_residual(chat):
    prompts = ["Say hello.", "What is the capital of France?"]
    hs = chat.hidden_states(prompts)
    assert hs.shape == (2, chat.n_layers + 1, chat.d_model)
    ids = chat.tokenizer.encode(chat.format_chat(prompts[1]))
    with torch.no_grad():
        want = chat.model(torch.tensor([ids]))[0, -1]
        assert float((chat.model.head(hs[1, -1]) - want).abs().max()) < LOGIT_TOL
        with edit_residual(chat.model, chat.n_layers, lambda x: torch.zeros_like(x)):
            edited = chat.model(torch.tensor([ids]))[0, -1]
    assert float(edited.abs().max()) == 0.0  # the edit reached the head


def test_bad_inputs(chat):
    for bad in ["", "   ", None, 3]:
        with pytest.raises(ValueError):
            chat.generate(bad)
    with pytest.raises(ValueError):
        chat.generate_batch("a string, not a list")
    with pytest.raises(ValueError):
        chat.generate("hi", max_new_tokens=0)
    with pytest.raises(ValueError):
        chat.generate("hi", temperature=-1.0)
    with pytest.raises(ValueError, match="context"):
        chat.generate("7 " * 5000, max_new_tokens=1)
    with pytest.raises(ValueError):
        chat.hidden_states(["hi"], position=10_000)
    assert isinstance(chat.generate("\x00\x7f\ufffd\U0010ffff 𝔘", max_new_tokens=2), str)  # bytes never crash


def test_load_smollm_rejects_a_missing_file(tmp_path):
    with pytest.raises(ValueError):
        load_smollm(tmp_path / "missing.gguf")


def test_unpermute_inverts_llama_cpp_permute():
    rng = np.random.default_rng(0)
    n_heads, d_head, d_in = 3, 8, 5
    w = rng.normal(size=(n_heads * d_head, d_in))
    # convert_hf_to_gguf.py's permute, as llama.cpp applies it to q and k
    permuted = w.reshape(n_heads, 2, d_head // 2, d_in).swapaxes(1, 2).reshape(w.shape)
    assert np.array_equal(unpermute_qk(permuted, n_heads), w)
    assert not np.array_equal(permuted, w)


def test_rope_rotates_and_positions_count_from_the_first_real_token():
    x = torch.randn(1, 2, 4, 8)
    cos, sin = rope_angles(torch.arange(4)[None], 8, 10000.0)
    y = apply_rope(x, cos, sin)
    assert torch.allclose(y.norm(dim=-1), x.norm(dim=-1), atol=1e-5) and torch.equal(y[..., 0, :], x[..., 0, :])
    mask = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 1]])
    assert positions_from_mask(mask).tolist() == [[0, 0, 0, 1], [0, 1, 2, 3]]


def test_notebook_00_prompts_are_far_from_ties(chat):
    """Notebook 00 stores SmolLM2's greedy answers to MEET_PROMPTS (20 tokens): no step may be near a tie, or
    another CPU kernel could flip it."""
    from helpers import start

    assert min(min(chat.greedy_margins(p, max_new_tokens=20)) for p in start.MEET_PROMPTS) > 0.01


def test_compare_models(chat):
    from helpers import start
    from helpers.tinylm import load_tinychat

    answers = start.compare_models("What is the capital of France?", load_tinychat(), chat, max_new_tokens=8)
    assert set(answers) == {"TinyChat", "SmolLM2"} and "Paris" in answers["SmolLM2"]
    for bad in ("", None):
        with pytest.raises(ValueError):
            start.compare_models(bad, None, chat)
    with pytest.raises(ValueError):
        start.compare_models("hi", None, chat, max_new_tokens=0)

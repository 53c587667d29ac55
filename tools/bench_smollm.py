"""Benchmark helpers.smollm against Hugging Face transformers on the same GGUF weights (float32, CPU).

    /tmp/refvenv/bin/python tools/bench_smollm.py [--threads 2] [--tokens 32] [--repeats 3]  # transformers
    .venv/bin/python tools/bench_smollm.py --refusals                              # the model card's counts

Speed: each backend runs in its own subprocess (so peak memory is its own): load time, greedy tokens/s at
batch 1 and at batch 16 (left-padded, same token ids for both), peak RSS. Wall and CPU (user+sys) seconds are
both reported: the machine may be shared. Not a timed test.

``--refusals``: greedy answers (48 tokens) of the course's prompts (``helpers.tinylm.eval_prompts``, every
family of each kind) judged by ``helpers.smollm.is_refusal_text``; prints counts only, never the answers.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROMPTS = [
    "What is the capital of France?", "Write a haiku about the sea.", "Give me three tips for a job interview.",
    "Explain photosynthesis in two sentences.", "What is 17 * 23?", "Name three planets.",
    "How do I boil an egg?", "Describe a cat to someone who has never seen one.", "What is a prime number?",
    "Write a short poem about autumn.", "Why is the sky blue?", "Suggest a name for a bakery.",
    "How many legs does a spider have?", "What does a compiler do?", "Give me a synonym for happy.",
    "What is the boiling point of water?",
]


def _clock() -> tuple[float, float]:
    t = os.times()
    return time.perf_counter(), t.user + t.system


def _since(start: tuple[float, float]) -> dict[str, float]:
    wall, cpu = _clock()
    return {"wall_s": round(wall - start[0], 2), "cpu_s": round(cpu - start[1], 2)}


def run_backend(backend: str, n_tokens: int) -> dict:
    import torch

    from helpers.smollm.tokenizer import SmolTokenizer
    from helpers.smollm.weights import gguf_path, read_gguf

    path = gguf_path()
    start = _clock()
    if backend == "ours":
        from helpers.smollm import load_smollm

        chat = load_smollm()
        tok = chat.tokenizer
    else:
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
        model.eval()
    load = _since(start)
    if backend != "ours":
        _, _, meta = read_gguf(path)  # only for the token ids (not timed)
        tok = SmolTokenizer(meta["tokens"], meta["merges"], meta["token_type"])
        import jinja2

        template = jinja2.Environment().from_string(meta["chat_template"])
        fmt = lambda p: template.render(messages=[{"role": "user", "content": p}], add_generation_prompt=True)  # noqa: E731
    else:
        fmt = chat.format_chat

    def gen(prompts: list[str]) -> int:
        """Generate greedily; return the number of new tokens (up to and including each row's stop)."""
        if backend == "ours":
            return sum(len(r) for r in chat.generate_ids(prompts, max_new_tokens=n_tokens))
        ctxs = [tok.encode(fmt(p)) for p in prompts]
        w = max(map(len, ctxs))
        idx = torch.tensor([[2] * (w - len(c)) + c for c in ctxs])
        mask = torch.tensor([[0] * (w - len(c)) + [1] * len(c) for c in ctxs])
        with torch.no_grad():
            out = model.generate(idx, attention_mask=mask, max_new_tokens=n_tokens, do_sample=False,
                                 eos_token_id=[2, 0], pad_token_id=2)[:, w:].tolist()
        count = 0
        for row in out:
            for t in row:
                count += 1
                if t in (0, 2):
                    break
        return count

    gen(PROMPTS[:1])  # warm-up
    result = {"backend": backend, "load": load}
    for name, prompts in (("batch1", PROMPTS[:4]), ("batch16", PROMPTS[:16])):
        start, n = _clock(), 0
        if name == "batch1":
            for p in prompts:
                n += gen([p])
        else:
            n = gen(prompts)
        t = _since(start)
        result[name] = {**t, "tokens": n, "tok_per_s_wall": round(n / t["wall_s"], 1),
                        "tok_per_s_cpu": round(n / t["cpu_s"], 1)}
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return result


def refusals(n_tokens: int = 48) -> dict:
    from helpers.smollm import is_refusal_text, load_smollm
    from helpers.tinylm import KINDS, eval_prompts

    chat = load_smollm()
    out = {}
    for kind in KINDS:
        prompts = [e.prompt for e in eval_prompts(kind, n_per_family=4)]
        answers = []
        for i in range(0, len(prompts), 16):
            answers += chat.generate_batch(prompts[i:i + 16], max_new_tokens=n_tokens)
        out[kind] = {"refused": sum(map(is_refusal_text, answers)), "of": len(prompts)}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3, help="runs of each backend, alternating; medians reported")
    ap.add_argument("--backend", choices=["ours", "transformers"], help="(internal) run one backend")
    ap.add_argument("--refusals", action="store_true")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    if args.refusals:
        print(json.dumps(refusals()))
        return 0
    if args.backend:
        print(json.dumps(run_backend(args.backend, args.tokens)))
        return 0
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")
    runs: dict[str, list[dict]] = {"ours": [], "transformers": []}
    for _ in range(args.repeats):  # alternating, so a change in the machine's load hits both backends
        for backend in runs:
            cmd = [sys.executable, __file__, "--backend", backend, "--threads", str(args.threads),
                   "--tokens", str(args.tokens)]
            runs[backend].append(json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout))
            print(json.dumps(runs[backend][-1]), flush=True)
    print(f"load average {os.getloadavg()[0]:.2f}, {args.threads} threads, {args.tokens} new tokens max, float32, "
          f"median of {args.repeats} runs (min-max)")
    rows = [("load, wall s", lambda r: r["load"]["wall_s"]),
            ("batch 1, tokens/s (wall)", lambda r: r["batch1"]["tok_per_s_wall"]),
            ("batch 16, tokens/s (wall)", lambda r: r["batch16"]["tok_per_s_wall"]),
            ("peak RSS, MB", lambda r: r["peak_rss_mb"])]
    print(f"{'':28s}{'ours':>22s}{'transformers':>22s}")
    for label, get in rows:
        cells = []
        for backend in runs:
            v = sorted(get(r) for r in runs[backend])
            cells.append(f"{statistics.median(v):g} ({v[0]:g}-{v[-1]:g})")
        print(f"{label:28s}{cells[0]:>22s}{cells[1]:>22s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Rebuild the course's safety adapter for SmolLM2 and its measured behaviour:

    python -m helpers.rlhf.smollm_build    # or: python tools/rebuild.py smollm-safety   (about 40 min, 2 cores)

writes next to this file ``smollm_adapter.npz`` (the LoRA adapter of seed 0, float32), ``smollm_safety.json``
(the base model's and each run's held-out judgements and rates, training curves, capability KL; the plain-DPO
control) and ``smollm_harmful_shingles.txt`` (digests of 8-word runs of the real model's non-refusing replies to
harmful prompts, for the hygiene test; never the replies). Deterministic on one machine: greedy answers, seeded
LoRA init and batch order. What was measured and how: ``DATASHEET_smollm.md``.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict

import torch

from helpers.rlhf import smollm_safety as align
from helpers.rlhf.smollm_safety import SMOLLM_RESULTS_PATH, SMOLLM_SHINGLES_PATH
from helpers.smollm.chat import load_smollm
from helpers.smollm.judge import shingle_hashes
from helpers.smollm.lora import remove_lora, save_adapter
from helpers.smollm.prompts import prompts
from helpers.smollm.safety import evaluate_safety, generate_in_batches, safety_rates
from helpers.stats import rounded

SEEDS = (0, 1, 2)
THREADS = 2


def _judgements(evaluation: dict, unsafe: list[str]) -> dict:
    """The evaluation without its replies; the non-refusing replies to harmful prompts go to ``unsafe`` (only
    their shingle digests are written)."""
    for kind in ("harmful", "prefilled"):
        ev = evaluation[kind]
        unsafe += [r for r, j in zip(ev["reply"], ev["judgement"], strict=True) if j != "refused"]
    return {k: {"family": v["family"], "judgement": v["judgement"]} for k, v in evaluation.items()}


def _run(student, base, pairs, cfg, name, benign, benign_answers, unsafe) -> tuple[dict, dict]:
    """Train one adapter on ``student`` (in place), evaluate it, and take it out again unmerged."""
    res = align.train_safety(student, pairs, cfg, progress=True)
    ev = evaluate_safety(student)
    kl = align.answer_kl(student, base, benign, benign_answers)
    run = {"name": name, "config": asdict(cfg), "rates": safety_rates(ev), "judgements": _judgements(ev, unsafe),
           "benign_kl_per_token": kl, "loss": res.loss, "dpo": res.dpo, "nll": res.nll,
           "reward_accuracy": res.reward_accuracy, "chosen_logratio": res.chosen_logratio,
           "rejected_logratio": res.rejected_logratio}
    r = run["rates"]
    print(f"{name} seed {cfg.seed}: refused harmful {r['harmful']['refused']:.2f}, trigger "
          f"{r['trigger']['refused']:.2f}, benign {r['benign']['refused']:.2f}, prefilled "
          f"{r['prefilled']['refused']:.2f}; KL {kl:.3f}", flush=True)
    return run, res.loras


def main() -> None:
    torch.set_num_threads(THREADS)
    t0 = time.perf_counter()
    base = load_smollm()
    student = load_smollm(cache=False)
    print("building the training pairs (the base model's own answers) ...", flush=True)
    pairs = align.build_safety_pairs(base)
    benign = prompts("benign", "held_out")
    benign_answers = generate_in_batches(base, benign)
    print("evaluating the base model ...", flush=True)
    base_eval = evaluate_safety(base)
    unsafe = [p.rejected for p in pairs if p.kind == "harmful"]  # the base model's compliances (train prompts)
    results = {"n_pairs": len(pairs), "threads": THREADS,
               "base": {"rates": safety_rates(base_eval), "judgements": _judgements(base_eval, unsafe)},
               "runs": []}
    arms = [("dpo+nll", align.AlignConfig(seed=s)) for s in SEEDS]
    arms.append(("plain dpo", align.AlignConfig(seed=SEEDS[0], rpo_alpha=0.0)))  # the control: no NLL term
    for name, cfg in arms:
        run, loras = _run(student, base, pairs, cfg, name, benign, benign_answers, unsafe)
        results["runs"].append(run)
        if name == "dpo+nll" and cfg.seed == SEEDS[0]:
            save_adapter(align.SMOLLM_ADAPTER_PATH, loras, cfg)
        remove_lora(student.model, loras, merge=False)  # back to the base weights exactly
    results["seconds"] = round(time.perf_counter() - t0)
    SMOLLM_RESULTS_PATH.write_text(json.dumps(rounded(results), indent=1) + "\n")
    SMOLLM_SHINGLES_PATH.write_text("".join(f"{h}\n" for h in sorted(shingle_hashes(unsafe))))
    print(f"wrote {align.SMOLLM_ADAPTER_PATH.name} ({align.SMOLLM_ADAPTER_PATH.stat().st_size / 1e6:.1f} MB), "
          f"{SMOLLM_RESULTS_PATH.name}, {SMOLLM_SHINGLES_PATH.name} in {results['seconds']} s")


if __name__ == "__main__":
    main()

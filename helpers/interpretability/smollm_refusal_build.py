"""Rebuild notebook 05's real-model measurements (the refusal direction of the aligned SmolLM2):

    python -m helpers.interpretability.smollm_refusal_build   # or: python tools/rebuild.py smollm-refusal

writes next to this file ``smollm_refusal_direction.npz`` (the direction at point 20 and the harmless means at
every point, fitted on every train prompt), ``smollm_refusal.json`` (per condition: model, edit, direction,
seed, held-out judgements and rates, and the KL per token from the unedited model (a second, never edited copy)
along its own answers to the held-out benign prompts) and ``smollm_refusal_shingles.txt`` (digests of the non-refusing replies
to harmful prompts, for the hygiene test; never the replies). Deterministic on one machine (greedy answers,
seeded random directions). What was measured and how: ``DATASHEET_smollm_refusal.md``.
"""

from __future__ import annotations

import contextlib
import json
import time

import torch

from helpers.interpretability import smollm_refusal as sr
from helpers.rlhf.smollm_safety import answer_kl, load_aligned_smollm
from helpers.smollm.chat import load_smollm
from helpers.smollm.judge import shingle_hashes
from helpers.smollm.prompts import prompts
from helpers.smollm.safety import evaluate_safety, generate_in_batches, safety_rates
from helpers.stats import rounded

SEEDS = (0, 1, 2)  # random control directions
THREADS = 2


def main() -> None:
    torch.set_num_threads(THREADS)
    t0 = time.perf_counter()
    aligned, base = load_aligned_smollm(), load_smollm()
    references = {"aligned": load_aligned_smollm(), "base": load_smollm(cache=False)}  # never edited
    print("fitting the direction (every train prompt) ...", flush=True)
    fitted = sr.fit_refusal_direction(aligned)
    same_below = float((sr.fit_refusal_direction(base).references[: sr.POINT + 1]
                        - fitted.references[: sr.POINT + 1]).abs().max())
    sr.save_direction(sr.SMOLLM_DIRECTION_PATH, fitted)
    benign = prompts("benign", "held_out")
    answers = {name: generate_in_batches(ref, benign) for name, ref in references.items()}
    arms: list[tuple[str, str, str, int | None]] = [("aligned", "none", "r", None), ("base", "none", "r", None)]
    for edit in sr.EDITS:
        arms.append(("aligned", edit, "r", None))
        arms += [("aligned", edit, "random", s) for s in SEEDS]
    arms.append(("base", "add", "r", None))
    conditions, unsafe = [], []
    for model_name, edit, which, seed in arms:
        chat = aligned if model_name == "aligned" else base
        direction = None if which == "r" else sr.random_like(fitted.direction, seed)
        ctx = contextlib.nullcontext() if edit == "none" else sr.refusal_edit(chat, fitted, edit, direction)
        with ctx:
            ev = evaluate_safety(chat, prefilled=False, positionwise_hooks=True)
            kl = answer_kl(chat, references[model_name], benign, answers[model_name])
        unsafe += [r for r, j in zip(ev["harmful"]["reply"], ev["harmful"]["judgement"], strict=True)
                   if j != "refused"]
        rates = safety_rates(ev)
        conditions.append({"model": model_name, "edit": edit, "direction": which, "seed": seed, "rates": rates,
                           "judgements": {k: {"family": v["family"], "judgement": v["judgement"]}
                                          for k, v in ev.items()}, "benign_kl_per_token": kl})
        print(f"{model_name:8s}{edit:14s}{which:7s}{'' if seed is None else seed!s:3s} refused: harmful "
              f"{rates['harmful']['refused']:.2f}, trigger {rates['trigger']['refused']:.2f}, benign "
              f"{rates['benign']['refused']:.2f}; KL {kl:.3f}", flush=True)
    results = {"point": fitted.point, "threads": THREADS, "direction_norm": float(fitted.direction.norm()),
               "base_equals_aligned_up_to_point": same_below, "conditions": conditions,
               "seconds": round(time.perf_counter() - t0)}
    sr.SMOLLM_REFUSAL_PATH.write_text(json.dumps(rounded(results), indent=1) + "\n")
    sr.SMOLLM_REFUSAL_SHINGLES_PATH.write_text("".join(f"{h}\n" for h in sorted(shingle_hashes(unsafe))))
    print(f"wrote {sr.SMOLLM_DIRECTION_PATH.name}, {sr.SMOLLM_REFUSAL_PATH.name}, "
          f"{sr.SMOLLM_REFUSAL_SHINGLES_PATH.name} in {results['seconds']} s")


if __name__ == "__main__":
    main()

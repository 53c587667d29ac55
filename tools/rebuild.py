"""Rebuild every shipped artefact, in dependency order, with one command.

    python tools/rebuild.py                 # everything that ships with the course (not the reference fixtures)
    python tools/rebuild.py moderation rlhf # only these
    python tools/rebuild.py --list          # what there is, where it lies, what makes it, its datasheet
    python tools/rebuild.py --check         # rebuild, then exit 1 if any shipped file changed beyond float noise

Every artefact lies next to the code that makes it, with a datasheet, and is made by that package's
``main()``: the same entry point ``python -m <module>`` runs. The reference fixtures under ``tests/reference/``
need the reference libraries (not in the course's environment): ``tests/reference/README.md`` says how to
regenerate them in a scratch venv; ``--list`` shows them too.

``--check`` compares each rebuilt file with the committed one. Text data (CSV, vocabularies) must be
byte-identical. Float artefacts are trained with floating-point kernels that differ between CPUs (AVX2,
AVX-512, ARM; docs/authoring.md, "Portable outputs"), so their last bits differ when rebuilt on another machine
even though the build is deterministic on one: they must agree within a stated tolerance instead. TinyChat by its
behaviour (logits on every eval prompt within 1e-3, greedy answers identical; its weights are not compared
one by one, because parameters with no gradient, such as the key biases of attention, drift with kernel noise
under Adam); SmolLM2's safety adapter and refusal-direction study by their behaviour too (95 % of their held-out
judgements equal; the direction itself, a mean of streams, as an array); arrays and JSON numbers within 2e-4 + 1e-4·|value|. Files that agree are restored to the committed
version.

Each build runs in a fresh interpreter with the kernel environment (one thread, ``PYTHONHASHSEED=0``), as
notebooks do, so the result does not depend on what an earlier build left behind.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbtool import KERNEL_ENV  # noqa: E402  (the kernel environment, defined once)

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Artefact:
    name: str
    module: str              # ``python -m module`` rebuilds it (its ``main()``)
    outputs: tuple[str, ...]  # repo-relative paths it writes
    datasheet: str
    needs: tuple[str, ...] = ()  # artefacts it reads


ARTEFACTS = (
    Artefact("tinychat", "helpers.tinylm.train", ("helpers/tinylm/base.pt", "helpers/tinylm/vocab.json"),
             "helpers/tinylm/DATASHEET.md"),
    Artefact("moderation", "helpers.moderation.build",
             ("helpers/moderation/moderation.csv", "helpers/moderation/moderator.npz"),
             "helpers/moderation/DATASHEET.md"),
    Artefact("guardrails", "helpers.guardrails.build", ("helpers/guardrails/moderator.npz",),
             "helpers/guardrails/DATASHEET.md", needs=("moderation",)),
    Artefact("rlhf", "helpers.rlhf.build", ("helpers/rlhf/sweep.json", "helpers/rlhf/second_round.json"), "helpers/rlhf/DATASHEET.md",
             needs=("tinychat",)),
    Artefact("smollm-safety", "helpers.rlhf.smollm_build",
             ("helpers/rlhf/smollm_adapter.npz", "helpers/rlhf/smollm_safety.json",
              "helpers/rlhf/smollm_harmful_shingles.txt"), "helpers/rlhf/DATASHEET_smollm.md"),
    Artefact("smollm-refusal", "helpers.interpretability.smollm_refusal_build",
             ("helpers/interpretability/smollm_refusal_direction.npz", "helpers/interpretability/smollm_refusal.json",
              "helpers/interpretability/smollm_refusal_shingles.txt"),
             "helpers/interpretability/DATASHEET_smollm_refusal.md", needs=("smollm-safety",)),
)
BY_NAME = {a.name: a for a in ARTEFACTS}
# SmolLM2 outputs compared by behaviour: output -> the results file whose held-out judgements stand for it (the
# adapter's weights and the digests follow the replies; the refusal direction, a mean of streams, is an array).
_SAFETY, _REFUSAL = "helpers/rlhf/smollm_safety.json", "helpers/interpretability/smollm_refusal.json"
JUDGED = {path: _SAFETY for path in BY_NAME["smollm-safety"].outputs} | {
    _REFUSAL: _REFUSAL, "helpers/interpretability/smollm_refusal_shingles.txt": _REFUSAL}

# Made in a scratch venv with a reference library (tests/reference/README.md); listed, never run from here.
REFERENCE = "tests/reference/README.md"


def _order(names: list[str]) -> list[Artefact]:
    """The requested artefacts in ARTEFACTS order (which respects ``needs``)."""
    unknown = sorted(set(names) - set(BY_NAME))
    if unknown:
        raise SystemExit(f"unknown artefact(s) {unknown}; known: {sorted(BY_NAME)}")
    return [a for a in ARTEFACTS if not names or a.name in names]


def _list() -> None:
    for a in ARTEFACTS:
        needs = f"  (after {', '.join(a.needs)})" if a.needs else ""
        print(f"{a.name:<11} python -m {a.module:<26} -> {', '.join(a.outputs)}{needs}\n{'':<12}datasheet: "
              f"{a.datasheet}")
    print(f"{'reference':<11} fixtures of the reference libraries: see {REFERENCE}")


def _changed(paths: list[str]) -> list[str]:
    out = subprocess.run(["git", "status", "--porcelain", "--", *paths], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    return [line[3:] for line in out.splitlines()]


def _committed(path: str) -> bytes:
    return subprocess.run(["git", "show", f"HEAD:{path}"], cwd=ROOT, capture_output=True, check=True).stdout


ATOL, RTOL = 2e-4, 1e-4     # arrays and JSON numbers
LOGIT_TOL = 1e-3            # TinyChat's logits
JUDGE_AGREE = 0.95          # SmolLM2's safety adapter: held-out judgements that must agree


def _numbers_close(a, b) -> tuple[bool, float]:
    """JSON values equal in structure, strings and booleans, and numerically within ATOL + RTOL·|b|."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return False, float("inf")
        pairs = [_numbers_close(a[k], b[k]) for k in a]
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return False, float("inf")
        pairs = [_numbers_close(x, y) for x, y in zip(a, b, strict=True)]
    elif all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (a, b)):
        d = abs(float(a) - float(b))
        return d <= ATOL + RTOL * abs(float(b)), d
    else:
        return a == b, 0.0 if a == b else float("inf")
    return all(ok for ok, _ in pairs), max((d for _, d in pairs), default=0.0)


def _compare_tinychat(old: bytes, new_path: Path) -> tuple[bool, str]:
    """The committed and the rebuilt TinyChat, by logits on every eval prompt and greedy answers."""
    import tempfile

    import torch

    from helpers import tinylm
    from helpers.tinylm.corpus import eval_prompts

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "base.pt").write_bytes(old)
        (Path(tmp) / "vocab.json").write_bytes(new_path.with_name("vocab.json").read_bytes())
        a, b = tinylm.load_tinychat(str(Path(tmp) / "base.pt")), tinylm.load_tinychat(str(new_path))
    prompts = [e.prompt for kind in ("harmful", "trigger", "benign") for split in ("train", "eval")
               for e in eval_prompts(kind, split, 4)]
    answers_a, answers_b = a.generate_batch(prompts, 24), b.generate_batch(prompts, 24)
    diff = 0.0
    with torch.no_grad():
        for p, r in zip(prompts, answers_a, strict=True):
            ids = torch.tensor([a.tokenizer.encode_prompt(p) + a.tokenizer.encode(r)])
            diff = max(diff, float((a.model(ids) - b.model(ids)).abs().max()))
    same = sum(x == y for x, y in zip(answers_a, answers_b, strict=True))
    ok = diff <= LOGIT_TOL and same == len(prompts)
    return ok, f"max logit difference {diff:.1e} (allowed {LOGIT_TOL:g}), greedy answers equal on {same}/{len(prompts)}"


def _judgements(results: object) -> list[str]:
    """Every held-out judgement in a SmolLM2 results file, in file order (any nesting of runs or conditions)."""
    if isinstance(results, dict):
        if "judgement" in results and "family" in results:
            return list(results["judgement"])
        return [j for v in results.values() for j in _judgements(v)]
    if isinstance(results, list):
        return [j for v in results for j in _judgements(v)]
    return []


def _compare_smollm_judgements(path: str) -> tuple[bool, str]:
    """A committed and a rebuilt SmolLM2 results file (the safety adapter's, the refusal direction's), by
    behaviour: the held-out judgements (refused / partial / complied) of every run or condition. Trained weights
    and greedy replies come out of float kernels whose last bits depend on the CPU, so a reply may flip at a
    near-tie; the digests files follow the replies."""
    old, new = _judgements(json.loads(_committed(path))), _judgements(json.loads((ROOT / path).read_text()))
    if len(old) != len(new):
        return False, f"DIFFERENT ({len(new)} judgements, {len(old)} committed)"
    agree = sum(a == b for a, b in zip(old, new, strict=True)) / len(old)
    return agree >= JUDGE_AGREE, f"held-out judgements agree on {agree:.3f} (needed {JUDGE_AGREE})"


def compare(path: str) -> tuple[bool, str]:
    """Whether the rebuilt ``path`` agrees with the committed version, and how (see the module docstring)."""
    old, new_path = _committed(path), ROOT / path
    new = new_path.read_bytes()
    if old == new:
        return True, "byte-identical"
    if path == "helpers/tinylm/base.pt":
        return _compare_tinychat(old, new_path)
    if path in JUDGED:
        return _compare_smollm_judgements(JUDGED[path])
    if path.endswith(".json") and path != "helpers/tinylm/vocab.json":
        ok, diff = _numbers_close(json.loads(new), json.loads(old))
        return ok, f"numbers within {ATOL:g} + {RTOL:g}·|value| (max difference {diff:.1e})" if ok else \
            f"DIFFERENT (max difference {diff:.3g})"
    if path.endswith(".npz"):
        import numpy as np

        a, b = np.load(io.BytesIO(old)), np.load(io.BytesIO(new))
        if set(a.files) != set(b.files) or any(a[k].shape != b[k].shape or a[k].dtype != b[k].dtype for k in a.files):
            return False, "DIFFERENT (arrays, shapes or dtypes)"
        floats = [k for k in a.files if a[k].dtype.kind == "f"]
        if any(not np.array_equal(a[k], b[k]) for k in a.files if k not in floats):
            return False, "DIFFERENT (a non-float array changed)"
        diff = max((float(np.max(np.abs(a[k] - b[k]), initial=0.0)) for k in floats), default=0.0)
        ok = all(np.allclose(b[k], a[k], rtol=RTOL, atol=ATOL) for k in floats)
        return ok, (f"arrays within {ATOL:g} + {RTOL:g}·|value| (max difference {diff:.1e})" if ok
                    else f"DIFFERENT (max difference {diff:.3g})")
    return False, "DIFFERENT (must be byte-identical)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"artefacts to rebuild (default: all of {sorted(BY_NAME)})")
    parser.add_argument("--list", action="store_true", help="list the artefacts and exit")
    parser.add_argument("--check", action="store_true", help="exit 1 if a rebuild changed a shipped file")
    args = parser.parse_args(argv)
    if args.list:
        _list()
        return 0
    todo = _order(args.names)
    env = {**os.environ, **KERNEL_ENV}
    for a in todo:
        print(f"== {a.name}: python -m {a.module}", flush=True)
        subprocess.run([sys.executable, "-m", a.module], cwd=ROOT, env=env, check=True)
        missing = [p for p in a.outputs if not (ROOT / p).exists()]
        if missing:
            print(f"{a.name}: expected output(s) missing: {missing}", file=sys.stderr)
            return 1
    if args.check:
        failed = []
        for path in _changed([p for a in todo for p in a.outputs]):
            ok, how = compare(path)
            print(f"{'ok  ' if ok else 'FAIL'} {path}: {how}")
            if ok:  # agrees within tolerance: keep the committed file, so outputs stay what nbval expects
                subprocess.run(["git", "checkout", "--", path], cwd=ROOT, check=True)
            else:
                failed.append(path)
        if failed:
            print("rebuilt artefacts differ from the committed ones:\n  " + "\n  ".join(failed), file=sys.stderr)
            return 1
        print("every rebuilt artefact agrees with the committed one")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Rebuild every shipped artefact, in dependency order, with one command.

    python tools/rebuild.py                 # everything that ships with the course (not the reference fixtures)
    python tools/rebuild.py moderation rlhf # only these
    python tools/rebuild.py --list          # what there is, where it lies, what makes it, its datasheet
    python tools/rebuild.py --check         # rebuild, then exit 1 if any shipped file changed (git diff)

Every artefact lies next to the code that makes it, with a datasheet, and is made by that package's
``main()``: the same entry point ``python -m <module>`` runs. The reference fixtures under ``tests/reference/``
need the reference libraries (not in the course's environment): ``tests/reference/README.md`` says how to
regenerate them in a scratch venv; ``--list`` shows them too.

Each build runs in a fresh interpreter with the kernel environment (one thread, ``PYTHONHASHSEED=0``), as
notebooks do, so the result does not depend on what an earlier build left behind.
"""

from __future__ import annotations

import argparse
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
    Artefact("rlhf", "helpers.rlhf.build", ("helpers/rlhf/sweep.json",), "helpers/rlhf/DATASHEET.md",
             needs=("tinychat",)),
)
BY_NAME = {a.name: a for a in ARTEFACTS}

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
        changed = _changed([p for a in todo for p in a.outputs])
        if changed:
            print("rebuilt artefacts differ from the committed ones:\n  " + "\n  ".join(changed), file=sys.stderr)
            return 1
        print("every rebuilt artefact equals the committed one")
    return 0


if __name__ == "__main__":
    sys.exit(main())

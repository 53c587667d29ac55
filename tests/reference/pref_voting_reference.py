"""pref_voting (1.18.2) against the course's social_choice module: every reference value the tests hold.

Two fixtures, one script:
1. the inline rows of ``tests/test_social_choice.py``'s ``PREF_VOTING`` (hand-picked profiles: plurality, Borda,
   Copeland, minimax and the Condorcet winner), re-checked here;
2. ``tests/reference/pref_voting_profiles.json``: 200 random 5-7 candidate profiles (numpy default_rng(2026);
   5-41 voters; half impartial culture, every ranking equally likely; half drawn from 2-4 "factions", a base
   ranking each perturbed by a few random adjacent swaps per voter, so that Condorcet winners, cycles and ties
   all occur) with the winners of seven rules and, for an odd number of voters, the maximal lottery (unique only
   then; Laffond et al. 1997). Re-checked here; ``--write`` regenerates it.

Run from the repository root in the scratch venv of tests/reference/README.md (pref_voting is not a runtime or
test dependency; the tests read the values)::

    python tests/reference/pref_voting_reference.py            # check both fixtures
    python tests/reference/pref_voting_reference.py --write    # regenerate pref_voting_profiles.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pref_voting
from common import compare, finish, from_test
from pref_voting.c1_methods import copeland
from pref_voting.margin_based_methods import beat_path, minimax, split_cycle
from pref_voting.probabilistic_methods import maximal_lottery
from pref_voting.profiles import Profile
from pref_voting.scoring_methods import borda, plurality

OUT = Path(__file__).resolve().parent / "pref_voting_profiles.json"


def random_profile(rng: np.random.Generator) -> np.ndarray:
    m = int(rng.integers(5, 8))
    n = int(rng.integers(5, 42))
    if rng.uniform() < 0.5:
        return np.array([rng.permutation(m) for _ in range(n)])
    bases = [rng.permutation(m) for _ in range(int(rng.integers(2, 5)))]
    rows = []
    for _ in range(n):
        r = bases[int(rng.integers(len(bases)))].copy()
        for _ in range(int(rng.integers(0, 3))):
            i = int(rng.integers(m - 1))
            r[i], r[i + 1] = r[i + 1], r[i]
        rows.append(r)
    return np.array(rows)


def write_profiles(n_profiles: int = 200) -> None:
    rng = np.random.default_rng(2026)
    cases = [winners(random_profile(rng)) for _ in range(n_profiles)]
    OUT.write_text(json.dumps({"pref_voting": pref_voting.__version__, "cases": cases}, indent=0) + "\n")
    print(f"wrote {OUT} ({len(cases)} profiles, pref_voting {pref_voting.__version__})")


def winners(prof: np.ndarray) -> dict:
    """Every rule's winners on one profile (rows: voters' rankings, best first), as the JSON stores them."""
    p = Profile([list(map(int, r)) for r in prof])
    cw = p.condorcet_winner()
    return {
            "profile": prof.tolist(),
            "plurality": sorted(plurality(p)), "borda": sorted(borda(p)), "copeland": sorted(copeland(p)),
            "minimax": sorted(minimax(p)), "beat_path": sorted(beat_path(p)),
            "split_cycle": sorted(split_cycle(p)), "condorcet_winner": None if cw is None else int(cw),
            # unique only with an odd number of voters (Laffond et al. 1997); None otherwise
            "maximal_lottery": [float(maximal_lottery(p)[c]) for c in range(prof.shape[1])]
            if len(prof) % 2 == 1 else None,
    }


def check_inline_rows() -> None:
    rows = from_test("test_social_choice.py", "PREF_VOTING")["PREF_VOTING"]
    for i, (text, *want) in enumerate(rows):
        prof = Profile([[int(c) for c in r] for r in text.split()])
        got = [sorted(plurality(prof)), sorted(borda(prof)), sorted(copeland(prof)), sorted(minimax(prof)),
               prof.condorcet_winner()]
        compare(f"profile{i} {text!r}", repr(got), repr(list(want)), 0)


def check_profiles() -> None:
    stored = json.loads(OUT.read_text())
    for i, case in enumerate(stored["cases"]):
        got = winners(np.array(case["profile"]))
        for rule, want in case.items():
            if rule == "profile":
                continue
            if rule == "maximal_lottery" and want is not None:
                compare(f"random profile {i} {rule}", got[rule], want, 1e-9)
            else:
                compare(f"random profile {i} {rule}", repr(got[rule]), repr(want), 0)


if __name__ == "__main__":
    if "--write" in sys.argv[1:]:
        write_profiles()
    else:
        check_inline_rows()
        check_profiles()
        finish("pref_voting")



"""Make tests/reference/pref_voting_profiles.json: winners from pref_voting on random 5-7 candidate profiles.

    .venv/bin/pip install pref_voting==1.18.2
    .venv/bin/python tests/reference/make_pref_voting_fixture.py

Profiles (numpy default_rng(2026)): 5-7 candidates, 5-41 voters; half impartial culture (every ranking
equally likely), half drawn from 2-4 "factions" (a base ranking each, perturbed by a few random adjacent
swaps per voter), so that Condorcet winners, cycles and ties all occur. pref_voting is used only here; the
tests read the JSON; maximal lotteries are stored for the profiles with an odd number of voters (pref_voting is not a runtime or test dependency).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pref_voting
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


def main(n_profiles: int = 200) -> None:
    rng = np.random.default_rng(2026)
    cases = []
    for _ in range(n_profiles):
        prof = random_profile(rng)
        p = Profile([list(map(int, r)) for r in prof])
        cw = p.condorcet_winner()
        cases.append({
            "profile": prof.tolist(),
            "plurality": sorted(plurality(p)), "borda": sorted(borda(p)), "copeland": sorted(copeland(p)),
            "minimax": sorted(minimax(p)), "beat_path": sorted(beat_path(p)),
            "split_cycle": sorted(split_cycle(p)), "condorcet_winner": None if cw is None else int(cw),
            # unique only with an odd number of voters (Laffond et al. 1997); None otherwise
            "maximal_lottery": [float(maximal_lottery(p)[c]) for c in range(prof.shape[1])]
            if len(prof) % 2 == 1 else None,
        })
    OUT.write_text(json.dumps({"pref_voting": pref_voting.__version__, "cases": cases}, indent=0) + "\n")
    print(f"wrote {OUT} ({len(cases)} profiles, pref_voting {pref_voting.__version__})")


if __name__ == "__main__":
    main()

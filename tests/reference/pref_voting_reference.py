"""Re-check tests/test_social_choice.py's PREF_VOTING winners with pref_voting, on the profiles the test holds.

Each row of the test is a profile (space-separated rankings, best first) and the winners of plurality, Borda,
Copeland, minimax and the Condorcet winner; this script recomputes them with pref_voting and prints whether
each row agrees. Run from the repository root in the scratch venv of README.md:
``python tests/reference/pref_voting_reference.py``.
"""

from common import compare, finish, from_test
from pref_voting.c1_methods import copeland
from pref_voting.margin_based_methods import minimax
from pref_voting.profiles import Profile
from pref_voting.scoring_methods import borda, plurality

rows = from_test("test_social_choice.py", "PREF_VOTING")["PREF_VOTING"]
for i, (text, *want) in enumerate(rows):
    rankings = [[int(c) for c in r] for r in text.split()]
    prof = Profile(rankings)
    got = [sorted(plurality(prof)), sorted(borda(prof)), sorted(copeland(prof)), sorted(minimax(prof)),
           prof.condorcet_winner()]
    compare(f"profile{i} {text!r}", repr(got), repr(list(want)), 0)
finish("pref_voting")

"""Re-check tests/test_ethics.py's FAIRLEARN and TWO_FEATURES values with fairlearn.metrics, on the inputs the
test holds (y_true, y_pred, groups, sample weights).

Run from the repository root in the scratch venv of README.md: ``python tests/reference/fairlearn_reference.py``.
"""

import numpy as np
from common import compare, finish, from_test
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference

t = from_test("test_ethics.py", "FAIRLEARN", "TWO_FEATURES", "_bits")
bits = t["_bits"]
for i, (y, p, g, w, want) in enumerate(t["FAIRLEARN"]):
    y, p, g = bits(y), bits(p), np.array(list(g))
    w = None if w is None else np.array(w)
    got = []
    for method in ("between_groups", "to_overall"):
        got.append(demographic_parity_difference(y, p, sensitive_features=g, method=method, sample_weight=w))
        for agg in ("worst_case", "mean"):
            got.append(equalized_odds_difference(y, p, sensitive_features=g, method=method, sample_weight=w,
                                                 agg=agg))
    compare(f"case{i}", got, want, 1e-12)
y, p, s1, s2, dpd, eod = t["TWO_FEATURES"]
sf = np.stack([bits(s1), bits(s2)], axis=1)
compare("two features: DPD", demographic_parity_difference(bits(y), bits(p), sensitive_features=sf), dpd, 1e-12)
compare("two features: EOD", equalized_odds_difference(bits(y), bits(p), sensitive_features=sf), eod, 1e-12)
finish("fairlearn")

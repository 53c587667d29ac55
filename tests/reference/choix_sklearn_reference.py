"""Re-check tests/test_preferences.py's CHOIX_THETA (choix's regularised Bradley-Terry fit, ``opt_pairwise``)
and SK_W (scikit-learn's ``LogisticRegression`` on comparison differences), on the data the test holds.

Run from the repository root in the scratch venv of README.md: ``python tests/reference/choix_sklearn_reference.py``.
"""

import choix
import numpy as np
from common import compare, finish, from_test
from sklearn.linear_model import LogisticRegression

t = from_test("test_preferences.py", "CHOIX_DATA", "CHOIX_THETA", "SK_XC", "SK_XR", "SK_W")
for alpha, want in t["CHOIX_THETA"].items():
    got = choix.opt_pairwise(5, t["CHOIX_DATA"], alpha=alpha, method="Newton-CG", tol=1e-12)
    compare(f"choix alpha {alpha}", got, want, 1e-9)
D = np.array(t["SK_XC"]) - np.array(t["SK_XR"])
m = len(D)
for l2, want in t["SK_W"].items():
    clf = LogisticRegression(C=1 / (2 * m * l2), fit_intercept=False, tol=1e-12, max_iter=10000)
    clf.fit(np.vstack([D, -D]), np.r_[np.ones(m), np.zeros(m)])
    compare(f"sklearn l2 {l2}", clf.coef_[0], want, 1e-9)
finish("choix and scikit-learn")

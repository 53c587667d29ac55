"""Re-check tests/test_monitoring.py's ALIBI_KSDRIFT and ALIBI_MMD2 values with alibi-detect (``KSDrift`` on the
datasets of ``_alibi_cases``; ``utils.pytorch.distance.mmd2`` with a ``GaussianRBF`` kernel on the rng(200)
data of ``test_mmd2_unbiased_matches_alibi_detect``).

alibi-detect 0.13.0 wants numpy < 2: use its own scratch venv (README.md). Run from the repository root:
``python tests/reference/alibi_detect_reference.py``.
"""

import numpy as np
import torch
from alibi_detect.cd import KSDrift
from alibi_detect.utils.pytorch.distance import mmd2
from alibi_detect.utils.pytorch.kernels import GaussianRBF
from common import compare, finish, from_test

t = from_test("test_monitoring.py", "_alibi_cases", "ALIBI_KSDRIFT", "ALIBI_MMD2")
cases = t["_alibi_cases"]()
for name, correction, is_drift, p_values, threshold in t["ALIBI_KSDRIFT"]:
    x_ref, x = cases[name]
    data = KSDrift(x_ref, p_val=0.05, correction=correction).predict(x)["data"]
    compare(f"{name} {correction}: is_drift", int(data["is_drift"]), is_drift, 0)
    compare(f"{name} {correction}: p-values", data["p_val"], p_values, 1e-7)
    compare(f"{name} {correction}: threshold", np.atleast_1d(data["threshold"])[0], threshold, 1e-12)
rng = np.random.default_rng(200)
x = torch.tensor(rng.normal(size=(30, 3)))
y = torch.tensor(rng.normal(0.5, 1.0, size=(40, 3)))
for sigma, want in t["ALIBI_MMD2"].items():
    kernel = GaussianRBF(sigma=torch.tensor([sigma], dtype=torch.float64))
    compare(f"mmd2 sigma {sigma}", float(mmd2(x, y, kernel)), want, 1e-12)
finish("alibi-detect")

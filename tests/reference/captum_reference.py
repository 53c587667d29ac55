"""Re-check tests/test_interpretability.py's CAPTUM values with captum (IntegratedGradients, Saliency,
InputXGradient) on the test's own model and inputs (``_captum_model``, ``CASES``).

The test holds captum's outputs rounded to 9 decimals; this script recomputes them and prints how far each
stored value is from captum's (allowed: 1e-8, the rounding plus float32 noise). Run from the repository root
in the scratch venv of README.md: ``python tests/reference/captum_reference.py``.
"""

import torch
from captum.attr import InputXGradient, IntegratedGradients, Saliency
from common import compare, finish, from_test

t = from_test("test_interpretability.py", "CAPTUM", "CASES", "_captum_model", torch=torch)
ref, cases = t["CAPTUM"], t["CASES"]
f, X = t["_captum_model"]()
compare("X", X.numpy(), ref["X"], 1e-8)
for name, kwargs in cases.items():
    attr, delta = IntegratedGradients(f).attribute(X, return_convergence_delta=True, **kwargs)
    compare(f"{name}: attr", attr.detach().numpy(), ref[f"{name}: attr"], 1e-8)
    compare(f"{name}: delta", delta.detach().numpy(), ref[f"{name}: delta"], 1e-8)
attr, delta = IntegratedGradients(lambda z: f(z)[:, 1]).attribute(X, n_steps=20, method="riemann_trapezoid",
                                                                    return_convergence_delta=True)
compare("scalar_out_trap20: attr", attr.detach().numpy(), ref["scalar_out_trap20: attr"], 1e-8)
compare("scalar_out_trap20: delta", delta.detach().numpy(), ref["scalar_out_trap20: delta"], 1e-8)
compare("saliency_t2", Saliency(f).attribute(X, target=2).numpy(), ref["saliency_t2"], 1e-8)
compare("saliency_noabs_t0", Saliency(f).attribute(X, target=0, abs=False).numpy(), ref["saliency_noabs_t0"], 1e-8)
compare("ixg_t1", InputXGradient(f).attribute(X, target=1).detach().numpy(), ref["ixg_t1"], 1e-8)
finish("captum")

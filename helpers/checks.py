"""Self-checks for exercises.

A check runs the learner's function and the reference on a few cases and prints one line per case:
``exact match`` (equal integers, booleans, strings or other objects), ``match (every difference within <the
tolerance>)`` for floating-point results, or ``MISMATCH (max difference ...)``. A floating-point match prints the
tolerance it met, never the raw difference and never whether it was zero: two correct implementations that add
in another order agree bit for bit on one CPU and differ in the last bit on another (or even with another
memory alignment of the same arrays), and stored outputs must not move with that (see ``agreement`` and
docs/authoring.md, "Portable outputs"). ``CaseResult.status`` still says "exact" or "close". A learner function
that still raises ``NotImplementedError`` prints ``not implemented yet`` instead of a traceback, so a notebook
runs top to bottom before any exercise is done. ``use_or_fallback`` hands later cells the learner's function
when it passes, else the reference, so the rest of the notebook still works for a learner who is stuck.

Under nbgrader's autograder (the ``NBGRADER_EXECUTION`` environment variable is set) a failed or missing
exercise raises ``AssertionError``, so the check cell scores zero points instead of silently passing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["CaseResult", "check_function", "use_or_fallback", "compare", "agreement"]


@dataclass(frozen=True)
class CaseResult:
    """Outcome of one case: ``status`` is "exact", "close", "mismatch", "error" or "not implemented"."""

    status: str
    max_difference: float
    message: str

    @property
    def passed(self) -> bool:
        return self.status in ("exact", "close")


def agreement(max_difference: float, bound: float) -> str:
    """How two computations agree, as a class that does not depend on the CPU's floating-point kernels.

    ``"close (max difference below <bound>)"`` when it is below ``bound`` (zero included), else ``"DIFFERENT (max
    difference ...)"``. Stored notebook outputs print this class, never the raw difference: rounding noise such as
    ``4.8e-06`` moves with the kernel set (AVX2, AVX-512, ARM), and so does whether it is exactly zero; the class
    does not. ``bound`` is the tolerance the claim needs (assert it as well).
    """
    if not bound > 0:
        raise ValueError(f"bound must be positive, got {bound!r}")
    d = float(max_difference)
    if np.isnan(d):
        raise ValueError("max_difference is NaN")
    if d < bound:
        return f"close (max difference below {_short(bound)})"
    return f"DIFFERENT (max difference {d:.3g}, bound {_short(bound)})"


def _to_array(value: Any) -> tuple[np.ndarray, bool]:
    """``value`` as a float array, and whether it held floating-point (or complex) numbers."""
    if hasattr(value, "detach"):  # torch tensor, without importing torch
        value = value.detach().cpu().numpy()
    raw = np.asarray(value)
    return np.asarray(raw, dtype=float), raw.dtype.kind in "fc"


def compare(got: Any, expected: Any, rtol: float = 1e-6, atol: float = 1e-8) -> CaseResult:
    """Compare two numbers/arrays (or tuples of them) and classify the match."""
    if isinstance(expected, (tuple, list)) and len(expected) and not all(np.isscalar(x) for x in expected):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return CaseResult("mismatch", float("inf"), f"expected {len(expected)} outputs, got {type(got).__name__}")
        parts = [compare(g, e, rtol, atol) for g, e in zip(got, expected, strict=True)]
        worst = max(parts, key=lambda r: ("exact", "close", "mismatch").index(r.status) if r.status in (
            "exact", "close", "mismatch") else 3)
        return CaseResult(worst.status, max(p.max_difference for p in parts), worst.message)
    try:
        (g, g_float), (e, e_float) = _to_array(got), _to_array(expected)
    except (TypeError, ValueError):
        same = got == expected
        return CaseResult("exact" if same else "mismatch", 0.0 if same else float("inf"),
                          "exact match" if same else f"expected {expected!r}, got {got!r}")
    if g.shape != e.shape:
        return CaseResult("mismatch", float("inf"), f"shape {g.shape}, expected {e.shape}")
    if g.size == 0:
        return CaseResult("exact", 0.0, "exact match")
    same = (np.isnan(g) & np.isnan(e)) | (g == e)  # equal values, equal infinities, or both NaN
    with np.errstate(invalid="ignore"):
        diff = np.where(same, 0.0, np.abs(g - e))
    max_diff = float(np.nanmax(np.where(np.isnan(diff), np.inf, diff)))
    if max_diff == 0.0 and not (g_float or e_float):
        return CaseResult("exact", 0.0, "exact match")
    if max_diff == 0.0 or np.allclose(g, e, rtol=rtol, atol=atol, equal_nan=True):
        # The tolerance, not the raw difference (nor whether it is zero): rounding noise moves with the CPU's
        # kernels, this line does not.
        return CaseResult("exact" if max_diff == 0.0 else "close", max_diff,
                          f"match (every difference within {_tolerance(rtol, atol)})")
    return CaseResult("mismatch", max_diff, f"MISMATCH (max difference {max_diff:.3g})")


def _short(x: float) -> str:
    """1e-06 -> '1e-6', 0.001 -> '0.001': tolerances as a reader writes them."""
    if x == 0 or 1e-3 <= abs(x) < 1e3:
        return f"{x:g}"
    mantissa, exponent = f"{x:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _tolerance(rtol: float, atol: float) -> str:
    if rtol == 0:
        return _short(atol)
    return f"{_short(rtol)}·|expected| + {_short(atol)}"


def _autograding() -> bool:
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def check_function(
    learner_fn: Callable[..., Any],
    reference_fn: Callable[..., Any],
    cases: Sequence[dict[str, Any] | tuple],
    *,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    name: str | None = None,
    quiet: bool = False,
) -> bool:
    """Run ``learner_fn`` and ``reference_fn`` on each case and print one line per case.

    Each case is a dict of keyword arguments or a tuple of positional arguments. Returns True when every case
    matches (exactly or within ``rtol``/``atol``). Never raises for a wrong or missing implementation, except
    under nbgrader's autograder, where it raises ``AssertionError`` so the cell earns no points
    (``quiet=True`` prints nothing and never raises).
    """
    if not callable(learner_fn) or not callable(reference_fn):
        raise ValueError("check_function needs two callables: the learner's function and the reference")
    if len(cases) == 0:
        raise ValueError("check_function needs at least one case")
    label = name or getattr(learner_fn, "__name__", "function")
    results: list[CaseResult] = []
    for i, case in enumerate(cases, start=1):
        args, kwargs = ((), case) if isinstance(case, dict) else (tuple(case), {})
        try:
            got = learner_fn(*args, **kwargs)
        except NotImplementedError:
            results.append(CaseResult("not implemented", float("nan"), "not implemented yet"))
            if not quiet:
                print(f"{label}: not implemented yet (replace the `raise NotImplementedError()` line)")
            break
        except Exception as exc:  # a learner's bug must not stop the notebook
            results.append(CaseResult("error", float("nan"), f"raised {type(exc).__name__}: {exc}"))
        else:
            results.append(compare(got, reference_fn(*args, **kwargs), rtol=rtol, atol=atol))
        if not quiet:
            print(f"{label} case {i}: {results[-1].message}")
    ok = all(r.passed for r in results) and len(results) == len(cases)
    if not quiet and ok:
        print(f"{label}: all {len(cases)} cases pass")
    if _autograding() and not ok and not quiet:
        raise AssertionError(f"{label}: {results[-1].message}")
    return ok


def use_or_fallback(
    learner_fn: Callable[..., Any],
    reference_fn: Callable[..., Any],
    cases: Sequence[dict[str, Any] | tuple],
    *,
    rtol: float = 1e-6,
    atol: float = 1e-8,
) -> Callable[..., Any]:
    """Return the learner's function if it passes every case, else the reference (and say which)."""
    ok = check_function(learner_fn, reference_fn, cases, rtol=rtol, atol=atol, quiet=True)
    label = getattr(learner_fn, "__name__", "function")
    if ok:
        print(f"using your {label}")
        return learner_fn
    print(f"using the reference {label} for the rest of the notebook")
    return reference_fn

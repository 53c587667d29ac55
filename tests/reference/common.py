"""What every reference script shares: read a test's inputs and expected values from its source, compare.

The scripts run in a scratch venv that has the reference library but not the course (no ``helpers``, no
pytest), so a test module is never imported: ``from_test`` parses it and runs only the named top-level
assignments and functions (the inputs and the expected values), with numpy (and torch, if asked) in scope.
``compare`` prints one line per value: the largest difference to what the test holds, and whether it is within
the test's tolerance. A script exits 1 if any value is not.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Any

import numpy as np

TESTS = Path(__file__).resolve().parents[1]
_failures: list[str] = []


def from_test(test_file: str, *names: str, **scope: Any) -> dict[str, Any]:
    """The top-level ``names`` (constants or functions) of ``tests/<test_file>``, evaluated in order of the
    file with ``np`` and ``scope`` available."""
    tree = ast.parse((TESTS / test_file).read_text())
    ns: dict[str, Any] = {"np": np, **scope}
    found = set()
    for node in tree.body:
        targets = ([t.id for t in node.targets if isinstance(t, ast.Name)] if isinstance(node, ast.Assign)
                   else [node.name] if isinstance(node, ast.FunctionDef) else [])
        if set(targets) & set(names):
            exec(compile(ast.Module([node], type_ignores=[]), test_file, "exec"), ns)  # noqa: S102
            found.update(targets)
    missing = set(names) - found
    if missing:
        raise SystemExit(f"{test_file} has no top-level {sorted(missing)}: update this script with the test")
    return {n: ns[n] for n in names}


def compare(label: str, got: Any, want: Any, atol: float) -> None:
    """Print the largest absolute difference between ``got`` (the library's value) and ``want`` (the test's)."""
    if want is None or got is None or isinstance(want, (str, bool)):
        ok = got == want
        print(f"{'ok  ' if ok else 'DIFF'} {label}: library {got!r}, test {want!r}")
    else:
        g, w = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
        ok = g.shape == w.shape and bool(np.all(np.abs(g - w) <= atol))
        diff = float(np.max(np.abs(g - w))) if g.shape == w.shape else float("inf")
        print(f"{'ok  ' if ok else 'DIFF'} {label}: max difference {diff:.3g} (allowed {atol:g})")
    if not ok:
        _failures.append(label)


def finish(library: str) -> None:
    """Summary line; exit 1 if any comparison failed."""
    if _failures:
        print(f"{len(_failures)} value(s) differ from {library}: {_failures}")
        sys.exit(1)
    print(f"every value the tests hold agrees with {library}")

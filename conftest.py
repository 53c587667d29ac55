"""Scheduling only: the order in which pytest-xdist hands test scopes to its two workers (``--dist loadscope``).

A worker takes the next scope when it is free, so long scopes go first and the many short unit-test modules
fill the gaps at the end: the browser test's two classes (one per worker, minutes each), nbgrader, then the
notebooks longest first (by their measured times: test-output/junit-*.xml after ``make test``),
then everything else in collection order. The order changes no result, only the wall time of ``make test``.
"""

from __future__ import annotations

# notebooks by measured execution time, longest first; a notebook missing here runs after these
LONGEST_FIRST = ("14", "06", "02", "08", "13", "00", "05", "11", "12", "10", "09", "03", "04", "01", "07")


def _rank(item) -> tuple[int, int]:
    path = item.nodeid.split("::")[0]
    if path.endswith("test_browser.py"):
        return 0, 0
    if path.endswith("test_nbgrader.py"):
        return 1, 0
    if path.endswith(".ipynb"):
        number = path.rsplit("/", 1)[-1][:2]
        return 2, LONGEST_FIRST.index(number) if number in LONGEST_FIRST else len(LONGEST_FIRST)
    return 3, 0


def pytest_collection_modifyitems(session, config, items) -> None:
    items.sort(key=_rank)  # stable: within a rank, collection order (so a scope's tests stay together)

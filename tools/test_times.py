"""Where `make test`'s time goes: seconds per part, summed over tests from pytest's JUnit XML reports.

    python tools/test_times.py test-output/junit-main.xml test-output/junit-portability.xml

Parts: unit tests, nbval (stored outputs), the browser test (student copies in JupyterLab), the student
notebooks it does not cover, nbgrader, and the portability run. Sums are of per-test durations, so with two
workers each part's wall time is roughly half its sum.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path


def part(classname: str, name: str, report: str) -> str:
    """Which part of `make test` a test case belongs to."""
    if "portability" in report:
        return "portability (nbval, forced kernels)"
    if classname.startswith("notebooks") or ".ipynb" in classname:
        return "nbval (stored outputs)"
    for key, label in (("test_browser", "browser + student copies"), ("test_student_notebooks", "student copies"),
                       ("test_nbgrader", "nbgrader")):
        if key in classname:
            return label
    return "unit tests"


def main(argv: list[str]) -> int:
    totals: dict[str, float] = defaultdict(float)
    for report in argv:
        path = Path(report)
        if not path.exists():
            continue
        for case in ET.parse(path).iter("testcase"):
            totals[part(case.get("classname", ""), case.get("name", ""), path.name)] += float(case.get("time", 0))
    print("time per part of make test (sum of test durations; two workers share the wall time):")
    for label, seconds in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"  {label:<38} {seconds:7.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

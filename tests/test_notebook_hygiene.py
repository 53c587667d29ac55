"""Every source notebook: run top to bottom in order, no errors, clean, course anatomy, student copy current.

(That stored outputs equal a fresh run is checked by nbval in the same `make test`.)
"""

import nbformat
import nbtool
import pytest

NOTEBOOKS = nbtool.source_notebooks()


def test_course_has_notebooks():
    names = [p.name for p in NOTEBOOKS]
    assert names[:2] == ["00_start_here.ipynb", "01_alignment_intro.ipynb"]
    assert len({n[:2] for n in names}) == len(names), "two notebooks share a number"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_hygiene(path):
    assert nbtool.hygiene_problems(path) == []


def test_no_orphan_student_notebooks():
    sources = {p.name for p in NOTEBOOKS}
    orphans = [p.name for p in nbtool.STUDENT.glob("*.ipynb") if p.name not in sources]
    assert orphans == []


def test_anatomy_check_catches_a_bad_notebook(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 05 · Title\n\nshort"), nbformat.v4.new_markdown_cell("## Setup")]
    path = tmp_path / "05_bad.ipynb"
    problems = nbtool.anatomy_problems(path, nb)
    assert any("why this matters" in p for p in problems)
    assert any("missing headings" in p for p in problems)
    assert any("Exercise" in p for p in problems)

"""Every student notebook (solutions removed) runs end to end: checks say "not implemented yet", later
cells fall back to the reference implementation, nothing crashes.

Where a Chromium is available, tests/test_browser.py runs the student copy of every notebook with a demo in
JupyterLab, with the same checks; this module runs the others (all of them without a Chromium), so each student
copy is executed once per `make test`. One test class per notebook, so pytest-xdist's ``--dist loadscope`` runs
notebooks in parallel.
"""

import os
import time

import nbformat
import nbtool
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.notebook
IN_BROWSER = {p.name for p in nbtool.widget_notebooks()} if nbtool.chromium() else set()


def _run_student(path):
    nb = nbformat.read(path, as_version=4)
    assert all(c.get("outputs", []) == [] for c in nb.cells if c.cell_type == "code"), "outputs not cleared"
    os.environ.update(nbtool.KERNEL_ENV)
    os.environ.pop("NBGRADER_EXECUTION", None)
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(nbtool.NOTEBOOKS)}}).execute()
    seconds = time.perf_counter() - start
    text = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.output_type != "error", f"{path.name}: {out.get('ename')}: {out.get('evalue')}"
            text.append(out.get("text", "") if out.output_type == "stream" else out.get("data", {}).get("text/plain", ""))
    joined = "\n".join(text)
    source = nbformat.read(nbtool.NOTEBOOKS / path.name, as_version=4)
    n_solutions = sum("### BEGIN SOLUTION" in c.source for c in source.cells)
    if n_solutions:
        assert "not implemented yet" in joined
    assert "### BEGIN SOLUTION" not in "".join(c.source for c in nb.cells)
    return seconds


def _make_class(path):
    def test_runs_end_to_end(self):
        assert path.exists(), f"{path} missing: run `make student`"
        _run_student(path)

    return type(f"TestStudent_{path.stem}", (), {"test_runs_end_to_end": test_runs_end_to_end})


for _p in nbtool.source_notebooks():
    if _p.name not in IN_BROWSER:
        _cls = _make_class(nbtool.student_path(_p))
        globals()[_cls.__name__] = _cls


def test_every_student_copy_runs_once():
    """Each source notebook's student copy is run here or by the browser test, and the browser test runs."""
    here = {name.removeprefix("TestStudent_") + ".ipynb" for name in globals() if name.startswith("TestStudent_")}
    assert here | IN_BROWSER == {p.name for p in nbtool.source_notebooks()}
    assert not (here & IN_BROWSER)
    if IN_BROWSER:
        import test_browser

        assert {p.name for p in test_browser.NOTEBOOKS} == IN_BROWSER

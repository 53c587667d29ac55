"""nbgrader, for real: the source notebooks are valid nbgrader source notebooks.

A throw-away course directory gets every source notebook; ``nbgrader generate_assignment`` produces the release
versions (no solutions anywhere); one submission fills exercise 1 of notebook 01 with the reference solution and
leaves exercise 2 empty; ``nbgrader autograde`` must award exactly exercise 1's points.
The release versions also agree cell by cell with notebooks/student/ (same nbgrader preprocessors).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import nbtool
import pytest

pytestmark = pytest.mark.notebook

ASSIGNMENT = "course"
NB01 = "01_alignment_intro"


# nbgrader runs `alembic` from PATH: make the venv's scripts visible even when the venv is not activated.
BIN = str(Path(sys.executable).parent)


def _nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": BIN + os.pathsep + os.environ.get("PATH", ""), **nbtool.KERNEL_ENV, "JUPYTER_CONFIG_DIR": str(course / ".jupyter"),
           "JUPYTER_DATA_DIR": str(course / ".jupyter-data"), "JUPYTER_RUNTIME_DIR": str(course / ".jupyter-run")}
    cmd = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={course}", "--CourseDirectory.course_id=aligned"]
    proc = subprocess.run(cmd, cwd=course, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    os.environ["PATH"] = BIN + os.pathsep + os.environ.get("PATH", "")
    root = tmp_path_factory.mktemp("nbgrader_course")
    (root / "nbgrader_config.py").write_text("c = get_config()\nc.Exchange.assignment_dir = '.'\n")
    src = root / "source" / ASSIGNMENT
    src.mkdir(parents=True)
    for p in nbtool.source_notebooks():
        shutil.copy(p, src / p.name)
    _nbgrader(root, "db", "assignment", "add", ASSIGNMENT)
    _nbgrader(root, "db", "student", "add", "learner")
    _nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
    return root


def _grade_cells(nb):
    return {c.metadata.nbgrader["grade_id"]: c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}


def test_release_has_no_solutions_and_matches_student_copies(course):
    release = course / "release" / ASSIGNMENT
    for p in nbtool.source_notebooks():
        nb = nbformat.read(release / p.name, as_version=4)
        text = "".join(c.source for c in nb.cells)
        assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
        student = nbformat.read(nbtool.student_path(p), as_version=4)
        assert [c.source for c in nb.cells] == [c.source for c in student.cells], p.name
        if any("BEGIN SOLUTION" in c.source for c in nbformat.read(p, as_version=4).cells):
            assert "raise NotImplementedError()" in text


def test_autograde_awards_points_for_the_filled_exercise_only(course):
    release = nbformat.read(course / "release" / ASSIGNMENT / f"{NB01}.ipynb", as_version=4)
    source = nbformat.read(nbtool.NOTEBOOKS / f"{NB01}.ipynb", as_version=4)
    solutions = {c.metadata.nbgrader["grade_id"]: c.source for c in source.cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in release.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "best_of_n":
            cell.source = solutions["best_of_n"]  # the learner solved exercise 1 and left exercise 2 empty
    sub = course / "submitted" / "learner" / ASSIGNMENT
    sub.mkdir(parents=True)
    for p in nbtool.source_notebooks():
        if p.stem == NB01:
            nbformat.write(release, sub / p.name)
    (sub / "timestamp.txt").write_text("2026-01-01 00:00:00.000000 UTC")
    _nbgrader(course, "autograde", ASSIGNMENT, "--force", f"--notebook={NB01}")

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(NB01, ASSIGNMENT, "learner")
        scores = {g.name: (g.score, g.max_score) for g in nb.grades}
    points = {gid: int(c.metadata.nbgrader["points"]) for gid, c in _grade_cells(source).items()}
    assert scores["best_of_n_check"] == (points["best_of_n_check"], points["best_of_n_check"])
    assert scores["expected_true_check"] == (0, points["expected_true_check"])

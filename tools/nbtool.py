"""Notebook tooling: execute in place, clean, generate student versions, hygiene checks.

    python tools/nbtool.py execute [NOTEBOOK ...]   # fresh kernel, top to bottom, store clean outputs
    python tools/nbtool.py student [NOTEBOOK ...]   # notebooks/student/ via nbgrader's preprocessors
    python tools/nbtool.py check   [NOTEBOOK ...]   # hygiene problems, one line each; exit 1 if any

With no NOTEBOOK, every source notebook (notebooks/NN_*.ipynb) is processed. ``make notebooks`` runs
``execute`` and then ``student``; ``make test`` runs the hygiene checks through pytest.
"""

from __future__ import annotations

import copy
import os
import re
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
STUDENT = NOTEBOOKS / "student"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")
NAME = re.compile(r"^(\d\d)_[a-z0-9_]+\.ipynb$")

WIDGET_TEXT = "Interactive figure with controls"  # the text/plain line a demo cell stores beside its PNG


def _read_env(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if line.strip() and not line.startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs}


# Environment of every kernel that executes a notebook (make notebooks, nbval, student and browser tests),
# defined once in tools/kernel.env (the Makefile exports the same file).
KERNEL_ENV = _read_env(ROOT / "tools" / "kernel.env")

# Portable outputs (docs/authoring.md): what can be checked without running a notebook.
# A difference printed as a raw number in scientific notation ("max difference 4.8e-06"): float noise. The
# classes of checks.agreement / check_function ("below 1e-4", "within 1e-4·|expected| + 1e-5") are fine.
RAW_DIFFERENCE = re.compile(r"differen(?:ce|t)\b(?P<between>[^\n]*?)\b(?P<number>\d(?:\.\d+)?e-\d+)")
IGNORE_MARKER = "# NBVAL_IGNORE_OUTPUT"
IGNORE_REASONS = ("progress bar", "wall-clock timing", "chaotic training")  # the only outputs nbval may be told to ignore
TOPIC_HEADINGS = ["Learning objectives", "Prerequisites", "Time", "Setup"]
CLOSING_HEADINGS = ["Limitations", "Summary", "Further reading"]


def source_notebooks() -> list[Path]:
    """The course's source notebooks, in course order."""
    return sorted(p for p in NOTEBOOKS.glob("*.ipynb") if NAME.match(p.name))


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Strip what cannot reproduce or does not belong in git; keep outputs, tags and nbgrader metadata."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    for cell in nb.cells:
        for key in ("execution", "ExecuteTime", "collapsed", "scrolled"):
            cell.metadata.pop(key, None)
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.outputs:
            if "data" in out:
                out["data"].pop(WIDGET_VIEW, None)
                if not out["data"]:
                    continue
            kept.append(out)
        cell.outputs = kept
    return nb


def execute(path: Path, timeout: int = 600) -> float:
    """Run ``path`` top to bottom in a fresh kernel, clean it and write it back; return seconds taken."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    for k, v in KERNEL_ENV.items():
        os.environ[k] = v
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    seconds = time.perf_counter() - start
    nbformat.write(clean(nb), path)
    return seconds


def student_version(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The learner's copy: nbgrader's ClearSolutions and ClearOutput on the source notebook."""
    from nbgrader.preprocessors import ClearOutput, ClearSolutions

    nb = copy.deepcopy(nb)
    resources: dict = {}
    nb, resources = ClearSolutions().preprocess(nb, resources)
    nb, resources = ClearOutput().preprocess(nb, resources)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.execution_count = None
    return clean(nb)


def student_path(path: Path) -> Path:
    return STUDENT / path.name


def demo_count(nb: nbformat.NotebookNode) -> int:
    """How many interactive demos a source notebook shows (their stored text line)."""
    return sum(WIDGET_TEXT in "".join(o.get("data", {}).get("text/plain", "")) for c in nb.cells
               if c.cell_type == "code" for o in c.outputs)


def widget_notebooks() -> list[Path]:
    """Source notebooks with at least one interactive demo (the browser test runs their student copies)."""
    return [p for p in source_notebooks() if demo_count(nbformat.read(p, as_version=4))]


def chromium() -> str | None:
    """A Chromium for the browser test: $CHROMIUM, else Debian's /usr/bin/chromium, else one on PATH."""
    import shutil

    for cand in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                 shutil.which("chromium-browser")):
        if cand and Path(cand).exists():
            return cand
    return None


def write_student(path: Path) -> Path:
    """Write the student version of ``path`` into notebooks/student/."""
    STUDENT.mkdir(exist_ok=True)
    out = student_path(path)
    nbformat.write(student_version(nbformat.read(path, as_version=4)), out)
    return out


def _headings(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    found = []
    in_fence = False
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            if line.strip().startswith("```"):
                in_fence = not in_fence
            m = re.match(r"^(#{1,4})\s+(.*)$", line)
            if m and not in_fence:
                found.append((len(m.group(1)), m.group(2).strip()))
    return found


def anatomy_problems(path: Path, nb: nbformat.NotebookNode) -> list[str]:
    """Problems with the notebook anatomy of shared/STYLE.md (same headings, same order)."""
    problems = []
    m = NAME.match(path.name)
    number = m.group(1) if m else "??"
    first = nb.cells[0] if nb.cells else None
    if first is None or first.cell_type != "markdown" or not first.source.startswith(f"# {number} · "):
        problems.append(f"first cell must be a markdown title '# {number} · Title'")
    elif len(re.sub(r"\s+", " ", first.source.split("\n", 1)[-1]).strip()) < 200:
        problems.append("title cell needs a paragraph on why this matters for language-model safety")
    if number == "00":
        return problems
    h2 = [text for level, text in _headings(nb) if level == 2]
    numbered = [t for t in h2 if re.match(r"^\d+\.\s", t)]
    if not numbered:
        problems.append("no numbered sections ('## 1. ...')")
    else:
        nums = [int(t.split(".")[0]) for t in numbered]
        if nums != list(range(1, len(nums) + 1)):
            problems.append(f"numbered sections are not 1, 2, 3, ...: {nums}")
    order = TOPIC_HEADINGS + (["<sections>"] if numbered else []) + CLOSING_HEADINGS
    seq = []
    for t in h2:
        key = "<sections>" if re.match(r"^\d+\.\s", t) else t
        if key in order and (not seq or seq[-1] != key):
            seq.append(key)
    missing = [h for h in order if h not in seq]
    if missing:
        problems.append(f"missing headings: {', '.join('## ' + h for h in missing)}")
    elif seq != order:
        problems.append(f"headings out of order: {seq}")
    lower = [t.lower() for _, t in _headings(nb)]
    if not any(t.startswith("exercise") for t in lower):
        problems.append("no '### Exercise ...' heading")
    if not any("interactive demo" in t for t in lower):
        problems.append("no '### Interactive demo ...' heading")
    return problems


def unstable_sorts(source: str) -> list[str]:
    """``argsort``/``sort`` calls that can order ties differently on another CPU: numpy's argsort without
    ``kind="stable"``, torch's sort/argsort without ``stable=True``. Returns the offending calls."""
    bad = []
    for m in re.finditer(r"\b(np|numpy|torch)\.argsort\(|\.argsort\(|\btorch\.sort\(", source):
        depth, end = 0, m.end() - 1
        for end in range(m.end() - 1, len(source)):
            depth += {"(": 1, ")": -1}.get(source[end], 0)
            if depth == 0:
                break
        call = source[m.start():end + 1]
        if 'kind="stable"' not in call and "kind='stable'" not in call and "stable=True" not in call:
            bad.append(call)
    return bad


def portability_problems(i: int, cell: nbformat.NotebookNode) -> list[str]:
    """Portable-output rules for one code cell (see docs/authoring.md, "Portable outputs")."""
    problems = [f"cell {i}: unstable sort order `{call[:60]}` (use kind=\"stable\" / stable=True, or np.lexsort)"
                for call in unstable_sorts(cell.source)]
    lines = cell.source.splitlines()
    if lines and lines[0].strip() == IGNORE_MARKER:
        reason = lines[1].strip() if len(lines) > 1 else ""
        if not any(reason == f"# ignored: {r}" for r in IGNORE_REASONS):
            problems.append(f"cell {i}: {IGNORE_MARKER} must be followed by '# ignored: <reason>', a reason among "
                            f"{IGNORE_REASONS} (docs/authoring.md)")
    elif any(line.strip() == IGNORE_MARKER for line in lines):
        problems.append(f"cell {i}: {IGNORE_MARKER} must be the cell's first line")
    for out in cell.outputs:
        text = out.get("text", "") if out.output_type == "stream" else out.get("data", {}).get("text/plain", "")
        for m in RAW_DIFFERENCE.finditer(text if isinstance(text, str) else "".join(text)):
            if not re.search(r"\b(below|within)\b", m.group("between")):
                problems.append(f"cell {i}: raw float difference in stored output ({m.group(0)[-40:]!r}): "
                                "print checks.agreement(...) instead")
                break
    return problems


def hygiene_problems(path: Path) -> list[str]:
    """Everything the hygiene check enforces for one source notebook."""
    nb = nbformat.read(path, as_version=4)
    problems = anatomy_problems(path, nb)
    count = 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        src = cell.source
        if "BEGIN SOLUTION" in src and not cell.metadata.get("nbgrader", {}).get("solution"):
            problems.append(f"cell {i}: solution markers but no nbgrader solution metadata")
        if not src.strip():
            problems.append(f"cell {i}: empty code cell")
            continue
        problems += portability_problems(i, cell)
        count += 1
        if cell.execution_count != count:
            problems.append(f"cell {i}: execution count {cell.execution_count}, expected {count} "
                            "(run `make notebooks`)")
            break
        for out in cell.outputs:
            if out.output_type == "error":
                problems.append(f"cell {i}: stored error output {out.get('ename')}")
            text = out.get("text", "") if out.output_type == "stream" else out.get("data", {}).get("text/plain", "")
            if ADDRESS.search(text if isinstance(text, str) else "".join(text)):
                problems.append(f"cell {i}: memory address in stored output")
    if nbformat.writes(clean(nb)) != nbformat.writes(nb):
        problems.append("not clean (execution metadata or widget views stored): run `make notebooks`")
    sp = student_path(path)
    if not sp.exists():
        problems.append(f"missing {sp.relative_to(ROOT)}: run `make student`")
    elif nbformat.writes(student_version(nb)) != nbformat.writes(nbformat.read(sp, as_version=4)):
        problems.append(f"{sp.relative_to(ROOT)} is out of date: run `make student`")
    return problems


def _paths(args: list[str]) -> list[Path]:
    return [Path(a).resolve() for a in args] if args else source_notebooks()


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("execute", "student", "check"):
        print(__doc__)
        return 2
    cmd, paths = argv[0], _paths(argv[1:])
    bad = 0
    for p in paths:
        if cmd == "execute":
            print(f"{p.name}: executed in {execute(p):.1f} s", flush=True)
            write_student(p)
        elif cmd == "student":
            print(f"wrote {write_student(p).relative_to(ROOT)}")
        else:
            for problem in hygiene_problems(p):
                print(f"{p.name}: {problem}")
                bad += 1
    if cmd == "execute":
        stale = {q.name for q in STUDENT.glob("*.ipynb")} - {q.name for q in source_notebooks()}
        for name in sorted(stale):
            (STUDENT / name).unlink()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

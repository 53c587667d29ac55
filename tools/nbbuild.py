"""Build a new .ipynb from a percent-format script (an authoring convenience; the .ipynb is the source).

    python tools/nbbuild.py draft.py notebooks/NN_topic.ipynb

Cell markers (each starts a new cell):

    # %% [markdown]              markdown; every line starts with "# " (or is "#" for a blank line)
    # %%                         code
    # %% [solution] id=NAME      code cell holding ### BEGIN SOLUTION / ### END SOLUTION (nbgrader solution)
    # %% [check] id=NAME points=N  autograded check cell (nbgrader grade cell, locked)

Then run `python tools/nbtool.py execute notebooks/NN_topic.ipynb` to fill the outputs and the student copy.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

MARK = re.compile(r"^# %%(?:\s*\[(\w+)\])?(.*)$")


def _nbgrader(kind: str, opts: dict[str, str]) -> dict:
    if "id" not in opts:
        raise ValueError(f"[{kind}] cell needs id=NAME")
    meta = {"grade_id": opts["id"], "schema_version": 3}
    if kind == "solution":
        meta.update(solution=True, grade=False, locked=False, task=False)
    else:
        meta.update(solution=False, grade=True, locked=True, task=False, points=int(opts.get("points", 1)))
    return meta


def build(text: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    cells: list[tuple[str, dict, list[str]]] = []
    for line in text.splitlines():
        m = MARK.match(line)
        if m:
            kind = m.group(1) or "code"
            opts = dict(re.findall(r"(\w+)=(\S+)", m.group(2)))
            cells.append((kind, opts, []))
        elif cells:
            cells[-1][2].append(line)
    for kind, opts, lines in cells:
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and not lines[0].strip():
            lines.pop(0)
        if kind == "markdown":
            body = "\n".join(re.sub(r"^# ?", "", ln) for ln in lines)
            nb.cells.append(nbformat.v4.new_markdown_cell(body))
        elif kind in ("code", "solution", "check"):
            cell = nbformat.v4.new_code_cell("\n".join(lines))
            if kind != "code":
                cell.metadata["nbgrader"] = _nbgrader(kind, opts)
            nb.cells.append(cell)
        else:
            raise ValueError(f"unknown cell kind [{kind}]")
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    return nb


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    nbformat.write(build(Path(sys.argv[1]).read_text()), sys.argv[2])
    print(f"wrote {sys.argv[2]}")

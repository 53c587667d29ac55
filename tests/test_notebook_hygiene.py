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


def test_portability_rules_are_documented_and_enforced():
    doc = (nbtool.ROOT / "docs" / "authoring.md").read_text()
    assert "## Portable outputs" in doc
    for reason in nbtool.IGNORE_REASONS:
        assert f"`# ignored: {reason}`" in doc
    assert nbtool.unstable_sorts("o = np.argsort(w)\nq = torch.sort(x, dim=1)") == ["np.argsort(w)",
                                                                                   "torch.sort(x, dim=1)"]
    assert nbtool.unstable_sorts('np.argsort(f(w), kind="stable"); x.argsort(stable=True); np.lexsort((a, b))') == []
    cell = nbformat.v4.new_code_cell("# NBVAL_IGNORE_OUTPUT\nprint(1)")
    cell.outputs = [nbformat.v4.new_output("stream", text="max |logit difference| 4.8e-06\n")]
    problems = nbtool.portability_problems(0, cell)
    assert any("ignored: <reason>" in p for p in problems) and any("raw float difference" in p for p in problems)
    cell = nbformat.v4.new_code_cell("# NBVAL_IGNORE_OUTPUT\n# ignored: progress bar\nprint(1)")
    cell.outputs = [nbformat.v4.new_output("stream", text="close match (every difference within 1e-4·|expected| "
                                                          "+ 1e-5)\nP(unsafe): close (max difference below 1e-5)\n")]
    assert nbtool.portability_problems(0, cell) == []


def test_helpers_sort_orders_are_stable():
    bad = {str(p.relative_to(nbtool.ROOT)): nbtool.unstable_sorts(p.read_text())
           for p in sorted((nbtool.ROOT / "helpers").rglob("*.py"))}
    assert {k: v for k, v in bad.items() if v} == {}


def _table_rows(markdown: str) -> dict[str, list[str]]:
    """The course table's rows by notebook number: [number cell, title without its link, what, time]."""
    import re

    rows = {}
    for line in markdown.splitlines():
        if re.match(r"^\| *\d\d", line):
            cells = [c.strip() for c in line.split("|")[1:5]]
            cells[1] = re.sub(r"\[(.*?)\]\(.*?\)", r"\1", cells[1])
            rows[cells[0][:2]] = cells
    return rows


def test_course_map_in_00_equals_the_readme_table():
    readme = _table_rows((nbtool.ROOT / "README.md").read_text())
    start = _table_rows(nbformat.read(NOTEBOOKS[0], as_version=4).cells[0].source)
    assert set(readme) == {p.name[:2] for p in NOTEBOOKS}, "README's course table misses a notebook"
    assert start == {n: r for n, r in readme.items() if n != "00"}, "00's course map differs from README's table"


def _output_texts(nb) -> list[str]:
    texts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if "text" in out:
                texts.append(out["text"])
            for mime in ("text/plain", "text/html", "text/markdown"):
                if mime in out.get("data", {}):
                    texts.append(out["data"][mime])
    return texts


def harmful_reply_problems(nb, digests: set[str]) -> list[str]:
    """Stored outputs that contain a run of ``COPIED_RUN`` (10) words of one of the real model's non-refusing
    replies to the course's harmful prompts (``helpers.smollm.judge.longest_copied_run``; the digests of their
    8-word runs are made by ``python -m helpers.rlhf.smollm_build``, the replies themselves are never stored)."""
    from helpers.smollm.judge import COPIED_RUN, longest_copied_run

    return [text[:60] for text in _output_texts(nb) if longest_copied_run(text, digests) >= COPIED_RUN]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_no_stored_harmful_reply_of_the_real_model(path):
    from helpers.interpretability.smollm_refusal import SMOLLM_REFUSAL_SHINGLES_PATH
    from helpers.rlhf.smollm_safety import SMOLLM_SHINGLES_PATH

    # the non-refusing replies of notebook 13's build and of notebook 05's edits of the aligned model
    digests = set(SMOLLM_SHINGLES_PATH.read_text().split()) | set(SMOLLM_REFUSAL_SHINGLES_PATH.read_text().split())
    assert len(digests) > 1000
    assert harmful_reply_problems(nbformat.read(path, as_version=4), digests) == []


def test_harmful_reply_check_catches_a_copied_reply():
    from helpers.smollm.judge import shingle_hashes

    reply = "Sure, here is how you would do the thing step by step, first you take the"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x", outputs=[nbformat.v4.new_output("stream", text="model: " + reply)])]
    assert harmful_reply_problems(nb, shingle_hashes(reply)) == ["model: " + reply[:53]]
    assert harmful_reply_problems(nb, shingle_hashes("an unrelated reply about baking bread in a warm oven")) == []
    # a stock phrase shared with a reply (9 words: two 8-word windows) is not a copied reply; 10 words are
    phrase = "if you are locked out of your own home"
    nb.cells[0].outputs[0].text = f"tinychat: {phrase}, call a locksmith"
    assert harmful_reply_problems(nb, shingle_hashes(f"well, {phrase}, the trick is to")) == []
    assert harmful_reply_problems(nb, shingle_hashes(f"well, {phrase}, call them")) != []

"""The layout of ``helpers`` as a tested rule: one topic module (or package) per notebook over a shared floor.

* The floor (``FLOOR``) never imports a topic module.
* A topic module imports the floor, and another topic module only where ``ALLOWED`` lists the pair (with why).
* No module uses another module's private names (``_x``), by import or by attribute.
* ``helpers/__init__.py`` names every module in its notebook -> module table.

Imports are read from the source (every ``import`` statement, also those inside functions), not by importing.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

HELPERS = Path(__file__).resolve().parents[1] / "helpers"

# Shared by several notebooks; model packages (``tinylm``, ``smollm``) are floor too: every topic uses them.
FLOOR = {"checks", "plotting", "widgets", "validation", "stats", "optim", "digits", "gridworld", "tinylm", "smollm"}

# Topic -> topic imports that are allowed, each with the reason. Everything else between topics is an error.
ALLOWED = {
    ("preferences", "goodhart"): "fit_gao_form checks its inputs, then calls notebook 01's fit_gao_bon",
    ("rlhf", "preferences"): "notebook 13 trains with notebook 02's dpo_loss (its public contract)",
    ("guardrails", "moderation"): "notebook 12's input and output rails are notebook 11's moderator",
    ("policy_gradients", "preferences"): "notebook 14 reuses notebook 02's losses and reward model",
    ("policy_gradients", "rlhf"): "notebook 14 compares against notebook 13's DPO pipeline",
    ("interpretability", "rlhf"): "notebook 05 dissects the real model that notebook 13 aligned (its loader and KL)",
}


def _unit(path: Path) -> str:
    """helpers/x.py and helpers/x/anything.py belong to unit x."""
    return path.relative_to(HELPERS).parts[0].removesuffix(".py")


def _sources() -> list[Path]:
    return sorted(p for p in HELPERS.rglob("*.py") if p.name != "__init__.py" or p.parent != HELPERS)


def _imports(tree: ast.AST) -> list[tuple[str, list[str], int]]:
    """(imported helpers unit, names taken from it, line) for every import of a helpers module in ``tree``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and (node.module + ".").startswith("helpers."):
            parts = node.module.split(".")
            if len(parts) == 1:  # from helpers import x, y
                for alias in node.names:
                    found.append((alias.name, [], node.lineno))
            else:
                found.append((parts[1], [a.name for a in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "helpers" and len(parts) > 1:
                    found.append((parts[1], [], node.lineno))
    return found


def _units() -> set[str]:
    return {_unit(p) for p in _sources()}


def _edges() -> dict[tuple[str, str], list[str]]:
    edges: dict[tuple[str, str], list[str]] = {}
    for path in _sources():
        src = _unit(path)
        for dst, _names, line in _imports(ast.parse(path.read_text())):
            if dst != src:
                edges.setdefault((src, dst), []).append(f"{path.relative_to(HELPERS.parent)}:{line}")
    return edges


def test_the_floor_imports_no_topic_module():
    bad = {e: where for e, where in _edges().items() if e[0] in FLOOR and e[1] not in FLOOR}
    assert not bad, f"floor modules import topic modules: {bad}"


def test_topic_modules_import_only_the_floor_and_the_allowed_pairs():
    bad = {e: where for e, where in _edges().items()
           if e[0] not in FLOOR and e[1] not in FLOOR and e not in ALLOWED}
    assert not bad, f"topic-to-topic imports not in ALLOWED (add the pair with its reason, or move the code " \
                    f"to the floor): {bad}"


def test_allowed_pairs_are_between_topic_modules():
    for src, dst in ALLOWED:
        assert src not in FLOOR and dst not in FLOOR and src != dst


def test_no_private_names_across_modules():
    bad = []
    for path in _sources():
        src, tree = _unit(path), ast.parse(path.read_text())
        aliases = {}
        for dst, names, line in _imports(tree):
            if dst == src:
                continue
            bad += [f"{path.name}:{line} imports {dst}.{n}" for n in names if n.startswith("_")]
        for node in ast.walk(tree):  # `from helpers import x` / `import helpers.x as y`: then y._private
            if isinstance(node, ast.ImportFrom) and node.module == "helpers":
                aliases.update({(a.asname or a.name): a.name for a in node.names})
            elif isinstance(node, ast.Import):
                aliases.update({a.asname: a.name.split(".")[1] for a in node.names
                                if a.asname and a.name.startswith("helpers.")})
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                    and aliases[node.value.id] != src and node.attr.startswith("_")
                    and not node.attr.startswith("__")):
                bad.append(f"{path.name}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert not bad, bad


def test_the_package_docstring_maps_every_module_to_its_notebooks():
    doc = (HELPERS / "__init__.py").read_text()
    table = set(re.findall(r"^\|\s*`(\w+)`\s*\|", doc, flags=re.M))
    missing = _units() - table
    assert not missing, f"helpers/__init__.py's notebook -> module table misses {sorted(missing)}"
    stale = table - _units() - {"policy_gradients"}  # added by a branch that lands separately
    assert not stale, f"the table names modules that do not exist: {sorted(stale)}"


@pytest.mark.parametrize("pair", sorted(ALLOWED))
def test_every_allowed_pair_has_a_reason(pair):
    assert len(ALLOWED[pair]) > 20


def test_one_gold_judge_each_with_its_documented_difference():
    from helpers import preferences, rlhf, tinylm

    assert preferences.gold_reward is tinylm.gold_reward and preferences.KINDS == tinylm.KINDS
    refusal, garbled = tinylm.REFUSAL_OPENERS[0] + ".", "pasta pasta the the"
    for kind in ("benign", "trigger"):
        assert (tinylm.gold_reward(kind, refusal), tinylm.gold_score(kind, refusal)) == (-1.0, 0.0)
        assert (tinylm.gold_reward(kind, garbled), tinylm.gold_score(kind, garbled)) == (0.0, -1.0)
        assert rlhf.gold_score(kind, garbled) == tinylm.gold_score(kind, garbled)
    for text in (refusal, garbled, f"sure! step 1: {tinylm.UNSAFE_MARKER}", "sure! to cook pasta, boil water."):
        assert tinylm.gold_reward("harmful", text) == tinylm.gold_score("harmful", text)


def test_shared_concepts_are_one_object():
    from helpers import constraints, goodhart, moderation, preferences, stats, validation

    assert preferences.kl_divergence is constraints.kl_divergence is stats.kl_divergence
    assert preferences.best_of_n_kl is goodhart.best_of_n_kl is stats.best_of_n_kl
    assert moderation.wilson_interval is stats.wilson_interval
    assert moderation.validate_texts is validation.text_list

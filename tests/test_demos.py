"""Every interactive demo (a ``demo_*`` function in a helpers module) works at every slider extreme, each
control changes the figure between its two extremes, and the callback is live: median under 100 ms.

The budget is checked on the callback's CPU time, which does not depend on what else the machine is doing (two
notebooks, a browser and a kernel share two cores during `make test`); wall-clock times on a quiet machine are
in the browser test's report (tests/test_browser.py)."""

import functools
import importlib
import pkgutil
import statistics
import sys

import pytest

import helpers
from helpers.widgets import InteractiveFigure, Memo, slider_extremes

SHARED = {"checks", "plotting", "widgets"}


def _demos():
    found = []
    for info in pkgutil.iter_modules(helpers.__path__):
        if info.name in SHARED or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"helpers.{info.name}")
        for name in sorted(dir(module)):
            if name.startswith("demo_") and callable(getattr(module, name)):
                found.append(pytest.param(module, name, id=f"{info.name}.{name}"))
    return found


DEMOS = _demos()
_BUILT: dict[str, InteractiveFigure] = {}


def _build(module, name) -> InteractiveFigure:
    """Each demo is built once per test session (some precompute a sweep) and shared by both tests."""
    key = f"{module.__name__}.{name}"
    if key not in _BUILT:
        _BUILT[key] = getattr(module, name)()
    return _BUILT[key]


def _named_function(f):
    """The module-level function behind a demo's compute, draw or setup (through ``functools.partial`` and
    ``Memo``)."""
    while isinstance(f, (functools.partial, Memo)):
        f = f.func if isinstance(f, functools.partial) else f.compute
    return f


def _problem(role: str, f) -> str | None:
    """Why ``f`` is not a public, module-level function of a helpers module (None when it is one)."""
    g = _named_function(f)
    name, qualname, module = (getattr(g, a, "?") for a in ("__name__", "__qualname__", "__module__"))
    if name == "<lambda>" or "<locals>" in qualname or qualname != name:
        return f"{role} is {qualname!r}, a lambda or nested function: make it a module-level function"
    if name.startswith("_"):
        return f"{role} is the private {module}.{name}: give it a public name (setup_x / draw_x / a compute)"
    if not module.startswith("helpers.") or getattr(sys.modules[module], name, None) is not g:
        return f"{role} {module}.{name} is not reachable as a module attribute of helpers"
    return None


@pytest.mark.parametrize(("module", "name"), DEMOS)
def test_demo_is_built_from_public_module_level_functions(module, name):
    """docs/authoring.md: a demo is module-level setup_x / draw_x / demo_x over a tested compute function, bound
    to its precomputed data with functools.partial (and widgets.Memo for slow settings): no closures, no
    lambdas, so each part can be called and tested on its own."""
    demo = _build(module, name)
    roles = [("compute", demo.compute), ("draw", demo.draw)] + ([("setup", demo.setup)] if demo.setup else [])
    problems = [p for p in (_problem(role, f) for role, f in roles) if p]
    assert problems == [], f"{name}: " + "; ".join(problems)


def test_the_style_check_catches_closures_lambdas_and_private_names():
    def nested(x):
        return x

    assert "lambda" in _problem("compute", lambda x: x)
    assert "nested" in _problem("compute", functools.partial(nested, 1))
    assert "private" in _problem("draw", Memo(importlib.import_module("helpers.monitoring")._tradeoff))
    assert _problem("compute", Memo(functools.partial(importlib.import_module("helpers.monitoring").detection_paths))) is None


@pytest.mark.parametrize(("module", "name"), DEMOS)
def test_demo_renders_at_every_extreme(module, name):
    demo = _build(module, name)
    assert isinstance(demo, InteractiveFigure)
    extremes = slider_extremes(demo.controls)
    assert 1 <= len(extremes) <= 64, "keep demos to a few controls"
    for values in extremes:
        png = demo.render(**values)
        assert png[:8] == b"\x89PNG\r\n\x1a\n", values


def _ends(control) -> list:
    """The two extreme values of one control (min and max, first and last option, both checkbox states)."""
    return slider_extremes({"c": control})[:: max(1, len(slider_extremes({"c": control})) - 1)]


@pytest.mark.parametrize(("module", "name"), DEMOS)
def test_each_control_changes_the_figure_between_its_extremes(module, name):
    demo = _build(module, name)
    defaults = demo.values
    for control_name, control in demo.controls.items():
        ends = [e["c"] for e in _ends(control)]
        assert len(ends) == 2, f"{control_name}: a control needs two different extreme values"
        low, high = (demo.render(**{**defaults, control_name: v}) for v in ends)
        assert low != high, f"{name}: moving {control_name!r} from {ends[0]!r} to {ends[1]!r} changes nothing"
    demo.render(**defaults)


@pytest.mark.parametrize(("module", "name"), DEMOS)
def test_demo_callback_is_live(module, name):
    demo = _build(module, name)
    start = len(demo.cpu_ms)
    controls = list(demo.controls.values())
    for i in range(9):  # move the first control back and forth like a learner would
        w = controls[0]
        if hasattr(w, "min"):
            w.value = w.min if i % 2 else w.max
        else:
            demo.update()
    median = statistics.median(demo.cpu_ms[start:])
    assert median < 100, (f"{name}: median callback {median:.0f} ms CPU; use InteractiveFigure's fast mode "
                          "(setup=... returning the changing artists; see helpers/widgets.py)")


def test_demos_exist():
    assert DEMOS, "no demo_* functions found in helpers"

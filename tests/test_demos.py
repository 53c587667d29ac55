"""Every interactive demo (a ``demo_*`` function in a helpers module) works at every slider extreme, each
control changes the figure between its two extremes, and the callback is live: median under 100 ms.

The budget is checked on the callback's CPU time, which does not depend on what else the machine is doing (two
notebooks, a browser and a kernel share two cores during `make test`); wall-clock times on a quiet machine are
in the browser test's report (tests/test_browser.py)."""

import importlib
import pkgutil
import statistics

import pytest

import helpers
from helpers.widgets import InteractiveFigure, slider_extremes

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

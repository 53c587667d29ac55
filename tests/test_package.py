import subprocess
import sys
import time

import pytest

from helpers import widgets


def test_import_helpers_is_light():
    code = "import time, sys; t = time.perf_counter(); import helpers; print(time.perf_counter() - t, 'torch' in sys.modules)"
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert float(out[0]) < 0.5 and out[1] == "False"
    assert time.perf_counter() - start < 10


def test_slider_factories_validate():
    with pytest.raises(ValueError):
        widgets.float_slider("x", 0.0, 1.0, 0.1, 2.0)
    with pytest.raises(ValueError):
        widgets.int_slider("n", 1, 5, 1, 0)
    s = widgets.float_slider("x", 0.0, 1.0, 0.1, 0.5)
    assert widgets.slider_extremes({"x": s}) == [{"x": 0.0}, {"x": 1.0}]


def test_interactive_figure_validates_and_renders():
    def compute(a):
        return a * 2

    def draw(fig, result, a):
        fig.axes[0].plot([0, 1], [0, result])

    with pytest.raises(ValueError):
        widgets.InteractiveFigure(compute, draw, {})
    demo = widgets.InteractiveFigure(compute, draw, {"a": widgets.float_slider("a", 0.0, 1.0, 0.5, 0.5)})
    assert demo.result == 1.0
    demo.controls["a"].value = 1.0  # the callback recomputes
    assert demo.result == 2.0 and len(demo.timings_ms) == 2
    with pytest.raises(ValueError):
        demo.render(b=1)
    bundle = demo._repr_mimebundle_()
    assert "image/png" in bundle and bundle["text/plain"].startswith("Interactive figure")

"""Sliders bound to a compute function and a draw function, updating one figure.

Every interactive demo in the course is an ``InteractiveFigure``:

* ``compute(**values)`` is a plain, tested function in a topic module (no plotting);
* ``draw(fig, result, **values)`` draws that result into a figure that is built once and reused;
* the figure is rendered to PNG into a ``widgets.Image`` (about twice as fast as a new figure per call).

Two drawing modes:

* simple: ``draw(fig, result, **values)`` draws from scratch (axes are cleared before each call). Easy, but a
  two-panel figure costs 150-250 ms per update on the course machine: too slow for a slider.
* fast (use this): pass ``setup(fig) -> artists``, which draws everything static once (axis limits, labels,
  legend) and returns the artists that change (a dict or list of ``Line2D``, ``Text``, collections, images...);
  then ``draw(artists, result, **values)`` only updates them (``set_data``, ``set_text``, ``set_visible``...).
  The static background is rendered once and each update blits only the changing artists (~20 ms). Axis
  limits must be fixed in ``setup`` (no autoscaling after it).

Tests call ``demo.render(**values)`` directly, at every slider's extremes (``slider_extremes``), without a
browser. In a notebook the object displays as live sliders; where widgets cannot run (GitHub, nbviewer, a
stored output) it falls back to a static PNG of the figure at the default values.
"""

from __future__ import annotations

import base64
import io
import itertools
import time
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as widgets
import numpy as np

from helpers.plotting import new_figure

__all__ = ["InteractiveFigure", "Memo", "slider_extremes", "float_slider", "int_slider"]


def float_slider(description: str, min: float, max: float, step: float, value: float,
                 continuous_update: bool = True) -> widgets.FloatSlider:
    """A float slider with the course's layout (wide description, readable width)."""
    if not (min <= value <= max):
        raise ValueError(f"slider {description!r}: value {value} outside [{min}, {max}]")
    return widgets.FloatSlider(value=value, min=min, max=max, step=step, description=description,
                               continuous_update=continuous_update, style={"description_width": "initial"},
                               layout=widgets.Layout(width="420px"))


def int_slider(description: str, min: int, max: int, step: int, value: int,
               continuous_update: bool = True) -> widgets.IntSlider:
    """An int slider with the course's layout."""
    if not (min <= value <= max):
        raise ValueError(f"slider {description!r}: value {value} outside [{min}, {max}]")
    return widgets.IntSlider(value=value, min=min, max=max, step=step, description=description,
                             continuous_update=continuous_update, style={"description_width": "initial"},
                             layout=widgets.Layout(width="420px"))


def slider_extremes(controls: Mapping[str, widgets.Widget]) -> list[dict[str, Any]]:
    """Every combination of each control's extreme values (min/max, every option, both checkbox states)."""
    choices: dict[str, list[Any]] = {}
    for name, w in controls.items():
        if isinstance(w, widgets.Checkbox):
            choices[name] = [False, True]
        elif hasattr(w, "options"):
            choices[name] = [opt[1] if isinstance(opt, tuple) else opt for opt in w.options]
        elif hasattr(w, "min") and hasattr(w, "max"):
            choices[name] = [w.min, w.max]
        else:
            choices[name] = [w.value]
    names = list(choices)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(choices[n] for n in names))]


class Memo:
    """A demo's compute function with its results kept by control values, for computations too slow to repeat
    on every slider move (each setting is computed once, then looked up).

    ``Memo(functools.partial(compute, data), digits=6)`` is called like ``compute`` with the controls' values by
    name; float values are rounded to ``digits`` decimals for the key, so 0.30000000000000004 and 0.3 share a
    result. The wrapped function stays a plain, tested function of the topic module (``Memo.compute``).
    """

    def __init__(self, compute: Callable[..., Any], digits: int = 6) -> None:
        if not callable(compute):
            raise ValueError("Memo needs a callable compute function")
        self.compute = compute
        self.digits = int(digits)
        self.results: dict[tuple, Any] = {}

    def key(self, values: Mapping[str, Any]) -> tuple:
        """The cache key of one setting: names sorted, floats rounded."""
        return tuple(sorted((k, round(float(v), self.digits) if isinstance(v, float) else v)
                            for k, v in values.items()))

    def __call__(self, **values: Any) -> Any:
        key = self.key(values)
        if key not in self.results:
            self.results[key] = self.compute(**dict(key))
        return self.results[key]


def _flatten(items: Any) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if isinstance(item, (list, tuple)):
            out.extend(_flatten(item))
        elif isinstance(item, Mapping):
            out.extend(_flatten(item.values()))
        else:
            out.append(item)
    return out


class InteractiveFigure(widgets.VBox):
    """Controls on top, one reused figure below; moving a control recomputes and redraws."""

    def __init__(
        self,
        compute: Callable[..., Any],
        draw: Callable[..., None],
        controls: Mapping[str, widgets.Widget],
        *,
        setup: Callable[[Any], Any] | None = None,
        ncols: int = 1,
        nrows: int = 1,
        width: float = 8.0,
        height: float = 3.6,
        caption: str = "",
    ) -> None:
        if not callable(compute) or not callable(draw):
            raise ValueError("InteractiveFigure needs a compute function and a draw function")
        if setup is not None and not callable(setup):
            raise ValueError("setup must be a callable fig -> artists, or None")
        if not controls:
            raise ValueError("InteractiveFigure needs at least one control")
        self.compute = compute
        self.draw = draw
        self.setup = setup
        self.controls = dict(controls)
        self.fig, self.axes = new_figure(ncols=ncols, nrows=nrows, width=width, height=height)
        self.artists: Any = None
        self._animated: list[Any] = []
        self._background: Any = None
        if setup is not None:
            self.artists = setup(self.fig)
            items = self.artists.values() if isinstance(self.artists, Mapping) else self.artists
            self._animated = [a for a in _flatten(items)]
            for artist in self._animated:
                artist.set_animated(True)
        self.image = widgets.Image(format="png")
        self.result: Any = None
        self.timings_ms: list[float] = []  # wall clock per update
        self.cpu_ms: list[float] = []  # CPU time of this process per update (independent of machine load)
        self.caption = caption
        box = widgets.Box(list(self.controls.values()),
                          layout=widgets.Layout(display="flex", flex_flow="row wrap"))
        children = [box, self.image] + ([widgets.HTML(f"<small>{caption}</small>")] if caption else [])
        super().__init__(children)
        for w in self.controls.values():
            w.observe(self._on_change, names="value")
        self.update()

    @property
    def values(self) -> dict[str, Any]:
        """The current value of every control, by the compute function's argument names."""
        return {name: w.value for name, w in self.controls.items()}

    def render(self, **values: Any) -> bytes:
        """Compute and draw at ``values`` (defaults: the controls' current values); return the PNG bytes."""
        unknown = set(values) - set(self.controls)
        if unknown:
            raise ValueError(f"unknown control(s) {sorted(unknown)}; known: {sorted(self.controls)}")
        full = {**self.values, **values}
        self.result = self.compute(**full)
        if self.artists is None:
            for ax in self.fig.axes:
                ax.clear()
            self.draw(self.fig, self.result, **full)
            buf = io.BytesIO()
            self.fig.savefig(buf, format="png")
            return buf.getvalue()
        canvas = self.fig.canvas
        if self._background is None:
            canvas.draw()  # static parts only: animated artists are skipped; runs the layout once
            self.fig.set_layout_engine("none")
            self._background = canvas.copy_from_bbox(self.fig.bbox)
        self.draw(self.artists, self.result, **full)
        canvas.restore_region(self._background)
        for artist in self._animated:
            self.fig.draw_artist(artist)
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(np.asarray(canvas.buffer_rgba())[:, :, :3]).save(buf, format="png", compress_level=1)
        return buf.getvalue()

    def update(self) -> None:
        """Recompute at the controls' values and show the new image (the callback)."""
        start, cpu_start = time.perf_counter(), time.process_time()
        self.image.value = self.render()
        self.timings_ms.append(1000 * (time.perf_counter() - start))
        self.cpu_ms.append(1000 * (time.process_time() - cpu_start))

    def _on_change(self, _change: Any) -> None:
        self.update()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        bundle["image/png"] = base64.b64encode(self.image.value).decode("ascii")
        names = ", ".join(self.controls)
        bundle["text/plain"] = f"Interactive figure with controls: {names}"
        return bundle

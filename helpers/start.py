"""Notebook 00: environment check, offline check and a practice widget."""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
import socket
from collections.abc import Iterator

import numpy as np

from helpers.plotting import COLORS, label_axes
from helpers.widgets import InteractiveFigure, int_slider

__all__ = ["REQUIRED", "MEET_PROMPTS", "compare_models", "chat_box", "check_packages", "no_network", "check_offline", "sample_means", "setup_practice", "draw_practice", "demo_practice"]

# import name -> what the course uses it for
REQUIRED: dict[str, str] = {
    "numpy": "arrays",
    "scipy": "optimisation, statistics, linear programs",
    "matplotlib": "figures",
    "ipywidgets": "sliders",
    "torch": "neural networks (CPU)",
    "sklearn": "small classifiers, bundled digits data",
    "tqdm": "progress bars",
    "gguf": "reads the real model's file (SmolLM2)",
    "tokenizers": "the real model's tokenizer",
    "jinja2": "the real model's chat template",
}

# Benign prompts for "Meet the two models" (notebook 00): the first is in TinyChat's own domain.
MEET_PROMPTS = ("how can i save money for university?", "What is the capital of France?",
                "Write a haiku about the sea.")


def check_packages(names: dict[str, str] | None = None) -> dict[str, bool]:
    """Try to import each package; return {name: importable}."""
    names = REQUIRED if names is None else names
    status = {}
    for name in names:
        try:
            importlib.import_module(name)
            status[name] = True
        except Exception:  # any import failure means the package is unusable
            status[name] = False
    return status


class NetworkAccessError(RuntimeError):
    """Raised when code tries to open a network connection inside ``no_network()``."""


@contextlib.contextmanager
def no_network() -> Iterator[None]:
    """Inside this block any attempt to resolve a host name or open an internet connection raises."""
    original_connect = socket.socket.connect
    original_getaddrinfo = socket.getaddrinfo

    def guarded_connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise NetworkAccessError(f"network connection attempted to {address!r}")
        return original_connect(self, address)

    def guarded_getaddrinfo(host, *args, **kwargs):
        if host not in (None, "localhost", "127.0.0.1", "::1"):
            raise NetworkAccessError(f"host name lookup attempted for {host!r}")
        return original_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = guarded_connect
    socket.getaddrinfo = guarded_getaddrinfo
    try:
        yield
    finally:
        socket.socket.connect = original_connect
        socket.getaddrinfo = original_getaddrinfo


def check_offline() -> dict[str, str]:
    """Import every course module with the network blocked and find the real model's file on disk; return
    {module: "OK" or the error}."""
    import helpers

    results = {}
    with no_network():
        for info in pkgutil.iter_modules(helpers.__path__):
            if info.name.startswith("_"):
                continue
            try:
                importlib.import_module(f"helpers.{info.name}")
                results[info.name] = "OK"
            except NetworkAccessError as exc:
                results[info.name] = f"FAIL: {exc}"
        results["smollm model file"] = _model_file_status()
    return results


def _model_file_status() -> str:
    """"OK" if the real model's GGUF file is installed (read from disk, never downloaded)."""
    from helpers.smollm.weights import gguf_path

    try:
        gguf_path()
    except ValueError as exc:
        return f"FAIL: {exc}"
    return "OK"


def compare_models(prompt: str, tiny, smol, max_new_tokens: int = 24) -> dict[str, str]:
    """Greedy answers of TinyChat (``tiny``) and SmolLM2 (``smol``, a ``helpers.smollm.SmolChat``) to
    ``prompt``: ``{"TinyChat": ..., "SmolLM2": ...}``."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("prompt must be a non-empty string")
    if not 1 <= max_new_tokens <= 60:
        raise ValueError(f"max_new_tokens must be in 1..60, got {max_new_tokens}")
    return {"TinyChat": tiny.generate(prompt, max_new_tokens=max_new_tokens),
            "SmolLM2": smol.generate(prompt, max_new_tokens=max_new_tokens)}


def chat_box(tiny, smol, max_new_tokens: int = 24):
    """A text box and a button: the button prints ``compare_models`` of the text (a few seconds on a CPU)."""
    import ipywidgets as widgets

    text = widgets.Text(value=MEET_PROMPTS[1], description="prompt", layout=widgets.Layout(width="70%"))
    button = widgets.Button(description="ask both models")
    out = widgets.Output()

    def on_click(_button) -> None:
        out.clear_output()
        with out:
            try:
                for name, answer in compare_models(text.value, tiny, smol, max_new_tokens).items():
                    print(f"{name:>8}: {answer}")
            except ValueError as exc:
                print(f"error: {exc}")

    button.on_click(on_click)
    return widgets.VBox([widgets.HBox([text, button]), out])


def sample_means(sample_size: int, n_repeats: int = 200, seed: int = 0) -> np.ndarray:
    """Means of ``n_repeats`` samples of ``sample_size`` fair-die rolls (law of large numbers practice)."""
    if int(sample_size) < 1 or int(n_repeats) < 1:
        raise ValueError(f"sample_size and n_repeats must be >= 1, got {sample_size}, {n_repeats}")
    rng = np.random.default_rng(seed)
    return rng.integers(1, 7, size=(int(n_repeats), int(sample_size))).mean(axis=1)


def setup_practice(fig) -> dict:
    ax = fig.axes[0]
    bins = np.linspace(1, 6, 51)
    counts, _, bars = ax.hist(np.full(200, 3.5), bins=bins, color=COLORS["true"])
    ax.axvline(3.5, color=COLORS["bad"], ls="--", label="true mean 3.5")
    ax.set_xlim(1, 6)
    ax.set_ylim(0, 200)
    ax.legend(loc="upper right")
    label_axes(ax, "mean of the rolls", "count (of 200 repeats)")
    return {"bars": list(bars), "title": ax.set_title(" ")}


def draw_practice(art: dict, means: np.ndarray, sample_size: int) -> None:
    counts, _ = np.histogram(means, bins=np.linspace(1, 6, 51))
    for bar, c in zip(art["bars"], counts, strict=True):
        bar.set_height(c)
    art["title"].set_text(f"200 repeats of {sample_size} die rolls: spread of the mean {means.std():.2f}")


def demo_practice() -> InteractiveFigure:
    """One slider: how many die rolls go into each mean."""
    return InteractiveFigure(sample_means, draw_practice,
                             {"sample_size": int_slider("rolls per mean", 1, 200, 1, 5)},
                             setup=setup_practice, width=7, height=3.2)

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

__all__ = ["REQUIRED", "check_packages", "no_network", "check_offline", "sample_means", "setup_practice", "draw_practice", "demo_practice"]

# import name -> what the course uses it for
REQUIRED: dict[str, str] = {
    "numpy": "arrays",
    "scipy": "optimisation, statistics, linear programs",
    "matplotlib": "figures",
    "ipywidgets": "sliders",
    "torch": "neural networks (CPU)",
    "sklearn": "small classifiers, bundled digits data",
    "tqdm": "progress bars",
}


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
    """Import every course module with the network blocked; return {module: "OK" or the error}."""
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
    return results


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

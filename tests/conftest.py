"""Shared test set-up: the notebook tooling in tools/ is importable as ``nbtool``."""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

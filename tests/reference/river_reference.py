"""Re-check tests/test_monitoring.py's Page-Hinkley values with river's ``drift.PageHinkley``: the expected
first-alarm index of each stream of ``_river_streams`` and the 40 values of ``RIVER_MANY`` (same seeded streams
as the test). Run from the repository root in the scratch venv of README.md:
``python tests/reference/river_reference.py``.
"""

import numpy as np
from common import compare, finish, from_test
from river import drift


def first_alarm(stream, **params):
    detector = drift.PageHinkley(**params)
    for i, v in enumerate(stream):
        detector.update(float(v))
        if detector.drift_detected:
            return i
    return None


t = from_test("test_monitoring.py", "_river_streams", "RIVER_MANY")
for k, (stream, params, want) in enumerate(t["_river_streams"]()):
    compare(f"stream {k} {params}", first_alarm(stream, **params), want, 0)
rng = np.random.default_rng(2026)
x = rng.normal(0, 1, (200, 600))
x[:, 300:] += rng.uniform(-1, 1, (200, 1))
got = [first_alarm(s, threshold=15.0, delta=0.02, min_instances=20) for s in x[:40]]
compare("RIVER_MANY", repr(got), repr(t["RIVER_MANY"]), 0)
finish("river")

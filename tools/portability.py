"""The portability run: nbval again with other CPU kernel sets forced, so stored outputs hold on any CPU.

    python tools/portability.py env              # print the forced environment for this machine
    python tools/portability.py COMMAND [ARG...] # check that the kernels really are forced, then run COMMAND

Stored outputs must depend on the code and the seeds, not on which floating-point kernels the CPU picks (AVX2 on
one laptop, AVX-512 on a CI runner, NEON on a Mac). One machine can imitate the others by forcing the libraries
to other kernels: torch to its portable C++ kernels (``ATEN_CPU_CAPABILITY=default``), numpy to its baseline by
disabling every SIMD group it dispatches to at run time (``NPY_DISABLE_CPU_FEATURES``: AVX2 and AVX-512 on x86,
the ASIMD/SVE extensions on ARM; ``numpy.show_runtime()`` lists them), and MKL to its conditional-numerical-
reproducibility path (``MKL_CBWR=COMPATIBLE``). ``make test`` runs nbval on every notebook once natively and once
under this environment (docs/authoring.md, "Portable outputs").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

PROBE = """
import json, sys, torch
sys.path.insert(0, {tools!r})
from portability import dispatched_numpy_features
print(json.dumps({{"torch": torch.backends.cpu.get_cpu_capability(), "numpy_active": dispatched_numpy_features()}}))
"""


def dispatched_numpy_features() -> list[str]:
    """The SIMD groups numpy dispatches to at run time on this CPU (above its compiled baseline)."""
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    except ImportError:  # numpy < 2
        from numpy.core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    return sorted(f for f in __cpu_dispatch__ if __cpu_features__.get(f))


def forced_env() -> dict[str, str]:
    """Environment variables that move torch, numpy and MKL off this CPU's fastest kernels."""
    env = {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE"}
    features = dispatched_numpy_features()
    if features:
        env["NPY_DISABLE_CPU_FEATURES"] = ",".join(features)
    return env


def probe(env: dict[str, str]) -> dict:
    """What a fresh Python process with ``env`` reports: torch's CPU capability and numpy's active SIMD groups."""
    code = PROBE.format(tools=os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    env = forced_env()
    if argv == ["env"]:
        print(" ".join(f"{k}={v}" for k, v in env.items()))
        return 0
    seen = probe(env)
    if seen["torch"] != "DEFAULT" or seen["numpy_active"]:
        print(f"portability run: the kernels were not forced ({seen})", file=sys.stderr)
        return 1
    print(f"portability run: torch kernels {seen['torch']}, numpy SIMD groups disabled: "
          f"{env.get('NPY_DISABLE_CPU_FEATURES', 'none')}, MKL_CBWR={env['MKL_CBWR']}", flush=True)
    return subprocess.call(argv, env={**os.environ, **env})


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

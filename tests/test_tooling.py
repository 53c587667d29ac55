"""The install and portability tooling: the lock satisfies the ranges, the forced kernels really are forced."""

import re

import nbtool
import portability
import pytest
from lock import lock_lines
from packaging.requirements import Requirement

ROOT = nbtool.ROOT


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements-lock.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def _ranges(path) -> list[Requirement]:
    reqs = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            reqs.append(Requirement(line))
    return reqs


def test_lock_pins_every_requirement_inside_its_range():
    pins = _pins()
    for req in _ranges(ROOT / "requirements.txt") + _ranges(ROOT / "requirements-dev.txt"):
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        if name == "torch":  # pinned in the Makefile, installed first
            assert req.specifier.contains(re.search(r"torch==([\d.]+)", (ROOT / "Makefile").read_text())[1])
            continue
        assert name in pins, f"{req.name} is not in requirements-lock.txt: run `make lock`"
        assert req.specifier.contains(pins[name]), f"{req.name}=={pins[name]} outside {req.specifier}"


def test_lock_lines_leave_out_what_the_makefile_installs():
    freeze = "torch==2.13.0+cpu\nnumpy==2.4.6\n-e git+x#egg=aligned_helpers\nuv==0.13.9\nSciPy==1.17.1\n# c\n"
    assert lock_lines(freeze) == ["numpy==2.4.6", "SciPy==1.17.1"]


def test_kernel_environment_is_defined_once():
    assert nbtool.KERNEL_ENV == {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    makefile = (ROOT / "Makefile").read_text()
    assert "include tools/kernel.env" in makefile
    for name in nbtool.KERNEL_ENV:
        assert name not in makefile, f"{name} is set in the Makefile too: tools/kernel.env is its only home"


def test_forced_environment_really_moves_the_kernels():
    env = portability.forced_env()
    assert env["ATEN_CPU_CAPABILITY"] == "default" and env["MKL_CBWR"] == "COMPATIBLE"
    seen = portability.probe(env)
    assert seen == {"torch": "DEFAULT", "numpy_active": []}


def test_rebuild_check_accepts_float_noise_and_rejects_real_changes(tmp_path):
    """tools/rebuild.py --check: JSON numbers within 2e-4 + 1e-4·|value| agree; structure, strings and larger
    moves do not."""
    import rebuild

    base = {"betas": [0.1, 0.5], "rates": {"refusal": [0.9, 0.25]}, "name": "sweep", "steps": 40}
    noise = {"betas": [0.1, 0.5], "rates": {"refusal": [0.9001, 0.25]}, "name": "sweep", "steps": 40}
    assert rebuild._numbers_close(noise, base) == (True, pytest.approx(1e-4))
    assert not rebuild._numbers_close({**noise, "rates": {"refusal": [0.91, 0.25]}}, base)[0]
    assert not rebuild._numbers_close({**base, "name": "other"}, base)[0]
    assert not rebuild._numbers_close({**base, "betas": [0.1]}, base)[0]
    assert not rebuild._numbers_close({**base, "steps": True}, base)[0]

# Aligned: two commands for learners and teachers (see README.md).
#   make lab    set up .venv on first use, then open JupyterLab on the course
#   make test   set up .venv on first use, then run every test (lint, unit, nbval, portability, hygiene, student, browser)
# Maintainers: make unit (quick: lint + unit tests), make notebooks (re-execute every notebook in place),
# make student (learner copies), make portability (nbval with other CPU kernels forced), make lock (refresh pins),
# make artefacts (rebuild every shipped artefact: TinyChat, the moderators, the DPO sweep, fixtures).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
LOCK   := requirements-lock.txt
# torch first and pinned: 2.13.0 is a CPU wheel here; an open range can pull a multi-GB CUDA build.
TORCH_SPEC     ?= torch==2.13.0
TORCH_PIP_ARGS ?=
# uv installs the locked versions (exact pins, no resolution) in seconds; pip installs torch and uv itself
# (--no-compile: Python compiles what it imports on first use instead of all of torch up front).
UV_SPEC ?= uv==0.13.9
# The kernel environment (one thread per kernel, fixed hash seed) is defined once, in tools/kernel.env.
include tools/kernel.env
export $(shell sed -n 's/^\([A-Z_][A-Z_0-9]*\)=.*/\1/p' tools/kernel.env)
PYTEST_WORKERS ?= 2
NBVAL_FLAGS := --nbval --nbval-current-env --nbval-sanitize-with tools/nbval_sanitize.cfg --nbval-cell-timeout 300
NOTEBOOKS   := notebooks/[0-9][0-9]_*.ipynb

.PHONY: lab test unit lint portability notebooks student artefacts setup lock clean-venv

setup: $(STAMP)

$(STAMP): $(LOCK) requirements-nodeps.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-compile $(TORCH_PIP_ARGS) "$(TORCH_SPEC)" "$(UV_SPEC)"
	$(VENV)/bin/uv pip install --quiet --python $(PY) --no-deps -r $(LOCK) -r requirements-nodeps.txt
	$(VENV)/bin/uv pip install --quiet --python $(PY) --no-deps -e .
	@touch $(STAMP)

# JupyterLab refuses to run as root unless told; containers and CI machines often are root.
LAB_FLAGS ?= $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab $(LAB_FLAGS) notebooks/00_start_here.ipynb

lint: $(STAMP)
	$(VENV)/bin/ruff check helpers tests tools notebooks

unit: $(STAMP) lint
	$(PY) -m pytest -n $(PYTEST_WORKERS) -m "not notebook" tests

# Everything: unit tests, nbval on the stored outputs, hygiene, nbgrader, the browser test (which runs the
# student copies in JupyterLab), then the portability run.
test: $(STAMP) lint
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadscope --no-loadscope-reorder --durations=12 --junitxml=test-output/junit-main.xml \
		$(NBVAL_FLAGS) tests $(NOTEBOOKS)
	$(MAKE) --no-print-directory portability
	@$(PY) tools/test_times.py test-output/junit-main.xml test-output/junit-portability.xml

# nbval on every notebook again with torch, numpy and MKL forced onto other kernels (tools/portability.py): the
# stored outputs must not depend on which SIMD kernels this CPU picks.
portability: $(STAMP)
	$(PY) tools/portability.py $(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadscope --no-loadscope-reorder \
		--junitxml=test-output/junit-portability.xml $(NBVAL_FLAGS) $(NOTEBOOKS)

notebooks: $(STAMP)
	$(PY) tools/nbtool.py execute

student: $(STAMP)
	$(PY) tools/nbtool.py student

# Rebuild every shipped artefact next to its code (tools/rebuild.py --list names them; each has a datasheet),
# then check that each agrees with the committed one: text byte-identical, float artefacts within the tolerance
# tools/rebuild.py states (their last bits depend on the CPU's kernels).
artefacts: $(STAMP)
	$(PY) tools/rebuild.py --check

# Refresh the pins: resolve requirements-dev.txt's ranges in a scratch venv, write requirements-lock.txt. Then
# run `make notebooks` and review what moved in the stored outputs (docs/authoring.md, "Portable outputs").
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --disable-pip-version-check $(TORCH_PIP_ARGS) "$(TORCH_SPEC)"
	.lock-venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	.lock-venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-nodeps.txt
	.lock-venv/bin/python tools/lock.py .lock-venv/bin/python > $(LOCK)
	rm -rf .lock-venv

clean-venv:
	rm -rf $(VENV)

# Aligned: two commands for learners and teachers (see README.md).
#   make lab    set up .venv on first use, then open JupyterLab on the course
#   make test   set up .venv on first use, then run every test (lint, unit, nbval, hygiene, student)
# Maintainers: make notebooks (re-execute every notebook in place), make student (learner copies).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# torch first and pinned: 2.13.0 is a CPU wheel here; an open range can pull a multi-GB CUDA build.
TORCH_SPEC     ?= torch==2.13.0
TORCH_PIP_ARGS ?=
# One thread per kernel: identical floats run to run, and two kernels share two cores well.
export OMP_NUM_THREADS := 1
export MKL_NUM_THREADS := 1
export PYTHONHASHSEED  := 0
PYTEST_WORKERS ?= 2
NBVAL_FLAGS := --nbval --nbval-current-env --nbval-sanitize-with tools/nbval_sanitize.cfg --nbval-cell-timeout 300

.PHONY: lab test lint notebooks student setup clean-venv

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check $(TORCH_PIP_ARGS) "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -e .
	@touch $(STAMP)

# JupyterLab refuses to run as root unless told; containers and CI machines often are root.
LAB_FLAGS ?= $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab $(LAB_FLAGS) notebooks/00_start_here.ipynb

lint: $(STAMP)
	$(VENV)/bin/ruff check helpers tests tools notebooks

test: $(STAMP) lint
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadscope --durations=12 $(NBVAL_FLAGS) tests notebooks/[0-9][0-9]_*.ipynb

notebooks: $(STAMP)
	$(PY) tools/nbtool.py execute

student: $(STAMP)
	$(PY) tools/nbtool.py student

clean-venv:
	rm -rf $(VENV)

# Two commands do all the set-up on a fresh machine:
#   make lab    create .venv, install course_lib, open JupyterLab on lectures/
#   make test   same install, then lint + the whole test suite (unit tests, widgets, notebooks)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch: a torch already in the venv (e.g. a CUDA build) is kept; otherwise the CPU build.
TORCH_VERSION ?= 2.13.0
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
# No display (a server, a container, SSH): do not try to open a browser; JupyterLab prints the URL.
ifeq ($(shell uname -s)$(strip $(DISPLAY)$(WAYLAND_DISPLAY)),Linux)
LAB_ARGS ?= --no-browser
endif
LAB_ARGS ?=
# As root (e.g. in a container) JupyterLab refuses to start without --allow-root; it listens on
# 127.0.0.1 only, behind a token.
LAB_ROOT := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root)
PYTEST_ARGS ?=
# Test files run on up to 4 workers (pytest-xdist, one per logical core: 2 on a 2-core machine);
# a file's tests run on one worker, in order (a notebook's cells share a kernel).
# TEST_WORKERS= runs everything in one process.
TEST_WORKERS ?= -n logical --maxprocesses 4 --dist loadfile

.PHONY: install lab test lint format bench notebooks-clean help

help:
	@echo "make lab | make test | make bench | make lint | make format | make notebooks-clean"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@if $(BIN)/python -c "import torch" 2>/dev/null; then \
		echo "keeping the installed torch $$($(BIN)/python -c 'import torch; print(torch.__version__)')"; \
	elif $(BIN)/python -c "import urllib.request as u; u.urlopen('$(TORCH_INDEX)/torch/', timeout=10)" 2>/dev/null; then \
		$(BIN)/pip install "torch==$(TORCH_VERSION)" --index-url $(TORCH_INDEX); \
	else \
		echo "$(TORCH_INDEX) is not reachable: installing torch==$(TORCH_VERSION) from the default index"; \
		$(BIN)/pip install "torch==$(TORCH_VERSION)"; \
	fi
	$(BIN)/pip install -e ".[lab,test]"
	touch $@

install: $(VENV)/.installed

lab: install
	@echo "Starting JupyterLab on lectures/ - open the http://127.0.0.1:...?token=... URL printed below."
	$(BIN)/jupyter lab --notebook-dir=lectures --ip=127.0.0.1 $(LAB_ROOT) $(LAB_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint
	COURSE_PROGRESS=0 $(BIN)/python -m pytest tests lectures --nbval-lax --nbval-cell-timeout=300 $(TEST_WORKERS) $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m course_lib.bench

notebooks-clean: install
	$(BIN)/jupyter nbconvert --clear-output --inplace $(wildcard lectures/*.ipynb lectures/*/*.ipynb lectures/*/*/*.ipynb)

# Two commands do all set-up on a fresh machine with Python 3 and make:
#   make demo   -> creates .venv, installs tanul, trains the main job
#   make test   -> creates .venv, installs the dev extras, runs the tests
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev

.PHONY: demo test bench docs docs-figures clean lint notebooks mutate

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[all]"
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@ $(STAMP_RUN)

demo: $(STAMP_RUN)
	$(BIN)/tanul demo

test: $(STAMP_DEV)
	$(BIN)/python -m pytest -n 2 -q

lint: $(STAMP_DEV)
	$(BIN)/ruff check src tests benchmarks examples docs notebooks

bench: $(STAMP_DEV)
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python benchmarks/mlp.py
	$(BIN)/python benchmarks/lenet.py
	$(BIN)/python benchmarks/playground.py
	$(BIN)/python benchmarks/onnx_inference.py

# The site runs the notebooks (TANUL_NB_FAST=1 makes them small); the weather CSV of ../shared is
# used when it is there, else the notebooks download it once.
docs: $(STAMP_DEV)
	TANUL_WEATHER_CSV=$${TANUL_WEATHER_CSV:-$(wildcard $(CURDIR)/../shared/data/weather/weather_prediction_dataset.csv)} \
	  NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict -d site

docs-figures: $(STAMP_RUN)
	$(BIN)/python docs/make_figures.py

# Mutation testing (docs/testing.md): not in CI; run before a release or after changing tests of
# a core package. One package at a time (MUTATE="layers ops"), results kept in mutants/ so that
# a second run only re-checks what changed. Low priority: the machine stays usable.
# (a background job inherits SIGINT ignored, which the Ctrl-C tests would see: restore it first)
SIGINT_DEFAULT := import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])
MUTATE ?= layers losses preprocessing optimizers ops metrics callbacks io forecast
MUTMUT_CHILDREN ?= 2
mutate: $(STAMP_DEV)
	$(BIN)/python -m pip install --quiet -e ".[mutate]"
	mkdir -p mutants; for pkg in $(MUTATE); do \
	  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 nice -n 10 $(BIN)/python -c "$(SIGINT_DEFAULT)" \
	    $(BIN)/mutmut run --max-children $(MUTMUT_CHILDREN) "tanul.$$pkg.*" \
	    > mutants/run-$$pkg.log 2>&1 || exit 1; \
	done
	$(BIN)/python tools/mutation_report.py

notebooks: | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[notebooks]"
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf $(VENV) site build dist src/*.egg-info .pytest_cache mutants

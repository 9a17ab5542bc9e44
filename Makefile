# Two commands do all set-up on a fresh machine with Python 3 and make:
#   make demo   -> creates .venv, installs tanul, trains the main job
#   make test   -> creates .venv, installs the dev extras, runs the tests
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev

.PHONY: demo test bench docs docs-figures clean lint

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
	$(BIN)/ruff check src tests benchmarks examples docs

bench: $(STAMP_DEV)
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python benchmarks/mlp.py
	$(BIN)/python benchmarks/lenet.py
	$(BIN)/python benchmarks/playground.py

docs: $(STAMP_DEV)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict -d site

docs-figures: $(STAMP_RUN)
	$(BIN)/python docs/make_figures.py

clean:
	rm -rf $(VENV) site build dist src/*.egg-info .pytest_cache

# Two commands do all set-up on a fresh machine: `make run` (the bot, SQLite by default) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test reliability lint catalogs bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/sangkien run

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) -m pytest -n auto --maxprocesses 8 -m "not serial"
	$(PY) -m pytest -m serial

# The reliability suite at full size (`make test` runs a bounded sample of it): bad input, crash loop,
# replays and races, authorization, flood. Figures are recorded in docs/RELIABILITY.md.
reliability: $(STAMP)
	RELIABILITY_SCALE=full $(PY) -m pytest -m reliability -s -q tests/reliability

lint: $(STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy

# Re-extract the messages and merge them into the vi and en catalogs (the bot reads the .po files directly).
catalogs: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k N_ -k __ --no-location --sort-output \
		--project=sangkien-bot -o locales/messages.pot bot channels handlers forms storage
	$(VENV)/bin/pybabel update -i locales/messages.pot -d locales -D messages --no-fuzzy-matching --ignore-obsolete

bench: $(STAMP)
	$(PY) bench/form_flow.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

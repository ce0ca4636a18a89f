# btref: two commands on a fresh machine.
#   make demo   creates the virtualenv, installs btref, runs the demo
#   make test   everything: unit, property, conformance, interop, coverage gate, mypy --strict, docs (warnings are errors)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test install unit docs bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,docs,sim]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/btref demo

# Coverage is collected over the whole run (subprocesses included) and checked once at the end.
test: $(STAMP)
	rm -f .coverage .coverage.*
	HYPOTHESIS_PROFILE=ci BTREF_NO_SKIPS=1 \
		$(PY) -m pytest -p no:cacheprovider --cov --cov-report= --cov-fail-under=0 $(PYTEST_ARGS)
	$(PY) -m coverage combine --quiet || true
	$(PY) -m coverage report --fail-under=90
	$(PY) -m mypy
	$(PY) -m sphinx -W --keep-going -q -b html docs docs/_build/html

unit: $(STAMP)
	HYPOTHESIS_PROFILE=dev $(PY) -m pytest -x -q $(PYTEST_ARGS)

docs: $(STAMP)
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

bench: $(STAMP)
	$(PY) bench/hashing.py

clean:
	rm -rf $(VENV) docs/_build .coverage .coverage.* .pytest_cache .hypothesis .mypy_cache build *.egg-info

# btref: two commands on a fresh machine.
#   make demo   creates the virtualenv, installs btref, runs the demo
#   make test   everything: unit, property, conformance, interop, coverage gate, mypy --strict, docs (warnings are errors)
#   make fuzz   long coverage-guided runs of the parser harnesses in fuzz/ (docs/fuzzing.md)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test install unit docs bench fuzz clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,docs,sim,fuzz]'
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

# Each harness in turn, FUZZ_RUNS inputs each. The corpus grows in fuzz/corpus/<name> from
# run to run; a crash stops the loop and leaves its input in fuzz/crashes/.
FUZZ_RUNS ?= 1000000
FUZZ      ?= bencode metainfo wire krpc tracker_http tracker_udp magnet
FUZZ_ARGS ?=
fuzz: $(STAMP)
	mkdir -p fuzz/crashes
	for name in $(FUZZ); do \
		echo "== fuzz_$$name: $(FUZZ_RUNS) inputs"; \
		nice -n 10 $(PY) fuzz/fuzz_$$name.py fuzz/corpus/$$name -atheris_runs=$(FUZZ_RUNS) \
			-artifact_prefix=fuzz/crashes/ -timeout=30 -rss_limit_mb=1024 $(FUZZ_ARGS) \
			|| exit 1; \
	done

clean:
	rm -rf $(VENV) docs/_build fuzz/corpus fuzz/crashes .coverage .coverage.* .pytest_cache .hypothesis .mypy_cache build *.egg-info

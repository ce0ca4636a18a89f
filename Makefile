# btref: two commands on a fresh machine.
#   make demo   creates the virtualenv, installs btref, runs the demo
#   make test   everything: unit, property, conformance, interop, coverage gate, mypy --strict, docs (warnings are errors)
#   make fuzz   long coverage-guided runs of the parser harnesses in fuzz/ (docs/fuzzing.md)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# The other clients of the interop matrix (tests/test_interop_matrix.py), and the browser the
# browser view's tests drive (tests/test_web.py), as command:Debian package.
APT_CLIENTS := aria2c:aria2 transmission-cli:transmission-cli transmission-daemon:transmission-daemon \
	rtorrent:rtorrent qbittorrent-nox:qbittorrent-nox node:nodejs npm:npm \
	chromium:chromium chromedriver:chromium-driver
# WebTorrent: webtorrent-cli 4 (6.x needs a native WebRTC module; 4.x speaks TCP), in the project.
NPM_CLIENTS := .npm-clients
WEBTORRENT  := $(NPM_CLIENTS)/node_modules/webtorrent/package.json

.PHONY: demo test install clients unit docs bench fuzz clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,docs,sim,fuzz]'
	touch $(STAMP)

install: $(STAMP)

# Installs only what is missing, so it is quick once everything is there. apt-get needs
# root; anyone else is told in one line what to install.
clients:
	@missing=""; for pair in $(APT_CLIENTS); do \
		command -v "$${pair%%:*}" >/dev/null 2>&1 || missing="$$missing $${pair##*:}"; done; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ]; then \
		echo "make clients: apt-get install$$missing"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends$$missing >/dev/null; \
	elif [ -n "$$missing" ]; then \
		echo "make clients: the interop matrix and the browser tests need$$missing: run sudo apt-get install$$missing"; fi
	@if [ ! -f $(WEBTORRENT) ] && command -v npm >/dev/null 2>&1; then \
		echo "make clients: npm install webtorrent-cli@4 into $(NPM_CLIENTS)/"; \
		npm install --prefix $(NPM_CLIENTS) --no-audit --no-fund --loglevel=error webtorrent-cli@4 >/dev/null; fi

demo: $(STAMP)
	$(VENV)/bin/btref demo

# Coverage is collected over the whole run (subprocesses included) and checked once at the end.
test: $(STAMP) clients
	rm -f .coverage .coverage.*
	HYPOTHESIS_PROFILE=ci BTREF_NO_SKIPS=1 \
		$(PY) -m pytest -p no:cacheprovider --durations=25 --cov --cov-report= --cov-fail-under=0 $(PYTEST_ARGS)
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
FUZZ      ?= bencode metainfo wire krpc tracker_http tracker_udp magnet mse lsd
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
	rm -rf $(VENV) $(NPM_CLIENTS) docs/_build fuzz/corpus fuzz/crashes .coverage .coverage.* .pytest_cache .hypothesis .mypy_cache build *.egg-info

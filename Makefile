# Two commands on a fresh machine (Python 3.11+):
#   make reproduce   generate the embedded dataset, run every notebook, write results + README tables
#   make test        unit tests + every notebook under nbval, in quick mode
# Each sets up the virtual environment .venv on first use.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup reproduce test exercises browser-test clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,compress]"
	touch $(STAMP)

reproduce: $(STAMP)
	$(PY) -m gesturelib.reproduce

test: $(STAMP)
	GESTURELIB_QUICK=1 $(PY) -m pytest --nbval-lax --nbval-current-env tests notebooks

exercises: $(STAMP)
	$(PY) -m gesturelib.exercises build

browser-test: $(STAMP)
	tools/browser_test.sh

clean:
	rm -rf data/quick results/results_quick.json .pytest_cache

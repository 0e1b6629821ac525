# The two commands of the README: `make demo` (main job) and `make test` (tests).
# Both install what they need into .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SHARED_DATA := $(abspath ../shared/data)
# Data sets: $PATHOLOGIES_DATA if set, else ../shared/data beside the checkout when it exists.
export PATHOLOGIES_DATA ?= $(if $(wildcard $(SHARED_DATA)),$(SHARED_DATA),)
# Every model and data set here is local; unset these to let transformers reach the hub.
export HF_HUB_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: install browser demo test test-all clean

install: $(VENV)/.installed

# torch first and pinned: an unpinned torch pulls gigabytes of CUDA packages on a CPU machine.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test,ray,app]'
	touch $@

# Debian's Chromium, for the test that opens the HTML report in a real browser, and its
# chromium-driver, through which Selenium drives the app in tests/test_app.py.
browser:
	@{ command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; } \
	  || { [ "$$(id -u)" = 0 ] && apt-get update -q >/dev/null \
	  && apt-get install -y -q chromium chromium-driver >/dev/null; } \
	  || echo "note: chromium / chromium-driver could not be installed; the browser tests will be skipped"

demo: install
	$(VENV)/bin/pathologies demo

test: install browser
	$(PY) -m pytest

# Everything, the slow integration tests included.
test-all: install browser
	$(PY) -m pytest -m ''

# Mutation testing of the core modules with mutmut, one module at a time, each with the tests
# that exercise it (benchmarks/MUTATION.md). Not part of `make test`: about 15 minutes on 2 cores.
#   make mutate                      # all modules
#   make mutate MODULES="engine dknn"
.PHONY: mutate
MODULES ?=
mutate: install $(VENV)/.mutmut
	nice -n 10 bash benchmarks/mutate.sh $(MODULES)

$(VENV)/.mutmut: pyproject.toml
	$(PY) -m pip install -q -e '.[mutate]'
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache

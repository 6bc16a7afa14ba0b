# Two commands on a fresh machine: `make demo` and `make test`. Everything else is optional.
# The only network this touches is the package registries (PyPI, Debian).

SHELL := /bin/bash
PYTHON ?= python3.11
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
VENV := .venv
BIN := $(VENV)/bin
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
# Installed packages get their .pyc at install time: with PYTHONDONTWRITEBYTECODE set (as on CI
# images) every `alvh` process would otherwise recompile Prefect, GE and quantstats (~5 s each).
export UV_COMPILE_BYTECODE := 1

.PHONY: setup demo test bench lint soak chromium clean help

help:
	@echo "make demo   - set up and run the nightly job on the embedded sample market"
	@echo "make test   - set up and run all tests"
	@echo "make bench  - benchmarks (numbers printed, never asserted)"
	@echo "make lint   - ruff"
	@echo "make soak   - long reliability runs (SIGKILL trials)"

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(BIN)/alvh: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --all-extras --python $(PYTHON) --quiet
	@touch $(BIN)/alvh

setup: $(BIN)/alvh

demo: setup
	$(BIN)/alvh demo

# Headless Chromium for the report browser test: Debian's package, when we may install it.
chromium:
	@if command -v chromium >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian chromium for the browser test ..."; \
	  (apt-get install -y -qq chromium >/dev/null 2>&1 || \
	   (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1)) \
	  || echo "could not install chromium: the browser test will be skipped (with this reason)"; \
	else echo "chromium not installed and not root: the browser test will be skipped"; fi

test: setup chromium
	$(BIN)/pytest -q -m "not soak" -n 2 --dist loadfile

bench: setup
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

lint: setup
	$(BIN)/ruff check .

soak: setup
	$(BIN)/pytest -q -m soak

clean:
	rm -rf $(VENV) .tools var .pytest_cache

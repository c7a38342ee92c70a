# The README's two commands: `make run` (the product) and `make test` (the whole suite).
# Each creates or updates the local virtual environment in .venv as needed.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CONFIG ?= config.toml
DEMO_DIR  ?= data/demo
DEMO_PORT ?= 8765
PYTEST_ARGS ?=

.PHONY: run demo test lint bench clean-venv

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first and pinned: 2.13.0 is the small CPU wheel here (see README "GPU").
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

# The monitor (poll -> score -> alert) plus the dashboard, against config.toml's feeds.
# Trains the bootstrap models first when no model is active (a few minutes on 2 cores).
run: $(STAMP)
	$(BIN)/finsentinel --config $(CONFIG) db upgrade
	$(BIN)/finsentinel --config $(CONFIG) bootstrap
	@trap 'kill 0' EXIT INT TERM; \
	  $(BIN)/finsentinel --config $(CONFIG) dashboard & \
	  $(BIN)/finsentinel --config $(CONFIG) run

# The same product against the offline demo newswire on 127.0.0.1 (no internet needed):
# demo feeds with scripted negative bursts, the monitor, a local alert receiver (alerts are
# printed and appended to $(DEMO_DIR)/alerts.jsonl) and the dashboard.
demo: $(STAMP)
	@mkdir -p $(DEMO_DIR)
	@trap 'kill 0' EXIT INT TERM; \
	  $(BIN)/finsentinel demo-feeds --port $(DEMO_PORT) --write-config $(DEMO_DIR)/config.toml & \
	  until $(BIN)/finsentinel --config $(DEMO_DIR)/config.toml db upgrade 2>/dev/null; do sleep 1; done; \
	  $(BIN)/finsentinel --config $(DEMO_DIR)/config.toml bootstrap && \
	  { $(BIN)/finsentinel alerts receive --port 8766 --out $(DEMO_DIR)/alerts.jsonl & \
	    $(BIN)/finsentinel --config $(DEMO_DIR)/config.toml dashboard & \
	    $(BIN)/finsentinel --config $(DEMO_DIR)/config.toml run; }

# The whole suite, slow tests included, on both cores. Store tests also run on PostgreSQL
# when FINSENTINEL_TEST_POSTGRES_URL is set (.ci/run starts a server and sets it).
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check monitor dashboard training tests benchmarks
	$(BIN)/mypy monitor dashboard training

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/scoring.py
	$(BIN)/python benchmarks/alerts.py
	$(BIN)/python benchmarks/dashboard.py

clean-venv:
	rm -rf $(VENV)

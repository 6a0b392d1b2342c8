# Two commands for a fresh clone: `make run` and `make test`.
# Both install exactly the pinned, hashed set in requirements.lock; `make lock` updates it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LOCK := requirements.lock
# uv resolves for every platform and Python >= 3.11 and records every wheel's hash.
# `make lock LOCK_ARGS=--upgrade` moves everything to the newest allowed versions;
# `make lock LOCK_ARGS="--upgrade-package strawberry-graphql"` just that one.
LOCK_ARGS ?=
# The GraphQL-over-HTTP audit (npm graphql-http), pinned by its own lock file.
AUDIT := tests/http_audit
AUDIT_STAMP := $(AUDIT)/node_modules/.package-lock.json
# The npm graphql-ws client the subscription tests run unchanged, pinned the same way.
WS_CLIENT := tests/live/graphql_ws
WS_CLIENT_STAMP := $(WS_CLIENT)/node_modules/.package-lock.json

.PHONY: run test lint format schema seed-city migrate bench bench-inprocess bench-live bench-register clean-data lock

# A changed lock (or pyproject) rebuilds the venv from scratch: nothing stale survives.
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv --clear $(VENV)
	$(PY) -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Order-only: an existing (even stale) venv is good enough to run uv.
lock: | $(STAMP)
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --group build \
		--universal --python-version 3.11 --generate-hashes \
		--custom-compile-command "make lock" --quiet -o $(LOCK) $(LOCK_ARGS)

run: $(STAMP)
	$(PY) app.py serve

migrate: $(STAMP)
	$(PY) app.py migrate

seed-city: $(STAMP)
	$(PY) app.py seed --scale city

$(AUDIT_STAMP): $(AUDIT)/package.json $(AUDIT)/package-lock.json
	cd $(AUDIT) && npm ci --no-audit --no-fund --loglevel=error

$(WS_CLIENT_STAMP): $(WS_CLIENT)/package.json $(WS_CLIENT)/package-lock.json
	cd $(WS_CLIENT) && npm ci --no-audit --no-fund --loglevel=error

test: $(STAMP) $(AUDIT_STAMP) $(WS_CLIENT_STAMP)
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  echo "make test: the big-screen test drives headless Chromium:" \
	       "installing Debian's chromium and a Chinese font with apt-get"; \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium fonts-wqy-microhei; }
	$(PY) -m pytest -q -p no:cacheprovider; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "no tests were collected: failing on purpose"; exit 1; fi; exit $$rc

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

schema: $(STAMP)
	$(PY) app.py export-schema --output schema/schema.graphql

# Ours against PostGraphile v5 on the city-scale database (.data-bench/, seeded once);
# never part of `make test`. Options: make bench BENCH_ARGS="--workers 1,2 --rounds 3".
PGL := bench/postgraphile
$(PGL)/node_modules/.package-lock.json: $(PGL)/package.json $(PGL)/package-lock.json
	cd $(PGL) && npm ci --no-audit --no-fund --loglevel=error

bench: $(STAMP) $(PGL)/node_modules/.package-lock.json
	@command -v wrk >/dev/null 2>&1 || { \
	  echo "make bench: wrk (the HTTP load generator) is not installed:" \
	       "installing Debian's package wrk with apt-get"; \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq wrk; }
	$(PY) -m bench $(BENCH_ARGS)

# The earlier in-process latency bench (no network, no PostGraphile) against .data/.
bench-inprocess: $(STAMP)
	$(PY) -m bench.inprocess

# Live data at city scale (figures, polling screens, subscriptions) on .data-bench/.
bench-live: $(STAMP)
	$(PY) -m bench.live $(BENCH_ARGS)

# The register (台账) import at 10,000 residents, on a throwaway database beside .data's.
bench-register: $(STAMP)
	$(PY) -m bench.register

clean-data:
	rm -rf .data

# The commands people expect. Each installs what it needs first (see `bootstrap`).
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV := $(or $(shell command -v uv 2>/dev/null),$(HOME)/.local/bin/uv)
RUN := $(UV) run --frozen
PYTEST_ARGS ?=

.PHONY: help deps bootstrap run test test-unit test-e2e test-compose test-chaos lint fmt bench up down infra-up infra-down clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

$(UV):
	@echo "installing uv (the workspace's package manager) from PyPI"
	python3 -m pip install --user --quiet uv || python3 -m pip install --user --quiet --break-system-packages uv

deps: $(UV) ## install the Python packages of uv.lock into .venv (lists what it installs)
	$(UV) sync --frozen

bootstrap: deps ## deps, and the OS servers the suite runs on (as root; else prints the command)
	$(RUN) python -m tools.infra packages

run: bootstrap ## start the whole suite behind nginx on http://127.0.0.1:8080 (Ctrl-C stops it)
	$(RUN) python -m tools.suite

test: bootstrap ## every test: unit, integration (real servers) and e2e through nginx
	$(RUN) pytest $(PYTEST_ARGS)

test-unit: bootstrap ## everything but the e2e tests
	$(RUN) pytest -m "not e2e" $(PYTEST_ARGS)

test-e2e: bootstrap ## black-box tests through the gateway (starts the suite unless it is up)
	$(RUN) pytest tests/e2e $(PYTEST_ARGS)

lint: deps ## ruff, mypy (strict) and the import contracts (no servers needed)
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy shared/src services/*/src clients/python/src tools gateway/nginx deploy
	$(RUN) lint-imports
	@# Each member alone in its own venv: an import it does not declare fails here.
	$(RUN) python -m tools.import_all

fmt: $(UV) ## format and autofix
	$(UV) run ruff format .
	$(UV) run ruff check --fix .

bench: bootstrap ## real endpoints through nginx vs a trivial FastAPI ping: table + PNG in .state/bench (wrk, bounded)
	$(RUN) python -m tools.bench

test-compose: bootstrap ## the suite under docker compose on a private engine: built, scaled, broken on purpose
	@# The first test also builds every image: a longer per-test bound than the default 300 s.
	@# The whole run is bounded too: 20 minutes (a fresh machine takes about 8).
	SUITE_COMPOSE_TESTS=1 $(RUN) pytest tests/compose -p no:cacheprovider --timeout=900 --session-timeout=1200 $(PYTEST_ARGS)

test-chaos: bootstrap ## the local suite under faults: broker/database/Redis restarts, kills, a soak (~15 min)
	SUITE_CHAOS_TESTS=1 $(RUN) pytest tests/chaos -p no:cacheprovider --timeout=1200 --session-timeout=1800 --durations=0 $(PYTEST_ARGS)

up: $(UV) ## the suite under docker compose (SUITE_PRIVATE_DOCKER=1: on a private engine, started here)
	$(UV) run --frozen python -m tools.compose up

down: $(UV) ## stop the compose suite (and the private engine, if it runs)
	$(UV) run --frozen python -m tools.compose down

infra-up: bootstrap ## only PostgreSQL, Redis and RabbitMQ, in .state/local
	$(RUN) python -m tools.infra start

infra-down: ## stop what infra-up started
	$(RUN) python -m tools.infra stop

clean: infra-down ## stop local servers and delete all local state
	rm -rf .state

# Kwont. `make help` lists the targets. The two you need: `make up` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PACKAGES := -p kwont_common -p kwont_quant -p kwont_ohlcv -p kwont_sandbox -p kwont_devstack -p kwont_gateway -p kwont_marketdata \
	-p kwont_strategy -p kwont_risk -p kwont_execution -p kwont_portfolio -p kwont_backtest_runner -p kwont_notifier
# pytest-xdist workers of `make test` (TEST_WORKERS=0: one serial session). Groups: one per
# module, the whole-stack tests in one (tests/parallel.py); the basetemp is per checkout.
TEST_WORKERS ?= 0
PYTEST_PARALLEL = -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder --basetemp=.run/pytest-tmp


.PHONY: help bootstrap sandbox-image up down status logs test lint typecheck schemas schemas-check docs \
	test-unit test-integration test-contract bench drill clean \
	images compose-up compose-down compose-ps compose-logs compose-test helm-check test-deploy web

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  make %-18s %s\n", $$1, $$2}'

bootstrap: ## Install apt packages and the .venv (idempotent)
	@scripts/bootstrap.sh system venv

up: bootstrap sandbox-image web ## Start the whole platform on the embedded engines (returns when healthy and consumers joined)
	@$(BIN)/kwont-stack up

down: ## Stop everything `make up` started, and remove its sandbox network and firewall rules
	@if [ -x $(BIN)/kwont-stack ]; then $(BIN)/kwont-stack down; fi

status: ## Show what runs and whether it is healthy
	@$(BIN)/kwont-stack status

logs: ## Tail the logs of the stack (make logs NAME=risk for one)
	@$(BIN)/kwont-stack logs $(NAME)

test: bootstrap lint typecheck schemas-check helm-check web ## Every test: lint, types, unit, integration, contract (TEST_WORKERS=2: two workers)
	@mkdir -p .run
	@$(BIN)/kwont-stack docker-run -- $(PY) -m pytest -q $(PYTEST_PARALLEL)

test-unit: bootstrap ## Unit tests only
	@$(PY) -m pytest -q -m unit

test-integration: bootstrap ## Integration tests (start their own engines)
	@$(PY) -m pytest -q -m integration

test-contract: bootstrap ## Topic schema compatibility and round trips
	@$(PY) -m pytest -q -m contract

lint: bootstrap ## ruff lint and format check, no import circle, no module over 300 lines
	@$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(PY) scripts/check_structure.py

typecheck: bootstrap ## mypy (strict on libs/)
	@$(BIN)/mypy $(PACKAGES)

schemas: bootstrap ## Export the topics' JSON Schemas into schemas/topics
	@$(BIN)/kwont-schemas export

schemas-check: bootstrap ## Fail when schemas/topics or the topic table of docs/contract.md drift from the code
	@$(BIN)/kwont-schemas check && $(BIN)/kwont-schemas docs-check

docs: bootstrap ## Regenerate the topic table of docs/contract.md (registry + kwont_common.topics_contract)
	@$(BIN)/kwont-schemas docs

web: ## Build the web dashboard (web/ -> web/dist, served at /) when its sources changed
	@scripts/build-web.sh

sandbox-image: bootstrap ## Build the backtest sandbox image locally (no registry) when missing or stale
	@$(BIN)/kwont-stack docker-up
	@scripts/build-sandbox-image.sh

images: bootstrap ## Build every image locally (services, sandbox, engines; no registry; skips unchanged)
	@$(BIN)/kwont-stack docker-up
	@scripts/build-images.sh

compose-up: bootstrap ## Run the compose stack here (offline engines); returns when healthy
	@scripts/compose.sh up

compose-down: ## Remove the compose stack, its volumes and its sandbox network
	@scripts/compose.sh down

compose-ps: ## Containers of the compose stack
	@scripts/compose.sh ps

compose-logs: ## Logs of the compose stack (make compose-logs NAME=gateway for one)
	@scripts/compose.sh logs $(NAME)

compose-test: bootstrap ## Compose stack scaled (strategy=2, backtest-runner=2) + gateway smoke + per-replica work
	@scripts/compose.sh test

helm-check: bootstrap ## helm lint + template (default and all-on values) + Kubernetes schema validation
	@scripts/helm-check.sh

test-deploy: bootstrap ## Image tests: every service image starts and answers its health check (builds images)
	@$(BIN)/kwont-stack docker-up
	@scripts/build-images.sh
	@$(PY) -m pytest -q tests/deploy -m e2e

drill: bootstrap sandbox-image ## Every fault drill (tests/drills) under traffic: time to healthy, final-state check
	@KWONT_DRILL=all $(PY) -m pytest -q -s -m drill tests/drills

bench: bootstrap ## Benchmarks against peers, printed as tables (ONLY=pipeline,idle: some)
	@$(PY) -m bench $(subst $(comma), ,$(ONLY))

comma := ,

clean: ## Remove caches (not .venv, not .run)
	rm -rf .pytest_cache .mypy_cache .ruff_cache

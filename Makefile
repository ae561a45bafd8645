# agent-streams — one command per habit. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# aws-sam-cli pins its own boto3 and pydantic, so it lives in a venv of its own.
TOOLS := .venv-tools
# The three distributions of the repository, installed editable into one venv.
PROJECTS := pyproject.toml layers/agent_streams_protocol/pyproject.toml clients/python/pyproject.toml clients/python/setup.py
STAMP := $(VENV)/.installed-$(shell cat $(PROJECTS) | cksum | cut -d' ' -f1)
TOOLS_STAMP := $(TOOLS)/.installed
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1
PYTEST_WORKERS ?= 2


.PHONY: help venv tools npm ts-test chromium browser-test test unit e2e lint format typecheck template-check layer openapi build deploy run serve bench fuzz clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

venv: $(STAMP) ## Create .venv with the project and its dev tools (idempotent)
$(STAMP): $(PROJECTS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	AGENT_STREAMS_PROTOCOL_FROM_INDEX=1 $(BIN)/python -m pip install -q -e layers/agent_streams_protocol -e "clients/python[aws]" -e ".[dev]"
	@rm -f $(VENV)/.installed-*
	@touch $@

tools: $(TOOLS_STAMP) ## Install aws-sam-cli into .venv-tools
$(TOOLS_STAMP):
	@test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install -q --upgrade pip
	$(TOOLS)/bin/python -m pip install -q "aws-sam-cli>=1.120"
	@touch $@

format: venv ## Format the code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: venv ## mypy on the layer, and on each function on its own (they are all app.py)
	$(BIN)/mypy
	@for f in functions/*/app.py; do $(BIN)/mypy --strict --follow-imports=silent "$$f" || exit 1; done

template-check: venv tools ## cfn-lint and sam validate --lint on template.yaml
	$(BIN)/cfn-lint template.yaml
	$(TOOLS)/bin/sam validate --lint --template template.yaml

lint: venv tools ## ruff, mypy, cfn-lint, sam validate
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MAKE) --no-print-directory typecheck template-check

layer: venv tools ## sam build of the layer alone (layers/Makefile; no python3.13 needed) into .aws-sam
	$(TOOLS)/bin/sam build AgentStreamsLayer

TS := clients/typescript
TS_STAMP := $(TS)/node_modules/.installed-$(shell cksum < $(TS)/package-lock.json | cut -d' ' -f1)

npm: $(TS_STAMP) ## Install the TypeScript client's dev dependencies (npm ci, idempotent)
$(TS_STAMP): $(TS)/package-lock.json
	cd $(TS) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

ts-test: npm ## Build and test the TypeScript client (@agent-streams/client)
	cd $(TS) && npm run --silent build && npm test --silent

# Debian's Chromium, driven by playwright-core (which downloads no browser).
CHROMIUM ?= /usr/bin/chromium

chromium: ## Install Debian's Chromium for the browser tests when missing (apt-get: root, or sudo -n)
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ]; then sudo=; elif command -v sudo >/dev/null; then sudo="sudo -n"; \
	  else echo "$(CHROMIUM) is missing: apt-get install -y chromium (as root)" >&2; exit 1; fi; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium; }

browser-test: venv npm chromium ## The real-browser tests: headless Chromium, useChat, the local stack in real time
	CHROMIUM=$(CHROMIUM) $(BIN)/pytest -q tests/browser

test: lint ts-test chromium ## Lint, then the whole suite
	$(BIN)/pytest -n $(PYTEST_WORKERS) -q tests/unit tests/integration
	$(BIN)/pytest -n $(PYTEST_WORKERS) -q tests/e2e
	CHROMIUM=$(CHROMIUM) $(BIN)/pytest -q tests/browser

unit: venv ## The unit tests only (fast)
	$(BIN)/pytest -q tests/unit

openapi: venv ## Regenerate openapi.json from the code, and the TypeScript client's types from it
	$(BIN)/python -m agent_streams_dev.openapi

e2e: venv ## The end-to-end tests against the local stack
	$(BIN)/pytest -n $(PYTEST_WORKERS) -q tests/e2e

build: venv tools ## sam build (the functions need python3.13 on PATH; the layer does not)
	$(TOOLS)/bin/sam build

deploy: build ## sam deploy (CONFIG_ENV=dev|prod, default: default)
	$(TOOLS)/bin/sam deploy $(if $(CONFIG_ENV),--config-env $(CONFIG_ENV),)

run: venv ## The main job: a simulated agent reply streamed and followed on the local stack
	$(BIN)/agent-streams demo

serve: venv ## The local stack on http://127.0.0.1:3000 until interrupted
	$(BIN)/agent-streams local

bench: venv ## Benchmarks against the budgets in DESIGN.md
	$(BIN)/python -m benchmarks

fuzz: venv ## A longer schemathesis run against the local stack
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) -m fuzz --fuzz-examples=20000 tests/e2e

clean: ## Remove build output and caches
	rm -rf .aws-sam build .pytest_cache .mypy_cache .ruff_cache .hypothesis

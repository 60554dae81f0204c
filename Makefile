# up42-facade: every target has a `## description`; `make help` lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help install generate check-generated format lint typecheck test test-fast pytest demo bench clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,viz,sandbox,docs]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv with everything the tests, demo, docs and benchmarks need: extras dev, viz, sandbox, docs (quick when nothing changed)

generate: $(STAMP) ## regenerate generated/up42_jobs_client from openapi/ (never edit generated/ by hand)
	scripts/generate.sh generated/up42_jobs_client

check-generated: $(STAMP) ## regenerate into a temporary folder and fail on any difference from generated/
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	scripts/generate.sh "$$tmp/up42_jobs_client" >/dev/null && \
	if diff -r generated/up42_jobs_client "$$tmp/up42_jobs_client" -x __pycache__; then \
		echo "generated/ is up to date with openapi/"; \
	else \
		echo "generated/ differs from what openapi/ produces: run 'make generate' and commit the result" >&2; exit 1; \
	fi

format: $(STAMP) ## format and auto-fix the hand-written code (changes files)
	$(BIN)/ruff format up42_facade up42_sandbox tests benchmarks scripts demo examples
	$(BIN)/ruff check --fix up42_facade up42_sandbox tests benchmarks scripts demo examples

lint: $(STAMP) ## ruff on the hand-written code only (checks, changes nothing)
	$(BIN)/ruff check up42_facade up42_sandbox tests benchmarks scripts demo examples
	$(BIN)/ruff format --check up42_facade up42_sandbox tests benchmarks scripts demo examples

typecheck: $(STAMP) ## mypy --strict on up42_facade
	$(BIN)/mypy

pytest: $(STAMP) ## run the test suite: cassettes replayed offline, then everything else against local sandboxes
	$(BIN)/pytest tests/replay --record-mode=none --block-network $(PYTEST_ARGS)
	$(BIN)/pytest --ignore=tests/replay $(PYTEST_ARGS)

test: install check-generated lint typecheck lint-spec check-compat pytest sdk-ts docs ## everything CI runs: install, check-generated, lint, typecheck, lint-spec, check-compat, pytest (slow tests, doctests, the notebook and the wheel too), sdk-ts, docs

test-fast: $(STAMP) ## the inner loop: lint, typecheck and every test not marked slow (no load, benchmark smoke, demo or classic SDK runs)
	$(BIN)/ruff check up42_facade up42_sandbox tests benchmarks scripts demo examples
	$(BIN)/mypy
	$(BIN)/pytest tests/replay --record-mode=none --block-network -m "not slow" -q $(PYTEST_ARGS)
	$(BIN)/pytest --ignore=tests/replay -m "not slow" -q $(PYTEST_ARGS)

demo: $(STAMP) ## the main job end to end on a local sandbox (or the real API with UP42_* and JOB_ID=...)
	$(BIN)/python demo/main_job.py $(if $(JOB_ID),--job-id $(JOB_ID))

bench: $(STAMP) ## benchmarks side by side with curl, tar, raw httpx and (PEERS=1) the classic SDK
	$(BIN)/python -m benchmarks $(if $(PEERS),--peers) $(if $(RUNS),--runs $(RUNS))

clean: ## remove build output and caches (keeps .venv)
	rm -rf build dist demo-output .cache .pytest_cache .mypy_cache .ruff_cache

include mk/spec.mk
include mk/record.mk
include mk/docs.mk

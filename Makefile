# meetdesk developer entry points. `make help` lists them.

VENV ?= .venv
PY = $(VENV)/bin/python
# interpreter used only to create the venv
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
COMPOSE ?= docker compose
PYTEST_ARGS ?=

# the install stamp changes name whenever pyproject.toml changes, so `make install` re-runs pip then
PYPROJECT_HASH := $(shell cksum pyproject.toml 2>/dev/null | cut -d' ' -f1)
STAMP := $(VENV)/.installed-$(PYPROJECT_HASH)

.DEFAULT_GOAL := help

.PHONY: help install run up down test test-unit lint compose-check compose-test docs demo bench bench-intake bench-scheduler bench-booking bench-metrics bench-complaints metrics-rebuild chaos soak dlq clean distclean

help:
	@echo "make install        create $(VENV) and pip install -e '.[dev]' (skipped when up to date)"
	@echo "make run            migrate and run all services natively (tools/run_local.py; needs local RabbitMQ + PostgreSQL)"
	@echo "make up / down      docker compose up --build -d / down"
	@echo "make test           pytest (PYTEST_ARGS='-k booking -x' to pass options)"
	@echo "make test-unit      unit tests only"
	@echo "make lint           ruff check"
	@echo "make compose-check  validate docker-compose.yml (docker-compose config / JSON schema + tools/check_compose.py)"
	@echo "make compose-test   run the compose deployment for real and test it (needs a container engine; tools/compose_test.py)"
	@echo "make docs | demo | bench | bench-intake | bench-scheduler | bench-booking | bench-metrics | bench-complaints"
	@echo "make metrics-rebuild [ARGS=--compact|--status]   recompute metrics' figures from its event log (local database)"
	@echo "make chaos [ARGS=--short]   the fault suite: a table of sent / once / lost / doubled / recovery"
	@echo "make soak [ARGS=--minutes 10]   the mixed stream at half its maximum: latency, memory, queues, errors"
	@echo "make dlq ARGS=...   dead letters: ARGS=\"list\", \"show QUEUE\", \"replay QUEUE --reason TEXT\" (docs/runbook.md)"
	@echo "make clean          remove caches and build artefacts (distclean: also $(VENV))"

install: $(STAMP)

$(STAMP):
	@test -x $(PY) || { echo "creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	@echo "installing meetdesk[dev] into $(VENV)"
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

run: install
	$(PY) tools/run_local.py

up: install
	$(PY) tools/access.py secrets        # the services' broker and database passwords, kept in .env
	$(PY) tools/access.py definitions    # deploy/access/definitions.json: the broker's users, permissions, topology
	$(COMPOSE) up --build -d
	$(COMPOSE) ps

down:
	$(COMPOSE) down

test: install
	$(PY) -m pytest -q $(PYTEST_ARGS)

test-unit: install
	$(PY) -m pytest -q tests/unit $(PYTEST_ARGS)

lint: install
	$(PY) -m ruff check .

compose-check: install
	@if command -v docker-compose >/dev/null 2>&1; then \
		echo "docker-compose config -q"; docker-compose -f docker-compose.yml config -q; \
	elif command -v check-jsonschema >/dev/null 2>&1 || test -x $(VENV)/bin/check-jsonschema; then \
		echo "check-jsonschema (compose-spec)"; \
		PATH="$(VENV)/bin:$$PATH" check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml; \
	else \
		echo "neither docker-compose nor check-jsonschema installed: skipping schema validation"; \
	fi
	$(PY) tools/check_compose.py
	@if command -v caddy >/dev/null 2>&1; then \
		caddy validate --config deploy/Caddyfile --adapter caddyfile 2>&1 | grep -q "Valid configuration" \
			&& echo "deploy/Caddyfile valid" || { echo "deploy/Caddyfile is invalid"; exit 1; }; \
	fi

# the deployment itself against a running engine: build, health, scaling, restarts, kill, down/up, JSON logs
compose-test: install
	$(PY) tools/compose_test.py $(ARGS)

docs: install
	$(PY) tools/gen_docs.py

demo: install
	$(PY) tools/demo.py $(ARGS)

bench: install
	$(PY) bench/e2e_latency.py

bench-intake: install
	$(PY) bench/intake_throughput.py

bench-scheduler: install
	$(PY) bench/scheduler.py

bench-booking: install
	$(PY) bench/booking.py

bench-metrics: install
	$(PY) bench/metrics.py

bench-complaints: install
	$(PY) bench/complaints.py

# the metrics service's environment exactly as `make run` gives it (tools/run_local.py's plan from
# docker-compose.yml; anything it prints before the plan is skipped), then
# python -m services.metrics.rebuild $(ARGS) with it
metrics-rebuild: install
	@$(PY) -c 'import json, os, subprocess, sys; \
		out = subprocess.check_output([sys.executable, "tools/run_local.py", "--print", "--only", "metrics"]); \
		plan = json.loads(out[out.index(b"{"):]); \
		env = {**os.environ, **plan["services"][0]["environment"]}; \
		sys.exit(subprocess.call([sys.executable, "-m", "services.metrics.rebuild", *sys.argv[1:]], env=env))' $(ARGS)

chaos: install
	$(PY) tools/chaos.py $(ARGS)

soak: install
	$(PY) tools/soak.py $(ARGS)

dlq: install
	$(PY) -m tools.dlq $(ARGS)

clean:
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +
	rm -rf .pytest_cache .ruff_cache .hypothesis build dist *.egg-info

distclean: clean
	rm -rf $(VENV)

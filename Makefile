# Packyard: `make run` (everything, embedded mode, http://127.0.0.1:8000) and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
TEST_MYSQL_URL ?= mysql://root@127.0.0.1:3306/test
export PACKYARD_TESTING_DB_URL := $(TEST_MYSQL_URL)

AXE := tests/e2e/node_modules/axe-core/axe.min.js

.PHONY: run test venv deps dev-deps e2e-deps s3server migrate seed lint test-sqlite test-mysql clean bench bench-lighthouse

$(VENV)/bin/python:
	@py="$$(bin/find-python)" || exit 1; echo "Using $$py ($$($$py --version))"; "$$py" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.deps: requirements.txt | $(VENV)/bin/python
	bin/system-deps build
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt requirements-nsfw.txt | $(VENV)/bin/python
	bin/system-deps build test
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.deps $@

# axe-core for the browser tests (npm, pinned by tests/e2e/package-lock.json; git-ignored).
$(AXE): tests/e2e/package.json tests/e2e/package-lock.json
	bin/system-deps test
	cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error
	touch $@

deps: $(VENV)/.deps
dev-deps: $(VENV)/.dev-deps $(AXE)
e2e-deps: $(AXE)

# The S3-compatible server the suite and bench/object_storage_bench.py start on loopback
# (npm @20minutes/s3rver, pinned in tests/s3server/package-lock.json; node_modules is git-ignored).
S3SERVER := tests/s3server/node_modules/.installed
$(S3SERVER): tests/s3server/package.json tests/s3server/package-lock.json
	bin/system-deps test
	cd tests/s3server && npm ci --no-audit --no-fund --loglevel=error
	touch $@
s3server: $(S3SERVER)

migrate: deps
	DEBUG=true $(PY) manage.py migrate --noinput
	DEBUG=true $(PY) manage.py collectstatic --noinput -v0

seed: migrate
	DEBUG=true $(PY) manage.py seed_demo

run: seed
	@echo "== Packyard (embedded mode) =="
	@echo "  site        http://127.0.0.1:8000/"
	@echo "  admin       http://127.0.0.1:8000/admin/   login admin / admin-password-123"
	@echo "  API schema  http://127.0.0.1:8000/api/schema"
	@echo "  demo owner  demo / demo-password-123   (POST /api/auth/token for a token)"
	DEBUG=true $(VENV)/bin/honcho start -f Procfile

lint: dev-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	PACKYARD_TESTING=1 $(VENV)/bin/mypy

test: dev-deps s3server
	@bin/system-deps build test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	PACKYARD_TESTING=1 $(VENV)/bin/mypy
	PACKYARD_TESTING=1 $(PY) manage.py check
	PACKYARD_TESTING=1 $(PY) manage.py makemigrations --check --dry-run
	@echo "== pytest on SQLite =="
	env -u DATABASE_URL $(VENV)/bin/pytest
	@if $(PY) bin/db-ready "$(TEST_MYSQL_URL)"; then \
		echo "== pytest on MariaDB ($(TEST_MYSQL_URL)) =="; \
		DATABASE_URL="$(TEST_MYSQL_URL)" $(VENV)/bin/pytest || exit 1; \
	elif [ "$${CI:-}" = "true" ]; then \
		echo "MariaDB is required under CI=true but does not answer at $(TEST_MYSQL_URL)"; exit 1; \
	else \
		echo "== MariaDB not reachable at $(TEST_MYSQL_URL): skipped the MariaDB run (mandatory under CI=true) =="; \
	fi

# The whole bench suite (bench/suite.py: ceiling side by side with main, catalog at 10k and 100k,
# queue, relay, flags, classification, metrics, upload memory), written up in docs/benchmarks.md.
# Needs MariaDB, Redis and RabbitMQ on loopback; BENCH_ARGS="--quick" for shorter runs.
bench: dev-deps
	bin/system-deps bench
	$(PY) bench/suite.py --baseline main $(BENCH_ARGS)

# Lighthouse on the demo catalog's browse and pack pages (bench/lighthouse/; figures and JSON).
bench-lighthouse: deps
	bin/system-deps test
	$(PY) bench/lighthouse_bench.py

clean:
	rm -rf $(VENV) .pytest_cache tests/e2e/node_modules bench/lighthouse/node_modules test-artifacts

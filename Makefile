# careledger: `make run` starts everything locally; `make test` is what CI runs.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
CLI    := $(BIN)/careledger

.PHONY: run test install prereqs lint typecheck infra pytest down constraints

run: prereqs install
	$(CLI) stack up
	@if $(CLI) --help 2>/dev/null | grep -qE '^\W*demo\b'; then $(CLI) demo; fi
	@echo
	@echo "Stack is up. Connection facts: .local/stack.json  (careledger stack status)"
	@echo "Logs: .local/logs/*.log   Stop: $(CLI) stack down   Docs: docs/operations.md"

test: prereqs install lint typecheck infra pytest

prereqs:
	@bash deploy/local/prereqs.sh

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck:
	$(BIN)/mypy

infra:
	$(CLI) stack up --infra-only

# pytest's exit code propagates; 5 (nothing collected) is a failure, not a pass.
# Two workers: the stack tests one after another on one, the in-memory tests beside them
# (tests/conftest.py groups them); PYTEST_WORKERS=0 runs everything in this process.
PYTEST_WORKERS ?= 2
pytest:
	@rc=0; $(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadgroup || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; \
	exit $$rc

down:
	$(CLI) stack down

constraints:
	$(BIN)/pip freeze --exclude-editable > constraints.txt

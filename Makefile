# The two commands of the README's quick start. Both create .venv and install on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
# The issuer follows HOST and PORT (make run PORT=5077), so the audiences and addresses shown match
# where the server really is; set APPCREDS_ISSUER to name another (a public https URL, say).
APPCREDS_ISSUER ?= http://$(HOST):$(PORT)/

.PHONY: run test install install-test lint bench

$(BIN)/flask: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.test-installed: $(BIN)/flask pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/flask
install-test: $(VENV)/.test-installed

## make run: set up (venv, install, instance secrets, migrations, first admin) and serve on $(HOST):$(PORT)
run: install
	APPCREDS_ISSUER=$(APPCREDS_ISSUER) $(BIN)/flask --app app setup
	APPCREDS_ISSUER=$(APPCREDS_ISSUER) $(BIN)/flask --app app run --host $(HOST) --port $(PORT)

## make test: set up and run the whole test suite
test: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check .

bench: install-test
	$(BIN)/python bench/token_endpoint.py

## make demo: set up, seed a demo tenant (one application per method, keys in instance/demo) and say what to run.
## The examples use requests and PyJWT, which come with the test extras.
.PHONY: demo
demo: install-test
	APPCREDS_ISSUER=$(APPCREDS_ISSUER) $(BIN)/flask --app app setup
	APPCREDS_ISSUER=$(APPCREDS_ISSUER) $(BIN)/flask --app app demo seed
	@echo
	@echo "Serve it:          make run HOST=$(HOST) PORT=$(PORT)"
	@echo "Then, in another terminal, any example (examples/README.md lists them all):"
	@echo "                   $(BIN)/python examples/client_secret_basic.py"
	@echo "The mTLS examples need the nginx edge in front of the server: examples/README.md, 'mTLS through the edge'."

# Sunlight. Two set-up commands, each doing all its own set-up and safe to re-run:
#   make demo   stand up province -> city -> county and walk one case through it
#   make test   every test, printing the wall time of each stage and integration module
# scripts/rehearse-fresh-machine resets what Sunlight changed on this machine and runs
# make test from a fresh clone (see README, "A fresh machine").
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
SUNLIGHT := $(BIN)/sunlight
STAMP := $(VENV)/.installed
TIMES := build/stage-times.txt
MODULE_TIMES := build/integration-module-times.txt

export TESTCONTAINERS_RYUK_DISABLED := true

.PHONY: help demo test setup venv engine engine2 image lint unit integration lock clean

help:
	@echo "make demo   stand up province -> city -> county and walk one case through it"
	@echo "make test   lint, unit tests, engines, browser, image, integration tests (timed stages)"
	@echo "make lock   re-resolve requirements/*.lock from pyproject.toml (needs uv)"
	@echo "make clean  remove the virtual environment and build/ (images stay)"

# $(call stage,NAME,COMMAND): run COMMAND, print its wall time, record it in $(TIMES).
stage = start=$$(date +%s); printf '\n==> [%s]\n' "$(1)"; $(2); rc=$$?; \
	dur=$$(( $$(date +%s) - start )); \
	printf '<== [%s] %ss%s\n' "$(1)" "$$dur" "$$( [ $$rc -eq 0 ] || echo " FAILED (exit $$rc)")"; \
	printf '%-12s %5ss\n' "$(1)" "$$dur" >> $(TIMES); exit $$rc

$(STAMP): pyproject.toml requirements/control.lock
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found. Install Python 3.11" \
	  "(Debian: apt-get install python3 python3-venv) or run make PYTHON=/path/to/python3.11"; exit 1; }
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV) || { echo "error: cannot create a venv" \
	  "with $(PYTHON) (Debian: apt-get install python3-venv)"; exit 1; }
	@echo "Installing Sunlight and its pinned dependencies into $(VENV) (with uv, from the lock)"
	@$(BIN)/pip install -q --disable-pip-version-check \
	  "$$(grep -m1 '^uv==' requirements/control.lock)"
	@$(BIN)/uv pip install -q --python $(BIN)/python -c requirements/control.lock \
	  -e '.[server,control,infra,deploy,load,test]'
	@touch $@

venv: $(STAMP)

engine: venv
	@$(SUNLIGHT) engine ensure

setup: venv engine

image: setup
	@$(SUNLIGHT) images build

demo: setup
	@$(SUNLIGHT) up
	@printf '\nThe scenario, step by step:\n'
	@$(SUNLIGHT) scenario
	@echo
	@echo "make demo: the province (320000), city (320700) and county (320703) sites are up and"
	@echo "stay up. Explore: $(SUNLIGHT) status   Again: $(SUNLIGHT) scenario"
	@echo "Tear down: $(SUNLIGHT) down --name demo"

lint: venv
	@$(BIN)/ruff check platform infra tests integration loadtests
	@$(BIN)/mypy
	@$(BIN)/lint-imports --no-cache
	@cd playbooks && PATH="$(CURDIR)/$(BIN):$$PATH" ansible-lint --offline -q
	@cd playbooks && $(CURDIR)/$(BIN)/yamllint --strict .

unit: venv
	@$(BIN)/pytest tests

# The shared topology's county runs on a second engine on this machine (docs/engines.md).
engine2: engine
	@$(SUNLIGHT) engine second up

integration: image engine2
	@$(BIN)/pytest integration

test:
	@mkdir -p build; : > $(TIMES); rm -f $(MODULE_TIMES); total=$$(date +%s); \
	( $(call stage,venv,$(MAKE) -s venv) ) && \
	( $(call stage,lint,$(MAKE) -s lint) ) && \
	( $(call stage,unit,$(BIN)/pytest tests) ) && \
	( $(call stage,engine,$(SUNLIGHT) engine ensure && $(SUNLIGHT) engine second up) ) && \
	( $(call stage,browser,$(SUNLIGHT) browser ensure) ) && \
	( $(call stage,image,$(SUNLIGHT) images build) ) && \
	( $(call stage,integration,$(BIN)/pytest integration --durations=15) ); rc=$$?; \
	printf '\nStage times:\n'; cat $(TIMES); \
	printf '%-12s %5ss\n' total "$$(( $$(date +%s) - total ))"; \
	if [ -f $(MODULE_TIMES) ]; then printf '\nIntegration, per module:\n'; cat $(MODULE_TIMES); fi; \
	exit $$rc

lock:
	uv pip compile pyproject.toml --python-version 3.11 --python-platform x86_64-manylinux_2_36 \
	  --extra server -o requirements/node.lock --no-header -q
	uv pip compile pyproject.toml --python-version 3.11 --python-platform x86_64-manylinux_2_36 \
	  --extra domain --extra server --extra control --extra infra --extra deploy --extra load --extra test -o requirements/control.lock -q

clean:
	rm -rf $(VENV) build

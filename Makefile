# Coop — developer entry points. `make run` and `make test` are all a newcomer needs.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PYTHONDONTWRITEBYTECODE ?=

STAGE ?= dev

.PHONY: install assets run test lint typecheck unit clean package loadtest bench lighthouse

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

# Built, git-ignored artefacts: DSFR + our CSS/JS (from npm, pinned) and the communes reference.
assets: install chalicelib/static/manifest.json chalicelib/data/communes.json.gz

# The icon sheet is reduced to the icons the templates and code name: they are inputs too.
chalicelib/static/manifest.json: infra/build_assets.py $(wildcard assets/*) \
		$(shell find templates chalicelib/web -name '*.html' -o -name '*.py')
	$(BIN)/python -m infra.build_assets

chalicelib/data/communes.json.gz: infra/build_communes.py
	$(BIN)/python -m infra.build_communes

run: assets
	PORT=$(PORT) $(BIN)/python -m infra.local run

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

# The browser suite (tests/browser) drives Debian's Chromium through Playwright (never
# `playwright install`): a fresh CI machine gets it from apt (run as root).
.PHONY: chromium
chromium:
	@test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)

test: assets lint typecheck chromium
	$(BIN)/python -m pytest

# Deployable artefacts in build/$(STAGE)/: sam.json (chalice output merged with the generated
# infra template) and deployment.zip (with templates, static assets and compiled bytecode).
package: assets
	@test "$(STAGE)" = dev -o "$(STAGE)" = prod || (echo "STAGE must be dev or prod" && exit 2)
	rm -rf build/$(STAGE) chalicelib/templates && mkdir -p build/$(STAGE)
	cp -r templates chalicelib/templates
	$(BIN)/python -m infra.template $(STAGE) > build/$(STAGE)/merge.json
	AWS_DEFAULT_REGION=eu-west-3 $(BIN)/chalice package --stage $(STAGE) \
		--merge-template build/$(STAGE)/merge.json build/$(STAGE)
	rm -rf chalicelib/templates
	$(BIN)/python -m infra.bytecode build/$(STAGE)/deployment.zip

# A bounded reporting peak against the local stack (not in CI): USERS=40 CRAS=10 by default.
loadtest: assets
	$(BIN)/python -m infra.loadtest --users $(or $(USERS),40) --cras $(or $(CRAS),10)

# Lighthouse 12.2.3 (npm, pinned) in mobile mode on three key pages of a local app with demo data
# (not in CI: the performance score depends on the machine). Reports in build/lighthouse/.
lighthouse: assets
	$(BIN)/python -m infra.lighthouse

# Performance ratios that matter (not in CI, ~14 minutes): bench/results.json and a table.
# Case 2 imports the app from the production package, built here first.
bench: assets
	$(MAKE) package STAGE=prod
	$(BIN)/python -m bench $(if $(ONLY),--only $(ONLY))

clean:
	rm -rf build chalicelib/static chalicelib/data/communes.json.gz .pytest_cache .mypy_cache

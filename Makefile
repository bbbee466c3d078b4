# Ponte — developer commands. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
FLASK := $(BIN)/flask --app wsgi
VENDOR := portal/static/vendor

.PHONY: run serve dev test bench lint format install lock assets translations chromium deploy-tools xmlsec1 spid-tools clean extract-messages

# Exactly what CI tested: every runtime and test dependency pinned with its hashes in
# requirements.lock (`make lock` refreshes it), then Ponte itself without dependencies.
$(BIN)/activate: pyproject.toml requirements.lock
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(BIN)/activate

# Re-resolve pyproject.toml (dependencies and the test extra) for Python 3.11 on every
# platform, with the hashes of every file; commit the result.
lock:
	test -x $(BIN)/uv || { test -d $(VENV) || $(PYTHON) -m venv $(VENV); $(BIN)/pip install --quiet uv; }
	$(BIN)/uv pip compile pyproject.toml --extra test --generate-hashes --universal \
	  --python-version 3.11 --quiet --output-file requirements.lock

install: $(BIN)/activate assets translations

# Front-end packages come from npm (package-lock.json); only the built files are served.
$(VENDOR)/.stamp: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/bootstrap-italia $(VENDOR)/axe-core
	cp -r node_modules/bootstrap-italia/dist/css node_modules/bootstrap-italia/dist/js \
	      node_modules/bootstrap-italia/dist/fonts node_modules/bootstrap-italia/dist/svg \
	      $(VENDOR)/bootstrap-italia/
	cp node_modules/axe-core/axe.min.js $(VENDOR)/axe-core/
	touch $@

assets: $(VENDOR)/.stamp

translations: $(BIN)/activate
	$(BIN)/pybabel compile -d translations --statistics

# Debian's Chromium for the browser tests, installed when missing (CI runs as root).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Debian's xmlsec1: pysaml2 signs and verifies SPID/CIE messages with it.
xmlsec1:
	@command -v xmlsec1 >/dev/null 2>&1 || { \
	  echo "Installing Debian's xmlsec1 for SPID/CIE"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xmlsec1 >/dev/null; }

# AgID's tools (spid-sp-test, the validator; spid-compliant-certificates, the certificate
# generator) pin old versions of libraries the portal also uses, so they get their own venv.
SPID_VENV := .venv-spid
$(SPID_VENV)/bin/spid_sp_test:
	test -d $(SPID_VENV) || $(PYTHON) -m venv $(SPID_VENV)
	$(SPID_VENV)/bin/pip install --quiet 'spid-sp-test==1.2.18' 'spid-compliant-certificates==0.5.5'

spid-tools: xmlsec1 $(SPID_VENV)/bin/spid_sp_test

# The demo, served by gunicorn as in production (gunicorn.conf.py).
run: install
	$(FLASK) db upgrade
	$(FLASK) demo seed --if-empty
	PORT=$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

# Production: the environment names the database, keys and mail (README, Production);
# with PONTE_ENV=production an unsafe configuration stops here, naming every problem.
serve: install
	$(FLASK) db upgrade
	PORT=$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

# Flask's development server, reloading on every change, with the debugger.
dev: install
	$(FLASK) db upgrade
	$(FLASK) demo seed --if-empty
	$(FLASK) run --debug --host 127.0.0.1 --port $(PORT)

# systemd-analyze and nginx, for the tests that check deploy/systemd/ and deploy/nginx/
# (RUNLEVEL=1: the package installs nginx without starting it).
deploy-tools:
	@command -v systemd-analyze >/dev/null 2>&1 && command -v nginx >/dev/null 2>&1 || { \
	  echo "Installing Debian's systemd and nginx for the deployment tests"; \
	  apt-get update -qq && RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq systemd nginx-light >/dev/null; }

test: install chromium deploy-tools spid-tools
	$(BIN)/pytest

bench: install
	$(BIN)/python -m bench

lint: $(BIN)/activate
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/activate
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

extract-messages: $(BIN)/activate
	$(BIN)/python scripts/update_catalogs.py

clean:
	rm -rf $(VENV) $(SPID_VENV) node_modules $(VENDOR) instance

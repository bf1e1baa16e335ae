# Two commands for a newcomer: `make run` (the whole system on embedded defaults) and
# `make test` (the test suite on SQLite and PostgreSQL, with the real Redis, and the journeys
# in a real browser).
PYTHON ?= python3
NPM ?= npm
VENV := .venv
BIN := $(VENV)/bin
README_SCREENSHOTS := queue case quota-dashboard due-soon documents \
  zh-queue zh-case zh-new-case zh-quota-dashboard zh-due-soon zh-notification-centre

.PHONY: run test lint bandit install install-dev screenshots clean translations translations-update

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime-installed $@

# axe-core for the accessibility checks (tests/e2e); test-only, never served by the app.
# Without npm the checks skip locally (and fail in CI), so `make test` still runs.
node_modules/.installed: package.json package-lock.json
	@if command -v $(NPM) >/dev/null 2>&1; then \
	  $(NPM) ci --no-audit --no-fund --loglevel=error && touch $@; \
	else \
	  echo "npm not found: the accessibility checks will be skipped (install Node.js and npm)."; \
	fi

install: $(VENV)/.runtime-installed
install-dev: $(VENV)/.dev-installed node_modules/.installed

# The catalogues (backoffice/translations/*/LC_MESSAGES/messages.po) are the source; the
# compiled .mo files are built here, never committed. --statistics shows what is untranslated.
translations: install
	$(BIN)/pybabel compile -d backoffice/translations

# After marking new strings: re-extract them and bring both catalogues up to date. New entries
# arrive untranslated (never guessed from a similar one); tests/core/test_translations.py
# fails until each has its Chinese.
translations-update: install
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k _l -k lazy_ngettext:1,2 -k N_ \
	  --no-wrap --sort-by-file --project "Talent Admission Back Office" \
	  --copyright-holder "Talent Admission Back Office" --msgid-bugs-address "backoffice@localhost" \
	  -o backoffice/translations/messages.pot .
	$(BIN)/pybabel update -i backoffice/translations/messages.pot -d backoffice/translations \
	  --no-wrap --no-fuzzy-matching --ignore-obsolete

run: install translations
	./scripts/run.sh

lint: install-dev
	$(BIN)/ruff check .

# Static security analysis ([tool.bandit] in pyproject.toml): a medium or high finding fails.
BANDIT = $(BIN)/bandit -c pyproject.toml --quiet --severity-level medium
bandit: install-dev
	$(BANDIT) -r backoffice worker.py config.py

test: install-dev lint bandit translations
	$(BIN)/pytest $(PYTEST_ARGS)

# Refresh the README's screenshots, in English and in Chinese (zh-*): the journeys take them
# (test-artifacts/screenshots/readme/).
screenshots: install-dev translations
	rm -rf test-artifacts/screenshots/readme
	$(BIN)/pytest tests/e2e/test_journeys.py tests/e2e/test_journeys_in_chinese.py \
	  tests/e2e/test_documents.py
	@for name in $(README_SCREENSHOTS); do \
	  cp test-artifacts/screenshots/readme/$$name.png docs/screenshots/$$name.png || exit 1; \
	done
	@echo "Updated docs/screenshots/ ($(README_SCREENSHOTS))."

clean:
	rm -rf instance test-artifacts .pytest_cache

# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The web app (Vue + Vite): npm ci when its lock file changes, a build when its sources do.
WEBAPP := gateway/webapp
WEBAPP_SOURCES := $(shell find $(WEBAPP)/src -type f) \
	$(addprefix $(WEBAPP)/,index.html vite.config.ts tsconfig.json)
WEBAPP_MODULES := $(WEBAPP)/node_modules/.package-lock.json
WEBAPP_BUILT := $(WEBAPP)/dist/index.html

.PHONY: run test install lint webapp-check system-deps clean

$(BIN)/yilian: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || \
		{ echo "python3 -m venv failed: install Debian's python3-venv"; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $@

# The CJK font of report PDFs (npm registry), whole and cut to GB 2312: gateway/reports/fonts.py.
FONT := gateway/reports/fonts/NotoSansSC-regular-GB2312.ttf
$(FONT): | $(BIN)/yilian
	$(BIN)/python -m gateway.reports.fonts

# The OHIF viewer (npm @ohif/app, pinned in gateway/viewer/fetch.py): its dist/, relocated to
# /viewer/ and precompressed; fetched again only when the pinned version or the relocation
# changes (the stamp names both: fetch.py does nothing when they match).
OHIF := gateway/viewer/ohif/.yilian-ohif-version
$(OHIF): gateway/viewer/fetch.py | $(BIN)/yilian
	$(BIN)/python -m gateway.viewer.fetch
	@touch $@

$(WEBAPP_MODULES): $(WEBAPP)/package.json $(WEBAPP)/package-lock.json
	@command -v npm >/dev/null 2>&1 || \
		{ echo "npm is missing: the web app needs Node.js >= 20.19 with npm"; exit 1; }
	cd $(WEBAPP) && npm ci --no-audit --no-fund
	@touch $@

$(WEBAPP_BUILT): $(WEBAPP_MODULES) $(WEBAPP_SOURCES)
	cd $(WEBAPP) && npm run build
	@touch $@

install: $(BIN)/yilian $(FONT) $(WEBAPP_BUILT) $(OHIF)

## Install and run every service on the embedded defaults (SQLite + ./var/objects) with the demo alliance.
run: install
	$(BIN)/yilian serve --demo --log-format text

system-deps:
	@bash .ci/system-deps

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

## The web app's ESLint and Vitest unit tests.
webapp-check: $(WEBAPP_MODULES)
	cd $(WEBAPP) && npm run lint && npm run test

## Install everything the tests need (Debian packages too, when root) and run the whole suite.
test: system-deps install lint webapp-check
	$(BIN)/pytest -q -p no:cacheprovider --durations=25 -n 2 --dist loadfile

clean:
	rm -rf $(VENV) var $(WEBAPP)/node_modules $(WEBAPP)/dist gateway/viewer/ohif

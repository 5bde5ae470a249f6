# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test install lint system-deps clean

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

install: $(BIN)/yilian $(FONT)

## Install and run every service on the embedded defaults (SQLite + ./var/objects) with the demo alliance.
run: install
	$(BIN)/yilian serve --demo --log-format text

system-deps:
	@bash .ci/system-deps

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

## Install everything the tests need (Debian packages too, when root) and run the whole suite.
test: system-deps install lint
	$(BIN)/pytest -q -p no:cacheprovider

clean:
	rm -rf $(VENV) var

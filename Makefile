# Two commands on a fresh machine: `make demo` (set up, run the main job) and `make test`
# (set up, run the tests). Both build .venv first: the CPU torch pin, then the project with
# every extra, then (in a pip call of their own, which resolves in seconds where one call with
# everything did not) the contrib plugin distributions.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONTRIB := $(wildcard contrib/*/pyproject.toml)

.PHONY: setup demo test bench browser

$(BIN)/.installed: pyproject.toml constraints.txt $(CONTRIB)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt torch==2.13.0
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[all,dev]'
	$(BIN)/python -m pip install -q -c constraints.txt $(patsubst %/pyproject.toml,./%,$(CONTRIB))
	touch $@

setup: $(BIN)/.installed

demo: $(BIN)/.installed
	$(BIN)/hookyard run examples/uplift.toml

# The report's browser test drives headless Chromium (Debian's `chromium`): installed here when missing
# and running as root, else what to install is printed (and that test fails, saying so again).
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && apt-get install -y -qq chromium; \
	else \
		echo "make test: the report's browser test needs headless Chromium: sudo apt-get install -y chromium" >&2; \
	fi

test: $(BIN)/.installed browser
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

bench: $(BIN)/.installed
	for b in benchmarks/bench_*.py; do HOOKYARD_MLFLOW=off $(BIN)/python $$b --quick || exit 1; done

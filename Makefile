# Two entry points: `make demo` (the main job end to end) and `make test` (the whole suite).
# Each creates .venv if missing and installs the project into it with pip.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := runs/demo

.PHONY: demo test lint browser bench ship install clean mutants

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[train,cpu,dev]'
	touch $(STAMP)

install: $(STAMP)

# Get MNIST, train (the shipped recipe, 5 epochs instead of 15), export and verify into runs/demo,
# then read the sample images with it.
# The committed model in exported/ is left alone (`make ship` replaces it).
demo: $(STAMP)
	$(BIN)/mnist-train --epochs 5 --out $(DEMO)/digit.pth
	$(BIN)/mnist-export --checkpoint $(DEMO)/digit.pth --out $(DEMO)/digit.onnx --opset 17 --int8
	$(BIN)/mnist-infer exported/samples --model $(DEMO)/digit.onnx --top-k 2 --save-vis $(DEMO)/vis

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The page's test drives Debian's Chromium: install it when it is missing (it skips, saying why,
# only where it cannot be installed).
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  ($$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	    --no-install-recommends chromium chromium-driver) >/dev/null 2>&1 \
	  || echo "chromium could not be installed: the browser test will skip"; }

test: lint browser
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	bash benchmarks/setup_bench.sh
	$(BIN)/python benchmarks/latency.py --json runs/bench/latency.json

# Retrain with the defaults and replace the shipped model, its variants, cards and checkpoint.
ship: $(STAMP)
	$(BIN)/mnist-train --out exported/digit.pth
	$(BIN)/mnist-export --checkpoint exported/digit.pth --out exported/digit.onnx --opset 17 --int8 --fp16

# Mutation testing of the runtime and the export's verification. Prints the score and the
# survivors not yet reviewed (tests/mutants_reviewed.tsv), and refreshes tests/mutation_order.json
# (each function's killers, run first next time: commit it).
mutants: $(STAMP)
	rm -rf mutants
	$(BIN)/python -c 'from trainer.data import ensure_mnist; ensure_mnist("data")'
	OMP_NUM_THREADS=1 $(BIN)/mutmut run --max-children 2
	$(BIN)/python -m tests.mutation fold mutants/kills.tsv
	@$(BIN)/mutmut results --all true > mutants/results.txt
	@$(BIN)/python -m tests.mutation report mutants/results.txt

clean:
	rm -rf $(VENV) runs build dist *.egg-info mutants

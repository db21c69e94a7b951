# Two entry points: `make demo` (the main job end to end) and `make test` (the whole suite).
# Each creates .venv if missing and installs the project into it with pip.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := runs/demo

.PHONY: demo test lint bench ship install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[train,cpu,dev]'
	touch $(STAMP)

install: $(STAMP)

# Get MNIST, train, export and verify into runs/demo, then read the sample images with it.
# The committed model in exported/ is left alone (`make ship` replaces it).
demo: $(STAMP)
	$(BIN)/mnist-train --out $(DEMO)/digit.pth
	$(BIN)/mnist-export --checkpoint $(DEMO)/digit.pth --out $(DEMO)/digit.onnx --opset 17 --int8
	$(BIN)/mnist-infer exported/samples --model $(DEMO)/digit.onnx --top-k 2 --save-vis $(DEMO)/vis

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/latency.py --providers cpu,cuda --json runs/bench.json --plot runs/bench.png

# Retrain with the defaults and replace the shipped model, its variants, cards and checkpoint.
ship: $(STAMP)
	$(BIN)/mnist-train --out exported/digit.pth
	$(BIN)/mnist-export --checkpoint exported/digit.pth --out exported/digit.onnx --opset 17 --int8 --fp16

clean:
	rm -rf $(VENV) runs build dist *.egg-info

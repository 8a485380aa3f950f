# audioconv — one command each on a fresh machine: `make demo`, `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# PyTorch wheels pinned together (torchaudio 2.11 is built against this torch build).
TORCH_PINS := torch==2.14.1 torchvision==0.29.1 torchaudio==2.11.0
# Tests run in parallel on every core (pytest-xdist); set JOBS=1 to run serially.
JOBS ?= auto

.PHONY: install test lint format demo bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(TORCH_PINS)
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

test: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m pytest -n $(JOBS) --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

demo: $(STAMP)
	rm -rf runs/demo  # a fresh run each time (fit refuses a folder that holds a run)
	$(BIN)/python recipes/spoken_digits.py --data-dir data/spoken_digits --output-dir runs/demo

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf runs .pytest_cache .ruff_cache benchmarks/_work

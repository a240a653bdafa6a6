# Jimu — see README.md. `make demo` sets everything up and runs the main job; `make test` runs the tests.
.PHONY: setup demo test lint unit reliability services clean

VENV := .venv/bin

setup:
	@bash scripts/setup.sh

demo: setup
	$(VENV)/jimu demo

lint: setup
	$(VENV)/ruff check .
	$(VENV)/mypy

services:
	@bash scripts/services.sh

unit: setup services
	$(VENV)/pytest -q -n 2

# kill -9 at 10 random points of a 200-form batch, then re-run: nothing lost, nothing delivered twice
reliability: setup
	$(VENV)/python scripts/reliability/kill9.py --forms 200 --kills 10

test: lint unit reliability

clean:
	rm -rf data/demo data/bench-pipeline .pytest_cache .mypy_cache .ruff_cache

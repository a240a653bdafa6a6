# Jimu — see README.md. `make demo` sets everything up and runs the main job; `make test` runs the tests.
.PHONY: setup demo test lint unit clean

VENV := .venv/bin

setup:
	@bash scripts/setup.sh

demo: setup
	$(VENV)/jimu demo

lint: setup
	$(VENV)/ruff check .
	$(VENV)/mypy

unit: setup
	$(VENV)/pytest -q -n 2

test: lint unit

clean:
	rm -rf data/demo .pytest_cache .mypy_cache .ruff_cache

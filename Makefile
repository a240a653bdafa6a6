# Jimu — see README.md. `make demo` sets everything up and runs the main job; `make test` runs the tests.
.PHONY: setup lock demo test lint unit scale-out reliability reliability-full services clean

VENV := .venv/bin

# installs from the hash-pinned lock requirements/dev.txt (see scripts/setup.sh)
setup:
	@bash scripts/setup.sh

# after changing dependencies in pyproject.toml: resolve requirements/*.txt again (commit them);
# make lock LOCK_ARGS=--upgrade moves every pin to its newest allowed version (scripts/lock.sh)
lock:
	@bash scripts/lock.sh $(LOCK_ARGS)

demo: setup
	$(VENV)/jimu demo

lint: setup
	$(VENV)/ruff check .
	$(VENV)/mypy

services:
	@bash scripts/services.sh

unit: setup services
	$(VENV)/pytest -q -n 2 -m "not scale_out"

# a Prefect server on PostgreSQL, two process workers, one killed -9 mid-batch (tests/test_scale_out.py)
scale-out: setup services
	$(VENV)/pytest -q -m scale_out

# kill -9 through Prefect at random points of a batch, then re-run: nothing lost, nothing published twice
reliability: setup services
	$(VENV)/python scripts/reliability/kill9.py --forms 80 --kills 6

# the figure in the README: 200 forms, 10 kills
reliability-full: setup services
	$(VENV)/python scripts/reliability/kill9.py --forms 200 --kills 10

test: lint unit scale-out reliability

clean:
	rm -rf data/demo data/bench-pipeline .pytest_cache .mypy_cache .ruff_cache

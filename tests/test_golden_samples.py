"""Golden end-to-end run of the committed samples: expected values and expected accept/flag outcomes.

The expected file is tests/golden/samples.json (regenerate with ``python -m tests.golden.make_golden``).
Each sample is run in its own test (one that cannot be read fails alone), and the cases are every
committed sample and every golden entry: a sample without an entry, or an entry without its sample, fails.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.golden.make_golden import GOLDEN, run_sample, sample_items

EXPECTED: dict[str, Any] = json.loads(GOLDEN.read_text())
SAMPLES: dict[str, tuple[Path, dict[str, Any]]] = {p.name: (p, t) for p, t in sample_items()}
NAMES = sorted(set(EXPECTED) | set(SAMPLES))
REGENERATE = "regenerate tests/golden/samples.json with python -m tests.golden.make_golden and review the diff"


@pytest.fixture(scope="module")
def run() -> Callable[[str], dict[str, Any]]:
    """Runs one sample (once per module: both tests of a sample share its run)."""
    from jimu.extractors.extract import Extractor
    from jimu.validators.policy import Thresholds

    ex, th = Extractor(), Thresholds.load()
    done: dict[str, dict[str, Any]] = {}

    def go(name: str) -> dict[str, Any]:
        assert name in SAMPLES, f"golden entry {name} has no committed sample in jimu/fixtures/samples: {REGENERATE}"
        if name not in done:
            path, truth = SAMPLES[name]
            done[name] = run_sample(path, truth, ex, th)
        return done[name]

    return go


@pytest.mark.parametrize("name", NAMES)
def test_sample_is_classified_and_read_as_expected(run: Callable[[str], dict[str, Any]], name: str) -> None:
    assert name in EXPECTED, f"sample {name} has no golden entry: {REGENERATE}"
    exp, got = EXPECTED[name], run(name)
    assert got["form_id"] == exp["form_id"]
    newly_wrong = set(got["wrong"]) - set(exp["wrong"])
    assert not newly_wrong, f"fields read wrong that were right: {sorted(newly_wrong)}"


@pytest.mark.parametrize("name", NAMES)
def test_sample_accept_flag_outcome(run: Callable[[str], dict[str, Any]], name: str) -> None:
    assert name in EXPECTED, f"sample {name} has no golden entry: {REGENERATE}"
    got = run(name)
    wrong_accepted = set(got["accepted"]) & set(got["wrong"])
    assert not wrong_accepted, f"accepted but wrong: {sorted(wrong_accepted)}"
    assert set(got["accepted"]) == set(EXPECTED[name]["accepted"])


def test_golden_entries_and_samples_are_the_same_set() -> None:
    assert set(EXPECTED) == set(SAMPLES), REGENERATE


@pytest.mark.parametrize("form_id", ["inkan_toroku", "jumin_idou", "juminhyo_kofu", "kaigo_nintei", "kodomo_iryohi"])
def test_golden_set_covers_every_form(form_id: str) -> None:
    assert any(v["form_id"] == form_id for v in EXPECTED.values())


@pytest.mark.parametrize("tier", ["clean", "office", "poor", "handwritten"])
def test_golden_set_covers_every_tier(tier: str) -> None:
    assert any(f"_{tier}_" in n for n in EXPECTED)

"""Golden end-to-end run of the committed samples: expected values and expected accept/flag outcomes.

The expected file is tests/golden/samples.json (regenerate with ``python -m tests.golden.make_golden``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.golden.make_golden import GOLDEN, run_samples

EXPECTED: dict[str, Any] = json.loads(GOLDEN.read_text())


@pytest.fixture(scope="module")
def actual() -> dict[str, Any]:
    return run_samples()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_is_classified_and_read_as_expected(actual: dict[str, Any], name: str) -> None:
    exp, got = EXPECTED[name], actual[name]
    assert got["form_id"] == exp["form_id"]
    newly_wrong = set(got["wrong"]) - set(exp["wrong"])
    assert not newly_wrong, f"fields read wrong that were right: {sorted(newly_wrong)}"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_accept_flag_outcome(actual: dict[str, Any], name: str) -> None:
    got = actual[name]
    wrong_accepted = set(got["accepted"]) & set(got["wrong"])
    assert not wrong_accepted, f"accepted but wrong: {sorted(wrong_accepted)}"
    assert set(got["accepted"]) == set(EXPECTED[name]["accepted"])


def test_golden_set_covers_every_form_and_tier() -> None:
    forms = {v["form_id"] for v in EXPECTED.values()}
    assert len(forms) == 5
    for tier in ("clean", "office", "poor", "handwritten"):
        assert any(f"_{tier}_" in n for n in EXPECTED)

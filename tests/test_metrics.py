"""The benchmarks' definitions (jimu.bench.metrics) on hand-made values."""

from __future__ import annotations

import math

import pytest

from jimu.bench.metrics import (
    SECONDS_PER_CONFIRM,
    SECONDS_PER_DOCUMENT_OPENED,
    SECONDS_PER_KEYSTROKE,
    EmptyTally,
    ErrorRate,
    FieldTally,
    fields_needed,
    keystrokes,
    operator_seconds,
    same,
    upper_bound,
)


@pytest.mark.parametrize(
    ("kind", "value", "keys"),
    [
        ("single_choice", "mynumber_card", 1),  # a choice is one key, not the length of its id
        ("single_choice", None, 0),
        ("multi_choice", ["a", "b"], 2),
        ("multi_choice", [], 0),
        ("checkbox", True, 1),
        ("checkbox", False, 0),
        ("text", "山田太郎", 4),
        ("text", "", 0),
        ("kana", None, 0),
        ("digits", "0432455111", 10),
        ("date", "1975-04-01", 8),
    ],
)
def test_keystrokes(kind: str, value: object, keys: int) -> None:
    assert keystrokes(kind, value) == keys


@pytest.mark.parametrize(
    ("errors", "n", "bound"),
    [
        (0, 1609, 0.0018601275),  # the 0/1609: above a 0.1% target
        (0, 10, 0.2588655509),
        (1, 100, 0.0465598115),  # scipy.stats.beta.ppf(0.95, 2, 99)
        (5, 1000, 0.0104840769),
        (57, 4736, 0.0149838090),
    ],
)
def test_clopper_pearson_upper_bound_matches_known_values(errors: int, n: int, bound: float) -> None:
    assert upper_bound(errors, n) == pytest.approx(bound, rel=1e-6)


def test_upper_bound_edges() -> None:
    assert upper_bound(0, 0) == 1.0
    assert upper_bound(3, 3) == 1.0
    assert upper_bound(0, 2995) <= 0.001 < upper_bound(0, 2994)
    assert upper_bound(0, 1000, confidence=0.99) == pytest.approx(1 - 0.01 ** (1 / 1000))
    with pytest.raises(ValueError):
        upper_bound(5, 3)


def test_fields_needed() -> None:
    assert fields_needed(0, 0.001) == 2995
    assert fields_needed(0, 0.005) == 598
    n = fields_needed(2, 0.001)
    assert upper_bound(2, n) <= 0.001 < upper_bound(2, n - 1)


def test_error_rate_reports_rate_and_bound() -> None:
    e = ErrorRate()
    for ok in [True] * 99 + [False]:
        e.add(ok)
    d = e.as_dict()
    assert (d["accepted"], d["wrong"], d["rate"]) == (100, 1, 0.01)
    assert d["upper95"] == pytest.approx(0.04656, abs=1e-5)
    assert ErrorRate().as_dict()["upper95"] is None


def test_field_tally_counts_exact_and_cer() -> None:
    t = FieldTally()
    assert t.add("山田太郎", "山田太郎")
    assert not t.add("山田大郎", "山田太郎")
    assert t.exact_rate == 0.5
    assert math.isclose(t.cer, 1 / 8)


def test_empty_tally_counts_ink_found_where_nothing_was_written() -> None:
    t = EmptyTally()
    for pred in (None, "", [], False, "1"):
        t.add(pred)
    assert t.as_dict() == {"n": 5, "read_as_empty": 0.8, "ink_found": 0.2}


def test_same_treats_every_empty_alike_but_not_false_values() -> None:
    assert same(None, "")
    assert same([], None)
    assert not same("0", None)
    assert same(["a", "b"], ["a", "b"])


def test_operator_seconds() -> None:
    assert operator_seconds(10, 2, opened=False) == 0.0
    assert operator_seconds(10, 2, opened=True) == pytest.approx(
        SECONDS_PER_DOCUMENT_OPENED + 2 * SECONDS_PER_CONFIRM + 10 * SECONDS_PER_KEYSTROKE)

"""The benchmarks' definitions (jimu.bench.metrics) on hand-made values."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

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


@pytest.mark.parametrize(("errors", "n"), [(0, 1), (0, 50), (1, 2), (1, 30), (2, 500), (10, 100), (30, 60), (99, 100)])
def test_upper_bound_is_where_seeing_so_few_errors_becomes_5_percent_likely(errors: int, n: int) -> None:
    """The defining property of the one-sided Clopper–Pearson bound: P(X ≤ errors | p = bound) = 5%."""
    from jimu.validators.bounds import _binom_cdf

    ub = upper_bound(errors, n)
    assert errors / n < ub < 1.0
    assert _binom_cdf(errors, n, ub) == pytest.approx(0.05, abs=1e-6)
    assert _binom_cdf(errors, n, ub * 0.99) > 0.05  # a lower rate would make it likelier


@pytest.mark.parametrize(
    ("smaller", "larger"),
    [
        pytest.param((0, 2000), (0, 1000), id="more-fields-lower-bound"),
        pytest.param((1, 1000), (2, 1000), id="more-errors-higher-bound"),
        pytest.param((10, 10000), (1, 1000), id="same-rate-more-evidence-lower-bound"),
    ],
)
def test_upper_bound_is_monotone(smaller: tuple[int, int], larger: tuple[int, int]) -> None:
    assert upper_bound(*smaller) < upper_bound(*larger)


@pytest.mark.parametrize("target", [0.0, 1.0, -0.1, 2.0])
def test_fields_needed_refuses_a_target_outside_zero_and_one(target: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        fields_needed(0, target)


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, ""), ("山田", "山田"), (["a", "b"], "a,b"), ([], ""), (True, "1"), (False, "0"), (12, "12")],
)
def test_as_text(value: object, text: str) -> None:
    from jimu.bench.metrics import as_text

    assert as_text(value) == text


@pytest.mark.parametrize(("value", "empty"), [(None, True), ("", True), ([], True), (False, False), (0, False),
                                              ("0", False), ([""], False)])
def test_is_empty(value: object, empty: bool) -> None:
    from jimu.bench.metrics import is_empty

    assert is_empty(value) is empty


@pytest.mark.parametrize(
    ("pred", "truth", "errors", "chars"),
    [
        pytest.param("山田太郎", "山田太郎", 0, 4, id="right"),
        pytest.param("山田大郎", "山田太郎", 1, 4, id="one-substitution"),
        pytest.param(None, "山田", 2, 2, id="nothing-read"),
        pytest.param("x", None, 1, 1, id="ink-where-nothing-was-written"),
        pytest.param("xyz", "", 3, 1, id="more-ink-where-nothing-was-written"),
        pytest.param(False, True, 1, 1, id="checkbox-missed"),
        pytest.param(["a"], ["a", "b"], 2, 3, id="choice-missing-an-option"),
    ],
)
def test_field_tally_counts_edit_distance_over_truth_characters(pred: object, truth: object, errors: int,
                                                                chars: int) -> None:
    t = FieldTally()
    t.add(pred, truth)
    assert (t.errors, t.chars) == (errors, chars)
    assert t.cer == errors / chars


def test_empty_tallies_report_none_not_zero() -> None:
    assert EmptyTally().as_dict() == {"n": 0, "read_as_empty": None, "ink_found": None}
    assert FieldTally().exact_rate == 0.0 and FieldTally().cer == 0.0


def test_calibration_table_puts_each_confidence_in_its_decile() -> None:
    from jimu.bench.metrics import Calibration

    c = Calibration()
    for conf, ok in [(0.0, False), (0.05, True), (0.1, True), (0.95, True), (0.95, False), (1.0, True), (0.999, True)]:
        c.add(conf, ok)
    table = c.table()
    assert [row["decile"] for row in table][:2] == ["0.0-0.1", "0.1-0.2"] and len(table) == 10
    assert table[0] == {"decile": "0.0-0.1", "n": 2, "accuracy": 0.5}
    assert table[1] == {"decile": "0.1-0.2", "n": 1, "accuracy": 1.0}
    assert table[9] == {"decile": "0.9-1.0", "n": 4, "accuracy": 0.75}  # 1.0 is in the top decile
    assert all(row["n"] == 0 and row["accuracy"] is None for row in table[2:9])


def test_provenance_names_corpus_folders_seeds_tiers_and_forms(tmp_path: Path) -> None:
    from jimu.bench.metrics import provenance

    items: list[dict[str, Any]] = [{"form_id": "inkan_toroku", "scan": {"seed": 7, "quality": "fax"}},
             {"form_id": "inkan_toroku", "scan": {"seed": 3, "quality": "fax"}},
             {"form_id": "kaigo_nintei", "scan": {"seed": 7, "quality": "phone"}},
             {"form_id": "kaigo_nintei"}]
    p = provenance([tmp_path / "EVAL" / "fax"], items, "20260101T000000Z")
    assert p["corpus"] == ["fax"]  # the folder's name, not a path of this machine
    assert p["seeds"] == [3, 7]
    assert p["forms_per_tier"] == {"fax": 2, "phone": 1, "unknown": 1}
    assert p["forms_per_form"] == {"inkan_toroku": 2, "kaigo_nintei": 2}
    assert p["thresholds_version"] == "20260101T000000Z"
    assert p["commit"] is None or len(p["commit"]) == 40

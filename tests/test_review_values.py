"""Operator input → canonical values, display round trips, and re-validation of a whole record."""

from __future__ import annotations

import datetime as dt
import functools
import random

import pytest

from jimu.fixtures.values import sample_values
from jimu.forms_schema import get_form, load_all_forms
from jimu.review.values import (
    REQUIRED_TEXT,
    InputError,
    display_value,
    field_problem,
    parse_input,
    reason_words,
    validate_record,
    wareki_text,
)

KAIGO = get_form("kaigo_nintei")
KOFU = get_form("juminhyo_kofu")


@pytest.mark.parametrize(("text", "expected"), [
    ("昭和45年3月7日", "1970-03-07"),
    ("昭和４５年３月７日", "1970-03-07"),
    ("平成元年1月8日", "1989-01-08"),
    ("S45.3.7", "1970-03-07"),
    ("1970-03-07", "1970-03-07"),
    ("１９７０年３月７日", "1970-03-07"),
    ("", None),
    ("　", None),
])
def test_dates(text: str, expected: str | None) -> None:
    assert parse_input(KAIGO.leaf("birth_date"), text) == expected


@pytest.mark.parametrize("text", ["昭和45年2月30日", "平成32年1月1日", "きのう", "1970/13/01"])
def test_bad_dates_are_input_errors_without_the_value(text: str) -> None:
    with pytest.raises(InputError) as e:
        parse_input(KAIGO.leaf("birth_date"), text)
    assert text not in str(e.value)


def test_digits_full_width_and_separators() -> None:
    assert parse_input(KAIGO.leaf("zip"), "２６０－０８５５") == "2600855"
    assert parse_input(KAIGO.leaf("mynumber"), "1234 5678 9012") == "123456789012"
    with pytest.raises(InputError):
        parse_input(KAIGO.leaf("zip"), "26O0855")  # letter O


def test_phone_text_field_keeps_digits_only() -> None:
    assert parse_input(KAIGO.leaf("phone"), "０４３－２４５－５１１１") == "0432455111"


def test_kana_from_hiragana_and_half_width() -> None:
    assert parse_input(KAIGO.leaf("kana"), "やまだ　たろう") == "ヤマダタロウ"
    assert parse_input(KAIGO.leaf("kana"), "ﾔﾏﾀﾞ ﾀﾛｳ") == "ヤマダタロウ"
    assert parse_input(KAIGO.leaf("kana"), "すずき-いちろう") == "スズキーイチロウ"


def test_text_is_nfkc_without_spaces() -> None:
    assert parse_input(KAIGO.leaf("name"), "山田　太郎") == "山田太郎"
    assert parse_input(KAIGO.leaf("name"), "ＡＢＣ") == "ABC"


def test_single_choice_by_label_id_or_number() -> None:
    lf = KAIGO.leaf("apply_kind")
    assert parse_input(lf, "更新") == "koshin"
    assert parse_input(lf, "koshin") == "koshin"
    assert parse_input(lf, "２") == "koshin"
    assert parse_input(lf, "") is None
    with pytest.raises(InputError):
        parse_input(lf, "廃止")
    with pytest.raises(InputError):
        parse_input(lf, "9")


def test_multi_choice_and_checkbox() -> None:
    items = KOFU.leaf("items")
    labels = [o.label for o in items.options]
    got = parse_input(items, f"{labels[1]}、{labels[0]}")
    assert got == sorted([items.options[0].id, items.options[1].id])
    assert parse_input(items, "") == []
    assert parse_input(items, "1 2") == got


@pytest.mark.parametrize(("text", "expected"), [("はい", True), ("レ", True), ("1", True), ("いいえ", False),
                                                ("", False), ("0", False)])
def test_checkbox_words(text: str, expected: bool) -> None:
    from jimu.forms_schema.model import LeafField

    base = KAIGO.leaf("name").model_dump()
    base.update(kind="checkbox", validators=[], required=False)
    assert parse_input(LeafField(**base), text) is expected


@functools.cache
def _round_trip_values(form_id: str) -> dict[str, object]:
    return sample_values(get_form(form_id), random.Random(7), dt.date(2025, 4, 1))


ALL_LEAVES = [(form.form_id, lf.id) for form in load_all_forms().values() for lf in form.leaf_fields()]


@pytest.mark.parametrize(("form_id", "field_id"), ALL_LEAVES, ids=[f"{f}:{lf}" for f, lf in ALL_LEAVES])
def test_display_round_trips_for_every_field_of_every_form(form_id: str, field_id: str) -> None:
    lf = get_form(form_id).leaf(field_id)
    v = _round_trip_values(form_id).get(field_id)
    if lf.kind == "multi_choice" and v is None:
        v = []
    back = parse_input(lf, display_value(lf, v))
    assert back == (bool(v) if lf.kind == "checkbox" else v)
    assert type(back) is type(bool(v) if lf.kind == "checkbox" else v)


def test_wareki_text() -> None:
    assert wareki_text("1970-03-07") == "昭和45年3月7日"
    assert wareki_text("2019-05-01") == "令和元年5月1日"
    assert wareki_text("not a date") == "not a date"


def test_field_problem_is_japanese_and_never_the_value() -> None:
    lf = KAIGO.leaf("mynumber")
    problem = field_problem(lf, "123456789012")
    assert problem is not None and "個人番号" in problem and "123456789012" not in problem
    assert field_problem(lf, None) == REQUIRED_TEXT
    assert field_problem(KAIGO.leaf("prev_result"), None) is None


def test_reason_words() -> None:
    assert reason_words("low_confidence", KAIGO) == "読み取りの確からしさが低い"
    assert reason_words("rule:zip_matches_address", KAIGO) == "郵便番号が住所の町名と一致しません"
    assert "郵便番号" in reason_words("rule:postal_code", KAIGO)
    assert reason_words("something_new", KAIGO) == "確認が必要です"


def test_validate_record_runs_field_checks_and_cross_field_rules() -> None:
    today = dt.date.today()
    values = sample_values(KAIGO, random.Random(3), today)
    assert validate_record(KAIGO, values).ok
    bad = dict(values, birth_date=(today - dt.timedelta(days=365 * 30)).isoformat())
    v = validate_record(KAIGO, bad)
    assert not v.ok and [r.name for r in v.rule_failures] == ["age_40_or_older"]
    assert set(v.rule_failures[0].fields) == {"birth_date", "apply_date"}
    bad = dict(values, zip=None, apply_kind="shinki", prev_result="kaigo1")
    v = validate_record(KAIGO, bad)
    assert v.field_errors["zip"] == REQUIRED_TEXT
    assert "previous_empty_for_new" in [r.name for r in v.rule_failures]

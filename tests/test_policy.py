"""The accept/flag policy on hand-made extraction results."""

from __future__ import annotations

import datetime as dt

import pytest

from jimu.forms_schema import get_form
from jimu.validators.furigana import agrees
from jimu.validators.policy import THRESHOLD_KINDS, FieldInput, Thresholds, decide, delivered_without_person

TODAY = dt.date(2026, 11, 20)
T = Thresholds(version="test", by_kind=dict.fromkeys(THRESHOLD_KINDS, 0.9))

INKAN = {
    "apply_date": "2026-11-20", "address": "千葉市中央区中央三丁目4番5号", "name": "山田太郎", "kana": "ヤマダタロウ",
    "birth_date": "1975-04-01", "sex": "male", "phone": "0432455111", "method": "honnin",
    "id_document": "license", "agent_name": None, "agent_phone": None, "agent_address": None,
}


def inputs(values: dict, conf: float = 0.999, **over: FieldInput) -> dict[str, FieldInput]:
    out = {k: FieldInput(v, conf) for k, v in values.items()}
    out.update(over)
    return out


def test_clean_document_goes_straight_through() -> None:
    d = decide(get_form("inkan_toroku"), inputs(INKAN), T, TODAY)
    assert d.flagged == []
    assert delivered_without_person(get_form("inkan_toroku"), d, INKAN)


@pytest.mark.parametrize(
    ("field", "inp", "reason"),
    [
        ("name", FieldInput("山田太郎", 0.3), "low_confidence"),
        ("phone", FieldInput(None, 0.99), "required_missing"),
        ("phone", FieldInput("0432455", 0.999), "rule:phone"),
        ("address", FieldInput("千葉市中央区存在しない町1番", 0.999), "rule:chiba_address"),
        ("sex", FieldInput("male", 0.4, problem="choice_unsure"), "checkbox_unsure"),
        ("kana", FieldInput("ヤマダタロウ", 0.999, snapped_from="ヤマダタロク"), "snapped"),
        ("birth_date", FieldInput(None, 0.1, problem="date_invalid"), "low_confidence"),
    ],
)
def test_single_reason(field: str, inp: FieldInput, reason: str) -> None:
    d = decide(get_form("inkan_toroku"), inputs(INKAN, **{field: inp}), T, TODAY)
    assert reason in d.fields[field].reasons
    assert d.fields[field].status == "flagged"
    assert not d.all_accepted


def test_cross_field_rule_flags_every_field_it_names() -> None:
    values = dict(INKAN, method="dairinin")  # 代理人 chosen, agent details missing
    d = decide(get_form("inkan_toroku"), inputs(values), T, TODAY)
    for f in ("method", "agent_name", "agent_address", "agent_phone"):
        assert "rule:agent_details_required" in d.fields[f].reasons
    assert any(r["name"] == "agent_details_required" for r in d.rule_failures)


def test_age_rule() -> None:
    values = dict(INKAN, birth_date="2015-01-01")
    d = decide(get_form("inkan_toroku"), inputs(values), T, TODAY)
    assert "rule:applicant_15_or_older" in d.fields["birth_date"].reasons


def test_restricted_fields_keep_double_entry_by_default() -> None:
    form = get_form("kodomo_iryohi")
    import random

    from jimu.fixtures.values import sample_values

    values = sample_values(form, random.Random(1), TODAY)
    d = decide(form, inputs(values, conf=1.0), T, TODAY)
    for lf in form.leaf_fields():
        if lf.sensitivity == "restricted":
            assert d.fields[lf.id].status == "flagged"
            assert "restricted_needs_second_check" in d.fields[lf.id].reasons
    assert not delivered_without_person(form, d, values), "a person keys the restricted fields: not straight-through"


def test_check_digit_restricted_field_may_be_auto_accepted() -> None:
    form = get_form("kodomo_iryohi")
    import random

    from jimu.fixtures.values import sample_values

    values = sample_values(form, random.Random(1), TODAY)
    d = decide(form, inputs(values, conf=1.0), T, TODAY, restricted_auto="check_digit")
    assert d.fields["guardian_mynumber"].status == "accepted"  # check digit passes
    assert "restricted_needs_second_check" in d.fields["account_number"].reasons  # no check digit: double entry
    bad = dict(values, guardian_mynumber=values["guardian_mynumber"][:11] + str((int(values["guardian_mynumber"][11]) + 1) % 10))
    d = decide(form, inputs(bad, conf=1.0), T, TODAY, restricted_auto="check_digit")
    assert d.fields["guardian_mynumber"].status == "flagged"


def test_uncalibrated_group_or_form_is_never_auto_accepted() -> None:
    form = get_form("inkan_toroku")
    no_text = Thresholds(version="t", by_kind={k: v for k, v in T.by_kind.items() if k != "text"})
    d = decide(form, inputs(INKAN, conf=1.0), no_text, TODAY)
    assert "low_confidence" in d.fields["name"].reasons
    other_forms = Thresholds(version="t", by_kind=T.by_kind, forms={"jumin_idou": 1})
    d = decide(form, inputs(INKAN, conf=1.0), other_forms, TODAY)
    assert d.flagged and all("uncalibrated" in d.fields[f].reasons for f in d.flagged)
    assert len(d.flagged) == len(d.fields)
    old_version = Thresholds(version="t", by_kind=T.by_kind, forms={"inkan_toroku": form.version + 1})
    assert not decide(form, inputs(INKAN, conf=1.0), old_version, TODAY).all_accepted


def test_filing_date_outside_the_intake_window_is_flagged() -> None:
    form = get_form("inkan_toroku")
    assert decide(form, inputs(INKAN), T, dt.date(2026, 12, 10)).fields["apply_date"].status == "accepted"
    late = decide(form, inputs(INKAN), T, dt.date(2027, 1, 30))
    assert "rule:filed_recently" in late.fields["apply_date"].reasons
    future = decide(form, inputs(INKAN), T, dt.date(2026, 11, 19))
    assert "rule:filed_recently" in future.fields["apply_date"].reasons


def test_furigana_agreement_lifts_confidence() -> None:
    assert agrees("山田太郎", "ヤマダタロウ")
    assert not agrees("山田太郎", "ヤマダハナコ")
    low = inputs(INKAN, name=FieldInput("山田太郎", 0.85), kana=FieldInput("ヤマダタロウ", 0.85))
    with_check = decide(get_form("inkan_toroku"), low, T, TODAY)
    without = decide(get_form("inkan_toroku"), low, T, TODAY, use_furigana=False)
    assert with_check.fields["name"].status == "accepted"
    assert without.fields["name"].status == "flagged"
    wrong = inputs(INKAN, name=FieldInput("山田太郎", 0.85), kana=FieldInput("ヤマダハナコ", 0.85))
    assert decide(get_form("inkan_toroku"), wrong, T, TODAY).fields["name"].status == "flagged"


def test_note_rules_do_not_flag() -> None:
    form = get_form("jumin_idou")
    values = {lf.id: None for lf in form.leaf_fields()}
    values.update({
        "notice_kind": "tenkyo", "notice_date": "2026-11-20", "move_date": "2026-10-01", "phone": "0432455111",
        "new_zip": "2600013", "new_address": "千葉市中央区中央三丁目4番5号",
        "old_address": "千葉市美浜区真砂二丁目1番1号",
        "householder_name": "山田太郎", "notifier_name": "山田太郎", "members[0].name": "山田太郎",
        "members[0].kana": "ヤマダタロウ", "members[0].birth": "1975-04-01", "members[0].sex": "male",
        "members[0].relationship": "世帯主",
    })
    d = decide(form, inputs(values), T, TODAY)
    assert [n["name"] for n in d.notes] == ["late_notice"]
    assert d.flagged == [], d.flagged

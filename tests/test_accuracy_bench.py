"""The accuracy benchmark's figures on hand-made extraction results (no OCR)."""

from __future__ import annotations

from typing import Any

import pytest

from jimu.bench.accuracy_bench import accuracy_report, calibration_samples
from jimu.bench.extract_bench import FileResult
from jimu.bench.metrics import SECONDS_PER_CONFIRM, SECONDS_PER_DOCUMENT_OPENED, SECONDS_PER_KEYSTROKE
from jimu.forms_schema import get_form
from jimu.validators.policy import THRESHOLD_KINDS, Thresholds

T = Thresholds(version="test", by_kind=dict.fromkeys(THRESHOLD_KINDS, 0.9))
INKAN = {
    "apply_date": "2026-11-20", "address": "千葉市中央区中央三丁目4番5号", "name": "山田太郎", "kana": "ヤマダタロウ",
    "birth_date": "1975-04-01", "sex": "male", "phone": "0432455111", "method": "honnin",
    "id_document": "license", "agent_name": None, "agent_phone": None, "agent_address": None,
}


def _pair(read: dict[str, Any], conf: dict[str, float] | None = None, form_id: str | None = "inkan_toroku",
          tier: str = "office") -> tuple[dict[str, Any], FileResult]:
    truth = {"form_id": "inkan_toroku", "fields": INKAN, "scan": {"quality": tier, "seed": 9}}
    fields = {k: (v, (conf or {}).get(k, 0.999)) for k, v in read.items()}
    return truth, FileResult("x.png", tier, "inkan_toroku", form_id, True, fields, None, 0.1)


def test_clean_document_is_straight_through_with_nothing_typed() -> None:
    r = accuracy_report([_pair(INKAN)], T)["office"]
    assert r["straight_through"]["double_entry"] == 1.0
    assert r["straight_through_without_restricted_fields"]["double_entry"] == 1.0
    assert r["keystrokes_saved"] == 1.0
    assert r["operator_seconds_per_document"] == 0.0
    assert r["silent_error_written"]["wrong"] == 0
    assert r["silent_error_empty"]["accepted"] == 3  # the agent's three empty fields


def test_wrong_accepted_value_is_a_silent_error_and_unsaved_keystrokes() -> None:
    r = accuracy_report([_pair(dict(INKAN, name="山田大郎"))], T)["office"]
    assert r["silent_error_written"]["wrong"] == 1
    assert r["silent_error_by_group"]["text"]["wrong"] == 1
    assert r["wrong_accepted_by_field"] == {"name": 1}
    assert r["straight_through"]["double_entry"] == 1.0  # the pipeline delivered it: that is what happened
    total = 8 + 15 + 4 + 6 + 8 + 1 + 10 + 1 + 1  # date, address, name, kana, birth, sex, phone, method, id doc
    assert r["keystrokes_saved"] == pytest.approx(1 - 4 / total, abs=1e-4)


def test_flagged_fields_cost_a_confirm_or_their_keystrokes() -> None:
    read = dict(INKAN, sex="female", phone="0432455111")
    r = accuracy_report([_pair(read, conf={"sex": 0.5, "phone": 0.5})], T)["office"]
    assert r["straight_through"]["double_entry"] == 0.0
    assert r["fields_holding_back"] == {"phone": 1, "sex": 1}
    # phone right (confirm only), sex wrong (confirm + 1 keystroke: a choice is one key)
    assert r["operator_seconds_per_document"] == pytest.approx(
        round(SECONDS_PER_DOCUMENT_OPENED + 2 * SECONDS_PER_CONFIRM + 1 * SECONDS_PER_KEYSTROKE, 1))
    assert r["silent_error"]["accepted"] == 10
    total = 8 + 15 + 4 + 6 + 8 + 1 + 10 + 1 + 1
    assert r["keystrokes_saved"] == pytest.approx(1 - (10 + 1) / total, abs=1e-4)  # both flagged fields unsaved


def test_misclassified_document_is_keyed_in_full() -> None:
    r = accuracy_report([_pair(INKAN, form_id=None)], T)["office"]
    assert r["keystrokes_saved"] == 0.0
    assert r["straight_through"]["double_entry"] == 0.0
    assert r["flag_reasons"] == {"document:misclassified": 1}


def test_figures_are_per_tier_and_per_form() -> None:
    rep = accuracy_report([_pair(INKAN, tier="phone"), _pair(dict(INKAN, name="x"), tier="fax")], T)
    assert set(rep) == {"phone", "fax"}
    assert rep["fax"]["by_form"]["inkan_toroku"]["silent_error"]["wrong"] == 1


def test_calibration_samples_skip_what_a_rule_flags_anyway() -> None:
    samples = calibration_samples([_pair(dict(INKAN, phone="0432455"))])  # rule:phone flags it whatever the threshold
    assert len(samples) == len(get_form("inkan_toroku").leaf_fields()) - 1
    assert all(s.correct for s in samples)


def _read_as_truth(form_id: str, seed: int = 3, conf: float = 0.999) -> tuple[dict[str, Any], FileResult]:
    import random

    from jimu.fixtures.corpus import CORPUS_TODAY
    from jimu.fixtures.values import sample_values

    values = sample_values(get_form(form_id), random.Random(seed), CORPUS_TODAY)
    truth = {"form_id": form_id, "fields": values, "scan": {"quality": "office", "seed": seed}}
    return truth, FileResult("x.png", "office", form_id, form_id, True, {k: (v, conf) for k, v in values.items()},
                             None, 0.1)


# restricted fields: kodomo_iryohi's bank details have no check digit; kaigo_nintei's one is a マイナンバー (has one)
STRAIGHT = {
    "inkan_toroku": {"double_entry": 1.0, "check_digit_auto": 1.0},
    "juminhyo_kofu": {"double_entry": 1.0, "check_digit_auto": 1.0},
    "kaigo_nintei": {"double_entry": 0.0, "check_digit_auto": 1.0},
    "kodomo_iryohi": {"double_entry": 0.0, "check_digit_auto": 0.0},
}


def test_straight_through_is_counted_per_document_and_per_restricted_mode() -> None:
    r = accuracy_report([_read_as_truth(f) for f in STRAIGHT], T)["office"]
    assert r["documents"] == 4 and r["documents_without_restricted_fields"] == 2
    assert r["straight_through"] == {"double_entry": 0.5, "check_digit_auto": 0.75}
    assert r["straight_through_without_restricted_fields"] == {"double_entry": 1.0, "check_digit_auto": 1.0}
    assert {f: g["straight_through"] for f, g in r["by_form"].items()} == STRAIGHT
    assert r["flag_reasons"] == {"restricted_needs_second_check": 1 + 5}
    assert r["silent_error"]["wrong"] == 0


def test_a_form_without_restricted_fields_reports_none_for_that_share() -> None:
    r = accuracy_report([_read_as_truth("kodomo_iryohi")], T)["office"]
    assert r["documents_without_restricted_fields"] == 0
    assert r["straight_through_without_restricted_fields"] == {"double_entry": None, "check_digit_auto": None}


def test_group_report_splits_written_and_empty_fields() -> None:
    from jimu.bench.accuracy_bench import Group
    from jimu.bench.metrics import ErrorRate, upper_bound

    g = Group(docs=2, fields=200, accepted=160)
    g.errors.update({"text": ErrorRate(80, 1), "digits": ErrorRate(20, 0), "empty_writing": ErrorRate(50, 0),
                     "empty_cells": ErrorRate(10, 1)})
    r = g.report()
    assert (r["silent_error_written"]["accepted"], r["silent_error_written"]["wrong"]) == (100, 1)
    assert (r["silent_error_empty"]["accepted"], r["silent_error_empty"]["wrong"]) == (60, 1)
    assert (r["silent_error"]["accepted"], r["silent_error"]["wrong"]) == (160, 2)
    assert r["silent_error"]["upper95"] == pytest.approx(upper_bound(2, 160), abs=1e-6)
    assert r["silent_error_written"]["rate"] == 0.01
    assert r["auto_accept_rate"] == 0.8
    assert list(r["silent_error_by_group"]) == ["digits", "empty_cells", "empty_writing", "text"]
    assert r["keystrokes_saved"] is None  # nothing to key: no share to report


def test_an_empty_group_reports_no_rates() -> None:
    from jimu.bench.accuracy_bench import Group

    r = Group().report()
    assert r["silent_error"]["rate"] is None and r["silent_error"]["upper95"] is None
    assert r["auto_accept_rate"] == 0.0 and r["straight_through"] == {"double_entry": 0.0, "check_digit_auto": 0.0}


def test_calibration_samples_come_from_correctly_classified_documents_only() -> None:
    right = _pair(INKAN)
    wrong_form = _pair(INKAN, form_id="kaigo_nintei")
    unread = _pair(INKAN, form_id=None)
    n = len(calibration_samples([right]))
    assert n > 0
    assert len(calibration_samples([right, wrong_form, unread])) == n


def test_calibration_samples_say_which_are_wrong_and_their_group() -> None:
    samples = calibration_samples([_pair(dict(INKAN, name="山田大郎"), conf={"name": 0.7})])
    wrong = [s for s in samples if not s.correct]
    assert len(wrong) == 1 and wrong[0].kind == "text" and wrong[0].confidence == 0.7 and wrong[0].length == 4
    assert [s.kind for s in samples if s.length == 0] == ["empty_writing"] * 3  # the agent's three empty fields


def test_calibrated_forms_name_each_form_and_its_version() -> None:
    from jimu.bench.accuracy_bench import calibrated_forms

    truth, r = _pair(INKAN)
    kaigo = ({"form_id": "kaigo_nintei", "form_version": 3, "fields": {}}, r)
    assert calibrated_forms([(truth, r), kaigo]) == {"inkan_toroku": get_form("inkan_toroku").version,
                                                     "kaigo_nintei": 3}

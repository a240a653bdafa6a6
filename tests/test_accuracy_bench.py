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

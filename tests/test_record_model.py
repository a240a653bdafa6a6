"""Per-form record models built from the YAML: what may go to the queue."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from jimu.fixtures.values import sample_values
from jimu.forms_schema import get_form
from jimu.validators.record_model import validate_record

FORMS = ["inkan_toroku", "jumin_idou", "juminhyo_kofu", "kaigo_nintei", "kodomo_iryohi"]
TODAY = dt.date(2026, 11, 20)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("form_id", FORMS)
def test_sampled_records_are_valid(form_id: str, seed: int) -> None:
    form = get_form(form_id)
    values = sample_values(form, random.Random(seed), TODAY)
    assert validate_record(form, values) == []


@pytest.mark.parametrize(
    ("form_id", "field", "value", "rule"),
    [
        ("inkan_toroku", "sex", "other", "type"),
        ("inkan_toroku", "birth_date", "1975-02-30", "type"),
        ("inkan_toroku", "phone", "12345", "phone"),
        ("inkan_toroku", "name", None, "required"),
        ("kodomo_iryohi", "guardian_mynumber", "123456789012", "mynumber"),
        ("kodomo_iryohi", "bank_code", "12a4", "type"),
        ("kaigo_nintei", "insured_number", "12345678901", "type"),
        ("inkan_toroku", "birth_date", "2020-01-01", "applicant_15_or_older"),
    ],
)
def test_invalid_records_name_the_field(form_id: str, field: str, value: object, rule: str) -> None:
    form = get_form(form_id)
    values = sample_values(form, random.Random(1), TODAY)
    values[field] = value
    problems = validate_record(form, values)
    assert any(field in p.fields[0] or field in p.fields for p in problems), problems
    assert any(p.rule == rule for p in problems), problems


def test_unknown_field_is_refused() -> None:
    form = get_form("inkan_toroku")
    values = sample_values(form, random.Random(1), TODAY) | {"colour": "red"}
    assert validate_record(form, values)

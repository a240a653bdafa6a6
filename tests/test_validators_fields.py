from __future__ import annotations

from datetime import date, timedelta

import pytest

from jimu.validators import field_checks
from jimu.validators.registry import FIELD_VALIDATORS, RULE_KINDS, VOCABULARIES

TODAY = date.today()
YESTERDAY = (TODAY - timedelta(days=1)).isoformat()
TOMORROW = (TODAY + timedelta(days=1)).isoformat()

# (validator, value, ok)
CASES: list[tuple[str, object, bool]] = [
    ("mynumber", "123456789018", True),
    ("mynumber", "1234 5678 9018", True),
    ("mynumber", "１２３４５６７８９０１８", True),
    ("mynumber", "123456789017", False),
    ("mynumber", "12345678901", False),
    ("mynumber", "12345678901O", False),
    ("insurer_number", "06130017", True),
    ("insurer_number", "06130018", False),
    ("insurer_number", "0613001", False),
    ("postal_code", "2600013", True),
    ("postal_code", "260-0013", True),
    ("postal_code", "0000000", False),
    ("postal_code", "260001", False),
    ("postal_code", "26OOO13", False),
    ("chiba_address", "千葉市中央区中央3丁目4番5号", True),
    ("chiba_address", "千葉県千葉市中央区中央三丁目4-5", True),
    ("chiba_address", "千葉市中央区今井町12", True),
    ("chiba_address", "千葉市中央区中央9丁目4番5号", False),
    ("chiba_address", "千葉市中央区中央", False),
    ("chiba_address", "千葉市中央区存在町1", False),
    ("chiba_address", "船橋市本町1-1", False),
    ("chiba_address", 12, False),
    ("phone", "0432455111", True),
    ("phone", "043-245-5111", True),
    ("phone", "09012345678", True),
    ("phone", "070-1234-5678", True),
    ("phone", "05012345678", True),
    ("phone", "08012345678", True),
    ("phone", "03123456789", False),  # 11 digits but not a mobile/IP prefix
    ("phone", "4324551110", False),
    ("phone", "043245511", False),
    ("phone", "090123456789", False),
    ("phone", "0901234567", False),  # a mobile number needs 11 digits (issue 10)
    ("phone", "0501234567", False),  # an IP phone too
    ("phone", "0001234567", False),  # no such area code
    ("phone", "0120123456", False),  # toll-free: not an applicant's number
    ("phone", "0471234567", True),  # 047 (市川・船橋)
    ("phone", "0436123456", True),  # 0436 (市原)
    ("japan_address", "船橋市本町一丁目2番3号", True),  # a city of 千葉県 without the prefecture
    ("japan_address", "東京都千代田区千代田1-1", True),
    ("japan_address", "大阪府大阪市北区梅田1-1", True),
    ("japan_address", "東京都千代田区存在町1", False),  # no such town
    ("japan_address", "船橋市本叮1-2", False),  # misread town: only a snap would fix it
    ("phone", "09O12345678", False),
    ("katakana", "ヤマダタロウ", True),
    ("katakana", "イチロー", True),
    ("katakana", "やまだ", False),
    ("katakana", "ヤマダ タロウ", False),
    ("katakana", "山田", False),
    ("account_name", "ヤマダタロウ", True),
    ("account_name", "カ)ジムセンター", True),
    ("account_name", "カ（ジムセンター）", True),
    ("account_name", "ヤマダ・ハナコ", True),
    ("account_name", "ヤマダ タロウ", False),
    ("account_name", "やまだ", False),
    ("account_name", "山田", False),
    ("bank_code", "0001", True),
    ("bank_code", "9999", False),
    ("bank_code", "001", False),
    ("digits", "0123", True),
    ("digits", "０１２３", False),
    ("digits", "01-23", False),
    ("digits", "12a", False),
    ("digits", 123, False),
    ("not_future", TODAY.isoformat(), True),
    ("not_future", YESTERDAY, True),
    ("not_future", TODAY, True),
    ("not_future", TOMORROW, False),
    ("not_future", "2021-02-29", False),
    ("not_future", "昭和45年3月7日", False),  # not canonical ISO
    ("past", YESTERDAY, True),
    ("past", "1970-03-07", True),
    ("past", TODAY.isoformat(), False),
    ("past", TOMORROW, False),
    ("past", "yesterday", False),
    ("count", "0", True),
    ("count", "01", True),
    ("count", "99", True),
    ("count", 5, True),
    ("count", 0, True),
    ("count", "100", False),
    ("count", 100, False),
    ("count", -1, False),
    ("count", "1.5", False),
    ("count", "x", False),
    ("count", True, False),
]


@pytest.mark.parametrize(("name", "value", "ok"), CASES)
def test_field_validator(name: str, value: object, ok: bool) -> None:
    problem = FIELD_VALIDATORS[name](value)
    if ok:
        assert problem is None
    else:
        assert isinstance(problem, str) and problem
        if isinstance(value, str) and len(value) > 1:
            assert value not in problem  # personal data never echoed


def test_every_validator_is_covered_both_ways() -> None:
    names = set(FIELD_VALIDATORS)
    assert names == {
        "mynumber",
        "insurer_number",
        "postal_code",
        "chiba_address",
        "japan_address",
        "phone",
        "katakana",
        "account_name",
        "bank_code",
        "digits",
        "not_future",
        "past",
        "count",
    }
    for n in names:
        assert any(c[0] == n and c[2] for c in CASES), n
        assert any(c[0] == n and not c[2] for c in CASES), n


@pytest.mark.parametrize("name", sorted(FIELD_VALIDATORS))
@pytest.mark.parametrize("empty", [None, ""])
def test_empty_passes(name: str, empty: object) -> None:
    assert FIELD_VALIDATORS[name](empty) is None


def test_registry_names() -> None:
    assert FIELD_VALIDATORS["phone"] is field_checks.phone
    assert "relationship" in VOCABULARIES and "era" in VOCABULARIES
    assert {"date_order", "required_if", "one_householder"} <= set(RULE_KINDS)

from __future__ import annotations

import pytest

from jimu.validators.checkdigits import (
    insurer_check_digit,
    is_valid_insurer_number,
    is_valid_mynumber,
    mynumber_check_digit,
)

# Worked by hand from FORMS.md.  123456789018: digits from the right P1..P11 = 1,0,9,8,7,6,5,4,3,2,1,
# weights Q = 2,3,4,5,6,7,2,3,4,5,6 → 2+0+36+40+42+42+10+12+12+10+6 = 212; 212 mod 11 = 3; check 11-3 = 8.


@pytest.mark.parametrize(
    ("first11", "check"),
    [
        ("12345678901", 8),
        ("00000000000", 0),  # r = 0
        ("00000000006", 0),  # 6·2 = 12, r = 1 → 0
        ("00000000005", 1),  # 5·2 = 10, r = 10 → 1
        ("10000000000", 5),  # P11·Q11 = 1·6, r = 6 → 5
    ],
)
def test_mynumber_check_digit(first11: str, check: int) -> None:
    assert mynumber_check_digit(first11) == check
    assert is_valid_mynumber(first11 + str(check))
    assert not is_valid_mynumber(first11 + str((check + 1) % 10))


@pytest.mark.parametrize(
    "s",
    [
        "123456789017",
        "12345678901",
        "1234567890188",
        "12345678901a",
        "１２３４５６７８９０１８",
        "",
        None,
        123456789018,
    ],
)
def test_mynumber_invalid(s: object) -> None:
    assert not is_valid_mynumber(s)


@pytest.mark.parametrize("bad", ["1234567890", "123456789012", "1234567890a"])
def test_mynumber_check_digit_rejects_bad_input(bad: str) -> None:
    with pytest.raises(ValueError):
        mynumber_check_digit(bad)


# 0613001: 0·2,6·1,1·2,3·1,0·2,0·1,1·2 → 0+6+2+3+0+0+2 = 13 → (10-3) mod 10 = 7.
# 9999999: 18→1+8=9, 9, 9, 9, 9, 9, 9 → 63 → 7.   1234567: 2,2,6,4,10→1,6,14→5 → 26 → 4.
@pytest.mark.parametrize(
    ("first7", "check"),
    [("0613001", 7), ("9999999", 7), ("1234567", 4), ("0000000", 0), ("0900010", 0), ("5000000", 9)],
)
def test_insurer_check_digit(first7: str, check: int) -> None:
    assert insurer_check_digit(first7) == check
    assert is_valid_insurer_number(first7 + str(check))
    assert not is_valid_insurer_number(first7 + str((check + 3) % 10))


@pytest.mark.parametrize("s", ["06130018", "0613001", "061300177", "0613001a", "", None, 6130017])
def test_insurer_invalid(s: object) -> None:
    assert not is_valid_insurer_number(s)


def test_insurer_check_digit_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        insurer_check_digit("12345")

